-- The device authorization grant (RFC 8628): a device's request, from the device authorization
-- endpoint until its code is redeemed at the token endpoint or expires.
CREATE TABLE device_authorizations (
    device_code_hash  TEXT PRIMARY KEY,      -- SHA-256 of the device_code
    user_code_hash    TEXT NOT NULL UNIQUE,  -- SHA-256 of the user code, normalized (8 letters)
    client_id         TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    server_id         TEXT,                  -- NULL for the root issuer
    server_generation TEXT,
    scope             TEXT NOT NULL,
    audiences         TEXT NOT NULL,         -- RFC 8707 resources, resolved; '' for none
    expires_at        INTEGER NOT NULL,
    interval_secs     INTEGER NOT NULL,         -- grows by 5 at each slow_down (§3.5)
    last_polled_at    INTEGER,                  -- NULL before the first poll
    status            TEXT NOT NULL,         -- pending, approved, denied, redeemed
    user_id           TEXT,                  -- who approved it (or denied it, logged in)
    granted_scope     TEXT,                  -- what the approval granted
    auth_time         INTEGER,
    grant_id          TEXT                   -- the grant its redemption created
);
CREATE INDEX device_authorizations_by_expiry ON device_authorizations (expires_at);
