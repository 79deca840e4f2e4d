-- OpenID Connect RP-Initiated Logout 1.0 §3.1: where a client may send the browser after a
-- logout, compared by exact string equality; space-separated (a URI has no space).
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
-- OpenID Connect Back-Channel Logout 1.0 §2.2: where this server posts a logout token when one
-- of the client's logins ends; NULL for none.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- The login (grant) a backend-for-frontend session came from: a logout token names it as `sid`.
ALTER TABLE bff_sessions ADD COLUMN grant_id TEXT;
CREATE INDEX bff_sessions_grant ON bff_sessions (grant_id);
CREATE INDEX bff_sessions_subject ON bff_sessions (subject);
