-- Dynamic client registration (RFC 7591) and management (RFC 7592): a client registered at
-- /register holds a registration access token, of which only the SHA-256 is kept; clients made
-- otherwise have none and cannot be managed there.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
-- How it was registered: 'open', or the id of the initial access token it was registered with
-- (what it may become later is bounded by it); NULL for a client an administrator made.
ALTER TABLE clients ADD COLUMN registered_with TEXT;

-- Initial access tokens (RFC 7591 §3): what an administrator hands a developer so that they may
-- register clients when registration is by token. Only the SHA-256 is kept.
CREATE TABLE initial_access_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
