-- Custom claims of the custom authorization servers, in order: each is added to the server's
-- access tokens when any of its scopes is granted (or always, without scopes), with a constant
-- value. The claims the server sets itself are never among them (the admin API refuses them).
CREATE TABLE server_claims (
    server_id TEXT NOT NULL REFERENCES authorization_servers (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    name      TEXT NOT NULL CHECK (name <> ''),
    scopes    TEXT,           -- space-separated; NULL for always
    value     TEXT NOT NULL,  -- JSON
    PRIMARY KEY (server_id, position),
    UNIQUE (server_id, name)
);
