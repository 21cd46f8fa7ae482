//! `/api/v1/webhooks`: the API key's product's webhook endpoints, their deliveries
//! and "Resend" (`docs/webhooks.md`). An endpoint's secret is in the answer to its
//! creation only.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use gatehouse_core::connection_form::StringList;
use gatehouse_core::webhooks::{CreatedWebhookEndpoint, WebhookDeliveryView, WebhookEndpointView};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::api_auth::{authenticate, authenticate_for_write};
use super::api_body::{ApiBody, ApiQuery};
use super::api_paging::{page_limit, page_offset};
use super::api_types::{ApiError, Data, Empty};
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(webhooks_get).post(webhooks_post))
        .route("/api/v1/webhooks/{id}", delete(webhook_delete))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries_get))
        .route(
            "/api/v1/webhooks/deliveries/{id}/resend",
            post(delivery_resend_post),
        )
}

/// A new endpoint.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WebhookForm {
    /// `https://…` (plain http only to addresses the operator allowed).
    pub url: Option<String>,
    pub description: Option<String>,
    /// Event names (a JSON array, or separated by commas); none or `*`: all.
    #[serde(default, deserialize_with = "string_list")]
    #[schema(value_type = Vec<String>)]
    pub events: StringList,
}

fn string_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StringList, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(StringList::default()),
        Some(Raw::List(v)) => Ok(StringList(v)),
        Some(Raw::Text(t)) => StringList::parse(&t).map_err(serde::de::Error::custom),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    #[param(maximum = 1000000)]
    pub page_offset: Option<u32>,
    /// At most 100 (default 20).
    #[param(maximum = 100)]
    pub page_limit: Option<u32>,
}

/// The product's webhook endpoints (never their secrets).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = Data<Vec<WebhookEndpointView>>),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn webhooks_get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Data<Vec<WebhookEndpointView>>>, WebError> {
    let product = authenticate(&state.services, &headers).await?;
    let data = state
        .services
        .webhooks
        .endpoints(&product)
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data }))
}

/// Add an endpoint; its signing secret (`whsec_…`) is shown here only.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body(content(
        (WebhookForm = "application/json"),
        (WebhookForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 201, description = "Created", body = Data<CreatedWebhookEndpoint>),
        (status = 400, description = "Invalid input, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn webhooks_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiBody<WebhookForm>, WebError>,
) -> Result<Response, WebError> {
    let product = authenticate_for_write(&state.services, &headers).await?;
    let ApiBody(form) = body?;
    let data = state
        .services
        .webhooks
        .create_endpoint(
            &product,
            form.url.as_deref().unwrap_or_default(),
            form.description.as_deref().unwrap_or_default(),
            &form.events.0,
        )
        .await
        .map_err(WebError::api)?;
    Ok((StatusCode::CREATED, Json(Data { data })).into_response())
}

/// Remove an endpoint and its deliveries.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id")),
    responses(
        (status = 200, description = "Removed", body = Data<Empty>),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "No such endpoint for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn webhook_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Data<Empty>>, WebError> {
    let product = authenticate_for_write(&state.services, &headers).await?;
    state
        .services
        .webhooks
        .delete_endpoint(&product, &id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data: Empty {} }))
}

/// An endpoint's deliveries, newest first, with each one's state.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint id"), PageQuery),
    responses(
        (status = 200, description = "The deliveries", body = Data<Vec<WebhookDeliveryView>>),
        (status = 400, description = "Invalid paging, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "No such endpoint for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn deliveries_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<ApiQuery<PageQuery>, WebError>,
) -> Result<Json<Data<Vec<WebhookDeliveryView>>>, WebError> {
    let product = authenticate(&state.services, &headers).await?;
    let ApiQuery(q) = query?;
    let data = state
        .services
        .webhooks
        .deliveries(
            &product,
            &id,
            page_offset(q.page_offset)?,
            page_limit(q.page_limit)?,
        )
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data }))
}

/// Send a delivery again (same `webhook-id`), whatever became of it.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/deliveries/{id}/resend",
    tag = "webhooks",
    params(("id" = String, Path, description = "The delivery (message) id")),
    responses(
        (status = 200, description = "Queued", body = Data<Empty>),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 403, description = "The team's trial has ended: read-only", body = ApiError),
        (status = 404, description = "No such delivery for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn delivery_resend_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Data<Empty>>, WebError> {
    let product = authenticate_for_write(&state.services, &headers).await?;
    state
        .services
        .webhooks
        .resend(&product, &id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data: Empty {} }))
}
