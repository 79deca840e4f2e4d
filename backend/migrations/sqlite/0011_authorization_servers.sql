-- Custom authorization servers (Okta's term): each has its own issuer ({ISSUER}/oauth2/{id}),
-- the audience its access tokens are for, its signing algorithm and its own signing keys. The
-- server at the root issuer (the "org" authorization server) is not a row: it is configured by
-- flags, and its keys have the server id ''.
CREATE TABLE authorization_servers (
    id          TEXT PRIMARY KEY CHECK (id <> ''),  -- '' is the root issuer's, in signing_keys
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    audience    TEXT NOT NULL,
    signing_alg TEXT NOT NULL CHECK (signing_alg IN ('ES256', 'RS256', 'EdDSA')),
    created_at  INTEGER NOT NULL
);

-- Whose key: '' for the root issuer's, else an authorization server's id. At most one current
-- and one next key per server and algorithm.
ALTER TABLE signing_keys ADD COLUMN server_id TEXT NOT NULL DEFAULT '';
DROP INDEX signing_keys_one_current;
DROP INDEX signing_keys_one_next;
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (server_id, alg) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (server_id, alg) WHERE state = 'next';
