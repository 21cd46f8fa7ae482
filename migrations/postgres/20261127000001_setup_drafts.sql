-- "Test before Save" on setup links: the IdP settings a customer is trying out are
-- kept on the link (draft_idp, JSON like connections.idp_config) until saved; test
-- sign-ins go through either a connection or a link's draft. A draft never serves
-- an app's sign-in (only test sign-ins reference it).
ALTER TABLE setup_links ADD COLUMN draft_idp TEXT, ADD COLUMN draft_at BIGINT;

ALTER TABLE pending_logins
    ALTER COLUMN connection_id DROP NOT NULL,
    ADD COLUMN setup_link_id TEXT REFERENCES setup_links(id) ON DELETE CASCADE,
    ADD CONSTRAINT pending_logins_one_target CHECK ((connection_id IS NULL) <> (setup_link_id IS NULL));

ALTER TABLE test_results
    ALTER COLUMN connection_id DROP NOT NULL,
    ADD COLUMN setup_link_id TEXT REFERENCES setup_links(id) ON DELETE CASCADE,
    ADD CONSTRAINT test_results_one_target CHECK ((connection_id IS NULL) <> (setup_link_id IS NULL));
