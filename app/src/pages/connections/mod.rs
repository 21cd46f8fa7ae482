//! The connection pages: the list (with setup links), a new connection, one connection,
//! and one sign-in's trace.

mod detail;
mod list;
mod new;
mod setup_links;
mod sign_ins;

pub use detail::ConnectionPage;
pub use list::ConnectionsPage;
pub use new::NewConnectionPage;
pub use sign_ins::TracePage;
