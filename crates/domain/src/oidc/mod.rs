//! OpenID Connect identity providers: a connection can point at an OIDC IdP instead
//! of a SAML one. Gatehouse is then that IdP's relying party (the `openidconnect`
//! crate does the protocol); to the vendor's app nothing changes.

pub mod cache;
pub mod login;
pub mod provider;

/// The secret-box context of an OIDC connection's client secret.
pub fn client_secret_context(connection_id: &str) -> String {
    format!("oidc-idp:{connection_id}")
}
