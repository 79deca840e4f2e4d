-- Administrators manage users, clients, scopes, API tokens and keys through the admin API.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- Per-user API tokens, sent as `Authorization: Token amt_<id>_<secret>`. The id finds the row;
-- only a SHA-256 of the secret is kept, and it is compared in constant time.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,               -- 16 hex digits, the visible part of the token
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL CHECK (length(secret_hash) = 64),
    scope        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,                        -- NULL: until revoked
    last_used_at INTEGER,                        -- updated at most once a minute
    revoked_at   INTEGER,
    UNIQUE (user_id, name)
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
