-- Pushed authorization requests (RFC 9126): a client may be required to push its authorization
-- requests (§6), and so may every client of an authorization server (§5).
ALTER TABLE clients ADD COLUMN require_pushed_requests BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authorization_servers ADD COLUMN require_pushed_requests BOOLEAN NOT NULL DEFAULT FALSE;

-- A request pushed to /par, until the browser opens it at /authorize (once: §4) and then for as
-- long as its login form lasts, bound to that browser's anti-forgery token.
CREATE TABLE pushed_requests (
    uri_hash          TEXT PRIMARY KEY,      -- SHA-256 of the request_uri's random part
    client_id         TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    server_id         TEXT,                  -- NULL for the root issuer
    server_generation TEXT,
    params            TEXT NOT NULL,         -- the validated request, form-encoded
    csrf_hash         TEXT,                  -- NULL until opened; then the browser that did
    expires_at        BIGINT NOT NULL
);
CREATE INDEX pushed_requests_by_expiry ON pushed_requests (expires_at);
