//! The operator subcommands (`gatehouse migrate`, `check-config`, `keys`, `ory`).
//! Each prints what it did to stdout and returns the process's exit code; a failure
//! is one line on stderr.

// A command's report is its standard output.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::keys::RotateOptions;
use gatehouse_domain::model::OrySyncState;
use gatehouse_domain::sso::keys::opens;
use gatehouse_store::{PoolSettings, SqlStore};

use crate::cli::{KeysCommand, OryCommand, PurposeArg};
use crate::config::{redact_url, Config, SecretKeySource};

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("gatehouse: {message}");
    ExitCode::from(1)
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

async fn services(config: &Config) -> Result<gatehouse_domain::Services, ExitCode> {
    match crate::open_services(config, Arc::new(SystemClock)).await {
        Ok((services, _store)) => Ok(services),
        Err(e) => Err(fail(format!("start-up failed: {e}"))),
    }
}

/// `gatehouse migrate`
pub async fn migrate(config: &Config) -> ExitCode {
    let store = match SqlStore::connect_unmigrated(&config.database_url, &pool()).await {
        Ok(s) => s,
        Err(e) => return fail(format!("database: {e}")),
    };
    let pending = match store.pending_migrations().await {
        Ok(p) => p,
        Err(e) => return fail(format!("database: {e}")),
    };
    if let Err(e) = store.migrate().await {
        return fail(format!("database: {e}"));
    }
    if pending.is_empty() {
        println!("The database is up to date: no migration to apply.");
    } else {
        println!("Applied {} migration(s):", pending.len());
        for m in &pending {
            println!("  {m}");
        }
    }
    store.close().await;
    ExitCode::SUCCESS
}

/// A small pool: a command makes a few queries.
fn pool() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        read_cache_ttl: std::time::Duration::ZERO,
        ..PoolSettings::default()
    }
}

/// `gatehouse check-config`: the configuration the server would use, then whether
/// the database answers, its migrations and whether the secret key opens what is
/// stored. Writes nothing.
pub async fn check_config(config: &Config) -> ExitCode {
    println!("Configuration (from the environment):");
    let row = |name: &str, value: &str| println!("  {name:<22} {value}");
    row("listen address", &config.listen_addr.to_string());
    row("public URL", config.public_url.as_str());
    row("database", &redact_url(&config.database_url));
    row(
        "secret key",
        &match &config.secret_key_source {
            SecretKeySource::Environment => "GATEHOUSE_SECRET_KEY".to_string(),
            SecretKeySource::File(p) => format!("file {}", p.display()),
            SecretKeySource::Generated(p) | SecretKeySource::WouldGenerate(p) => format!(
                "none yet: the server generates {} on first start",
                p.display()
            ),
        },
    );
    row("Ory API", config.ory_api_url.as_str());
    row(
        "trusted proxies",
        &if config.trusted_proxies.is_empty() {
            "none (the peer address is the client)".to_string()
        } else {
            format!("{:?}", config.trusted_proxies)
        },
    );
    row(
        "metrics",
        &match config.metrics_addr {
            Some(a) => format!("http://{a}/metrics"),
            None => "/metrics on the listen address".to_string(),
        },
    );
    row(
        "log format",
        match config.log_format {
            crate::config::LogFormat::Text => "text",
            crate::config::LogFormat::Json => "json",
        },
    );
    row(
        "Ory sync worker",
        &if config.ory_sync_interval_ms == 0 {
            "off".to_string()
        } else {
            format!("every {} ms", config.ory_sync_interval_ms)
        },
    );
    row(
        "key reload",
        &format!("every {} s", config.key_reload_seconds),
    );
    row(
        "shutdown grace",
        &format!("{} s", config.shutdown_grace_seconds),
    );

    if config.embedded_database && !config.data_dir.join("gatehouse.db").exists() {
        println!("Database: not created yet (the server creates it on first start).");
        println!("OK");
        return ExitCode::SUCCESS;
    }
    let store = match SqlStore::connect_unmigrated(&config.database_url, &pool()).await {
        Ok(s) => s,
        Err(e) => return fail(format!("database: {e}")),
    };
    println!("Database: answers ({}).", store.engine_kind().name());
    let mut ok = true;
    match store.pending_migrations().await {
        Ok(p) if p.is_empty() => println!("Migrations: up to date."),
        Ok(p) => println!(
            "Migrations: {} pending, applied on start or by `gatehouse migrate`: {}",
            p.len(),
            p.join(", ")
        ),
        Err(e) => {
            ok = false;
            println!("Migrations: {e}");
        }
    }
    match store.sealed_signing_keys().await {
        Ok(keys) if keys.is_empty() => {
            println!("Signing keys: none yet (created on first start).")
        }
        Ok(keys) => {
            let closed = keys
                .iter()
                .filter(|(id, purpose, sealed)| !opens(&config.secret_key, id, purpose, sealed))
                .count();
            if closed == 0 {
                println!(
                    "Signing keys: the secret key opens all {} stored.",
                    keys.len()
                );
            } else {
                ok = false;
                println!("Signing keys: {}", crate::WRONG_SECRET_KEY);
            }
        }
        Err(e) => {
            ok = false;
            println!("Signing keys: {e}");
        }
    }
    store.close().await;
    if ok {
        println!("OK");
        ExitCode::SUCCESS
    } else {
        println!("NOT OK");
        ExitCode::from(1)
    }
}

