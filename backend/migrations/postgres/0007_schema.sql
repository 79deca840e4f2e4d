-- The whole schema, as SQLite has it after its migrations 0001 to 0007 (migrations/sqlite):
-- PostgreSQL support starts here, and from 0008 on every change is a pair of files with the
-- same number. Times are Unix seconds (BIGINT) unless a column says otherwise. Text columns
-- that lists are sorted by use the "C" collation, so both databases sort them byte by byte.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,          -- the `sub` of this user's tokens; never reused
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,             -- argon2id PHC string
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'))
);

CREATE TABLE scopes (
    name             TEXT COLLATE "C" PRIMARY KEY,
    description      TEXT NOT NULL,
    consent_required BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE clients (
    id                         TEXT COLLATE "C" PRIMARY KEY,  -- client_id
    name                       TEXT NOT NULL,
    secret_hash                TEXT,         -- NULL for a public client; SHA-256, see crypto.rs
    first_party                BOOLEAN NOT NULL DEFAULT FALSE,
    grant_types                TEXT NOT NULL, -- space-separated grant types it may use
    scopes                     TEXT NOT NULL, -- space-separated scopes it may be granted
    created_at                 BIGINT NOT NULL,
    access_token_ttl           BIGINT
        CHECK (access_token_ttl IS NULL OR access_token_ttl BETWEEN 30 AND 86400),
    refresh_token_idle_ttl     BIGINT
        CHECK (refresh_token_idle_ttl IS NULL OR refresh_token_idle_ttl BETWEEN 60 AND 31536000),
    refresh_token_absolute_ttl BIGINT
        CHECK (refresh_token_absolute_ttl IS NULL
               OR refresh_token_absolute_ttl BETWEEN 60 AND 31536000),
    CHECK ((secret_hash IS NULL) OR (length(secret_hash) = 64))
);

CREATE TABLE client_redirect_uris (
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    uri       TEXT NOT NULL,
    position  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, uri)
);

CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,         -- SHA-256 of the code
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT,                   -- set by the one redemption attempt a code gets
    grant_id       TEXT,                     -- what that redemption issued
    replayed_at    BIGINT                    -- presented again: the redemption issues nothing
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- next (published, not signing) → current (signing) → retired (published until every token
-- it signed has expired) → removed (the row is deleted).
CREATE TABLE signing_keys (
    kid          TEXT COLLATE "C" PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_der  BYTEA NOT NULL,             -- PKCS#8
    public_x     TEXT NOT NULL,              -- base64url, as in the JWK
    public_y     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at   BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';
-- Every change to the keys, by any instance, the command line or by hand, is announced on
-- the channel `signing_keys` when its transaction commits, so the other instances reload at
-- once. PostgreSQL folds the notifications of one transaction into one.
CREATE FUNCTION signing_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('signing_keys', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION signing_keys_changed();
CREATE TRIGGER signing_keys_truncated AFTER TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signing_keys_changed();

CREATE TABLE products (
    id          BIGINT PRIMARY KEY,          -- given by the seed, so instances agree on it
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0)
);

CREATE TABLE orders (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner            TEXT NOT NULL,          -- `sub` of the token that placed it
    client_id        TEXT NOT NULL,
    product_id       BIGINT NOT NULL REFERENCES products (id),
    quantity         BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price_cents BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX orders_owner ON orders (owner, id);

-- A grant is one authorization (a login) and everything issued from it: revoking it revokes
-- its refresh-token family and its access tokens at once.
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,
    scope          TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,          -- absolute lifetime of the family
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX grants_user ON grants (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,             -- SHA-256 of the opaque token
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,              -- idle lifetime, never past the grant's
    used_at    BIGINT                        -- set when rotated; a second use is theft
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- The ids of issued access tokens, so that those of a revoked grant, or revoked one by one,
-- are refused until they expire.
CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT REFERENCES grants (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE consent_tickets (
    ticket_hash    TEXT PRIMARY KEY,         -- SHA-256 of the ticket in the form
    csrf_hash      TEXT NOT NULL,            -- SHA-256 of the browser's anti-forgery token
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    state          TEXT,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE TABLE security_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    client_id TEXT,
    user_id   TEXT,                          -- a user id, or the username tried at a failed login
    address   TEXT,                          -- the client's IP address
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX security_events_kind ON security_events (kind, id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,           -- 16 hex digits, the visible part of the token
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL CHECK (length(secret_hash) = 64),
    scope        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    UNIQUE (user_id, name)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE bff_logins (
    id_hash         TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    code_verifier   TEXT NOT NULL,
    requested_scope TEXT NOT NULL,
    return_to       TEXT NOT NULL,
    replaces        BYTEA,
    expires_at      BIGINT NOT NULL
);

CREATE TABLE bff_sessions (
    id_hash           TEXT PRIMARY KEY,
    subject           TEXT NOT NULL,
    requested_scope   TEXT NOT NULL,
    tokens            BYTEA NOT NULL,
    access_expires_at BIGINT NOT NULL,
    refreshable       BOOLEAN NOT NULL,
    exchanges         TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    last_seen_at      BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    refresh_holder    TEXT,
    refresh_until     BIGINT
);
CREATE INDEX bff_sessions_expiry ON bff_sessions (expires_at);

CREATE TABLE rate_limits (
    name    TEXT NOT NULL,
    subject TEXT NOT NULL,
    full_at BIGINT NOT NULL,                 -- microseconds
    PRIMARY KEY (name, subject)
);
CREATE INDEX rate_limits_full_at ON rate_limits (full_at);
