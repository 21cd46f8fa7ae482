//! `GET /healthz`: 200 with the version when the database answers, 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::state::AppState;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/healthz", axum::routing::get(healthz_get))
}

pub async fn healthz_get(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let services = &state.services;
    let ping = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        services.maintenance.check_database(),
    )
    .await;
    match ping {
        Ok(Ok(engine)) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "version": env!("CARGO_PKG_VERSION"),
                "database": engine,
            })),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            unavailable(services.maintenance.database_engine(), "database error")
        }
        Err(_) => unavailable(services.maintenance.database_engine(), "database timeout"),
    }
}

fn unavailable(engine: &str, reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "unavailable",
            "version": env!("CARGO_PKG_VERSION"),
            "database": engine,
            "reason": reason,
        })),
    )
}
