//! `/api/v1/sso/setuplinks`: setup links over the admin API, as in Jackson
//! (`POST` create, `GET` by `setupID` or by `product` [+ `tenant`], `DELETE` by
//! `setupID`). Answers are `{"data": …}`. The link URL (with its token) is returned
//! only by `POST`; Gatehouse stores only the token's hash.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::SetupLinkId;
use gatehouse_domain::setup_links::parse_expiry_days;
use gatehouse_domain::DomainError;

use super::api_auth::{authenticate, authenticate_for_write};
use super::api_body::{required_tenant, ApiBody, ApiQuery};
use super::api_types::{
    ApiError, Data, Empty, SetupLinkData, SetupLinkDeleteQuery, SetupLinkForm, SetupLinkQuery,
    SetupLinks,
};
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/sso/setuplinks",
        get(setup_links_get)
            .post(setup_links_post)
            .delete(setup_links_delete),
    )
}

/// Create a setup link for a tenant; the URL (with its token) is returned only here.
#[utoipa::path(
    post,
    path = "/api/v1/sso/setuplinks",
    tag = "setup links",
    request_body(content(
        (SetupLinkForm = "application/json"),
        (SetupLinkForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Created", body = Data<SetupLinkData>),
        (status = 400, description = "Invalid input, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "`product` is not the API key's product", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn setup_links_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiBody<SetupLinkForm>, WebError>,
) -> Result<Response, WebError> {
    let services = &state.services;
    let product = authenticate_for_write(services, &headers).await?;
    let ApiBody(form) = body?;
    product
        .check_named(form.product.as_ref())
        .map_err(WebError::api)?;
    if let Some(service) = form.service.filter(|s| s != "sso") {
        return Err(WebError::invalid(
            "service",
            format!("{service} is not supported (only sso)"),
        ));
    }
    let days = parse_expiry_days(form.expiry_days.as_deref().unwrap_or_default())
        .map_err(|e| WebError::invalid("expiryDays", e.message))?;
    let created = services
        .setup_links
        .create_setup_link(
            &product,
            &required_tenant(form.tenant.as_ref())?,
            form.name.as_deref().unwrap_or_default(),
            days,
        )
        .await
        .map_err(WebError::api)?;
    let data = SetupLinkData::new(&product.id, &created.link, Some(&created.url));
    Ok((StatusCode::CREATED, Json(Data { data })).into_response())
}

/// One link by `setupID`, or the product's links (optionally of one tenant).
#[utoipa::path(
    get,
    path = "/api/v1/sso/setuplinks",
    tag = "setup links",
    params(SetupLinkQuery),
    responses(
        (status = 200, description = "`{data: link}` by `setupID`, else `{data: [link]}`", body = Data<SetupLinks>),
        (status = 400, description = "Neither `setupID` nor `product`", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "No such link for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn setup_links_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<SetupLinkQuery>, WebError>,
) -> Result<Response, WebError> {
    let services = &state.services;
    let product = authenticate(services, &headers).await?;
    let ApiQuery(q) = query?;
    let links = services
        .setup_links
        .list_setup_links(&product)
        .await
        .map_err(WebError::api)?;
    if let Some(id) = q.setup_id.as_ref().map(SetupLinkId::as_str) {
        let link = links
            .iter()
            .find(|l| l.id == id)
            .ok_or(WebError::Api(DomainError::NotFound))?;
        let data = SetupLinks::One(SetupLinkData::new(&product.id, link, None));
        return Ok(Json(Data { data }).into_response());
    }
    product
        .check_named(q.product.as_ref())
        .map_err(WebError::api)?;
    let data = SetupLinks::Many(
        links
            .iter()
            .filter(|l| q.tenant.as_ref().is_none_or(|t| l.tenant == t.as_str()))
            .map(|l| SetupLinkData::new(&product.id, l, None))
            .collect(),
    );
    Ok(Json(Data { data }).into_response())
}

/// Revoke a setup link: it stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/sso/setuplinks",
    tag = "setup links",
    params(SetupLinkDeleteQuery),
    responses(
        (status = 200, description = "Revoked", body = Data<Empty>),
        (status = 400, description = "`setupID` missing", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "No such link for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn setup_links_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<SetupLinkDeleteQuery>, WebError>,
) -> Result<Json<Data<Empty>>, WebError> {
    let services = &state.services;
    let product = authenticate_for_write(services, &headers).await?;
    let ApiQuery(q) = query?;
    let id = q
        .setup_id
        .map(|s| s.as_str().to_string())
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| WebError::invalid("setupID", "is required"))?;
    services
        .setup_links
        .revoke_setup_link(&product, &id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data: Empty {} }))
}
