//! Graceful shutdown: on SIGTERM the server takes no new connections, lets the
//! requests in flight finish (within `GATEHOUSE_SHUTDOWN_GRACE_SECONDS`) and exits 0,
//! so a restart or a rolling deploy loses no sign-in that had reached it.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::idp::idp;
use crate::sso_support::{authorize_at, query_param, Vendor, APP_REDIRECT};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_in_flight_when_sigterm_arrives_completes() {
    for engine in gatehouse_store::testing::engines() {
        eprintln!("--- engine: {}", engine.name());
        let mut server =
            ChildServer::start(engine, &[("GATEHOUSE_SHUTDOWN_GRACE_SECONDS", "20")]).await;
        let base = server.base.clone();
        let vendor = Vendor::seed(&base, "keys=primary", "acme.com", json!({})).await;
        let client_id = vendor.client_id().to_string();
        let client_secret = vendor.connection["clientSecret"]
            .as_str()
            .unwrap()
            .to_string();

        // a real sign-in up to the IdP's answer
        let to = authorize_at(&vendor.http, &base, &client_id).await.unwrap();
        let (_, relay, response) = idp().answer(&to).await;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("SAMLResponse", &response);
        if let Some(r) = &relay {
            form.append_pair("RelayState", r);
        }
        let body = form.finish().into_bytes();

        // the browser's POST to the ACS is under way: headers and half the body sent
        let addr = base.trim_start_matches("http://").to_string();
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/oauth/saml HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let half = body.len() / 2;
        tcp.write_all(&body[..half]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        server.terminate();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // no new connections are taken while the one in flight finishes
        let refused = reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        assert!(refused.is_err(), "a new request was served after SIGTERM");

        tcp.write_all(&body[half..]).await.unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer).to_string();
        assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
        let location = answer
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .unwrap_or_else(|| panic!("no Location: {answer}"))
            .trim()
            .to_string();
        assert!(location.starts_with(APP_REDIRECT), "{location}");
        let code = query_param(&location, "code");

        let status = server.exit_status(Duration::from_secs(25)).await;
        assert!(status.success(), "exit status after SIGTERM: {status}");

        // the code handed out during shutdown is good on the next start
        server.restart().await;
        let res = vendor
            .http
            .post(format!("{base}/api/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let token: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{token}");
        assert!(token["access_token"].is_string(), "{token}");
    }
}

/// A request that never finishes does not hold the server up past the grace period.
#[tokio::test]
async fn the_grace_period_bounds_the_wait() {
    let engine = gatehouse_store::testing::engines()[0];
    let mut server = ChildServer::start(engine, &[("GATEHOUSE_SHUTDOWN_GRACE_SECONDS", "1")]).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stuck = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/oauth/saml HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nSAML"
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    server.terminate();
    let status = server.exit_status(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status: {status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
