//! `/api/v1/sso/traces`: the product's sign-in traces over the admin API, newest
//! first (`pageOffset`, `pageLimit` as in Jackson's lists). The API key's product
//! only; a trace of another product is 404.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::traces::{SignInTrace, TraceFilter, TraceOutcome};
use gatehouse_core::ProductId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api_auth::authenticate;
use super::api_body::ApiQuery;
use super::api_paging::{instant, page_limit, page_offset};
use super::api_types::{ApiError, Data};
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sso/traces", get(traces_get))
        .route("/api/v1/sso/traces/{id}", get(trace_get))
}

/// Which traces: any of these narrow the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct TraceQuery {
    /// The API key's product id (optional).
    #[param(value_type = Option<String>)]
    pub product: Option<ProductId>,
    #[param(example = "acme.com")]
    pub tenant: Option<String>,
    #[serde(rename = "clientID")]
    #[param(rename = "clientID")]
    pub client_id: Option<String>,
    #[serde(rename = "connectionID")]
    #[param(rename = "connectionID")]
    pub connection_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    /// The reference id an error page showed.
    pub reference_id: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this instant (RFC 3339), exclusive.
    pub to: Option<String>,
    #[param(maximum = 1000000)]
    pub page_offset: Option<u32>,
    /// At most 100 (default 20).
    #[param(maximum = 100)]
    pub page_limit: Option<u32>,
}

/// A page of traces, newest first; `more` when older ones follow.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceList {
    pub data: Vec<SignInTrace>,
    pub more: bool,
}

impl TraceQuery {
    fn filter(&self) -> Result<TraceFilter, WebError> {
        let outcome = match self
            .outcome
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(o) => Some(
                TraceOutcome::parse(o)
                    .ok_or_else(|| WebError::invalid("outcome", "must be success or failure"))?,
            ),
        };
        Ok(TraceFilter {
            connection_id: self.connection_id.clone(),
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            outcome,
            reference_id: self.reference_id.clone(),
            from: instant("from", self.from.as_deref())?,
            to: instant("to", self.to.as_deref())?,
            offset: page_offset(self.page_offset)?,
            limit: page_limit(self.page_limit)?,
        })
    }
}

/// List sign-in attempts of the API key's product.
#[utoipa::path(
    get,
    path = "/api/v1/sso/traces",
    tag = "traces",
    params(TraceQuery),
    responses(
        (status = 200, description = "The traces, newest first, without `idpResponse`", body = TraceList),
        (status = 400, description = "Invalid filter, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "`product` is not the API key's product", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn traces_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<TraceQuery>, WebError>,
) -> Result<Json<TraceList>, WebError> {
    let services = &state.services;
    let product = authenticate(services, &headers).await?;
    let ApiQuery(q) = query?;
    product
        .check_named_if_given(q.product.as_ref())
        .map_err(WebError::api)?;
    let page = services
        .traces
        .traces(&product, &q.filter()?)
        .await
        .map_err(WebError::api)?;
    Ok(Json(TraceList {
        data: page.traces,
        more: page.more,
    }))
}

/// One sign-in attempt, with the identity provider's response (redacted).
#[utoipa::path(
    get,
    path = "/api/v1/sso/traces/{id}",
    tag = "traces",
    params(("id" = String, Path, description = "The trace id")),
    responses(
        (status = 200, description = "The trace", body = Data<SignInTrace>),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "No such trace for this API key", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn trace_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Data<SignInTrace>>, WebError> {
    let services = &state.services;
    let product = authenticate(services, &headers).await?;
    let data = services
        .traces
        .trace(&product, &id)
        .await
        .map_err(WebError::api)?;
    Ok(Json(Data { data }))
}
