-- DPoP (RFC 9449): access tokens bound to a key the client holds.

-- The proofs already accepted, by the hash of their key's thumbprint and jti, until they are
-- too old to be accepted anyway: a proof is used once, whichever instance it reaches (§11.1).
CREATE TABLE dpop_proofs (
    replay_key TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);

-- A client whose tokens must be DPoP-bound: a token request without a proof is refused (§5.2
-- dpop_bound_access_tokens).
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;

-- The key a public client's login is bound to (its JWK thumbprint): every refresh must come
-- with a proof by that key (§5). NULL for a login without DPoP, and for confidential clients
-- (their refresh tokens are bound to their client authentication).
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;

-- Secrets every instance must share, made by the first instance that needs one (the key of the
-- DPoP nonces, §8: any instance checks any instance's nonces).
CREATE TABLE shared_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The key an authorization request bound its code to (§10: `dpop_jkt`, or the key of the DPoP
-- proof its pushed request carried): the code is redeemed only with a proof by that key.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE consent_tickets ADD COLUMN dpop_jkt TEXT;
