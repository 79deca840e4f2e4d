-- Times are Unix seconds (INTEGER) unless a column says otherwise.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,          -- the `sub` of this user's tokens; never reused
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,             -- argon2id PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE scopes (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL
);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,            -- client_id
    name        TEXT NOT NULL,
    secret_hash TEXT,                        -- NULL for a public client; SHA-256, see crypto.rs
    first_party INTEGER NOT NULL DEFAULT 0,  -- first-party clients skip the consent screen
    grant_types TEXT NOT NULL,               -- space-separated grant types it may use
    scopes      TEXT NOT NULL,               -- space-separated scopes it may be granted
    created_at  INTEGER NOT NULL,
    CHECK ((secret_hash IS NULL) OR (length(secret_hash) = 64))
);

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    uri       TEXT NOT NULL,
    PRIMARY KEY (client_id, uri)
);

CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,         -- SHA-256 of the code: a database leak yields no usable code
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,                     -- OpenID Connect nonce, echoed in the ID token
    auth_time      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER                   -- set by the one redemption attempt a code gets
);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_der BLOB NOT NULL,               -- PKCS#8
    public_x    TEXT NOT NULL,               -- base64url, as in the JWK
    public_y    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0)
);

CREATE TABLE orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    owner            TEXT NOT NULL,          -- `sub` of the token that placed it
    client_id        TEXT NOT NULL,
    product_id       INTEGER NOT NULL REFERENCES products (id),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price_cents INTEGER NOT NULL,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX orders_owner ON orders (owner, id);
