//! The connection pages: the list (with setup links), a new connection, one connection.

mod detail;
mod list;
mod new;
mod setup_links;

pub use detail::ConnectionPage;
pub use list::ConnectionsPage;
pub use new::NewConnectionPage;
