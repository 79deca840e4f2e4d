-- Keys of several algorithms (ES256, RS256, EdDSA), each with its own life cycle: at most one
-- current and one next key per algorithm. A key's public half is derived from its private key
-- (PKCS#8) when it is loaded, so the two can never disagree: the EC-only public columns go.
DROP INDEX signing_keys_one_current;
DROP INDEX signing_keys_one_next;
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (alg) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (alg) WHERE state = 'next';
ALTER TABLE signing_keys DROP COLUMN public_x, DROP COLUMN public_y;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_alg CHECK (alg IN ('ES256', 'RS256', 'EdDSA'));
