-- "Test before Save" on setup links: the IdP settings a customer is trying out are
-- kept on the link (draft_idp, JSON like connections.idp_config) until saved; test
-- sign-ins go through either a connection or a link's draft. A draft never serves
-- an app's sign-in (only test sign-ins reference it).
ALTER TABLE setup_links ADD COLUMN draft_idp TEXT;
ALTER TABLE setup_links ADD COLUMN draft_at BIGINT;

-- SQLite cannot drop NOT NULL in place: rebuild the two tables (both hold only
-- short-lived rows).
CREATE TABLE pending_logins_v2 (
    id             TEXT PRIMARY KEY,
    connection_id  TEXT REFERENCES connections(id) ON DELETE CASCADE,
    setup_link_id  TEXT REFERENCES setup_links(id) ON DELETE CASCADE,
    purpose        TEXT NOT NULL, -- JSON
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    scope          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    idp_state      TEXT,
    CHECK ((connection_id IS NULL) <> (setup_link_id IS NULL))
);
INSERT INTO pending_logins_v2 (id, connection_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, used_at, idp_state)
    SELECT id, connection_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, used_at, idp_state FROM pending_logins;
DROP TABLE pending_logins;
ALTER TABLE pending_logins_v2 RENAME TO pending_logins;
CREATE INDEX pending_logins_by_expiry ON pending_logins(expires_at);

CREATE TABLE test_results_v2 (
    id            TEXT PRIMARY KEY,
    connection_id TEXT REFERENCES connections(id) ON DELETE CASCADE,
    setup_link_id TEXT REFERENCES setup_links(id) ON DELETE CASCADE,
    owner         TEXT NOT NULL,
    profile       TEXT,
    error         TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    CHECK ((connection_id IS NULL) <> (setup_link_id IS NULL))
);
INSERT INTO test_results_v2 (id, connection_id, owner, profile, error, created_at, expires_at)
    SELECT id, connection_id, owner, profile, error, created_at, expires_at FROM test_results;
DROP TABLE test_results;
ALTER TABLE test_results_v2 RENAME TO test_results;
