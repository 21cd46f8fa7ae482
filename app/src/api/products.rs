use gatehouse_core::views as v;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "products/list")]
pub async fn list_products(team: String) -> Result<Vec<v::ProductSummary>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .list_products(&user_id, &team)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/create")]
pub async fn create_product(
    team: String,
    name: String,
    description: String,
) -> Result<v::ProductDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let product = ssr::services()?
        .products
        .create_product(&user_id, &team, &name, &description)
        .await?;
    leptos_axum::redirect(&format!(
        "/teams/{team}/products/{}/settings/general",
        product.id
    ));
    Ok(product)
}

#[server(prefix = "/rpc", endpoint = "products/get")]
pub async fn get_product(team: String, product: String) -> Result<v::ProductDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .product_detail(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/update")]
pub async fn update_product(
    team: String,
    product: String,
    name: String,
    description: String,
    redirect_urls: String,
    default_redirect_url: String,
) -> Result<v::ProductDetail, AppError> {
    use super::ssr;
    use gatehouse_domain::products::ProductUpdate;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .update_product(
            &user_id,
            &team,
            &product,
            ProductUpdate {
                name,
                description,
                redirect_urls,
                default_redirect_url,
            },
        )
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/deletion-impact")]
pub async fn product_deletion_impact(
    team: String,
    product: String,
) -> Result<v::ProductDeletionImpact, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .product_deletion_impact(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/delete")]
pub async fn delete_product(
    team: String,
    product: String,
    confirm_name: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    ssr::services()?
        .products
        .delete_product(&user_id, &team, &product, &confirm_name)
        .await?;
    leptos_axum::redirect(&format!("/teams/{team}/products"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "api-keys/list")]
pub async fn list_api_keys(team: String, product: String) -> Result<Vec<v::ApiKeyView>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .api_keys(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "api-keys/create")]
pub async fn create_api_key(
    team: String,
    product: String,
    name: String,
) -> Result<v::CreatedApiKey, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .create_api_key(&user_id, &team, &product, &name)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "api-keys/revoke")]
pub async fn revoke_api_key(team: String, product: String, key: String) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .products
        .revoke_api_key(&user_id, &team, &product, &key)
        .await?)
}
