//! gatehouse-bench: complete SSO logins per second against a running Gatehouse server.
//!
//! One login is what an app and a browser do: `GET /api/oauth/authorize` (Gatehouse
//! answers with a signed AuthnRequest redirect), the IdP's signed SAML response posted
//! to the ACS `POST /api/oauth/saml` (signature verified with libxmlsec1, code issued),
//! `POST /api/oauth/token` (client secret, PKCE) and `GET /api/oauth/userinfo`.
//!
//! The IdP's responses answer the real AuthnRequests (`InResponseTo`), so they can only
//! be signed after the authorize step. A run therefore has two timed phases around an
//! untimed one: all authorize requests; the third-party IdP (samlify) signs the answers
//! in a batch; all ACS → token → userinfo sequences. Throughput is logins divided by
//! the time of both timed phases; a login's latency is the sum of its four requests.
//!
//! Usage: see `--help`, or `scripts/bench.sh`.

#![allow(clippy::print_stdout)]

mod cpu;
mod flow;
mod processes;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::flow::{Finished, Started, Target};
use crate::processes::Engine;

const HELP: &str = "\
gatehouse-bench: complete SSO logins/s against a running Gatehouse

  --engines LIST     sqlite,postgres (default both)
  --logins N         measured logins per engine (default 4000)
  --warmup N         unmeasured logins first (default 300)
  --concurrency N    concurrent clients (default 32)
  --openid           ask for scope=openid (adds an RS256 id_token per login)
  --server PATH      the gatehouse binary (default: next to this binary)
  --url URL          use an already running server instead (one engine: its own)
  --postgres URL     admin URL used to create a fresh database
                     (default postgres://postgres@127.0.0.1:5432/test)
";

struct Args {
    engines: Vec<Engine>,
    logins: usize,
    warmup: usize,
    concurrency: usize,
    openid: bool,
    server: PathBuf,
    url: Option<String>,
    postgres: String,
}

fn parse_args() -> Result<Args> {
    let exe = std::env::current_exe()?;
    let mut a = Args {
        engines: vec![Engine::Sqlite, Engine::Postgres],
        logins: 4000,
        warmup: 300,
        concurrency: 32,
        openid: false,
        server: exe.with_file_name("gatehouse"),
        url: None,
        postgres: "postgres://postgres@127.0.0.1:5432/test".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--engines" => {
                a.engines = value()?
                    .split(',')
                    .map(|e| match e.trim() {
                        "sqlite" => Ok(Engine::Sqlite),
                        "postgres" => Ok(Engine::Postgres),
                        other => Err(anyhow!("unknown engine {other}")),
                    })
                    .collect::<Result<_>>()?
            }
            "--logins" => a.logins = value()?.parse()?,
            "--warmup" => a.warmup = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--openid" => a.openid = true,
            "--server" => a.server = value()?.into(),
            "--url" => a.url = Some(value()?),
            "--postgres" => a.postgres = value()?,
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{HELP}"),
        }
    }
    if a.logins == 0 || a.concurrency == 0 {
        bail!("--logins and --concurrency must be positive");
    }
    Ok(a)
}

/// The repository root (for the test IdP script).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let idp = processes::start_idp(&repo_root())?;
    let mut results = Vec::new();
    if let Some(url) = &args.url {
        let target = flow::seed(url, &idp.url).await?;
        results.push((
            "(given)".to_string(),
            run(&args, &idp.url, &target, None).await?,
        ));
    } else {
        for &engine in &args.engines {
            let server = processes::start_server(&args.server, engine, &args.postgres).await?;
            let target = flow::seed(&server.base, &idp.url)
                .await
                .context("seeding")?;
            let outcome = run(&args, &idp.url, &target, Some(server.pid())).await;
            server.cleanup().await?;
            results.push((engine.name().to_string(), outcome?));
        }
    }
    println!();
    if let Some(ms) = cpu::rsa2048_sign_ms() {
        println!(
            "machine check: one RSA-2048 signature takes {ms:.3} ms now (compare runs by this)"
        );
    }
    println!(
        "| engine | logins | clients | scope | logins/s | p50 ms | p99 ms | authorize p50/p99 | acs p50/p99 | token p50/p99 | userinfo p50/p99 | CPU ms/login server / client / machine |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---|---|---|---|---|");
    for (engine, r) in &results {
        println!(
            "| {engine} | {} | {} | {} | **{:.0}** | {:.2} | {:.2} | {} | {} | {} | {} | {} / {} / {} |",
            r.logins,
            args.concurrency,
            if args.openid { "openid" } else { "(none)" },
            r.logins as f64 / r.elapsed.as_secs_f64(),
            ms(pct(&r.total, 50.0)),
            ms(pct(&r.total, 99.0)),
            pair(&r.authorize),
            pair(&r.acs),
            pair(&r.token),
            pair(&r.userinfo),
            cpu::Used::per_login(r.cpu.server, r.logins),
            cpu::Used::per_login(r.cpu.client, r.logins),
            cpu::Used::per_login(r.cpu.machine, r.logins),
        );
    }
    Ok(())
}

