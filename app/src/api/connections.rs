use gatehouse_core::connection_form::ConnectionForm;
use gatehouse_core::views as v;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "connections/list")]
pub async fn list_connections(
    team: String,
    product: String,
) -> Result<Vec<v::ConnectionSummary>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .list_connections(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/get")]
pub async fn get_connection(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .connection_view(&user_id, &team, &product, &connection)
        .await?)
}

/// Create a connection from the connection form (Jackson's field names; see
/// [`ConnectionForm`]). `connection_id` is the id the form reserved for the OIDC
/// redirect URI it shows.
#[server(prefix = "/rpc", endpoint = "connections/create")]
pub async fn create_connection(
    team: String,
    product: String,
    connection_id: Option<String>,
    #[server(flatten)] form: ConnectionForm,
) -> Result<v::ConnectionCredentials, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_create_connection(&user_id, &team, &product, &form, connection_id.as_deref())
        .await?)
}

/// Save the edit form: it shows every field, so an unticked checkbox is "no" and
/// empty IdP inputs keep the current IdP.
#[server(prefix = "/rpc", endpoint = "connections/update")]
pub async fn update_connection(
    team: String,
    product: String,
    connection: String,
    #[server(flatten)] form: ConnectionForm,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_update_connection(&user_id, &team, &product, &connection, &form)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/set-enabled")]
pub async fn set_connection_enabled(
    team: String,
    product: String,
    connection: String,
    enabled: bool,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_set_connection_enabled(&user_id, &team, &product, &connection, enabled)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/rotate-secret")]
pub async fn rotate_connection_secret(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionCredentials, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_rotate_connection_secret(&user_id, &team, &product, &connection)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/delete")]
pub async fn delete_connection(
    team: String,
    product: String,
    connection: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    ssr::services()?
        .connections
        .dashboard_delete_connection(&user_id, &team, &product, &connection)
        .await?;
    leptos_axum::redirect(&format!("/teams/{team}/products/{product}/connections"));
    Ok(())
}

/// "Retry now": sync the connection with Ory at once.
#[server(prefix = "/rpc", endpoint = "connections/ory-retry")]
pub async fn retry_ory_sync(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_retry_ory_sync(&user_id, &team, &product, &connection)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/oauth")]
pub async fn product_oauth(team: String, product: String) -> Result<v::ProductOAuth, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .product_oauth(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/rotate-verifier")]
pub async fn rotate_secret_verifier(team: String, product: String) -> Result<String, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connections
        .dashboard_rotate_secret_verifier(&user_id, &team, &product)
        .await?)
}
