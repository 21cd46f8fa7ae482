-- Webhook endpoints and their delivery outbox (gatehouse_domain::webhooks), and the
-- connections' certificate and metadata upkeep (gatehouse_domain::sso::certificates,
-- gatehouse_domain::sso::metadata_refresh).
CREATE TABLE webhook_endpoints (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    description   TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    events        TEXT NOT NULL, -- JSON array of event names; empty: all
    enabled       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_product ON webhook_endpoints(product_id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY, -- the message id, sortable by creation
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    product_id      TEXT NOT NULL,
    event           TEXT NOT NULL,
    order_key       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL, -- pending | delivered | failed
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries(endpoint_id, order_key, id);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries(created_at);

-- Certificate expiry notices already told (one per connection, expiry and level),
-- so that each instance's hourly check tells each once.
CREATE TABLE certificate_notices (
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    not_after     BIGINT NOT NULL,
    level         TEXT NOT NULL, -- expiring | expiring_soon | expired
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, not_after, level)
);

-- The daily refresh of metadata URLs (gatehouse_domain::sso::metadata_refresh): when
-- each was last fetched, and the error if that fetch failed.
CREATE TABLE metadata_checks (
    connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    checked_at    BIGINT NOT NULL,
    error         TEXT
);
