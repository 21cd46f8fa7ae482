//! `gatehouse serve`: the server with its background tasks (session clean-up,
//! purge, Ory worker, key reload, metrics upkeep), until SIGTERM or Ctrl-C.

use std::future::IntoFuture;
use std::process::ExitCode;

use axum::serve::ListenerExt as _;

use crate::config::Config;

pub async fn serve(config: Config) -> ExitCode {
    let server = match crate::build(&config).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            eprintln!("gatehouse: start-up failed: {e}");
            return ExitCode::from(1);
        }
    };
    let cleanup =
        crate::sessions::DbSessionStore::new(server.services.maintenance.session_records())
            .spawn_cleanup();
    let purge = crate::spawn_purge(
        server.services.clone(),
        std::time::Duration::from_secs(config.purge_interval_seconds.unsigned_abs()),
    );
    let key_reload = crate::spawn_key_reload(
        server.services.clone(),
        std::time::Duration::from_secs(config.key_reload_seconds.unsigned_abs()),
    );
    let metrics_upkeep = crate::http::metrics::spawn_upkeep();
    let metrics_listener = match config.metrics_addr {
        None => None,
        Some(addr) => match metrics_server(addr, server.services.clone()).await {
            Ok(task) => Some(task),
            Err(code) => return code,
        },
    };
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let ory_sync = crate::spawn_ory_sync(
        server.services.clone(),
        std::time::Duration::from_millis(config.ory_sync_interval_ms.unsigned_abs()),
        std::time::Duration::from_secs(config.ory_drift_check_seconds.unsigned_abs()),
        stopping.clone(),
    );

    let certificates = crate::spawn_connection_upkeep(
        server.services.clone(),
        std::time::Duration::from_secs(3600),
    );
    let webhooks = crate::spawn_webhooks(
        server.services.clone(),
        std::time::Duration::from_millis(config.webhook_interval_ms.unsigned_abs()),
        stopping.clone(),
    );

    let listener = match tokio::net::TcpListener::bind(config.listen_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "gatehouse: cannot listen on {} (GATEHOUSE_LISTEN_ADDR): {e}",
                config.listen_addr
            );
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        listen = %config.listen_addr,
        public_url = %config.public_url,
        version = env!("CARGO_PKG_VERSION"),
        "Gatehouse is ready"
    );
    // Answers leave as soon as they are written: without TCP_NODELAY a streamed page's
    // later chunks can wait for the browser's delayed ACK (Nagle's algorithm).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set on an accepted connection: {e}");
        }
    });
    let grace = std::time::Duration::from_secs(config.shutdown_grace_seconds.unsigned_abs());
    let serve = axum::serve(
        listener,
        server
            .router
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let signal = shutdown_signal().await;
        tracing::info!(
            signal,
            grace_seconds = grace.as_secs(),
            "shutting down: no new connections, requests in flight may finish"
        );
        let _ = stop.send(true);
    })
    .into_future();
    // One grace period, from the signal, for the requests in flight and the Ory
    // worker together; what is still running after it is dropped.
    let grace_over = async {
        let mut stopping = stopping.clone();
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::pin!(grace_over, ory_sync);
    let (result, grace_left) = tokio::select! {
        r = serve => (r, true),
        () = &mut grace_over => {
            tracing::warn!("grace period over: closing the connections still open");
            (Ok(()), false)
        }
    };
    // The Ory worker ends its current connection and hands the rest back.
    let worker_done = grace_left
        && tokio::select! {
            _ = &mut ory_sync => true,
            () = &mut grace_over => false,
        };
    if !worker_done {
        ory_sync.abort();
        tracing::warn!(
            "the Ory worker did not stop within the grace period; its leases expire on their own"
        );
    }
    webhooks.abort();
    certificates.abort();
    cleanup.abort();
    purge.abort();
    key_reload.abort();
    for task in [metrics_upkeep, metrics_listener].into_iter().flatten() {
        task.abort();
    }
    // The traces of the last sign-ins, before the database closes.
    if tokio::time::timeout(
        std::time::Duration::from_secs(5),
        server.services.traces.flush(),
    )
    .await
    .is_err()
    {
        tracing::warn!("sign-in traces still queued at shutdown were not stored");
    }
    server.store.close().await;
    tracing::info!("stopped");
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: server error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `/metrics` alone on `GATEHOUSE_METRICS_ADDR`, for a scraper on a private
/// network.
async fn metrics_server(
    addr: std::net::SocketAddr,
    services: gatehouse_domain::Services,
) -> Result<tokio::task::JoinHandle<()>, ExitCode> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        eprintln!("gatehouse: cannot listen on {addr} (GATEHOUSE_METRICS_ADDR): {e}");
        ExitCode::from(1)
    })?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let services = services.clone();
            async move { crate::http::metrics::render(&services).await }
        }),
    );
    tracing::info!(listen = %addr, "metrics at /metrics");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    }))
}

/// SIGTERM (what service managers and orchestrators send) or SIGINT (Ctrl-C); names
/// the one that came.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                tracing::warn!(
                    "cannot listen for SIGTERM ({e}); only Ctrl-C stops the server gracefully"
                );
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
