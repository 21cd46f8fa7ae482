-- The SSO engine: connections, logins in flight, codes, tokens, signing keys.

-- Jackson's CLIENT_SECRET_VERIFIER, per product (sealed; shown in Settings).
ALTER TABLE products ADD COLUMN client_secret_verifier TEXT;

CREATE TABLE connections (
    id                   TEXT PRIMARY KEY,
    product_id           TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    tenant               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL,
    protocol             TEXT NOT NULL,
    idp_config           TEXT NOT NULL, -- JSON (metadata, certificates, endpoints)
    idp_entity_id        TEXT NOT NULL,
    redirect_urls        TEXT NOT NULL, -- JSON array
    default_redirect_url TEXT,
    client_id            TEXT NOT NULL UNIQUE,
    client_secret_hash   TEXT NOT NULL,
    allow_idp_initiated  BIGINT NOT NULL,
    enabled              BIGINT NOT NULL,
    source               TEXT NOT NULL,
    setup_link_id        TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX connections_by_product_tenant ON connections(product_id, tenant);
CREATE INDEX connections_by_idp_entity ON connections(idp_entity_id);

CREATE TABLE pending_logins (
    id             TEXT PRIMARY KEY,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL, -- JSON
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    scope          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX pending_logins_by_expiry ON pending_logins(expires_at);

-- Replay cache: each assertion id is accepted once per connection, until it expires.
CREATE TABLE seen_assertions (
    connection_id TEXT NOT NULL,
    assertion_id  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX seen_assertions_by_expiry ON seen_assertions(expires_at);

CREATE TABLE auth_codes (
    code_hash         TEXT PRIMARY KEY,
    connection_id     TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    client_id         TEXT NOT NULL,
    redirect_uri      TEXT NOT NULL,
    code_challenge    TEXT,
    nonce             TEXT,
    scope             TEXT NOT NULL,
    profile           TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    redeemed_at       BIGINT,
    access_token_hash TEXT
);
CREATE INDEX auth_codes_by_expiry ON auth_codes(expires_at);

CREATE TABLE access_tokens (
    token_hash    TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    profile       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX access_tokens_by_expiry ON access_tokens(expires_at);

CREATE TABLE test_results (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    owner         TEXT NOT NULL,
    profile       TEXT,
    error         TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL UNIQUE,
    private_key TEXT NOT NULL, -- sealed PKCS#8 PEM
    certificate TEXT,
    created_at  BIGINT NOT NULL
);
