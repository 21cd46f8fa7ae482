//! `/api/v1/sso`: the connection admin API, compatible with BoxyHQ SAML Jackson
//! (`product` is the Gatehouse product id). Authenticated with
//! `Authorization: Api-Key <key>` using the product's API keys. Bodies may be JSON or
//! form-encoded, as with Jackson. Published as OpenAPI at `/api/v1/openapi.json`.
//!
//! Differences from Jackson, by design: `clientSecret` is returned only when a
//! connection is created (it is stored hashed), and a key only reaches its own
//! product's connections (others are 404 / empty lists).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::connection_form::ConnectionForm;
use gatehouse_core::ClientId;
use gatehouse_domain::model::{Connection, ConnectionSource};
use gatehouse_domain::sso::connection_form::{connection_input, FormMode};
use gatehouse_domain::sso::connections::own_client_secret_matches;
use gatehouse_domain::{DomainError, ProductScope, Services};

use super::api_auth::{authenticate, authenticate_for_write};
use super::api_body::{required_tenant, ApiBody, ApiQuery};
use super::api_types::{ApiError, ConnectionPatch, ConnectionQuery, ConnectionView};
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/sso",
            get(sso_get)
                .post(sso_post)
                .patch(sso_patch)
                .delete(sso_delete),
        )
        .route("/api/v1/openapi.json", get(openapi_get))
}

/// Create an SSO connection.
#[utoipa::path(
    post,
    path = "/api/v1/sso",
    tag = "connections",
    request_body(content(
        (ConnectionForm = "application/json"),
        (ConnectionForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Created; `clientSecret` is shown only here", body = ConnectionView),
        (status = 400, description = "Invalid input (e.g. bad metadata), naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "`product` is not the API key's product", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn sso_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiBody<ConnectionForm>, WebError>,
) -> Result<Json<ConnectionView>, WebError> {
    let services = &state.services;
    let product = authenticate_for_write(services, &headers).await?;
    let ApiBody(form) = body?;
    product
        .check_named(form.product.as_ref())
        .map_err(WebError::api)?;
    let input = connection_input(&form, FormMode::Create).map_err(WebError::api)?;
    let created = services
        .connections
        .create_connection(&product, input, ConnectionSource::Api, None, None)
        .await
        .map_err(WebError::api)?;
    Ok(Json(ConnectionView::new(
        services,
        &created.connection,
        Some(&created.client_secret),
    )))
}

/// Select connections by `clientID`, or by `tenant` + `product`.
async fn select(
    services: &Services,
    product: &ProductScope,
    q: &ConnectionQuery,
) -> Result<Vec<Connection>, WebError> {
    if let Some(client_id) = q
        .client_id
        .as_ref()
        .map(ClientId::as_str)
        .filter(|s| !s.is_empty())
    {
        let c = services
            .connections
            .connection_by_client_id(product, client_id)
            .await
            .map_err(WebError::api)?;
        return Ok(c.into_iter().collect());
    }
    product
        .check_named(q.product.as_ref())
        .map_err(WebError::api)?;
    services
        .connections
        .tenant_connections(product, &required_tenant(q.tenant.as_ref())?)
        .await
        .map_err(WebError::api)
}

/// Find connections by `clientID`, or by `tenant` and `product`.
#[utoipa::path(
    get,
    path = "/api/v1/sso",
    tag = "connections",
    params(ConnectionQuery),
    responses(
        (status = 200, description = "The connections (none: an empty list)", body = [ConnectionView]),
        (status = 400, description = "Neither `clientID` nor `tenant` and `product`", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "`product` is not the API key's product", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn sso_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<ConnectionQuery>, WebError>,
) -> Result<Json<Vec<ConnectionView>>, WebError> {
    let services = &state.services;
    let product = authenticate(services, &headers).await?;
    let ApiQuery(q) = query?;
    let found = select(services, &product, &q).await?;
    Ok(Json(
        found
            .iter()
            .map(|c| ConnectionView::new(services, c, None))
            .collect(),
    ))
}

/// Update a connection: `clientID` and `clientSecret` identify it; fields left out
/// keep their value.
#[utoipa::path(
    patch,
    path = "/api/v1/sso",
    tag = "connections",
    request_body(content(
        (ConnectionPatch = "application/json"),
        (ConnectionPatch = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Updated", body = ConnectionView),
        (status = 400, description = "Invalid input, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key, or wrong `clientSecret`", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "No such connection for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn sso_patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiBody<ConnectionPatch>, WebError>,
) -> Result<Json<ConnectionView>, WebError> {
    let services = &state.services;
    let product = authenticate_for_write(services, &headers).await?;
    let ApiBody(patch) = body?;
    let client_id = patch
        .client_id
        .ok_or_else(|| WebError::invalid("clientID", "is required"))?;
    let secret = patch
        .client_secret
        .ok_or_else(|| WebError::invalid("clientSecret", "is required"))?;
    let connection = services
        .connections
        .connection_by_client_id(&product, &client_id)
        .await
        .map_err(WebError::api)?
        .ok_or(WebError::Api(DomainError::NotFound))?;
    if !own_client_secret_matches(&connection, &secret) {
        return Err(WebError::Api(DomainError::WrongSecret("clientSecret")));
    }
    let input =
        connection_input(&patch.form, FormMode::Patch(&connection)).map_err(WebError::api)?;
    let mut updated = services
        .connections
        .update_connection(&product, connection, input)
        .await
        .map_err(WebError::api)?;
    if let Some(enabled) = patch
        .deactivated
        .map(|d| !d.0)
        .filter(|e| *e != updated.enabled)
    {
        updated = services
            .connections
            .set_connection_enabled(&product, updated, enabled)
            .await
            .map_err(WebError::api)?;
    }
    Ok(Json(ConnectionView::new(services, &updated, None)))
}

/// Delete one connection by `clientID` + `clientSecret`, or all of a `tenant` of a
/// `product`.
#[utoipa::path(
    delete,
    path = "/api/v1/sso",
    tag = "connections",
    params(ConnectionQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Neither `clientID` + `clientSecret` nor `tenant` and `product`", body = ApiError),
        (status = 401, description = "Missing or wrong API key, or wrong `clientSecret`", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "No such connection for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn sso_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<ConnectionQuery>, WebError>,
) -> Result<StatusCode, WebError> {
    let services = &state.services;
    let product = authenticate_for_write(services, &headers).await?;
    let ApiQuery(q) = query?;
    let targets = if q.client_id.as_ref().is_some_and(|s| !s.as_str().is_empty()) {
        let secret = q
            .client_secret
            .as_deref()
            .ok_or_else(|| WebError::invalid("clientSecret", "is required with clientID"))?;
        let found = select(services, &product, &q).await?;
        let Some(c) = found.into_iter().next() else {
            return Err(WebError::Api(DomainError::NotFound));
        };
        if !own_client_secret_matches(&c, secret) {
            return Err(WebError::Api(DomainError::WrongSecret("clientSecret")));
        }
        vec![c]
    } else {
        select(services, &product, &q).await?
    };
    for c in &targets {
        services
            .connections
            .delete_connection(&product, c)
            .await
            .map_err(WebError::api)?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn openapi_get(State(state): State<AppState>) -> Response {
    Json(super::openapi::document(
        &state.services.settings().issuer(),
    ))
    .into_response()
}
