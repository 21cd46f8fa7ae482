use axum::extract::FromRef;
use gatehouse_domain::Services;
use leptos::config::LeptosOptions;

/// What every handler can reach.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub services: Services,
    /// Whose `X-Forwarded-For` to believe (see [`gatehouse_domain::client_addr`]).
    pub trusted_proxies: std::sync::Arc<gatehouse_domain::client_addr::TrustedProxies>,
    /// Serve `/metrics` on the main listener (no `GATEHOUSE_METRICS_ADDR`).
    pub metrics_on_main_listener: bool,
}
