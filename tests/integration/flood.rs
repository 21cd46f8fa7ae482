//! A flood of junk at the ACS must not take the rest of the service with it.
//!
//! The server runs as a process of its own ([`ChildServer`], on SQLite) so that its
//! memory can be read from `/proc`. For
//! ten seconds 64 clients post 500 KB SAML responses to the ACS, the expensive
//! kind: real signed responses for real pending sign-ins, padded to 500 KB (the
//! signature then has to be checked over all of it, and fails), and plain junk.
//! Meanwhile `/healthz` and the token endpoint must answer within 2 s each time,
//! the server's RSS must stay under [`RSS_BOUND_MB`], and afterwards a real sign-in
//! still works.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::idp::idp;
use crate::sso_support::{authorize_at, b64, query_param, sign_in_at, unb64, Vendor, APP_REDIRECT};
use crate::support::*;

/// The server's resident memory may not pass this while flooded (it starts near
/// 30 MB; 64 queued 700 KB form bodies and two 500 KB documents being checked at a
/// time fit with room to spare).
const RSS_BOUND_MB: u64 = 400;
const CLIENTS: usize = 64;
const FLOOD: Duration = Duration::from_secs(10);
const JUNK_BYTES: usize = 500 * 1024;

/// A real signed response for a new pending sign-in, padded to `JUNK_BYTES` inside
/// what its signature covers (which then fails): the form body.
async fn padded_response(http: &reqwest::Client, base: &str, client_id: &str) -> String {
    let to = authorize_at(http, base, client_id).await.unwrap();
    let relay = query_param(&to, "RelayState");
    let (_, _, response) = idp().answer(&to).await;
    let xml = unb64(&response);
    let padding = "x".repeat(JUNK_BYTES.saturating_sub(xml.len()));
    // an element, not a comment: canonicalization would drop a comment, and the
    // signature would still verify
    let padded = xml.replacen(
        "</saml:Issuer>",
        &format!("</saml:Issuer><pad:Pad xmlns:pad=\"urn:pad\">{padding}</pad:Pad>"),
        1,
    );
    form(&[("SAMLResponse", &b64(&padded)), ("RelayState", &relay)])
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_junk_at_the_acs_leaves_the_rest_answering() {
    let server = ChildServer::start(gatehouse_store::Engine::Sqlite, &[]).await;
    let base = server.base.clone();
    let vendor = Vendor::seed(&base, "keys=primary", "acme.com", json!({})).await;
    let (http, client_id) = (vendor.http.clone(), vendor.client_id().to_string());

    // The junk: padded real responses (each for its own pending sign-in) and noise.
    let mut bodies = Vec::new();
    for _ in 0..8 {
        bodies.push(padded_response(&http, &base, &client_id).await);
    }
    let noise: String = (0..JUNK_BYTES / 16)
        .map(|i| format!("<a{}>junk</a{}>", i % 10, i % 10))
        .collect();
    bodies.push(form(&[("SAMLResponse", &b64(&format!("<r>{noise}</r>")))]));
    bodies.push(form(&[("SAMLResponse", &"!".repeat(JUNK_BYTES))]));
    let bodies = Arc::new(bodies);

    let rss_before = server.rss_mb();
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let mut flooders = Vec::new();
    for i in 0..CLIENTS {
        let (http, base, bodies, stop, posted) = (
            http.clone(),
            base.clone(),
            bodies.clone(),
            stop.clone(),
            posted.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                let body = bodies[n % bodies.len()].clone();
                n += 1;
                let _ = http
                    .post(format!("{base}/api/oauth/saml"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                posted.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let started = Instant::now();
    let mut worst_health = Duration::ZERO;
    let mut worst_token = Duration::ZERO;
    let mut peak_rss = rss_before;
    while started.elapsed() < FLOOD {
        let t = Instant::now();
        let health = tokio::time::timeout(
            Duration::from_secs(2),
            http.get(format!("{base}/healthz")).send(),
        )
        .await;
        let took = t.elapsed();
        assert!(
            matches!(&health, Ok(Ok(r)) if r.status().is_success()),
            "/healthz did not answer within 2 s during the flood ({took:?})"
        );
        worst_health = worst_health.max(took);

        let t = Instant::now();
        let token = tokio::time::timeout(
            Duration::from_secs(2),
            http.post(format!("{base}/api/oauth/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "not-a-code"),
                    ("redirect_uri", APP_REDIRECT),
                    ("client_id", client_id.as_str()),
                    ("client_secret", "wrong"),
                ])
                .send(),
        )
        .await;
        let took = t.elapsed();
        assert!(
            matches!(&token, Ok(Ok(r)) if r.status().as_u16() == 401),
            "the token endpoint did not answer within 2 s during the flood ({took:?})"
        );
        worst_token = worst_token.max(took);
        peak_rss = peak_rss.max(server.rss_mb());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    eprintln!(
        "flood: {} posts in {:?}; /healthz worst {worst_health:?}, token worst {worst_token:?}; RSS {rss_before} MB before, {peak_rss} MB at most",
        posted.load(Ordering::Relaxed),
        started.elapsed()
    );
    assert!(
        peak_rss < RSS_BOUND_MB,
        "RSS reached {peak_rss} MB (bound {RSS_BOUND_MB} MB)"
    );
    assert!(posted.load(Ordering::Relaxed) > CLIENTS, "the flood ran");

    // and a real sign-in still goes through
    sign_in_at(&http, &base, &client_id).await.unwrap();
}
