//! Reusable pieces of the dashboard.

mod copy;
mod forms;
mod layout;

pub use copy::CopyButton;
pub use forms::*;
pub use layout::*;
