-- Email domains a connection's IdP may vouch for, beside the tenant's own
-- (gatehouse_domain::sso::email_domains), and the explicit opt-out.
ALTER TABLE connections ADD COLUMN email_domains TEXT NOT NULL DEFAULT '[]'; -- JSON array
ALTER TABLE connections ADD COLUMN accept_any_email_domain BIGINT NOT NULL DEFAULT 0;

-- When Gatehouse switched on the Ory project's OpenID Connect sign-in method (so that
-- a disconnect turns it off again only if Gatehouse turned it on).
ALTER TABLE ory_settings ADD COLUMN oidc_enabled_at BIGINT;

-- Failed logins are purged by age (an hour after they can no longer lock an email).
CREATE INDEX failed_logins_by_time ON failed_logins(at);
