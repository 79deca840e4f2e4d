-- A grant is one authorization (a login, or a client acting for itself) and everything issued
-- from it: revoking it revokes its refresh-token family and its access tokens at once.
CREATE TABLE grants (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL,               -- the `sub`: a user id, or the client id itself
    scope          TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,            -- absolute lifetime of the family
    revoked_at     INTEGER,
    revoked_reason TEXT
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,                -- SHA-256 of the opaque token
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,                -- idle lifetime, never past the grant's
    used_at    INTEGER                          -- set when rotated; a second use is theft
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Access tokens are self-contained JWTs; their ids are kept so introspection can report those
-- of a revoked grant, or revoked one by one, as inactive until they expire.
CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT REFERENCES grants (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

ALTER TABLE authorization_codes ADD COLUMN grant_id TEXT;
