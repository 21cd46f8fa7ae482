//! Admin API authentication: `Authorization: Api-Key <key>` names one product, and a
//! request may reach only that product's data.

use axum::http::{header, HeaderMap};
use gatehouse_domain::model::Product;
use gatehouse_domain::{DomainError, Services};

use super::error::WebError;

/// The product behind `Authorization: Api-Key <key>`.
pub async fn authenticate(services: &Services, headers: &HeaderMap) -> Result<Product, WebError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Api-Key ")
                .or_else(|| v.strip_prefix("api-key "))
        })
        .ok_or(WebError::Api(DomainError::Unauthenticated))?;
    services
        .authenticate_api_key(key)
        .await
        .map_err(|_| WebError::Api(DomainError::Unauthenticated))
}

/// [`authenticate`], for writes: the product's team must still be writable (trial).
pub async fn authenticate_for_write(
    services: &Services,
    headers: &HeaderMap,
) -> Result<Product, WebError> {
    let product = authenticate(services, headers).await?;
    services
        .require_product_writable(&product)
        .await
        .map_err(WebError::api)?;
    Ok(product)
}

/// The `product` named in a request must be the key's own product.
pub fn same_product(product: &Product, named: Option<&str>) -> Result<(), WebError> {
    match named.map(str::trim) {
        None | Some("") => Err(WebError::invalid("product", "is required")),
        Some(p) if p == product.id => Ok(()),
        Some(_) => Err(WebError::Api(DomainError::NotFound)),
    }
}
