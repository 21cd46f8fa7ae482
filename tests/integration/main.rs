#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! All integration tests in one binary (one link instead of many).
//! Every test runs on each engine in `GATEHOUSE_TEST_ENGINES` (default: sqlite,postgres).

mod idp;
mod oidc_peers;
mod sso_support;
mod support;

mod accounts;
mod admin_api;
mod audit;
mod cli;
mod cluster;
mod crash;
mod email_domains;
mod flood;
mod isolation;
mod keys;
mod metadata_refresh;
mod oauth_security;
mod observability;
mod oidc_flows;
mod openapi;
mod ory_settings;
mod ory_sync;
mod products;
mod retention;
mod saml_dsig;
mod saml_security;
mod server;
mod setup_links;
mod shutdown;
mod sso_flows;
mod traces;
mod webhooks;
