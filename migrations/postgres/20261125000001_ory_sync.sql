-- Ory Network sync: each connection's mirror in Ory (an Organization and a generic
-- OIDC provider), and the outbox the sync worker drains.

-- The OAuth credentials Gatehouse gives Ory for this connection. The secret is
-- sealed (Gatehouse must be able to send it to Ory again when repairing drift);
-- the redirect URL is Ory's callback for this connection's organization.
ALTER TABLE connections ADD COLUMN ory_client_id TEXT;
ALTER TABLE connections ADD COLUMN ory_client_secret TEXT;
ALTER TABLE connections ADD COLUMN ory_redirect_url TEXT;
CREATE UNIQUE INDEX connections_by_ory_client_id ON connections(ory_client_id);

-- One row per connection that is (or was) mirrored. Written in the same transaction
-- as the connection change that makes it due ("pending"), so a change can never be
-- saved without its sync. The row outlives a deleted connection until Ory is cleaned.
CREATE TABLE ory_sync (
    connection_id   TEXT PRIMARY KEY,
    product_id      TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    -- the tenant the organization below was made for
    tenant          TEXT NOT NULL,
    provider_id     TEXT NOT NULL,
    organization_id TEXT,
    -- 1 once the connection is deleted: remove it from Ory, then drop this row
    deleted         BIGINT NOT NULL,
    -- pending | synced | failed
    state           TEXT NOT NULL,
    -- bumped by every change; a sync finishes only if nothing changed meanwhile
    version         BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    synced_at       BIGINT,
    -- JSON array of differences found by the last drift check
    drift           TEXT NOT NULL,
    checked_at      BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX ory_sync_by_product ON ory_sync(product_id);
CREATE INDEX ory_sync_due ON ory_sync(state, next_attempt_at);
