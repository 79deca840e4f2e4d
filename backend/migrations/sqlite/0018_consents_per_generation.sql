-- Corrections to 0017, found by review after it was released.
--
-- 0017 turned every allow rule for every grant into a client-credentials rule, those naming
-- user roles too: such a rule could never match (client credentials have no user) and the admin
-- API refuses it when saved again. A rule naming roles was written for users, so it keeps what
-- its author wrote: every grant, for users of those roles (its logins and their refreshes).
UPDATE policy_rules SET grant_types = ''
    WHERE roles <> '' AND grant_types = 'client_credentials';

-- A consent belongs to the server's generation as well as its id ('' for the root issuer): one
-- written by a login that raced the server's deletion is never taken by a server created again
-- under the same id.
ALTER TABLE consents ADD COLUMN server_generation TEXT NOT NULL DEFAULT '';
UPDATE consents SET server_generation = coalesce(
    (SELECT generation FROM authorization_servers WHERE authorization_servers.id = consents.server_id),
    '')
    WHERE server_id <> '';
