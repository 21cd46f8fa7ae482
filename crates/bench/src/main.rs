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
//! That run has clients going back to back (the most logins per second). A second run
//! offers a fixed rate (`--rate`, default 1,000 logins/s) on an open-loop schedule,
//! with the two phases of consecutive rounds overlapping, and reports the latency a
//! login sees at that load ([`paced`]).
//!
//! With `--reference jackson` the same run also measures SAML Jackson (the npm
//! package, hosted by `scripts/jackson/server.mjs`) with the same flow, clients and
//! counts, right after each engine: Jackson's `mem` engine beside SQLite (its SQLite
//! option fails under concurrent logins), its PostgreSQL beside PostgreSQL. Every
//! server is pinned to the same core and the benchmark to the others, and a second
//! table gives the ratios Gatehouse / Jackson.
//!
//! Usage: see `--help`, or `scripts/bench.sh`.

#![allow(clippy::print_stdout)]

mod cpu;
mod flood;
mod flow;
mod http;
mod processes;
mod soak;

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
  --rate R           logins/s offered in the latency run (default 1000; 0 skips it)
  --openid           ask for scope=openid (adds an RS256 id_token per login)
  --reference jackson  also measure SAML Jackson (scripts/jackson, npm ci on first
                     use) after each engine: its mem engine beside SQLite, its
                     PostgreSQL beside PostgreSQL; each server is pinned to the
                     last core (taskset), the benchmark to the others; prints the
                     ratios Gatehouse / Jackson
  --reference-only   measure only the reference (no Gatehouse server needed)
  --flood SECONDS    instead of logins: 64 clients post 500 KB junk to the ACS for
                     SECONDS while /healthz and the token endpoint are probed
  --soak MINUTES     instead of logins: sign-ins at --rate (default 200 here) for
                     MINUTES; every 10 s: sign-ins/s, p99, RSS, WAL and database size
  --soak-chart DIR   where the soak's SVG charts go (default docs/)
  --soak-check       fail when the WAL, the database or RSS grew past their bounds
  --token-ttl SECS   the server's GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS (default its own)
  --server PATH      the gatehouse binary (default: next to this binary)
  --url [LABEL=]URL  use an already running server instead (one engine: its own);
                     repeat it to measure several, one after another, e.g. direct
                     and through a load balancer (scripts/bench-cluster.sh)
  --rounds N         measure the --url servers N times, alternating (default 1)
  --postgres URL     admin URL used to create a fresh database
                     (default postgres://postgres@127.0.0.1:5432/test)
";

struct Args {
    engines: Vec<Engine>,
    logins: usize,
    warmup: usize,
    concurrency: usize,
    rate: f64,
    openid: bool,
    reference: Option<Reference>,
    reference_only: bool,
    flood: Option<u64>,
    soak: Option<f64>,
    soak_chart: PathBuf,
    soak_check: bool,
    token_ttl: Option<u64>,
    rate_given: bool,
    server: PathBuf,
    /// `--url`s with their labels.
    urls: Vec<(String, String)>,
    rounds: usize,
    postgres: String,
}

fn parse_args() -> Result<Args> {
    let exe = std::env::current_exe()?;
    let mut a = Args {
        engines: vec![Engine::Sqlite, Engine::Postgres],
        logins: 4000,
        warmup: 300,
        concurrency: 32,
        rate: 1000.0,
        openid: false,
        reference: None,
        reference_only: false,
        flood: None,
        soak: None,
        soak_chart: repo_root().join("docs"),
        soak_check: false,
        token_ttl: None,
        rate_given: false,
        server: exe.with_file_name("gatehouse"),
        urls: Vec::new(),
        rounds: 1,
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
            "--rate" => {
                a.rate = value()?.parse()?;
                a.rate_given = true;
            }
            "--soak" => a.soak = Some(value()?.parse()?),
            "--soak-chart" => a.soak_chart = value()?.into(),
            "--soak-check" => a.soak_check = true,
            "--token-ttl" => a.token_ttl = Some(value()?.parse()?),
            "--openid" => a.openid = true,
            "--reference-only" => a.reference_only = true,
            "--reference" => {
                a.reference = match value()?.as_str() {
                    "jackson" => Some(Reference::Jackson),
                    other => bail!("unknown reference {other} (jackson is the one there is)"),
                }
            }
            "--flood" => a.flood = Some(value()?.parse()?),
            "--server" => a.server = value()?.into(),
            "--url" => {
                let v = value()?;
                a.urls.push(match v.split_once('=') {
                    Some((label, url)) if !label.contains("://") => {
                        (label.to_string(), url.to_string())
                    }
                    _ => ("(given)".to_string(), v),
                });
            }
            "--rounds" => a.rounds = value()?.parse()?,
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
    if a.reference_only && a.reference.is_none() {
        bail!("--reference-only needs --reference");
    }
    if a.reference.is_some() && (a.flood.is_some() || a.soak.is_some()) {
        bail!("--reference compares logins; it does not go with --flood or --soak");
    }
    if !(a.rate.is_finite() && a.rate >= 0.0) {
        bail!("--rate must be a number of logins per second (0 skips the latency run)");
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
    if let Some(seconds) = args.flood {
        return flood_all(&args, &idp.url, seconds).await;
    }
    if let Some(minutes) = args.soak {
        return soak_all(&args, &idp.url, minutes).await;
    }
    // Installed before the pinning, which would leave npm one core.
    let server_core = match args.reference {
        Some(Reference::Jackson) => {
            processes::install_jackson(&repo_root())?;
            pin_for_comparison()?
        }
        None => None,
    };
    // Each engine, then the reference beside it.
    let mut subjects = Vec::new();
    let engines = if args.urls.is_empty() {
        args.engines.clone()
    } else {
        for _ in 0..args.rounds.max(1) {
            for (label, url) in &args.urls {
                subjects.push(Subject::Given(label.clone(), url.clone()));
            }
        }
        Vec::new()
    };
    for engine in engines {
        if !args.reference_only {
            subjects.push(Subject::Gatehouse(engine));
        }
        if args.reference == Some(Reference::Jackson) {
            subjects.push(Subject::Jackson(engine));
        }
    }
    let mut rows = Vec::new();
    for subject in &subjects {
        let (server, target) = match subject {
            Subject::Given(_, url) => (None, flow::seed(url, &idp.url).await.context("seeding")?),
            Subject::Gatehouse(engine) => {
                let server = processes::start_server_with(
                    &args.server,
                    *engine,
                    &args.postgres,
                    &[],
                    server_core,
                )
                .await?;
                let target = flow::seed(&server.base, &idp.url)
                    .await
                    .context("seeding")?;
                (Some(server), target)
            }
            Subject::Jackson(engine) => {
                let api_key = uuid::Uuid::new_v4().simple().to_string();
                let server = processes::start_jackson(
                    &repo_root(),
                    &api_key,
                    *engine,
                    &args.postgres,
                    server_core,
                )
                .await?;
                let target = flow::seed_jackson(&server.base, &idp.url, &api_key)
                    .await
                    .context("seeding SAML Jackson")?;
                (Some(server), target)
            }
        };
        let label = subject.label();
        eprintln!("[bench] {label} at {}", target.base);
        let outcomes = run(&args, &idp.url, &target, server.as_ref().map(|s| s.pid())).await;
        if let Some(server) = server {
            server.cleanup().await?;
        }
        for (load, outcome) in outcomes? {
            rows.push(Row {
                label: label.clone(),
                reference: matches!(subject, Subject::Jackson(_)),
                beside: subject.engine(),
                load,
                outcome,
            });
        }
    }
    println!();
    if let Some(ms) = cpu::rsa2048_sign_ms() {
        println!(
            "machine check: one RSA-2048 signature takes {ms:.3} ms now (compare runs by this)"
        );
    }
    println!(
        "| server | offered load | logins | clients | scope | logins/s | p50 ms | p99 ms | authorize p50/p99 | acs p50/p99 | token p50/p99 | userinfo p50/p99 | CPU ms/login server / client / machine |"
    );
    println!("|---|---|---:|---:|---|---:|---:|---:|---|---|---|---|---|");
    for Row {
        label,
        load,
        outcome: r,
        ..
    } in &rows
    {
        println!(
            "| {label} | {load} | {} | {} | {} | **{:.0}** | {:.2} | {:.2} | {} | {} | {} | {} | {} / {} / {} |",
            r.logins,
            args.concurrency,
            if args.openid { "openid" } else { "(none)" },
            r.per_second(),
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
    print_ratios(&rows);
    Ok(())
}

/// The server `--reference` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reference {
    /// SAML Jackson, `@boxyhq/saml-jackson` as `scripts/jackson/server.mjs` hosts it.
    Jackson,
}

/// A server one set of rows measures.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    /// Already running at `--url` (label, URL).
    Given(String, String),
    Gatehouse(Engine),
    /// SAML Jackson on the database beside this engine ([`processes::start_jackson`]).
    Jackson(Engine),
}

impl Subject {
    fn label(&self) -> String {
        let jackson = || processes::jackson_version(&repo_root()).unwrap_or_else(|| "?".into());
        match self {
            Subject::Given(label, _) => label.clone(),
            Subject::Gatehouse(engine) => format!("Gatehouse {}", engine.name()),
            Subject::Jackson(Engine::Sqlite) => format!("Jackson {} mem", jackson()),
            Subject::Jackson(Engine::Postgres) => format!("Jackson {} postgres", jackson()),
        }
    }

    /// The engine whose rows a ratio pairs (a given server counts as SQLite's).
    fn engine(&self) -> Engine {
        match self {
            Subject::Given(..) => Engine::Sqlite,
            Subject::Gatehouse(engine) | Subject::Jackson(engine) => *engine,
        }
    }
}

/// One line of the results table.
struct Row {
    label: String,
    /// Measured on the reference (SAML Jackson).
    reference: bool,
    /// The engine it is compared beside.
    beside: Engine,
    load: String,
    outcome: Outcome,
}

/// Servers on the last core, this benchmark (and what it starts from now on) on the
/// others: the core a server gets is the same for each, whatever the other one does.
/// Returns the servers' core (`None`, unpinned, with fewer than two cores).
fn pin_for_comparison() -> Result<Option<usize>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        eprintln!("[bench] one core: servers and benchmark share it (not pinned)");
        return Ok(None);
    }
    let server = cores - 1;
    let client = match server {
        1 => "0".to_string(),
        n => format!("0-{}", n - 1),
    };
    processes::pin_self(&client)?;
    eprintln!("[bench] pinned: each server on core {server}, the benchmark on {client}");
    Ok(Some(server))
}

/// Gatehouse / Jackson for every Gatehouse row that has a Jackson row of the same
/// engine and offered load (nothing without `--reference`).
fn print_ratios(rows: &[Row]) {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    };
    let cpu = |o: &Outcome| o.cpu.server.map(|s| s / o.logins.max(1) as f64);
    let p = |o: &Outcome, q: f64| Some(ms(pct(&o.total, q)));
    let mut header = false;
    for r in rows.iter().filter(|r| !r.reference) {
        let Some(j) = rows
            .iter()
            .find(|j| j.reference && j.beside == r.beside && j.load == r.load)
        else {
            continue;
        };
        if !header {
            println!();
            println!(
                "Gatehouse / Jackson (same run; logins/s above 1 and the others below 1 favour Gatehouse):"
            );
            println!("| server | against | offered load | logins/s | login p50 | login p99 | server CPU per login |");
            println!("|---|---|---|---:|---:|---:|---:|");
            header = true;
        }
        let (g, j, beside) = (&r.outcome, &j.outcome, &j.label);
        println!(
            "| {} | {beside} | {} | {} | {} | {} | {} |",
            r.label,
            r.load,
            ratio(Some(g.per_second()), Some(j.per_second())),
            ratio(p(g, 50.0), p(j, 50.0)),
            ratio(p(g, 99.0), p(j, 99.0)),
            ratio(cpu(g), cpu(j)),
        );
    }
}

