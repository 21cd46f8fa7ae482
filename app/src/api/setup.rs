//! Setup links: the admin's side (list, create, revoke, regenerate) and the
//! customer's side (`setup/*`, addressed by the link's token, no account).

use gatehouse_core::connection_form::ConnectionForm;
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
        .setup_links
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
        .setup_links
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
        .setup_links
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
        .setup_links
        .dashboard_regenerate_setup_link(&user_id, &team, &product, &link)
        .await?)
}

/// The setup page's data, for the link's token (no account).
#[server(prefix = "/rpc", endpoint = "setup/get")]
pub async fn get_setup_page(token: String) -> Result<SetupPage, AppError> {
    use super::ssr;
    let services = ssr::services()?;
    let open = services
        .setup_links
        .open_setup_link(&token, &ssr::client_key().await)
        .await?;
    ssr::remember_setup_link(&open.link.id).await?;
    Ok(services.setup_links.setup_page(&open).await?)
}

/// The IdP settings through the link (the IdP fields of [`ConnectionForm`]; the rest
/// is the link's). `intent` `test` (the Test button) checks them and keeps them for a
/// test sign-in, whose start URL comes back in `test_url`; otherwise (Save) creates
/// or updates the connection of the link's tenant.
#[server(prefix = "/rpc", endpoint = "setup/save")]
pub async fn save_setup(
    token: String,
    intent: Option<String>,
    #[server(flatten)] form: ConnectionForm,
) -> Result<SetupPage, AppError> {
    use super::ssr;
    use gatehouse_domain::sso::connection_form::setup_metadata;
    let services = ssr::services()?;
    let open = services
        .setup_links
        .open_setup_link(&token, &ssr::client_key().await)
        .await?;
    let metadata = setup_metadata(&form)?;
    ssr::remember_setup_link(&open.link.id).await?;
    if intent.as_deref() == Some("test") {
        services.setup_links.setup_try(&open, metadata).await?;
        let mut page = services.setup_links.setup_page(&open).await?;
        page.test_url = Some(format!("/setup/{}/test?draft=1", token.trim()));
        return Ok(page);
    }
    Ok(services.setup_links.setup_save(&open, metadata).await?)
}
