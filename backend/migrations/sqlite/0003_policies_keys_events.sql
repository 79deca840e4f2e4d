-- Per-client token lifetimes (NULL: the server-wide default applies).
ALTER TABLE clients ADD COLUMN access_token_ttl INTEGER
    CHECK (access_token_ttl IS NULL OR access_token_ttl BETWEEN 30 AND 86400);
ALTER TABLE clients ADD COLUMN refresh_token_idle_ttl INTEGER
    CHECK (refresh_token_idle_ttl IS NULL OR refresh_token_idle_ttl BETWEEN 60 AND 31536000);
ALTER TABLE clients ADD COLUMN refresh_token_absolute_ttl INTEGER
    CHECK (refresh_token_absolute_ttl IS NULL OR refresh_token_absolute_ttl BETWEEN 60 AND 31536000);

-- Whether a third-party client needs the user's consent for this scope, and how the consent
-- screen words it.
ALTER TABLE scopes ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 1;

-- What a user has agreed to let a third-party client do; asked again only for scopes outside it.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- A login waiting for the user's answer on the consent screen. The whole authorization request
-- is kept here, so the consent form carries nothing but the ticket and the answer.
CREATE TABLE consent_tickets (
    ticket_hash    TEXT PRIMARY KEY,             -- SHA-256 of the ticket in the form
    csrf_hash      TEXT NOT NULL,                -- SHA-256 of the browser's anti-forgery token:
                                                 -- the ticket answers only in that browser
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    auth_time      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);

-- The key life cycle: next (published, not signing) → current (signing) → retired (published
-- until every token it signed has expired) → removed (the row is deleted).
ALTER TABLE signing_keys ADD COLUMN activated_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retired_at INTEGER;
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';

-- Security-relevant events, newest last. Never updated; read with `backend events`.
CREATE TABLE security_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    client_id TEXT,
    user_id   TEXT,                              -- a user id, or the username tried at a failed login
    address   TEXT,                              -- the peer's IP address
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX security_events_kind ON security_events (kind, id);
UPDATE signing_keys SET activated_at = created_at WHERE state = 'current';
