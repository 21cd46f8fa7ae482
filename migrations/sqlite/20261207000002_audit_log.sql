-- The audit log (gatehouse_domain::audit): kept when the product or connection it
-- names is deleted, so no foreign keys.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL,
    product_id  TEXT,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    target_name TEXT,
    changes     TEXT NOT NULL, -- JSON array of {field, before, after}
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_events_by_team ON audit_events(team_id, created_at);
CREATE INDEX audit_events_by_product ON audit_events(product_id, created_at);