/// `gatehouse keys list|rotate`
pub async fn keys(config: &Config, command: KeysCommand) -> ExitCode {
    let services = match services(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match command {
        KeysCommand::List => {
            let keys = match services.keys.list().await {
                Ok(k) => k,
                Err(e) => return fail(e),
            };
            println!(
                "{:<8} {:<28} {:<9} {:<24} {:<24} RETIRES",
                "PURPOSE", "ID", "STATE", "CREATED", "SIGNS FROM"
            );
            for k in keys {
                println!(
                    "{:<8} {:<28} {:<9} {:<24} {:<24} {}",
                    k.purpose.as_str(),
                    k.schedule.id,
                    k.state.as_str(),
                    when(k.schedule.created_at),
                    if k.schedule.activates_at == DateTime::<Utc>::UNIX_EPOCH {
                        "first start".to_string()
                    } else {
                        when(k.schedule.activates_at)
                    },
                    k.schedule
                        .retires_at
                        .map(when)
                        .unwrap_or_else(|| "-".into()),
                );
            }
            ExitCode::SUCCESS
        }
        KeysCommand::Rotate {
            purpose,
            grace,
            retire_after,
        } => {
            let duration = |d: std::time::Duration| {
                chrono::Duration::from_std(d).map_err(|_| fail("that period is too long"))
            };
            let options = RotateOptions {
                grace: match duration(grace) {
                    Ok(d) => d,
                    Err(code) => return code,
                },
                retire_after: match retire_after.map(duration).transpose() {
                    Ok(d) => d,
                    Err(code) => return code,
                },
            };
            if grace.as_secs() < config.key_reload_seconds.unsigned_abs() + 300
                && purpose != PurposeArg::SamlSp
            {
                eprintln!(
                    "gatehouse: warning: a grace period under {} s (GATEHOUSE_KEY_RELOAD_SECONDS \
                     plus the JWKS's 5-minute cache) lets an instance sign with the new key \
                     before every relying party can know it",
                    config.key_reload_seconds + 300
                );
            }
            let mut code = ExitCode::SUCCESS;
            for p in purpose.purposes() {
                match services.keys.rotate(p, options).await {
                    Ok(r) => println!(
                        "{}: {} is published now and signs from {}; {} stays published until {}.",
                        r.purpose,
                        r.next.id,
                        when(r.next.activates_at),
                        r.current.id,
                        r.current.retires_at.map(when).unwrap_or_else(|| "-".into()),
                    ),
                    Err(e) => code = fail(format!("{p}: {e}")),
                }
            }
            println!(
                "Running instances read the keys again within {} s (GATEHOUSE_KEY_RELOAD_SECONDS).",
                config.key_reload_seconds
            );
            code
        }
    }
}

/// `gatehouse ory sync-now`
pub async fn ory(config: &Config, command: OryCommand) -> ExitCode {
    let services = match services(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match command {
        OryCommand::SyncNow { product } => {
            let rows = match services.ory.sync_now(product.as_deref()).await {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            let mut behind = 0;
            for r in &rows {
                let detail = match r.state {
                    OrySyncState::Synced => String::new(),
                    _ => {
                        behind += 1;
                        format!(
                            " ({}{})",
                            r.last_error.as_deref().unwrap_or("not tried yet"),
                            r.next_attempt_at
                                .map(|t| format!("; next try {}", when(t)))
                                .unwrap_or_default()
                        )
                    }
                };
                println!(
                    "{} {} {}{}",
                    r.tenant,
                    r.connection_id,
                    if r.deleted {
                        "being removed"
                    } else {
                        r.state.as_str()
                    },
                    detail
                );
            }
            println!(
                "{} connection(s): {} in sync, {} not.",
                rows.len(),
                rows.len() - behind,
                behind
            );
            if behind == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}
