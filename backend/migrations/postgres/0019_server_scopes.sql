-- Each custom authorization server offers its own scopes (Okta's custom scopes), with its own
-- descriptions and consent flags, beside OpenID Connect's (openid, profile, email,
-- offline_access), which every server offers with the root issuer's descriptions. The root
-- issuer's scopes stay in `scopes`.
CREATE TABLE server_scopes (
    server_id        TEXT COLLATE "C" NOT NULL REFERENCES authorization_servers (id) ON DELETE CASCADE,
    name             TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    description      TEXT NOT NULL,
    consent_required BOOLEAN NOT NULL,
    PRIMARY KEY (server_id, name)
);

-- Servers stored before this offered every scope of the catalogue: they keep offering them
-- (but the console's `admin`, which only the root issuer's tokens carry to the admin API).
INSERT INTO server_scopes (server_id, name, description, consent_required)
    SELECT s.id, c.name, c.description, c.consent_required
    FROM authorization_servers s CROSS JOIN scopes c
    WHERE c.name NOT IN ('openid', 'profile', 'email', 'offline_access', 'admin');
