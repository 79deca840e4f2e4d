-- Access policies of the custom authorization servers (Okta's term), in evaluation order: each
-- applies to some clients (or all) and holds ordered rules; the first rule that matches a token
-- request, in the first policy that applies to its client and has one, decides whether it is
-- allowed and the lifetimes of what is issued. A request no rule matches is refused.
CREATE TABLE access_policies (
    server_id   TEXT COLLATE "C" NOT NULL REFERENCES authorization_servers (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position >= 0),
    name        TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    description TEXT NOT NULL,
    clients     TEXT NOT NULL,  -- client ids, space-separated; '' for every client
    PRIMARY KEY (server_id, position),
    UNIQUE (server_id, name)
);

CREATE TABLE policy_rules (
    server_id   TEXT COLLATE "C" NOT NULL,
    policy      INTEGER NOT NULL,  -- its policy's position
    position    INTEGER NOT NULL CHECK (position >= 0),
    name        TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    grant_types TEXT NOT NULL,  -- space-separated; '' for every grant type
    roles       TEXT NOT NULL,  -- space-separated; '' for any user (and grants without one)
    scopes      TEXT,           -- NULL for any scopes
    decision    TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
    access_token_ttl           BIGINT CHECK (access_token_ttl BETWEEN 30 AND 86400),
    refresh_token_idle_ttl     BIGINT CHECK (refresh_token_idle_ttl BETWEEN 60 AND 31536000),
    refresh_token_absolute_ttl BIGINT CHECK (refresh_token_absolute_ttl BETWEEN 60 AND 31536000),
    PRIMARY KEY (server_id, policy, position),
    UNIQUE (server_id, policy, name),
    FOREIGN KEY (server_id, policy) REFERENCES access_policies (server_id, position) ON DELETE CASCADE
);

-- Every server already stored keeps issuing what it issued: one policy for every client, with
-- one rule that allows every grant and sets no lifetime, so that each client's own (else the
-- server-wide default) applies as before. A new server gets the same.
INSERT INTO access_policies (server_id, position, name, description, clients)
    SELECT id, 0, 'Default Policy', 'Every client, every grant', '' FROM authorization_servers;
INSERT INTO policy_rules (server_id, policy, position, name, grant_types, roles, scopes, decision)
    SELECT id, 0, 0, 'Default Policy Rule', '', '', NULL, 'allow' FROM authorization_servers;
