-- The MVC mode's backend-for-frontend (backend/src/bff/): logins under way and sessions.
-- Both are found by the SHA-256 of the browser's cookie, never by the cookie itself, so a copy
-- of this database cannot be replayed as a cookie.

-- Between `/bff/login` and `/bff/callback`: what the callback must check (state) and send
-- (the PKCE verifier). Single-use, ten minutes. `replaces`: the session cookie of the browser's
-- current session, if it had one (the console's step-up), sealed under a key derived from the
-- login cookie: the callback ends that session.
CREATE TABLE bff_logins (
    id_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    requested_scope TEXT NOT NULL,
    return_to TEXT NOT NULL,
    replaces BLOB,
    expires_at INTEGER NOT NULL
);

-- `tokens` holds the access and refresh tokens sealed (ChaCha20-Poly1305) under a key derived
-- from the session cookie, which only the browser has: the rows alone open nothing.
CREATE TABLE bff_sessions (
    id_hash TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    requested_scope TEXT NOT NULL,
    tokens BLOB NOT NULL,
    access_expires_at INTEGER NOT NULL,
    refreshable INTEGER NOT NULL,
    exchanges TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX bff_sessions_expiry ON bff_sessions (expires_at);
