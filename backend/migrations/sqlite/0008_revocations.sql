-- Revocations of access tokens. Every instance holds them in memory (src/revocation.rs), so
-- checking a token reads no database: each instance reads the rows added since it last looked,
-- by `seq`, every second or so. SQLite has one writer at a time, so `seq` grows in the order
-- the rows were committed and a reader that has seen `seq` n has seen every row before it.
--
-- kind 'token': one access token, by its `jti`; 'grant': every access token carrying the
-- grant's id (logout, a reused refresh token, a replayed code, a disabled user); 'client':
-- every access token of a client issued before it was deleted. A row is kept until no token it
-- concerns can still be valid (`expires_at`), then purged.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('token', 'grant', 'client')),
    subject    TEXT NOT NULL,
    revoked_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revocations_subject ON revocations (subject);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- What was revoked before this table existed (purged later if it no longer matters). Tokens
-- issued before it carry no grant id: they are checked against `access_tokens` instead.
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'token', jti, revoked_at, expires_at FROM access_tokens WHERE revoked_at IS NOT NULL;
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'grant', id, revoked_at, revoked_at + 86430 FROM grants WHERE revoked_at IS NOT NULL;
