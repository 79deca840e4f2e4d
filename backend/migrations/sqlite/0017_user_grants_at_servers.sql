-- The authorization code flow at the custom authorization servers: a login's consent ticket,
-- its code and its grant (with the grant's refresh tokens) belong to the server whose
-- /v1/authorize began it, and are redeemed, refreshed, revoked and introspected there only.
-- NULL for the root issuer's.
ALTER TABLE consent_tickets ADD COLUMN server_id TEXT;
ALTER TABLE authorization_codes ADD COLUMN server_id TEXT;
ALTER TABLE grants ADD COLUMN server_id TEXT;
CREATE INDEX grants_by_server ON grants (server_id) WHERE server_id IS NOT NULL;
