//! `--soak MINUTES`: sign-ins at a constant rate for a long time, and what that does
//! to the server over time.
//!
//! 32 clients share one schedule (`--rate` sign-ins per second, default 200 for a
//! soak); each sign-in is the whole flow, the third-party IdP's answer included (so
//! the load is continuous, not in rounds). Every 10 seconds the run records the
//! sign-ins completed and their p99 (Gatehouse's four requests, from when each was
//! due), the server's RSS, and the database's size on disk: SQLite's file and its
//! write-ahead log, or PostgreSQL's `pg_database_size` and `pg_wal`. It prints a table
//! and writes an SVG chart of the curves (`--soak-chart PATH`).
//!
//! With `--soak-check` it fails when the SQLite WAL passed its bound, when the
//! database grew by more than [`MAX_BYTES_PER_SIGN_IN`] per sign-in, or when RSS grew
//! by more than [`MAX_RSS_GROWTH_MB`] after the first minute.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use sqlx::Connection as _;

use crate::flow::{self, Target};
use crate::http;
use crate::processes::{self, Engine, Server};

pub const WINDOW: Duration = Duration::from_secs(10);
/// Bytes of database one sign-in may add while all its records are retained (its
/// access token with the profile for an hour, its code, pending request and
/// replay-cache entry for minutes).
pub const MAX_BYTES_PER_SIGN_IN: u64 = 8 * 1024;
pub const MAX_RSS_GROWTH_MB: u64 = 48;
/// SQLite's WAL bound (gatehouse_store::WAL_BOUND_BYTES).
pub const WAL_BOUND_BYTES: u64 = 128 * 1024 * 1024;

/// One 10-second window.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub at_s: f64,
    pub sign_ins: usize,
    pub errors: usize,
    pub p99_ms: f64,
    pub rss_mb: u64,
    pub wal_mb: f64,
    pub db_mb: f64,
}

/// Database and WAL size in bytes.
pub async fn storage_now(engine: Engine, server: &Server) -> Result<(u64, u64)> {
    match engine {
        Engine::Sqlite => {
            let db = server.data_dir().join("gatehouse.db");
            let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
            Ok((size(&db), size(&server.data_dir().join("gatehouse.db-wal"))))
        }
        Engine::Postgres => {
            let url = server
                .database_url()
                .ok_or_else(|| anyhow!("no PostgreSQL database"))?;
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            let db: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut conn)
                .await?;
            let wal: i64 =
                sqlx::query_scalar("SELECT COALESCE(sum(size), 0)::bigint FROM pg_ls_waldir()")
                    .fetch_one(&mut conn)
                    .await?;
            Ok((db.max(0) as u64, wal.max(0) as u64))
        }
    }
}

/// One whole sign-in, due at `due`: the latency of Gatehouse's four requests,
/// counted from `due`, without the IdP's time.
async fn sign_in(
    http: &http::Client,
    idp: &reqwest::Client,
    idp_url: &str,
    t: &Target,
    due: Instant,
) -> Result<Duration> {
    let late = Instant::now().saturating_duration_since(due);
    let started = flow::authorize(http, t, false).await?;
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLRequest", &started.saml_request)
        .append_pair("RelayState", &started.relay_state)
        .append_pair("format", "json")
        .finish();
    let answer: serde_json::Value = idp
        .get(format!("{idp_url}/sso?{q}"))
        .send()
        .await?
        .json()
        .await?;
    let response = answer["samlResponse"]
        .as_str()
        .ok_or_else(|| anyhow!("the IdP did not answer: {answer}"))?;
    let form = flow::acs_form(response, &started.relay_state);
    let f = flow::finish(http, t, &started, &form).await?;
    Ok(late + started.authorize + f.acs + f.token + f.userinfo)
}

pub async fn run(
    engine: Engine,
    server: &Server,
    idp_url: &str,
    t: &Target,
    minutes: f64,
    rate: f64,
    clients: usize,
) -> Result<Vec<Sample>> {
    let http = http::Client::new(&t.base)?;
    let idp = flow::http_client()?;
    let pace = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let done: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let errors = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (http, idp, idp_url, t, next, stop, done, errors) = (
            http.clone(),
            idp.clone(),
            idp_url.to_string(),
            t.clone(),
            next.clone(),
            stop.clone(),
            done.clone(),
            errors.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let due = start + pace * k as u32;
                tokio::time::sleep_until(due.into()).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match sign_in(&http, &idp, &idp_url, &t, due).await {
                    Ok(latency) => done.lock().map(|mut d| d.push(latency)).unwrap_or(()),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("[soak] sign-in failed: {e:#}");
                        }
                    }
                }
            }
        }));
    }

    let total = Duration::from_secs_f64(minutes * 60.0);
    let mut samples = Vec::new();
    let mut last_errors = 0;
    let mut window_end = start + WINDOW;
    while start.elapsed() < total {
        tokio::time::sleep_until(window_end.into()).await;
        window_end += WINDOW;
        let mut latencies: Vec<Duration> = done
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        latencies.sort();
        let p99 = latencies
            .get((latencies.len() as f64 * 0.99) as usize)
            .or(latencies.last())
            .copied()
            .unwrap_or_default();
        let (db, wal) = storage_now(engine, server).await?;
        let errs = errors.load(Ordering::Relaxed);
        let sample = Sample {
            at_s: start.elapsed().as_secs_f64(),
            sign_ins: latencies.len(),
            errors: errs - last_errors,
            p99_ms: p99.as_secs_f64() * 1000.0,
            rss_mb: processes::rss_mb(Some(server.pid())),
            wal_mb: wal as f64 / 1_048_576.0,
            db_mb: db as f64 / 1_048_576.0,
        };
        last_errors = errs;
        eprintln!(
            "[soak] {:>6.0} s  {:>6.1} sign-ins/s  p99 {:>7.1} ms  RSS {:>4} MB  WAL {:>7.1} MB  DB {:>7.1} MB{}",
            sample.at_s,
            sample.sign_ins as f64 / WINDOW.as_secs_f64(),
            sample.p99_ms,
            sample.rss_mb,
            sample.wal_mb,
            sample.db_mb,
            if sample.errors > 0 { format!("  ({} errors)", sample.errors) } else { String::new() }
        );
        samples.push(sample);
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    Ok(samples)
}

