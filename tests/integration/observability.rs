//! What operators watch: `/metrics` read by a real Prometheus parser (Python's
//! `prometheus_client`) after sign-ins, the request id on responses, error pages and
//! JSON log lines, and `/metrics` on its own listener.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::sso_support::*;
use crate::support::*;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parse an exposition with `prometheus_client` (it refuses malformed text).
async fn parse(text: &str) -> Vec<Sample> {
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/setup.sh installs prometheus_client)");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, HashMap<String, String>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .map(|(name, labels, value)| Sample {
            name,
            labels,
            value,
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

async fn scrape(url: &str) -> Vec<Sample> {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(&res.text().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sign_ins_by_outcome_and_a_prometheus_parser_reads_them() {
    for engine in gatehouse_store::testing::engines() {
        eprintln!("--- engine: {}", engine.name());
        let server = ChildServer::start(engine, &[]).await;
        let base = server.base.clone();
        let vendor = Vendor::seed(&base, "keys=primary", "acme.com", json!({})).await;
        let client_id = vendor.client_id().to_string();
        for _ in 0..2 {
            sign_in_at(&vendor.http, &base, &client_id).await.unwrap();
        }
        // a forged answer: refused
        let res = vendor
            .http
            .post(format!("{base}/api/oauth/saml"))
            .form(&[("SAMLResponse", b64("<samlp:Response/>"))])
            .send()
            .await
            .unwrap();
        let refused = res.status().as_u16().to_string();
        assert!(refused.starts_with('4'), "{refused}");
        // a request whose method is not a standard one does not become a label
        let odd = vendor
            .http
            .request(
                reqwest::Method::from_bytes(b"FROBNICATE").unwrap(),
                format!("{base}/api/oauth/saml"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(odd.status().as_u16(), 405);

        let m = scrape(&format!("{base}/metrics")).await;
        let sign_ins = |outcome: &str, reason: &str| {
            value(
                &m,
                "gatehouse_sign_ins_total",
                &[
                    ("protocol", "saml"),
                    ("outcome", outcome),
                    ("reason", reason),
                ],
            )
        };
        assert_eq!(sign_ins("success", "none"), Some(2.0));
        let failures: f64 = m
            .iter()
            .filter(|s| {
                s.name == "gatehouse_sign_ins_total"
                    && s.labels.get("outcome").map(String::as_str) == Some("failure")
            })
            .map(|s| s.value)
            .sum();
        assert_eq!(failures, 1.0);
        // the reason is the trace's typed reason (docs/traces.md)
        assert_eq!(sign_ins("failure", "malformed_response"), Some(1.0));
        let requests = |route: &str, method: &str, status: &str| {
            value(
                &m,
                "gatehouse_http_requests_total",
                &[("route", route), ("method", method), ("status", status)],
            )
        };
        assert_eq!(requests("/api/oauth/saml", "POST", "303"), Some(2.0));
        assert_eq!(requests("/api/oauth/saml", "POST", &refused), Some(1.0));
        assert_eq!(requests("/api/oauth/authorize", "GET", "303"), Some(2.0));
        assert!(
            !m.iter()
                .any(|s| s.labels.values().any(|v| v.contains("FROBNICATE"))),
            "a request's own words never become a label"
        );
        assert_eq!(
            value(
                &m,
                "gatehouse_http_request_duration_seconds_count",
                &[("route", "/api/oauth/authorize"), ("method", "GET")]
            ),
            Some(2.0)
        );
        assert!(value(
            &m,
            "gatehouse_http_request_duration_seconds_bucket",
            &[("route", "/api/oauth/authorize"), ("le", "+Inf")]
        )
        .is_some());
        assert_eq!(value(&m, "gatehouse_ory_sync_backlog", &[]), Some(0.0));
        assert_eq!(
            value(&m, "gatehouse_ory_sync_oldest_due_seconds", &[]),
            Some(0.0)
        );
        assert_eq!(
            value(&m, "gatehouse_saml_verification_queue", &[]),
            Some(0.0)
        );
        let max = value(
            &m,
            "gatehouse_db_pool_max_connections",
            &[("pool", "readers")],
        )
        .unwrap();
        assert!(max >= 1.0, "{max}");
        assert!(value(
            &m,
            "gatehouse_db_pool_connections",
            &[("pool", "readers"), ("state", "idle")]
        )
        .is_some());
    }
}

/// The id of the `request` span a JSON log line was written in.
fn request_of(line: &Value) -> Option<&str> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "request")?["id"]
        .as_str()
}

#[tokio::test]
async fn every_answer_carries_a_request_id_that_error_pages_and_json_logs_share() {
    let engine = gatehouse_store::testing::engines()[0];
    let log = std::env::temp_dir().join(format!(
        "gatehouse-json-log-{}.log",
        gatehouse_domain::tokens::new_id("t")
    ));
    let server = ChildServer::start_logging(
        engine,
        &[
            ("GATEHOUSE_LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
        Some(log.clone()),
    )
    .await;
    let http = reqwest::Client::new();

    // ours, when the caller gives none
    let res = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let own = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(own.starts_with("req_"), "{own}");

    // a failed sign-in: the reference on the page is the request id
    let res = http
        .post(format!("{}/api/oauth/saml", server.base))
        .form(&[("SAMLResponse", "not base64 at all")])
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let page = res.text().await.unwrap();
    let reference = reference_on(&page);
    assert_eq!(reference, id);

    // the trusted proxy (127.0.0.1 here) names the request; a forged id is replaced
    let res = http
        .post(format!("{}/api/oauth/saml", server.base))
        .header("x-request-id", "lb-7f3a.1")
        .form(&[("SAMLResponse", "junk")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-7f3a.1");
    let res = http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "evil\"<script>")
        .send()
        .await
        .unwrap();
    assert!(res.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));

    // every log line is JSON; the failure's line carries the request's id
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        if lines.iter().any(|l| l["span"]["id"] == "lb-7f3a.1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failure = lines
        .iter()
        .find(|l| l["message"] == "sign-in failed" && request_of(l) == Some(id.as_str()))
        .unwrap_or_else(|| panic!("no sign-in failure logged under {id}: {lines:#?}"));
    assert_eq!(failure["reference"], id.as_str());
    assert_eq!(failure["level"], "WARN");
    drop(server);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn metrics_can_have_their_own_listener() {
    let engine = gatehouse_store::testing::engines()[0];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = ChildServer::start(engine, &[("GATEHOUSE_METRICS_ADDR", &addr)]).await;
    let res = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "not on the public listener");
    reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    let m = scrape(&format!("http://{addr}/metrics")).await;
    assert_eq!(
        value(
            &m,
            "gatehouse_http_requests_total",
            &[("route", "/healthz"), ("status", "200")]
        )
        .map(|v| v >= 1.0),
        Some(true)
    );
}
