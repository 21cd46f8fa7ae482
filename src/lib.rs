//! The Gatehouse server: configuration, wiring, HTTP edge.
//!
//! [`build`] turns a [`config::Config`] into a ready [`Server`]; `main` and the test
//! harness both use it, so tests exercise the production wiring.

// Leptos view types nest deeply.
#![recursion_limit = "512"]

pub mod cli;
pub mod commands;
pub mod config;
pub mod http;
pub mod serve;
pub mod sessions;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::adapters::guarded_http::GuardedHttp;
use gatehouse_domain::adapters::ory_console::OryClient;
use gatehouse_domain::clock::{Clock, SystemClock};
use gatehouse_domain::services::Wiring;
use gatehouse_domain::settings::SsoSettings;
use gatehouse_domain::sso::keys::KeyRing;
use gatehouse_domain::{DomainSettings, Services};
use gatehouse_store::{PoolSettings, SqlStore};
use leptos::config::LeptosOptions;

use crate::config::{Config, SecretKeySource};
use crate::state::AppState;

pub struct Server {
    pub router: axum::Router,
    pub services: Services,
    pub store: SqlStore,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(String),
    #[error("{0}")]
    Other(String),
}

pub async fn build(config: &Config) -> Result<Server, StartError> {
    build_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn build_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Server, StartError> {
    let (services, store) = open_services(config, clock).await?;
    // Installed before the first request, so nothing it should count is missed.
    if http::metrics::handle().is_none() {
        tracing::warn!("another metrics recorder is installed: /metrics will answer 503");
    }
    let leptos = LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen_addr)
        .build();

    let state = AppState {
        leptos,
        services: services.clone(),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        metrics_on_main_listener: config.metrics_addr.is_none(),
    };
    let router = http::router(state);
    Ok(Server {
        router,
        services,
        store,
    })
}

/// The database (migrated), the signing keys (created on first start) and the
/// services on them: what the server and the operator commands share.
pub async fn open_services(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Services, SqlStore), StartError> {
    if config.embedded_database {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError::Other(format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
    }
    match &config.secret_key_source {
        SecretKeySource::Generated(path) => tracing::warn!(
            path = %path.display(),
            "GATEHOUSE_SECRET_KEY is not set: generated a new secret key and saved it (mode 0600). \
             Back it up: secrets stored by Gatehouse cannot be read without it."
        ),
        SecretKeySource::File(path) => {
            tracing::info!(path = %path.display(), "using secret key file")
        }
        SecretKeySource::Environment | SecretKeySource::WouldGenerate(_) => {}
    }

    let store = SqlStore::connect(
        &config.database_url,
        &PoolSettings {
            max_connections: config.database_max_connections,
            read_cache_ttl: Duration::from_millis(config.database_read_cache_ms),
            ..PoolSettings::default()
        },
    )
    .await
    .map_err(|e| StartError::Database(e.to_string()))?;
    tracing::info!(
        engine = store.engine_kind().name(),
        url = %config::redact_url(&config.database_url),
        "database ready (migrations applied)"
    );

    let ory = OryClient::new(config.ory_api_url.clone(), Duration::from_secs(10))
        .map_err(|e| StartError::Other(e.to_string()))?;
    let keys = KeyRing::load_or_create(&store, &config.secret_key, clock.as_ref())
        .await
        .map_err(|e| match e {
            gatehouse_domain::DomainError::Secrets(_) => StartError::Other(WRONG_SECRET_KEY.into()),
            other => StartError::Other(format!("signing keys: {other}")),
        })?;
    let services = Services::new(Wiring {
        store: Arc::new(store.clone()),
        clock,
        secrets: config.secret_key.clone(),
        ory: Arc::new(ory),
        fetch: Arc::new(GuardedHttp {
            allow_private: config.metadata_allow_private,
        }),
        settings: DomainSettings {
            public_base_url: config.public_url.clone(),
            invite_ttl: chrono::Duration::days(7),
            sso: SsoSettings {
                clock_skew: chrono::Duration::seconds(config.saml_clock_skew_seconds),
                access_token_ttl: chrono::Duration::seconds(config.access_token_ttl_seconds),
                allow_private_metadata_urls: config.metadata_allow_private,
                trace_retention: chrono::Duration::days(config.trace_retention_days),
                ..SsoSettings::default()
            },
        },
        keys,
    });
    Ok((services, store))
}

/// What start-up and `gatehouse check-config` say when the secret key does not open
/// the stored keys.
pub const WRONG_SECRET_KEY: &str =
    "GATEHOUSE_SECRET_KEY does not decrypt the signing keys stored in this database: \
     it is not the key they were stored with. Start with that key (every instance \
     needs the same one). Nothing was changed.";

/// Read the signing keys again every `interval` (`GATEHOUSE_KEY_RELOAD_SECONDS`), so
/// a rotation made by `gatehouse keys rotate` or another instance is published here
/// before its key starts signing.
pub fn spawn_key_reload(services: Services, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval.max(Duration::from_secs(1)));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = services.keys.reload().await {
                tracing::warn!(error = %e, "reloading the signing keys failed; keeping the ones loaded");
            }
        }
    })
}

