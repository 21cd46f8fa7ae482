//! `/api/v1/sso/setuplinks`: setup links over the admin API, as in Jackson
//! (`POST` create, `GET` by `setupID` or by `product` [+ `tenant`], `DELETE` by
//! `setupID`). Answers are `{"data": …}`. The link URL (with its token) is returned
//! only by `POST`; Gatehouse stores only the token's hash.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_core::views::SetupLinkView;
use gatehouse_domain::setup_links::parse_expiry_days;
use serde_json::{json, Value};

use super::api_auth::{authenticate, authenticate_for_write, same_product};
use super::api_body::{body_object, text};
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

fn link_json(product_id: &str, l: &SetupLinkView, url: Option<&str>) -> Value {
    let mut v = json!({
        "setupID": l.id,
        "tenant": l.tenant,
        "product": product_id,
        "name": l.name,
        "service": "sso",
        "validTill": l.expires_at.timestamp_millis(),
        "status": l.status,
        "createdAt": l.created_at.timestamp_millis(),
        "usedAt": l.used_at.map(|t| t.timestamp_millis()),
    });
    if let (Some(url), Value::Object(m)) = (url, &mut v) {
        m.insert("url".into(), Value::String(url.to_string()));
    }
    v
}

pub async fn setup_links_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate_for_write(services, &headers).await?;
        let m = body_object(&headers, &body)?;
        same_product(&product, text(&m, "product").as_deref())?;
        if let Some(service) = text(&m, "service").filter(|s| s != "sso") {
            return Err(WebError::invalid(
                "service",
                format!("{service} is not supported (only sso)"),
            ));
        }
        let tenant = text(&m, "tenant").unwrap_or_default();
        let days = parse_expiry_days(&text(&m, "expiryDays").unwrap_or_default())
            .map_err(|e| WebError::invalid("expiryDays", e.message))?;
        let created = services
            .create_setup_link(
                &product,
                &tenant,
                &text(&m, "name").unwrap_or_default(),
                days,
            )
            .await
            .map_err(WebError::api)?;
        Ok::<_, WebError>(
            (
                StatusCode::CREATED,
                Json(json!({ "data": link_json(&product.id, &created.link, Some(&created.url)) })),
            )
                .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

#[derive(serde::Deserialize)]
pub struct GetQuery {
    #[serde(rename = "setupID")]
    setup_id: Option<String>,
    tenant: Option<String>,
    product: Option<String>,
}

pub async fn setup_links_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<GetQuery>,
) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate(services, &headers).await?;
        let links = services
            .list_setup_links(&product)
            .await
            .map_err(WebError::api)?;
        if let Some(id) = q.setup_id.as_deref() {
            let link = links
                .iter()
                .find(|l| l.id == id)
                .ok_or(WebError::Api(gatehouse_domain::DomainError::NotFound))?;
            return Ok(Json(json!({ "data": link_json(&product.id, link, None) })).into_response());
        }
        same_product(&product, q.product.as_deref())?;
        let tenant = q.tenant.map(|t| t.trim().to_lowercase());
        let data: Vec<Value> = links
            .iter()
            .filter(|l| tenant.as_deref().is_none_or(|t| l.tenant == t))
            .map(|l| link_json(&product.id, l, None))
            .collect();
        Ok::<_, WebError>(Json(json!({ "data": data })).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

#[derive(serde::Deserialize)]
pub struct DeleteQuery {
    #[serde(rename = "setupID")]
    setup_id: Option<String>,
}

pub async fn setup_links_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DeleteQuery>,
) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate_for_write(services, &headers).await?;
        let id = q
            .setup_id
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| WebError::invalid("setupID", "is required"))?;
        services
            .revoke_setup_link(&product, &id)
            .await
            .map_err(WebError::api)?;
        Ok::<_, WebError>(Json(json!({ "data": {} })).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