struct Outcome {
    logins: usize,
    elapsed: Duration,
    total: Vec<Duration>,
    authorize: Vec<Duration>,
    acs: Vec<Duration>,
    token: Vec<Duration>,
    userinfo: Vec<Duration>,
    /// CPU time used during the two timed phases.
    cpu: cpu::Used,
}

async fn run(
    args: &Args,
    idp_url: &str,
    target: &Target,
    server_pid: Option<u32>,
) -> Result<Outcome> {
    let http = flow::http_client()?;
    if args.warmup > 0 {
        eprintln!("[bench] warm-up: {} logins", args.warmup);
        batch(args, &http, idp_url, target, args.warmup, server_pid).await?;
    }
    eprintln!(
        "[bench] measuring {} logins with {} concurrent clients",
        args.logins, args.concurrency
    );
    batch(args, &http, idp_url, target, args.logins, server_pid).await
}

async fn batch(
    args: &Args,
    http: &reqwest::Client,
    idp_url: &str,
    target: &Target,
    n: usize,
    server_pid: Option<u32>,
) -> Result<Outcome> {
    let mut cpu_used = cpu::Used::default();
    // Phase 1 (timed): authorize.
    let openid = args.openid;
    let (h, tg) = (http.clone(), target.clone());
    let c0 = cpu::sample(server_pid);
    let t0 = Instant::now();
    let started: Vec<Started> = parallel(args.concurrency, n, move |_| {
        let http = h.clone();
        let target = tg.clone();
        async move { flow::authorize(&http, &target, openid).await }
    })
    .await?;
    let phase1 = t0.elapsed();
    cpu_used.add(c0, cpu::sample(server_pid));

    // Untimed: the IdP answers every AuthnRequest.
    let signing = Instant::now();
    let mut responses = Vec::with_capacity(n);
    for chunk in started.chunks(1000) {
        let ids: Vec<&str> = chunk.iter().map(|s| s.request_id.as_str()).collect();
        responses.extend(flow::sign_responses(http, idp_url, target, &ids).await?);
    }
    eprintln!(
        "[bench] the IdP signed {n} responses in {:.1} s (not measured)",
        signing.elapsed().as_secs_f64()
    );

    // Phase 2 (timed): ACS, token, userinfo.
    let started = Arc::new(started);
    let responses = Arc::new(responses);
    let (h, tg) = (http.clone(), target.clone());
    let (st, rs) = (started.clone(), responses.clone());
    let c1 = cpu::sample(server_pid);
    let t1 = Instant::now();
    let finished: Vec<Finished> = parallel(args.concurrency, n, move |i| {
        let http = h.clone();
        let target = tg.clone();
        let started = st.clone();
        let responses = rs.clone();
        async move {
            let (s, r) = started
                .get(i)
                .zip(responses.get(i))
                .ok_or_else(|| anyhow!("login {i} missing"))?;
            flow::finish(&http, &target, s, r).await
        }
    })
    .await?;
    let elapsed = phase1 + t1.elapsed();
    cpu_used.add(c1, cpu::sample(server_pid));

    let mut o = Outcome {
        logins: n,
        elapsed,
        total: Vec::with_capacity(n),
        authorize: Vec::with_capacity(n),
        acs: Vec::with_capacity(n),
        token: Vec::with_capacity(n),
        userinfo: Vec::with_capacity(n),
        cpu: cpu_used,
    };
    for (s, f) in started.iter().zip(&finished) {
        o.total.push(s.authorize + f.acs + f.token + f.userinfo);
        o.authorize.push(s.authorize);
        o.acs.push(f.acs);
        o.token.push(f.token);
        o.userinfo.push(f.userinfo);
    }
    for v in [
        &mut o.total,
        &mut o.authorize,
        &mut o.acs,
        &mut o.token,
        &mut o.userinfo,
    ] {
        v.sort();
    }
    Ok(o)
}

/// Run `job(0..n)` on `concurrency` workers; results in index order. The first error
/// stops the run.
async fn parallel<T, F, Fut>(concurrency: usize, n: usize, job: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut handles = Vec::new();
    for _ in 0..concurrency.min(n) {
        let next = next.clone();
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let value = job(i).await.with_context(|| format!("login {i}"))?;
                done.push((i, value));
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for h in handles {
        for (i, value) in h.await?? {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(value);
            }
        }
    }
    slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| anyhow!("login {i} produced nothing")))
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pair(sorted: &[Duration]) -> String {
    format!("{:.1}/{:.1}", ms(pct(sorted, 50.0)), ms(pct(sorted, 99.0)))
}
