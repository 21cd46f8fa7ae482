//! Setup links: the admin's side (list, create, revoke, regenerate) and the
//! customer's side (`setup/*`, addressed by the link's token, no account).

use gatehouse_core::views::{CreatedSetupLink, SetupLinkView, SetupPage};
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "setup-links/list")]
pub async fn list_setup_links(
    team: String,
    product: String,
) -> Result<Vec<SetupLinkView>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_setup_links(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "setup-links/create")]
pub async fn create_setup_link(
    team: String,
    product: String,
    tenant: String,
    name: String,
    expiry_days: String,
) -> Result<CreatedSetupLink, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_create_setup_link(&user_id, &team, &product, &tenant, &name, &expiry_days)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "setup-links/revoke")]
pub async fn revoke_setup_link(
    team: String,
    product: String,
    link: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_revoke_setup_link(&user_id, &team, &product, &link)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "setup-links/regenerate")]
pub async fn regenerate_setup_link(
    team: String,
    product: String,
    link: String,
) -> Result<CreatedSetupLink, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_regenerate_setup_link(&user_id, &team, &product, &link)
        .await?)
}

/// The setup page's data, for the link's token (no account).
#[server(prefix = "/rpc", endpoint = "setup/get")]
pub async fn get_setup_page(token: String) -> Result<SetupPage, AppError> {
    use super::ssr;
    let services = ssr::services()?;
    let open = services
        .open_setup_link(&token, &ssr::client_key().await)
        .await?;
    ssr::remember_setup_link(&open.link.id).await?;
    Ok(services.setup_page(&open).await?)
}

/// Save the IdP metadata through the link: creates or updates the connection of the
/// link's tenant. `metadata_source` is `xml`, `file` or `url`.
#[server(prefix = "/rpc", endpoint = "setup/save")]
pub async fn save_setup(
    token: String,
    metadata_source: String,
    metadata_xml: String,
    metadata_url: String,
) -> Result<SetupPage, AppError> {
    use super::ssr;
    use gatehouse_domain::sso::connections::MetadataSource;
    let services = ssr::services()?;
    let open = services
        .open_setup_link(&token, &ssr::client_key().await)
        .await?;
    let metadata = if metadata_source == "url" {
        MetadataSource::Url(metadata_url)
    } else {
        MetadataSource::Xml(metadata_xml)
    };
    ssr::remember_setup_link(&open.link.id).await?;
    Ok(services.setup_save(&open, metadata).await?)
}