/// `--soak`: one server per engine, soaked in turn; a table and a chart each.
async fn soak_all(args: &Args, idp_url: &str, minutes: f64) -> Result<()> {
    let rate = if args.rate_given { args.rate } else { 200.0 };
    let mut env = vec![("GATEHOUSE_PURGE_INTERVAL_SECONDS", "10".to_string())];
    if let Some(ttl) = args.token_ttl {
        env.push(("GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS", ttl.to_string()));
    }
    let mut failures = Vec::new();
    for &engine in &args.engines {
        let server =
            processes::start_server_with(&args.server, engine, &args.postgres, &env, None).await?;
        let target = flow::seed(&server.base, idp_url).await.context("seeding")?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (base_db, _) = soak::storage_now(engine, &server).await?;
        eprintln!(
            "[bench] soak on {}: {rate} sign-ins/s for {minutes} min ({} clients)",
            engine.name(),
            args.concurrency
        );
        let samples = soak::run(
            engine,
            &server,
            idp_url,
            &target,
            minutes,
            rate,
            args.concurrency,
        )
        .await;
        server.cleanup().await?;
        let samples = samples?;
        std::fs::create_dir_all(&args.soak_chart)?;
        let chart = args.soak_chart.join(format!("soak-{}.svg", engine.name()));
        std::fs::write(
            &chart,
            soak::chart(
                &format!(
                    "Gatehouse soak, {}: {rate} sign-ins/s offered for {minutes} min (10 s windows)",
                    engine.name()
                ),
                &samples,
            ),
        )?;
        println!();
        println!("{} ({}):", engine.name(), chart.display());
        println!("| t s | sign-ins/s | p99 ms | RSS MB | WAL MB | database MB |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for s in &samples {
            println!(
                "| {:.0} | {:.1} | {:.1} | {} | {:.1} | {:.1} |",
                s.at_s,
                s.sign_ins as f64 / soak::WINDOW.as_secs_f64(),
                s.p99_ms,
                s.rss_mb,
                s.wal_mb,
                s.db_mb
            );
        }
        if args.soak_check {
            if let Err(e) = soak::check(engine, &samples, base_db as f64 / 1_048_576.0) {
                failures.push(format!("{}: {e}", engine.name()));
            }
        }
    }
    if !failures.is_empty() {
        bail!("soak check failed: {}", failures.join("; "));
    }
    Ok(())
}

