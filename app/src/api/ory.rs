use gatehouse_core::views::OrySettingsView;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "ory/get")]
pub async fn get_ory_settings(team: String, product: String) -> Result<OrySettingsView, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .ory
        .ory_settings(&user_id, &team, &product)
        .await?)
}

/// Save and verify. An empty `token` keeps the stored one.
#[server(prefix = "/rpc", endpoint = "ory/save")]
pub async fn save_ory_settings(
    team: String,
    product: String,
    token: String,
    project_id: String,
) -> Result<OrySettingsView, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let token = if token.trim().is_empty() {
        None
    } else {
        Some(token.into())
    };
    Ok(ssr::services()?
        .ory
        .save_ory_settings(&user_id, &team, &product, token, &project_id)
        .await?)
}

/// `cleanup = "remove"` first removes what Gatehouse made in Ory; anything else
/// leaves Ory as it is.
#[server(prefix = "/rpc", endpoint = "ory/disconnect")]
pub async fn disconnect_ory(
    team: String,
    product: String,
    cleanup: Option<String>,
) -> Result<OrySettingsView, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let remove = cleanup.as_deref() == Some("remove");
    Ok(ssr::services()?
        .ory
        .disconnect_ory(&user_id, &team, &product, remove)
        .await?)
}

/// "Re-sync all": check for drift, then queue every connection for repair.
#[server(prefix = "/rpc", endpoint = "ory/resync")]
pub async fn resync_ory(team: String, product: String) -> Result<OrySettingsView, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .ory
        .resync_ory(&user_id, &team, &product)
        .await?)
}
