-- Sign-in traces (gatehouse_domain::sso::trace): one row per attempt that could be
-- tied to a product, kept GATEHOUSE_TRACE_RETENTION_DAYS.
CREATE TABLE sign_in_traces (
    id            TEXT PRIMARY KEY,
    product_id    TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    connection_id TEXT,
    tenant        TEXT,
    client_id     TEXT,
    kind          TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    reason        TEXT,
    detail        TEXT,
    subject       TEXT,
    email         TEXT,
    reference_id  TEXT NOT NULL,
    idp_response  TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX sign_in_traces_by_product ON sign_in_traces(product_id, created_at);
CREATE INDEX sign_in_traces_by_connection ON sign_in_traces(connection_id, created_at);
CREATE INDEX sign_in_traces_by_reference ON sign_in_traces(reference_id);
CREATE INDEX sign_in_traces_by_time ON sign_in_traces(created_at);
