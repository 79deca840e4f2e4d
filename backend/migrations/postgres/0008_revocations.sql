-- Revocations of access tokens; see migrations/sqlite/0008_revocations.sql for what the rows
-- mean. Every instance holds them in memory (src/storage/revocations.rs) and reads the rows added since
-- it last looked, every second or so. PostgreSQL commits concurrent transactions in an order
-- that no sequence reflects, so a row is found by the transaction that wrote it (`xid`): a
-- reader notes the oldest transaction still running (`pg_snapshot_xmin`) before it reads, and
-- next time reads again from there, so a row committed late is never skipped.
CREATE TABLE revocations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind       TEXT NOT NULL CHECK (kind IN ('token', 'grant', 'client')),
    subject    TEXT NOT NULL,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revocations_xid ON revocations (xid);
CREATE INDEX revocations_subject ON revocations (subject);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

-- What was revoked before this table existed and may still be presented: revoked tokens until
-- their `exp` plus the 30 s leeway, grants revoked within the longest access-token lifetime,
-- and clients deleted within it (from the security event log: a token of a client deleted
-- before the upgrade would otherwise pass). Tokens issued before this version carry no grant
-- id: they are checked against `access_tokens` by the database, not from memory.
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'token', jti, revoked_at, expires_at + 30 FROM access_tokens
    WHERE revoked_at IS NOT NULL AND expires_at + 30 > CAST(extract(epoch FROM now()) AS BIGINT);
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'grant', id, revoked_at, revoked_at + 86430 FROM grants
    WHERE revoked_at IS NOT NULL AND revoked_at + 86430 > CAST(extract(epoch FROM now()) AS BIGINT);
INSERT INTO revocations (kind, subject, revoked_at, expires_at)
    SELECT 'client', client_id, at, at + 86430 FROM security_events
    WHERE kind = 'client_deleted' AND client_id IS NOT NULL AND at + 86430 > CAST(extract(epoch FROM now()) AS BIGINT);
