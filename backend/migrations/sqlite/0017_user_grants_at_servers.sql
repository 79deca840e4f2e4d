-- The authorization code flow at the custom authorization servers.
--
-- A server's incarnation: a random value drawn when it is created, so that a server deleted and
-- created again under the same id is another server to every login begun at the first.
ALTER TABLE authorization_servers ADD COLUMN generation TEXT NOT NULL DEFAULT '';
UPDATE authorization_servers SET generation = lower(hex(randomblob(16)));

-- A login's consent ticket, its code and its grant (with the grant's refresh tokens) belong to
-- the server whose /v1/authorize began it, and are redeemed, refreshed, revoked and
-- introspected there only. NULL for the root issuer's.
ALTER TABLE consent_tickets ADD COLUMN server_id TEXT;
ALTER TABLE consent_tickets ADD COLUMN server_generation TEXT;
ALTER TABLE authorization_codes ADD COLUMN server_id TEXT;
ALTER TABLE authorization_codes ADD COLUMN server_generation TEXT;
ALTER TABLE grants ADD COLUMN server_id TEXT;
ALTER TABLE grants ADD COLUMN server_generation TEXT;
CREATE INDEX grants_by_server ON grants (server_id) WHERE server_id IS NOT NULL;
CREATE INDEX authorization_codes_by_server ON authorization_codes (server_id)
    WHERE server_id IS NOT NULL;
CREATE INDEX consent_tickets_by_server ON consent_tickets (server_id) WHERE server_id IS NOT NULL;

-- What a user let a client have is remembered per authorization server ('' for the root
-- issuer): a consent given at one is never taken for another's audience and claims.
CREATE TABLE consents_by_server (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    server_id  TEXT NOT NULL DEFAULT '',
    scope      TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id, server_id)
);
INSERT INTO consents_by_server (user_id, client_id, server_id, scope, granted_at)
    SELECT user_id, client_id, '', scope, granted_at FROM consents;
DROP TABLE consents;
ALTER TABLE consents_by_server RENAME TO consents;

-- Until now a server's rules decided client credentials only, whatever their grant types said:
-- an allow rule for every grant keeps allowing exactly that, and user logins at a server
-- begin when an administrator allows them.
UPDATE policy_rules SET grant_types = 'client_credentials'
    WHERE grant_types = '' AND decision = 'allow';

-- Custom claims take the logged-in user's attribute as their value (NULL: the constant in
-- `value`, which is 'null' otherwise), and go into the access token, the ID token, or both.
ALTER TABLE server_claims ADD COLUMN user_attribute TEXT;
ALTER TABLE server_claims ADD COLUMN token TEXT NOT NULL DEFAULT 'access';
