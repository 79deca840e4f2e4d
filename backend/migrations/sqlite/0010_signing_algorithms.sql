-- Keys of several algorithms (ES256, RS256, EdDSA), each with its own life cycle: at most one
-- current and one next key per algorithm. A key's public half is derived from its private key
-- (PKCS#8) when it is loaded, so the two can never disagree: the EC-only public columns go.
-- SQLite cannot add a CHECK to a column, so the table is rebuilt with one on `alg`.
CREATE TABLE signing_keys_new (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
    private_der  BLOB NOT NULL,              -- PKCS#8
    state        TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    retired_at   INTEGER
);
INSERT INTO signing_keys_new (kid, alg, private_der, state, created_at, activated_at, retired_at)
    SELECT kid, alg, private_der, state, created_at, activated_at, retired_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (alg) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (alg) WHERE state = 'next';
