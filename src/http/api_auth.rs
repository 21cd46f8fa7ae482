//! Admin API authentication: `Authorization: Api-Key <key>` proves one product
//! ([`ProductScope`]); the domain reaches only that product's data through it.

use axum::http::{header, HeaderMap};
use gatehouse_domain::{DomainError, ProductScope, Services};

use super::error::WebError;

/// The product behind `Authorization: Api-Key <key>`. A missing or wrong key is 401;
/// a failure to check it (the database) is answered as such, not as a wrong key.
pub async fn authenticate(
    services: &Services,
    headers: &HeaderMap,
) -> Result<ProductScope, WebError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Api-Key ")
                .or_else(|| v.strip_prefix("api-key "))
        })
        .ok_or(WebError::Api(DomainError::Unauthenticated))?;
    services
        .access
        .authenticate_api_key(key)
        .await
        .map_err(WebError::api)
}

/// [`authenticate`], for writes: the product's team must still be writable (trial).
pub async fn authenticate_for_write(
    services: &Services,
    headers: &HeaderMap,
) -> Result<ProductScope, WebError> {
    let product = authenticate(services, headers).await?;
    services
        .access
        .require_product_writable(&product)
        .await
        .map_err(WebError::api)?;
    Ok(product)
}
