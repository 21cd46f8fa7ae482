-- OIDC IdP connections: the PKCE verifier and nonce sent to the IdP, sealed, kept
-- with the pending login until the IdP answers at /api/oauth/oidc.
ALTER TABLE pending_logins ADD COLUMN idp_state TEXT;
