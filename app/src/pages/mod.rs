//! One module per page.

mod audit;
mod auth;
mod connections;
mod home;
mod invite;
mod members;
mod product_settings;
mod products;
mod setup;
mod webhooks;

pub use audit::AuditLogPage;
pub use auth::{LoginPage, SignupPage};
pub use connections::{ConnectionPage, ConnectionsPage, NewConnectionPage, TracePage};
pub use home::{HomePage, NewTeamPage, NotFoundPage, TeamHome};
pub use invite::InvitePage;
pub use members::MembersPage;
pub use product_settings::{ProductHome, ProductSettingsPage};
pub use products::ProductsPage;
pub use setup::SetupPage;
