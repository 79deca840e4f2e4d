-- Revocations of access tokens. Every instance holds them in memory (src/storage/revocations.rs), so
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

-- What was revoked before this table existed and may still be presented: revoked tokens until
-- their `exp` plus the 30 s leeway, grants revoked within the longest access-token lifetime,
-- and clients deleted within it (from the security event log: a token of a client deleted
-- before the upgrade would otherwise pass). Tokens issued before this version carry no grant
-- id: they are checked against `access_tokens` by the database, not from memory.
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'token', jti, revoked_at, expires_at + 30 FROM access_tokens
    WHERE revoked_at IS NOT NULL AND expires_at + 30 > unixepoch();
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'grant', id, revoked_at, revoked_at + 86430 FROM grants
    WHERE revoked_at IS NOT NULL AND revoked_at + 86430 > unixepoch();
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'client', client_id, at, at + 86430 FROM security_events
    WHERE kind = 'client_deleted' AND client_id IS NOT NULL AND at + 86430 > unixepoch();
