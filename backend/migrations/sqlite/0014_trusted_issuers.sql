-- External OpenID providers whose access tokens the API accepts as Bearer tokens (beside this
-- server's root issuer and its authorization servers): each is matched by the token's `iss`,
-- its keys are discovered from its metadata, and its tokens must carry the audience here.
CREATE TABLE trusted_issuers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    issuer          TEXT NOT NULL UNIQUE,  -- compared exactly with `iss`
    audience        TEXT NOT NULL,
    algorithms      TEXT NOT NULL,         -- space-separated JWS algorithms, e.g. `RS256 ES256`
    scope_claim     TEXT NOT NULL CHECK (scope_claim IN ('scope', 'scp')),
    required_claims TEXT NOT NULL,         -- JSON object: claim name -> the string it must hold
    created_at      INTEGER NOT NULL
);
