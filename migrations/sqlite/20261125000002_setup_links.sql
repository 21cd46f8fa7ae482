-- Setup links: a customer's IT admin configures their tenant's SSO connection
-- without a Gatehouse account. Only the token's hash is stored.
CREATE TABLE setup_links (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    tenant        TEXT NOT NULL,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    -- the last time a connection was saved through it, and which
    used_at       BIGINT,
    connection_id TEXT
);
CREATE INDEX setup_links_by_product ON setup_links(product_id);
