//! Reusable pieces of the dashboard.

mod badges;
mod connection_form;
mod copy;
mod forms;
mod layout;
mod metadata_input;
mod oauth_panel;
mod pager;
mod product_header;
mod product_page;
mod sp_panel;

pub use badges::{CertificateBadge, DeliveryStateBadge, OryStateBadge, OutcomeBadge, StatusBadge};
pub use connection_form::{EmailDomainFields, RedirectFields, CONNECTION_FIELDS};
pub use copy::CopyButton;
pub use forms::*;
pub use layout::*;
pub use metadata_input::MetadataInput;
pub use oauth_panel::OAuthPanel;
pub use pager::OffsetPager;
pub use product_header::{CopyField, ProductHeader};
pub use product_page::{params as product_route_params, ProductPage};
pub use sp_panel::SpPanel;
