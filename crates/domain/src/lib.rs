//! Gatehouse's domain: the rules of the product, independent of HTTP and UI.
//!
//! * [`services::Services`] is the entry point; its methods are the use cases,
//!   grouped by area in [`accounts`], [`teams`], [`products`], [`ory_settings`].
//! * [`ports`] are the storage traits the `gatehouse-store` crate implements.
//! * Time comes from [`clock::Clock`]; secrets at rest go through [`secret_box`].
//!
//! Authorization rule: every team-scoped use case starts with
//! [`services::Services::team_access`] (membership) and, for product data,
//! [`services::Services::product_access`]; anything outside the caller's teams is
//! `NotFound`, never "forbidden", and the attempt is logged under the
//! `gatehouse::isolation` target.

pub mod accounts;
pub mod client_addr;
pub mod clock;
pub mod error;
pub mod model;
pub mod oidc;
pub mod ory;
pub mod ory_settings;
pub mod password;
pub mod ports;
pub mod products;
pub mod rate_limit;
pub mod saml;
pub mod scope;
pub mod secret_box;
pub mod services;
pub mod setup_links;
pub mod sso;
pub mod teams;
pub mod tokens;
pub mod views;

pub use error::{DomainError, DomainResult};
pub use scope::ProductScope;
pub use services::{DomainSettings, Services};