/// Remove expired pending logins, codes, tokens, replay-cache entries, test results
/// and old failed logins every `interval` (`GATEHOUSE_PURGE_INTERVAL_SECONDS`).
pub fn spawn_purge(services: Services, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval.max(Duration::from_secs(1)));
        loop {
            every.tick().await;
            match services.maintenance.purge_expired().await {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "expired SSO records purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
        }
    })
}

/// Every `interval`: fetch the metadata URLs due (daily,
/// `gatehouse_domain::sso::metadata_refresh`), then tell webhooks about SAML
/// certificates that expire within 30 or 7 days or have expired (each once:
/// `gatehouse_domain::sso::certificates`).
pub fn spawn_connection_upkeep(
    services: Services,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(interval.max(Duration::from_secs(1)));
        loop {
            every.tick().await;
            match services.connections.refresh_metadata().await {
                Ok(n) if n > 0 => tracing::info!(changed = n, "metadata refresh applied changes"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "metadata refresh failed"),
            }
            match services.connections.check_certificates().await {
                Ok(n) if n > 0 => tracing::info!(events = n, "certificate expiry events queued"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "certificate check failed"),
            }
        }
    })
}

/// The webhook worker: sends due deliveries every `interval` (and at once when an
/// event is queued here) until `stop` turns true. Zero: no worker in this process.
/// A delivery cut off by a stop is sent again when its lease ends (at least once).
pub fn spawn_webhooks(
    services: Services,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if interval.is_zero() {
            return;
        }
        while !*stop.borrow() {
            loop {
                match services.webhooks.run_delivery_pass().await {
                    Ok(n) if n >= gatehouse_domain::webhooks::BATCH as usize && !*stop.borrow() => {
                        continue
                    }
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook delivery pass failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = services.webhooks.woken() => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// The Ory sync worker: drains the outbox every `interval` (and at once when a
/// change wakes it), and checks for drift every `drift_every`. Zero turns each off.
/// It stops when `stop` turns true: a pass in progress finishes the connection it
/// is syncing and hands the rest back
/// ([`gatehouse_domain::ory::OryIntegration::run_ory_sync_pass`]).
pub fn spawn_ory_sync(
    services: Services,
    interval: Duration,
    drift_every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if interval.is_zero() {
            return;
        }
        let stopping = {
            let stop = stop.clone();
            move || *stop.borrow()
        };
        let mut last_drift_check = tokio::time::Instant::now();
        while !stopping() {
            loop {
                match services.ory.run_ory_sync_pass(&stopping).await {
                    // a full batch: there may be more
                    Ok(n) if n >= 20 && !stopping() => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "Ory sync pass failed");
                        break;
                    }
                }
            }
            if !stopping() && !drift_every.is_zero() && last_drift_check.elapsed() >= drift_every {
                last_drift_check = tokio::time::Instant::now();
                if let Err(e) = services.ory.check_all_ory_drift().await {
                    tracing::warn!(error = %e, "Ory drift check failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = services.ory.wake().woken() => {}
                _ = stop.changed() => {}
            }
        }
    })
}
