//! The SSO engine: connections, and the OAuth 2.0 / OIDC endpoints bridged to SAML.

pub mod acs;
pub mod authorize;
pub mod certificates;
pub mod connection_form;
pub mod connections;
pub mod dashboard;
pub mod email_domains;
pub mod error;
pub mod jwt;
pub mod keys;
pub mod metadata_refresh;
pub mod pkce;
pub mod profile;
pub mod relay_state;
pub mod sign_in;
pub mod test_login;
pub mod token;
pub mod trace;
pub mod verifier;