/// `--flood`: one server per engine, each flooded in turn; one table.
async fn flood_all(args: &Args, idp_url: &str, seconds: u64) -> Result<()> {
    let mut rows = Vec::new();
    for &engine in &args.engines {
        let server = processes::start_server(&args.server, engine, &args.postgres).await?;
        let target = flow::seed(&server.base, idp_url).await.context("seeding")?;
        eprintln!(
            "[bench] flooding the ACS ({} clients, {seconds} s) on {}",
            flood::CLIENTS,
            engine.name()
        );
        let report = flood::run(idp_url, &target, Some(server.pid()), seconds).await;
        server.cleanup().await?;
        rows.push((engine.name(), report?));
    }
    println!();
    println!(
        "| engine | junk posts/s | /healthz p50 / p99 / max ms (baseline p99) | token p50 / p99 / max ms (baseline p99) | server RSS MB before / peak / after |"
    );
    println!("|---|---:|---|---|---|");
    for (engine, r) in rows {
        let max = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
        println!(
            "| {engine} | {:.0} | {:.1} / {:.1} / {:.1} ({:.1}) | {:.1} / {:.1} / {:.1} ({:.1}) | {} / {} / {} |",
            r.posts as f64 / r.seconds,
            ms(pct(&r.health, 50.0)),
            ms(pct(&r.health, 99.0)),
            ms(max(&r.health)),
            ms(pct(&r.baseline_health, 99.0)),
            ms(pct(&r.token, 50.0)),
            ms(pct(&r.token, 99.0)),
            ms(max(&r.token)),
            ms(pct(&r.baseline_token, 99.0)),
            r.rss_before_mb,
            r.rss_peak_mb,
            r.rss_after_mb,
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

/// The clients: the lean one for the timed requests to the server, reqwest for the
/// IdP (untimed).
struct Http {
    timed: http::Client,
    idp: reqwest::Client,
}

/// Two measurements on one server: clients running logins back to back (the most
/// logins per second), then logins started at `--rate` per second (the latency a
/// login sees at that load). Labelled by the offered load.
async fn run(
    args: &Args,
    idp_url: &str,
    target: &Target,
    server_pid: Option<u32>,
) -> Result<Vec<(String, Outcome)>> {
    let http = Http {
        timed: http::Client::new(&target.base)?,
        idp: flow::http_client()?,
    };
    if args.warmup > 0 {
        eprintln!("[bench] warm-up: {} logins", args.warmup);
        batch(args, &http, idp_url, target, args.warmup, server_pid).await?;
    }
    eprintln!(
        "[bench] measuring {} logins with {} concurrent clients, back to back",
        args.logins, args.concurrency
    );
    let mut outcomes = vec![(
        "back to back".to_string(),
        batch(args, &http, idp_url, target, args.logins, server_pid).await?,
    )];
    if args.rate > 0.0 {
        eprintln!(
            "[bench] measuring {} logins started at {} per second ({} clients)",
            args.logins, args.rate, args.concurrency
        );
        let pace = Duration::from_secs_f64(1.0 / args.rate);
        outcomes.push((
            format!("{}/s", args.rate),
            paced(args, &http, idp_url, target, pace, server_pid).await?,
        ));
    }
    Ok(outcomes)
}

/// Clients running logins back to back: all authorize requests (timed), the IdP's
/// answers (not timed), then all ACS → token → userinfo sequences (timed).
async fn batch(
    args: &Args,
    http: &Http,
    idp_url: &str,
    target: &Target,
    n: usize,
    server_pid: Option<u32>,
) -> Result<Outcome> {
    let mut cpu_used = cpu::Used::default();
    let c0 = cpu::sample(server_pid);
    let t0 = Instant::now();
    let started = authorize_all(args, &http.timed, target, n, args.concurrency, None).await?;
    let phase1 = t0.elapsed();
    cpu_used.add(c0, cpu::sample(server_pid));

    let forms = idp_answers(&http.idp, idp_url, target, &started).await?;

    let started = Arc::new(started);
    let c1 = cpu::sample(server_pid);
    let t1 = Instant::now();
    let finished = finish_all(&http.timed, target, &started, forms, args.concurrency, None).await?;
    let elapsed = phase1 + t1.elapsed();
    cpu_used.add(c1, cpu::sample(server_pid));
    let authorize: Vec<Duration> = started.iter().map(|s| s.authorize).collect();
    Ok(Outcome::new(&authorize, &finished, elapsed, cpu_used))
}

/// Logins started at a fixed rate, as a steady stream of users makes them: in each
/// round of one second's logins, the authorize requests of round k+1 and the
/// ACS → token → userinfo sequences of round k run at the same time, interleaved on
/// one schedule (one of each every `pace`) and served by the same `--concurrency`
/// clients, whichever is free next, as a crowd of browsers would; the IdP answers
/// round k+1 between rounds (not timed). So the server carries the whole offered load
/// while it is measured. The first round, which finishes logins whose authorize
/// requests ran alone, is not counted; the last round's authorize requests are never
/// finished.
async fn paced(
    args: &Args,
    http: &Http,
    idp_url: &str,
    target: &Target,
    pace: Duration,
    server_pid: Option<u32>,
) -> Result<Outcome> {
    let per_round = ((1.0 / pace.as_secs_f64()).round() as usize).max(1);
    let counted_rounds = args.logins.div_ceil(per_round).max(1);
    let mut cpu_used = cpu::Used::default();
    let mut elapsed = Duration::ZERO;
    let (mut authorize, mut finished) = (Vec::new(), Vec::new());

    let mut current = authorize_all(
        args,
        &http.timed,
        target,
        per_round,
        args.concurrency,
        Some(pace),
    )
    .await?;
    let mut forms = idp_answers(&http.idp, idp_url, target, &current).await?;
    for round in 0..=counted_rounds {
        let c0 = cpu::sample(server_pid);
        let t0 = Instant::now();
        let this = Arc::new(current);
        let (next, done) =
            overlapped(args, &http.timed, target, &this, forms, per_round, pace).await?;
        if round > 0 {
            elapsed += t0.elapsed();
            cpu_used.add(c0, cpu::sample(server_pid));
            authorize.extend(this.iter().map(|s| s.authorize));
            finished.extend(done);
        }
        if round == counted_rounds {
            break;
        }
        forms = idp_answers(&http.idp, idp_url, target, &next).await?;
        current = next;
    }
    Ok(Outcome::new(&authorize, &finished, elapsed, cpu_used))
}

/// One step a client of the paced run takes.
enum Step {
    Authorized(Started),
    Finished(Finished),
}

/// One paced round: `per_round` new authorize requests and the ACS → token →
/// userinfo sequences of the logins in `started`, alternating on one schedule (each
/// kind due every `pace`), on `--concurrency` clients.
async fn overlapped(
    args: &Args,
    http: &http::Client,
    target: &Target,
    started: &Arc<Vec<Started>>,
    forms: Vec<String>,
    per_round: usize,
    pace: Duration,
) -> Result<(Vec<Started>, Vec<Finished>)> {
    let openid = args.openid;
    let forms = Arc::new(forms);
    let (h, tg, st) = (http.clone(), target.clone(), started.clone());
    let to_finish = started.len();
    let steps = parallel(
        args.concurrency,
        per_round + to_finish,
        Some(pace / 2),
        move |j, late| {
            let http = h.clone();
            let target = tg.clone();
            let started = st.clone();
            let forms = forms.clone();
            async move {
                // Even slots start logins, odd ones finish them, while both last.
                let (kind, i) = interleave(j, per_round, to_finish);
                if kind == 0 {
                    let s = authorize_one(&http, &target, openid, late).await?;
                    return Ok(Step::Authorized(s));
                }
                let f = finish_one(&http, &target, &started, &forms, i, late).await?;
                Ok(Step::Finished(f))
            }
        },
    )
    .await?;
    let (mut next, mut done) = (Vec::with_capacity(per_round), Vec::with_capacity(to_finish));
    for step in steps {
        match step {
            Step::Authorized(s) => next.push(s),
            Step::Finished(f) => done.push(f),
        }
    }
    Ok((next, done))
}

/// Slot `j` of two interleaved sequences of lengths `a` and `b` (a0 b0 a1 b1 …, the
/// longer one's rest at the end): which sequence (0 or 1) and the index in it.
fn interleave(j: usize, a: usize, b: usize) -> (u8, usize) {
    let both = 2 * a.min(b);
    if j < both {
        ((j % 2) as u8, j / 2)
    } else if a > b {
        (0, j - b)
    } else {
        (1, j - a)
    }
}

/// `n` authorize requests on `workers` clients.
async fn authorize_all(
    args: &Args,
    http: &http::Client,
    target: &Target,
    n: usize,
    workers: usize,
    pace: Option<Duration>,
) -> Result<Vec<Started>> {
    let openid = args.openid;
    let (h, tg) = (http.clone(), target.clone());
    parallel(workers, n, pace, move |_, late| {
        let http = h.clone();
        let target = tg.clone();
        async move { authorize_one(&http, &target, openid, late).await }
    })
    .await
}

/// One authorize request, which started `late` (charged to it).
async fn authorize_one(
    http: &http::Client,
    target: &Target,
    openid: bool,
    late: Duration,
) -> Result<Started> {
    let mut s = flow::authorize(http, target, openid).await?;
    s.authorize += late;
    Ok(s)
}

/// Not timed: the IdP answers every AuthnRequest, and the browser's ACS forms are
/// encoded.
async fn idp_answers(
    http: &reqwest::Client,
    idp_url: &str,
    target: &Target,
    started: &[Started],
) -> Result<Vec<String>> {
    let signing = Instant::now();
    let mut forms = Vec::with_capacity(started.len());
    for chunk in started.chunks(1000) {
        let ids = chunk
            .iter()
            .map(|s| flow::authn_request_id(&s.saml_request))
            .collect::<Result<Vec<String>>>()?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let signed = flow::sign_responses(http, idp_url, target, &ids).await?;
        forms.extend(
            chunk
                .iter()
                .zip(&signed)
                .map(|(s, r)| flow::acs_form(r, &s.relay_state)),
        );
    }
    eprintln!(
        "[bench] the IdP signed {} responses in {:.1} s (not measured)",
        started.len(),
        signing.elapsed().as_secs_f64()
    );
    Ok(forms)
}

/// ACS → token → userinfo for every started login, on `workers` clients.
async fn finish_all(
    http: &http::Client,
    target: &Target,
    started: &Arc<Vec<Started>>,
    forms: Vec<String>,
    workers: usize,
    pace: Option<Duration>,
) -> Result<Vec<Finished>> {
    let forms = Arc::new(forms);
    let (h, tg, st) = (http.clone(), target.clone(), started.clone());
    parallel(workers, started.len(), pace, move |i, late| {
        let http = h.clone();
        let target = tg.clone();
        let started = st.clone();
        let forms = forms.clone();
        async move { finish_one(&http, &target, &started, &forms, i, late).await }
    })
    .await
}

/// ACS → token → userinfo for login `i`, which started `late` (charged to its ACS).
async fn finish_one(
    http: &http::Client,
    target: &Target,
    started: &[Started],
    forms: &[String],
    i: usize,
    late: Duration,
) -> Result<Finished> {
    let s = started.get(i).ok_or_else(|| anyhow!("login {i} missing"))?;
    let form = forms
        .get(i)
        .ok_or_else(|| anyhow!("login {i} has no ACS form"))?;
    let mut f = flow::finish(http, target, s, form).await?;
    f.acs += late;
    Ok(f)
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.logins as f64 / self.elapsed.as_secs_f64()
    }

    /// `authorize[i]` and `finished[i]` are the steps of login `i`.
    fn new(
        authorize: &[Duration],
        finished: &[Finished],
        elapsed: Duration,
        cpu: cpu::Used,
    ) -> Self {
        let n = finished.len();
        let mut o = Outcome {
            logins: n,
            elapsed,
            total: Vec::with_capacity(n),
            authorize: Vec::with_capacity(n),
            acs: Vec::with_capacity(n),
            token: Vec::with_capacity(n),
            userinfo: Vec::with_capacity(n),
            cpu,
        };
        for (&a, f) in authorize.iter().zip(finished) {
            o.total.push(a + f.acs + f.token + f.userinfo);
            o.authorize.push(a);
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
        o
    }
}

/// Run `job(0..n)` on `concurrency` workers; results in index order. The first error
/// stops the run.
///
/// With `pace`, job `i` is due at `start + i × pace` (an open-loop load: jobs start on
/// schedule whatever the server's latency, as long as a worker is free) and gets how
/// late it started; its latency counts from when it was due, so a stalled server
/// cannot hide its queue by slowing the clients down (coordinated omission). Without
/// `pace`, each worker starts its next job at once and `late` is zero.
///
/// The schedule is kept by a thread of its own ([`pacer`]), which hands out each job
/// at its due time to the next free worker: tokio's timer fires on 1 ms ticks, so
/// `sleep_until(due)` started every job up to 1 ms late (about 1 ms per paced step at
/// light load, measured), and that was charged to the server as if it had made the
/// job wait.
async fn parallel<T, F, Fut>(
    concurrency: usize,
    n: usize,
    pace: Option<Duration>,
    job: F,
) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize, Duration) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let due = pace.map(|pace| Arc::new(tokio::sync::Mutex::new(pacer(pace, n))));
    let mut handles = Vec::new();
    for _ in 0..concurrency.min(n) {
        let next = next.clone();
        let job = job.clone();
        let due = due.clone();
        handles.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let (i, late) = match &due {
                    Some(due) => match due.lock().await.recv().await {
                        Some((i, at)) => (i, at.elapsed()),
                        None => break,
                    },
                    None => (next.fetch_add(1, Ordering::Relaxed), Duration::ZERO),
                };
                if i >= n {
                    break;
                }
                let value = job(i, late).await.with_context(|| format!("login {i}"))?;
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

/// Jobs `0..n` in order, each sent at its due time `start + i × pace` (`start` being
/// now) together with that time, from a thread that sleeps in between (`nanosleep`,
/// precise to tens of microseconds). A job waits in the channel while no worker is
/// free, and that wait counts as its lateness.
fn pacer(pace: Duration, n: usize) -> tokio::sync::mpsc::UnboundedReceiver<(usize, Instant)> {
    let start = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for i in 0..n {
            let due = start + pace.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send((i, due)).is_err() {
                break;
            }
        }
    });
    rx
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

#[cfg(test)]
mod tests {
    use super::interleave;

    #[test]
    fn interleaving_alternates_then_runs_out_the_longer_sequence() {
        let slots = |a, b| (0..a + b).map(|j| interleave(j, a, b)).collect::<Vec<_>>();
        assert_eq!(slots(2, 2), [(0, 0), (1, 0), (0, 1), (1, 1)]);
        assert_eq!(slots(3, 1), [(0, 0), (1, 0), (0, 1), (0, 2)]);
        assert_eq!(slots(1, 3), [(0, 0), (1, 0), (1, 1), (1, 2)]);
        assert_eq!(slots(0, 2), [(1, 0), (1, 1)]);
    }
}
