-- What PostgreSQL support and several instances need of the SQLite schema. The PostgreSQL
-- schema (migrations/postgres/0007_schema.sql) is the same as this one after this file.

-- Orders keep their time as Unix seconds, like every other time here, given by the server's
-- clock rather than by the database's strftime.
ALTER TABLE orders ADD COLUMN placed_at INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET placed_at = CAST(strftime('%s', created_at) AS INTEGER);
ALTER TABLE orders DROP COLUMN created_at;
ALTER TABLE orders RENAME COLUMN placed_at TO created_at;

-- Redirect URIs keep the order they were given in, stated instead of read off SQLite's rowid.
ALTER TABLE client_redirect_uris ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE client_redirect_uris SET position = rowid;

-- When a spent authorization code was presented again. A replay that arrives while the first
-- redemption is still issuing its tokens (on this instance or another) marks the code, and the
-- first redemption then issues nothing: either way, a replayed code leaves no live grant
-- (RFC 6749 §4.1.2).
ALTER TABLE authorization_codes ADD COLUMN replayed_at INTEGER;

-- Rate limits (failed logins, login attempts, failed client authentications), counted in the
-- database so that every instance counts against the same allowance. One row per limit and
-- key: when the key's allowance is full again (the generic cell rate algorithm's theoretical
-- arrival time), in microseconds. A row whose time has passed is as good as absent.
CREATE TABLE rate_limits (
    name    TEXT NOT NULL,                   -- which limit
    subject TEXT NOT NULL,                   -- a username, an address, a client id and address
    full_at INTEGER NOT NULL,                -- microseconds
    PRIMARY KEY (name, subject)
);
CREATE INDEX rate_limits_full_at ON rate_limits (full_at);

-- The backend-for-frontend's refresh lease: while a request of some instance renews a
-- session's tokens, the others wait for its result instead of presenting the refresh token a
-- second time (which would be reuse and end the login).
ALTER TABLE bff_sessions ADD COLUMN refresh_holder TEXT;
ALTER TABLE bff_sessions ADD COLUMN refresh_until INTEGER;
