//! `--flood SECONDS`: what a flood of junk at the ACS does to everything else.
//!
//! 64 clients post 500 KB SAML responses to the ACS as fast as they are answered: real
//! signed responses for real pending sign-ins, padded to 500 KB inside what their
//! signature covers (the server must check the signature over all of it, and it
//! fails), and plain junk. Meanwhile a probe asks `/healthz` and the token endpoint
//! every 100 ms and the server's RSS is sampled. The same probes run for a few seconds
//! before the flood, as a baseline in the same run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::flow::{self, Target};
use crate::http;
use crate::processes;

pub const CLIENTS: usize = 64;
const JUNK_BYTES: usize = 500 * 1024;
const BASELINE: Duration = Duration::from_secs(5);

/// Latencies sorted (the table reads percentiles from them).
pub struct FloodReport {
    pub posts: usize,
    pub seconds: f64,
    pub baseline_health: Vec<Duration>,
    pub baseline_token: Vec<Duration>,
    pub health: Vec<Duration>,
    pub token: Vec<Duration>,
    pub rss_before_mb: u64,
    pub rss_peak_mb: u64,
    pub rss_after_mb: u64,
}

async fn junk_bodies(idp_url: &str, t: &Target) -> Result<Vec<String>> {
    let lean = http::Client::new(&t.base)?;
    let idp = flow::http_client()?;
    let mut started = Vec::new();
    for _ in 0..16 {
        started.push(flow::authorize(&lean, t, false).await?);
    }
    let ids = started
        .iter()
        .map(|s| flow::authn_request_id(&s.saml_request))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let responses = flow::sign_responses(&idp, idp_url, t, &refs).await?;
    let mut bodies = Vec::new();
    for (s, response) in started.iter().zip(responses) {
        let xml = String::from_utf8(STANDARD.decode(response)?)?;
        let padding = "x".repeat(JUNK_BYTES.saturating_sub(xml.len()));
        let padded = xml.replacen(
            "</saml:Issuer>",
            &format!("</saml:Issuer><pad:Pad xmlns:pad=\"urn:pad\">{padding}</pad:Pad>"),
            1,
        );
        bodies.push(flow::acs_form(&STANDARD.encode(padded), &s.relay_state));
    }
    let noise: String = (0..JUNK_BYTES / 16)
        .map(|i| format!("<a{}>junk</a{}>", i % 10, i % 10))
        .collect();
    bodies.push(flow::acs_form(
        &STANDARD.encode(format!("<r>{noise}</r>")),
        "",
    ));
    Ok(bodies)
}

/// One `/healthz` and one (refused) token request: their latencies.
async fn probe(http: &reqwest::Client, t: &Target) -> Result<(Duration, Duration)> {
    let t0 = Instant::now();
    let r = http.get(format!("{}/healthz", t.base)).send().await?;
    if !r.status().is_success() {
        return Err(anyhow!("/healthz answered {}", r.status()));
    }
    let health = t0.elapsed();
    let t1 = Instant::now();
    let r = http
        .post(format!("{}/api/oauth/token", t.base))
        .header("authorization", &t.basic_auth)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "not-a-code"),
            ("redirect_uri", flow::APP_REDIRECT),
        ])
        .send()
        .await?;
    if r.status().as_u16() != 400 {
        return Err(anyhow!("the token endpoint answered {}", r.status()));
    }
    Ok((health, t1.elapsed()))
}

pub async fn run(
    idp_url: &str,
    t: &Target,
    server_pid: Option<u32>,
    seconds: u64,
) -> Result<FloodReport> {
    let bodies = Arc::new(junk_bodies(idp_url, t).await?);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut report = FloodReport {
        posts: 0,
        seconds: 0.0,
        baseline_health: Vec::new(),
        baseline_token: Vec::new(),
        health: Vec::new(),
        token: Vec::new(),
        rss_before_mb: processes::rss_mb(server_pid),
        rss_peak_mb: 0,
        rss_after_mb: 0,
    };
    let start = Instant::now();
    while start.elapsed() < BASELINE {
        let (h, k) = probe(&http, t).await?;
        report.baseline_health.push(h);
        report.baseline_token.push(k);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let (http, bodies, stop, posted, acs) = (
            http.clone(),
            bodies.clone(),
            stop.clone(),
            posted.clone(),
            t.acs(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                let body = bodies[n % bodies.len()].clone();
                n += 1;
                let _ = http
                    .post(&acs)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                posted.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let flood_start = Instant::now();
    report.rss_peak_mb = report.rss_before_mb;
    while flood_start.elapsed() < Duration::from_secs(seconds) {
        let (h, k) = probe(&http, t).await?;
        report.health.push(h);
        report.token.push(k);
        report.rss_peak_mb = report.rss_peak_mb.max(processes::rss_mb(server_pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    report.seconds = flood_start.elapsed().as_secs_f64();
    report.posts = posted.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_after_mb = processes::rss_mb(server_pid);
    for v in [
        &mut report.baseline_health,
        &mut report.baseline_token,
        &mut report.health,
        &mut report.token,
    ] {
        v.sort();
    }
    Ok(report)
}