/// The checks of `--soak-check`.
pub fn check(engine: Engine, samples: &[Sample], base_db_mb: f64) -> Result<()> {
    let sign_ins: usize = samples.iter().map(|s| s.sign_ins).sum();
    let errors: usize = samples.iter().map(|s| s.errors).sum();
    if sign_ins == 0 {
        bail!("no sign-in completed");
    }
    if errors * 100 > sign_ins {
        bail!("{errors} of {sign_ins} sign-ins failed");
    }
    let wal_max = samples.iter().map(|s| s.wal_mb).fold(0.0, f64::max);
    if engine == Engine::Sqlite && wal_max * 1_048_576.0 > WAL_BOUND_BYTES as f64 {
        bail!(
            "the WAL reached {wal_max:.1} MB (bound {} MB)",
            WAL_BOUND_BYTES / 1_048_576
        );
    }
    let last = samples.last().map_or(0.0, |s| s.db_mb);
    let per_sign_in = (last - base_db_mb).max(0.0) * 1_048_576.0 / sign_ins as f64;
    if per_sign_in > MAX_BYTES_PER_SIGN_IN as f64 {
        bail!(
            "the database grew by {per_sign_in:.0} bytes per sign-in (bound {MAX_BYTES_PER_SIGN_IN})"
        );
    }
    // memory after the first minute (warm-up: caches, pools, allocator arenas)
    let warm = samples.iter().find(|s| s.at_s >= 60.0);
    if let (Some(w), Some(l)) = (warm, samples.last()) {
        if l.rss_mb > w.rss_mb + MAX_RSS_GROWTH_MB {
            bail!(
                "RSS grew from {} to {} MB after warm-up",
                w.rss_mb,
                l.rss_mb
            );
        }
    }
    Ok(())
}

/// A chart panel: its label, its line, and an optional second line.
type Panel<'a> = (&'a str, Vec<(f64, f64)>, Option<Vec<(f64, f64)>>);

/// Four small line charts (sign-ins/s, p99, RSS, storage) in one SVG.
pub fn chart(title: &str, samples: &[Sample]) -> String {
    let w = 900.0;
    let panel_h = 150.0;
    let left = 70.0;
    let right = 20.0;
    let top = 40.0;
    let gap = 40.0;
    let series: [Panel; 4] = [
        (
            "sign-ins/s",
            samples
                .iter()
                .map(|s| (s.at_s, s.sign_ins as f64 / WINDOW.as_secs_f64()))
                .collect(),
            None,
        ),
        (
            "p99 ms",
            samples.iter().map(|s| (s.at_s, s.p99_ms)).collect(),
            None,
        ),
        (
            "RSS MB",
            samples.iter().map(|s| (s.at_s, s.rss_mb as f64)).collect(),
            None,
        ),
        (
            "MB on disk: database (blue), WAL (orange)",
            samples.iter().map(|s| (s.at_s, s.db_mb)).collect(),
            Some(samples.iter().map(|s| (s.at_s, s.wal_mb)).collect()),
        ),
    ];
    let h = top + 4.0 * (panel_h + gap);
    let t_max = samples.iter().map(|s| s.at_s).fold(1.0, f64::max);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{left}" y="24" font-size="15">{}</text>"#,
        escape(title)
    );
    for (i, (label, main, second)) in series.iter().enumerate() {
        let y0 = top + i as f64 * (panel_h + gap);
        let v_max = main
            .iter()
            .chain(second.iter().flatten())
            .map(|p| p.1)
            .fold(0.0, f64::max)
            .max(1e-9)
            * 1.1;
        let x = |t: f64| left + (t / t_max) * (w - left - right);
        let y = |v: f64| y0 + panel_h - (v / v_max) * panel_h;
        out.push_str(&format!(
            r##"<text x="{left}" y="{}" fill="#333">{}</text><line x1="{left}" y1="{}" x2="{left}" y2="{}" stroke="#999"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#999"/><text x="{}" y="{}" text-anchor="end" fill="#666">{:.0}</text><text x="{}" y="{}" text-anchor="end" fill="#666">0</text><text x="{}" y="{}" text-anchor="end" fill="#666">{:.0} s</text>"##,
            y0 - 6.0,
            escape(label),
            y0,
            y0 + panel_h,
            y0 + panel_h,
            w - right,
            y0 + panel_h,
            left - 6.0,
            y0 + 10.0,
            v_max / 1.1,
            left - 6.0,
            y0 + panel_h,
            w - right,
            y0 + panel_h + 14.0,
            t_max
        ));
        for (points, colour) in [(Some(main), "#2563eb"), (second.as_ref(), "#ea580c")] {
            let Some(points) = points else { continue };
            let path: Vec<String> = points
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect();
            out.push_str(&format!(
                r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                path.join(" ")
            ));
        }
    }
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
