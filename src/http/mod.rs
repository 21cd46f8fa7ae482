//! HTTP routing. Each area exposes its handlers; this module assembles them with the
//! Leptos dashboard, the session layer and the security headers.

pub mod admin_api;
pub mod api_auth;
pub mod api_body;
mod api_paging;
pub mod api_types;
pub mod audit_api;
pub mod client_addr;
pub mod error;
pub mod health;
pub mod html;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod request_id;
pub mod saml;
pub mod setup_links_api;
pub mod sso_test;
pub mod traces_api;
pub mod webhooks_api;

use axum::http::{header, HeaderValue};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::sessions::DbSessionStore;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "gatehouse_session";

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let services = state.services.clone();
    let context = move || provide_context(services.clone());
    let shell_options = state.leptos.clone();
    let shell = move || app::shell(shell_options.clone());

    let session_store = DbSessionStore::new(state.services.maintenance.session_records());
    let secure = state.services.settings().public_base_url.scheme() == "https";
    let sessions = SessionManagerLayer::new(session_store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)));

    // Browser apps may call the token, userinfo and discovery endpoints directly.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([http::Method::GET, http::Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    let trusted_proxies = state.trusted_proxies.clone();
    let metrics_here = state.metrics_on_main_listener;
    Router::new()
        .merge(health::routes())
        .merge(if metrics_here {
            metrics::routes()
        } else {
            Router::new()
        })
        .merge(oauth::routes().layer(cors))
        .merge(saml::routes())
        .merge(oidc::routes())
        .merge(admin_api::routes())
        .merge(setup_links_api::routes())
        .merge(traces_api::routes())
        .merge(audit_api::routes())
        .merge(webhooks_api::routes())
        .merge(sso_test::routes())
        .leptos_routes_with_context(&state, routes, context.clone(), shell)
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies.clone(),
            client_addr::client_addr_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxies,
            request_id::request_id_layer,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}
