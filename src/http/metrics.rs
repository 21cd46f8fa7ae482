//! `GET /metrics` in Prometheus text format, and what feeds it: a request counter
//! and latency histogram per route, sign-ins by protocol and outcome, and gauges read
//! when scraped (Ory sync backlog, database pools, SAML verification queue).
//!
//! The recorder is process-wide (the `metrics` crate's global); every label value
//! comes from a fixed set (route templates, protocol and error-kind names), never
//! from a request, so a flood of odd URLs cannot grow the series.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatehouse_domain::sso::acs::AcsOutcome;
use gatehouse_domain::sso::error::LoginError;
use gatehouse_domain::Services;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use; `None` if another recorder was
/// installed first.
pub fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "gatehouse_http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "gatehouse_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer, by route template and method"
    );
    describe_counter!(
        "gatehouse_sign_ins_total",
        "Answers from identity providers handled, by protocol (saml, oidc), outcome \
         (success, failure, test) and reason (the error kind of a failure)"
    );
    describe_counter!(
        "gatehouse_ory_sync_attempts_total",
        "Ory sync attempts, by outcome (done, failed)"
    );
    describe_gauge!(
        "gatehouse_ory_sync_backlog",
        "Connections whose Ory mirror is not in sync (pending or failed)"
    );
    describe_gauge!(
        "gatehouse_ory_sync_failed",
        "Connections whose Ory sync needs someone to act"
    );
    describe_gauge!(
        "gatehouse_ory_sync_oldest_due_seconds",
        Unit::Seconds,
        "How long the oldest due Ory sync has waited for a worker (0: none due)"
    );
    describe_gauge!(
        "gatehouse_db_pool_connections",
        "Database connections by pool and state (idle, busy)"
    );
    describe_gauge!(
        "gatehouse_db_pool_max_connections",
        "Database connections a pool may open"
    );
    describe_gauge!(
        "gatehouse_saml_verification_queue",
        "SAML responses being verified or waiting for a slot"
    );
}

/// Drain the recorder's histogram buffers now and then, so a server nobody scrapes
/// does not keep every observation.
pub fn spawn_upkeep() -> Option<tokio::task::JoinHandle<()>> {
    let handle = handle()?;
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_get))
}

async fn metrics_get(State(state): State<AppState>) -> Response {
    render(&state.services).await
}

/// The exposition: gauges read now, then everything recorded.
pub async fn render(services: &Services) -> Response {
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available: another recorder is installed",
        )
            .into_response();
    };
    read_gauges(services).await;
    let mut res = handle.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn read_gauges(services: &Services) {
    for pool in services.maintenance.pool_usage() {
        let busy = pool.open.saturating_sub(pool.idle);
        metrics::gauge!("gatehouse_db_pool_connections", "pool" => pool.pool, "state" => "idle")
            .set(f64::from(pool.idle));
        metrics::gauge!("gatehouse_db_pool_connections", "pool" => pool.pool, "state" => "busy")
            .set(f64::from(busy));
        metrics::gauge!("gatehouse_db_pool_max_connections", "pool" => pool.pool)
            .set(f64::from(pool.max));
    }
    metrics::gauge!("gatehouse_saml_verification_queue")
        .set(services.sign_in.verification_queue() as f64);
    metrics::counter!("gatehouse_sign_in_traces_dropped_total").absolute(services.traces.dropped());

    // The backlog is a query: at most one every few seconds, whoever asks.
    static LAST_READ: Mutex<Option<Instant>> = Mutex::new(None);
    let due = {
        let mut last = LAST_READ.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if due {
            *last = Some(Instant::now());
        }
        due
    };
    if due {
        match services.ory.backlog().await {
            Ok((b, waited)) => {
                metrics::gauge!("gatehouse_ory_sync_backlog").set(b.waiting as f64);
                metrics::gauge!("gatehouse_ory_sync_failed").set(b.failed as f64);
                metrics::gauge!("gatehouse_ory_sync_oldest_due_seconds")
                    .set(waited.num_milliseconds() as f64 / 1000.0);
            }
            Err(e) => tracing::warn!(error = %e, "reading the Ory sync backlog for metrics failed"),
        }
    }
}

/// Counts and times every routed request by its route template.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    // Any token is a valid method: only the standard ones become labels.
    let method = match *request.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::PATCH => "PATCH",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(
        "gatehouse_http_request_duration_seconds",
        "route" => route.clone(),
        "method" => method,
    )
    .record(started.elapsed().as_secs_f64());
    metrics::counter!(
        "gatehouse_http_requests_total",
        "route" => route,
        "method" => method,
        "status" => status,
    )
    .increment(1);
    response
}

/// Count an identity provider's answer (`protocol`: `saml` or `oidc`).
pub fn sign_in(protocol: &'static str, outcome: &Result<AcsOutcome, LoginError>) {
    let (outcome, reason) = match outcome {
        Ok(AcsOutcome::ToApp(_)) => ("success", "none"),
        Ok(AcsOutcome::TestDone { .. }) => ("test", "none"),
        Err(e) => ("failure", e.reason.as_str()),
    };
    metrics::counter!(
        "gatehouse_sign_ins_total",
        "protocol" => protocol,
        "outcome" => outcome,
        "reason" => reason,
    )
    .increment(1);
}
