-- Resource indicators (RFC 8707) at the root issuer, which may issue access tokens for other
-- APIs beside its own: the audiences an authorization request named travel with its consent
-- ticket and its code to the grant, and a refresh may narrow to some of them, never widen.
-- Space-separated; '' for a request that named none (the issuer's own API).
ALTER TABLE consent_tickets ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN audiences TEXT NOT NULL DEFAULT '';

-- A changed authorization server (its name, its audiences) is announced as a key change is, so
-- the other instances read the servers again at once rather than at their next reload.
CREATE TRIGGER authorization_servers_changed AFTER UPDATE ON authorization_servers
    FOR EACH ROW EXECUTE FUNCTION signing_keys_changed();
