//! Gatehouse's domain: the rules of the product, independent of HTTP and UI.
//!
//! * [`services::Services`] holds one service per area: [`access::Access`],
//!   [`accounts::Accounts`] (with [`teams`]), [`products::Products`],
//!   [`sso::connections::Connections`], [`setup_links::SetupLinks`],
//!   [`sso::sign_in::SignIn`], [`ory::OryIntegration`], [`keys::Keys`] and
//!   [`maintenance::Maintenance`]. Each holds only the ports it uses.
//! * [`ports`] are the storage traits the `gatehouse-store` crate implements;
//!   [`outbound::Fetch`] and [`ory::OryApi`] the outside world, implemented over
//!   HTTP in [`adapters`].
//! * Time comes from [`clock::Clock`]; secrets at rest go through [`secret_box`].
//!
//! Authorization rule: see [`access`]. Every team-scoped use case starts from a
//! membership or an API key, and a product's data is reached only through the
//! [`ProductScope`] that proves it.

pub mod access;
pub mod accounts;
pub mod adapters;
pub mod audit;
pub mod client_addr;
pub mod clock;
pub mod error;
pub mod keys;
pub mod maintenance;
pub mod model;
pub mod oidc;
pub mod ory;
pub mod outbound;
pub mod password;
pub mod ports;
pub mod products;
pub mod rate_limit;
pub mod saml;
pub mod scope;
pub mod secret_box;
pub mod services;
pub mod settings;
pub mod setup_links;
pub mod sso;
pub mod teams;
pub mod tokens;
pub mod traces;
pub mod views;
pub mod webhooks;

pub use error::{DomainError, DomainResult};
pub use scope::ProductScope;
pub use services::Services;
pub use settings::DomainSettings;
