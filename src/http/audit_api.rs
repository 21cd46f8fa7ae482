//! `/api/v1/audit`: the API key's product's audit log, newest first (`pageOffset`,
//! `pageLimit`). Team-level changes (members) are in the dashboard's audit log only.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::audit::{AuditAction, AuditEvent, AuditFilter};
use gatehouse_core::ProductId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api_auth::authenticate;
use super::api_body::ApiQuery;
use super::api_paging::{instant, page_limit, page_offset};
use super::api_types::ApiError;
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit_get))
}

/// Which events: any of these narrow the list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// The API key's product id (optional).
    #[param(value_type = Option<String>)]
    pub product: Option<ProductId>,
    /// A user, API key or setup link id.
    pub actor: Option<String>,
    /// e.g. `connection.updated`.
    pub action: Option<String>,
    /// From this instant (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this instant (RFC 3339), exclusive.
    pub to: Option<String>,
    #[param(maximum = 1000000)]
    pub page_offset: Option<u32>,
    /// At most 100 (default 25).
    #[param(maximum = 100)]
    pub page_limit: Option<u32>,
}

/// A page of events, newest first; `more` when older ones follow.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub data: Vec<AuditEvent>,
    pub more: bool,
}

/// List the admin changes to the API key's product.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "The events, newest first", body = AuditList),
        (status = 400, description = "Invalid filter, naming the field", body = ApiError),
        (status = 401, description = "Missing or wrong API key", body = ApiError),
        (status = 404, description = "`product` is not the API key's product", body = ApiError),
    ),
    security(("apiKey" = []))
)]
pub async fn audit_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<AuditQuery>, WebError>,
) -> Result<Json<AuditList>, WebError> {
    let services = &state.services;
    let product = authenticate(services, &headers).await?;
    let ApiQuery(q) = query?;
    product
        .check_named_if_given(q.product.as_ref())
        .map_err(WebError::api)?;
    let action = match q.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(a) => Some(AuditAction::parse(a).ok_or_else(|| {
            WebError::invalid("action", "is not a known action (see the OpenAPI document)")
        })?),
    };
    let filter = AuditFilter {
        product: None,
        actor_id: q.actor.clone(),
        action,
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
        offset: page_offset(q.page_offset)?,
        limit: page_limit(q.page_limit)?,
    };
    let page = services
        .audit
        .product_events(&product, &filter)
        .await
        .map_err(WebError::api)?;
    Ok(Json(AuditList {
        data: page.events,
        more: page.more,
    }))
}
