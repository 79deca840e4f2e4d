-- Resource indicators (RFC 8707) at the root issuer, which may issue access tokens for other
-- APIs beside its own: the audiences an authorization request named travel with its consent
-- ticket and its code to the grant, and a refresh may narrow to some of them, never widen.
-- Space-separated; '' for a request that named none (the issuer's own API).
ALTER TABLE consent_tickets ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN audiences TEXT NOT NULL DEFAULT '';
