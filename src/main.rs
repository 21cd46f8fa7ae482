use std::future::IntoFuture;
use std::process::ExitCode;

use axum::serve::ListenerExt as _;
use gatehouse::config::{Config, Env};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .init();

    let config = match Config::from_env(&Env::process()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration error: {e}");
            eprintln!("gatehouse: configuration error: {e}");
            return ExitCode::from(2);
        }
    };

    let server = match gatehouse::build(&config).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            eprintln!("gatehouse: start-up failed: {e}");
            return ExitCode::from(1);
        }
    };
    let cleanup =
        gatehouse::sessions::DbSessionStore::new(server.services.maintenance.session_records())
            .spawn_cleanup();
    let purge = gatehouse::spawn_purge(
        server.services.clone(),
        std::time::Duration::from_secs(config.purge_interval_seconds.unsigned_abs()),
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let ory_sync = gatehouse::spawn_ory_sync(
        server.services.clone(),
        std::time::Duration::from_millis(config.ory_sync_interval_ms.unsigned_abs()),
        std::time::Duration::from_secs(config.ory_drift_check_seconds.unsigned_abs()),
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
    cleanup.abort();
    purge.abort();
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
