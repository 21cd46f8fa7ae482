//! Reusable pieces of the dashboard.

mod copy;
mod forms;
mod layout;
mod product_header;

pub use copy::CopyButton;
pub use forms::*;
pub use layout::*;
pub use product_header::{CopyField, ProductHeader};
