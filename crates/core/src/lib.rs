//! Types shared by the Gatehouse server and its wasm dashboard.
//!
//! Everything here compiles to `wasm32-unknown-unknown`: no database, TLS, XML or
//! crypto crates. Values that cross the wire between the dashboard and the server
//! are validated by the constructors in [`validate`], so the browser can show the
//! same message the server would (without a round trip) and the server never has to
//! trust the browser.

pub mod audit;
pub mod connection_form;
pub mod error_kind;
pub mod ids;
mod named;
pub mod paging;
pub mod traces;
pub mod trial;
pub mod validate;
pub mod views;
pub mod webhooks;

pub use error_kind::{ErrorKind, PublicError};
pub use ids::{ClientId, ProductId, RedirectUri, SetupLinkId, Tenant};
pub use validate::{
    Email, FieldError, PasswordPolicy, ProductName, RedirectUrl, RedirectUrlList, TeamName,
};

/// Keys of the server-side session, shared by the dashboard and the HTTP handlers.
pub mod session {
    /// The signed-in user's id.
    pub const USER_ID: &str = "user_id";
    /// A setup link verified in this browser session.
    pub const SETUP_LINK: &str = "setup_link_id";
}
