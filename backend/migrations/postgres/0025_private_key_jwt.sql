-- private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a client
-- registered with its public keys, by value (a JWK Set) or by reference (a URL), instead of a
-- secret. At most one of the two, and then no secret_hash (checked by the admin API).
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

-- The jti of every client assertion accepted, until it expires: an assertion is used once
-- (RFC 7523 §3 item 7), whichever instance it is presented to.
CREATE TABLE client_assertions (
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    jti_hash   TEXT NOT NULL,                -- SHA-256 of the jti
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti_hash)
);
CREATE INDEX client_assertions_by_expiry ON client_assertions (expires_at);
