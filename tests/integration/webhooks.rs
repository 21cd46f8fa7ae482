//! Webhooks: every delivery is verified by a receiver using the third-party
//! `standardwebhooks` library (PyPI); a receiver that fails three times then
//! recovers gets each event once, in order per connection; "Resend" sends the same
//! message again; a wrong secret is refused by the receiver and shows on the
//! delivery; endpoint URLs pass the outbound guard; another product sees nothing.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::sso_support::*;
use crate::support::*;

/// `end2end/support/webhook-receiver.py`, listening on a free port.
struct Receiver {
    url: String,
    _child: tokio::process::Child,
}

impl Receiver {
    async fn start() -> Self {
        let mut child = tokio::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/end2end/support/webhook-receiver.py"
            ))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs (scripts/setup.sh installs standardwebhooks)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await
            .unwrap()
            .expect("the receiver's port");
        let port = first.strip_prefix("listening ").unwrap().trim().to_string();
        Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
        }
    }

    async fn configure(&self, config: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/__config", self.url))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn seen(&self) -> Value {
        reqwest::get(format!("{}/__received", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn call(
    s: &Sso,
    api_key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.app.base))
        .header("Authorization", format!("Api-Key {api_key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Run the worker until `done` says so (the clock moves 30 s between passes, so
/// retries come due); at most 20 passes.
async fn deliver_until(s: &Sso, r: &Receiver, done: impl Fn(&Value) -> bool) -> Value {
    s.app.services.traces.flush().await;
    for _ in 0..20 {
        s.app.services.webhooks.run_delivery_pass().await.unwrap();
        let seen = r.seen().await;
        if done(&seen) {
            return seen;
        }
        s.app.clock.advance(Duration::seconds(30));
    }
    panic!("not delivered: {}", r.seen().await);
}

fn received(seen: &Value) -> Vec<Value> {
    seen["received"].as_array().unwrap().clone()
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_in_order_per_connection() {
    each_engine(|engine| async move {
        let s = Sso::with_env(
            engine,
            "keys=primary",
            "acme.com",
            json!({}),
            &[("GATEHOUSE_METADATA_ALLOW_PRIVATE", "true".into())],
        )
        .await;
        let r = Receiver::start().await;
        let (status, created) = call(
            &s,
            &s.api_key,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({
                "url": format!("{}/hooks/gatehouse", r.url),
                "description": "CRM sync",
                "events": ["connection.created", "connection.updated", "connection.deleted", "sign_in.failed"],
            })),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let secret = created["data"]["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"), "{created}");
        let endpoint = created["data"]["endpoint"]["id"].as_str().unwrap().to_string();
        let (_, listed) = call(&s, &s.api_key, Method::GET, "/api/v1/webhooks", None).await;
        assert_eq!(listed["data"][0]["id"], endpoint.as_str());
        assert!(!listed.to_string().contains(&secret[6..]), "the secret is shown once");

        // the receiver fails its first three deliveries
        r.configure(json!({ "secret": secret, "fail": 3 })).await;

        // events of two connections, interleaved
        let (status, b) = s
            .api(
                Method::POST,
                &[],
                Some(json!({
                    "tenant": "globex.com",
                    "product": s.product,
                    "name": "Globex",
                    "rawMetadata": s.idp().metadata("keys=primary").await,
                    "redirectUrl": [APP_REDIRECT],
                })),
            )
            .await;
        assert_eq!(status, 200, "{b}");
        let patch = |client_id: &str, secret: &str, tenant: &str, name: &str| {
            json!({
                "clientID": client_id, "clientSecret": secret, "tenant": tenant,
                "product": s.product, "name": name, "redirectUrl": [APP_REDIRECT],
            })
        };
        let (b_id, b_secret) = (
            b["clientID"].as_str().unwrap().to_string(),
            b["clientSecret"].as_str().unwrap().to_string(),
        );
        let (status, _) = s.api(Method::PATCH, &[], Some(patch(&s.client_id, &s.client_secret, "acme.com", "Acme 2"))).await;
        assert_eq!(status, 200);
        let (status, _) = s.api(Method::PATCH, &[], Some(patch(&b_id, &b_secret, "globex.com", "Globex 2"))).await;
        assert_eq!(status, 200);
        let (status, _) = s.api(Method::PATCH, &[], Some(patch(&s.client_id, &s.client_secret, "acme.com", "Acme 3"))).await;
        assert_eq!(status, 200);
        let (status, _) = s
            .api(Method::DELETE, &[("clientID", &b_id), ("clientSecret", &b_secret)], None)
            .await;
        assert_eq!(status, 204);
        // two failed sign-ins on acme.com's connection: one event (one a minute)
        let (_, relay) = s.start(&[]).await;
        for _ in 0..2 {
            let res = s.post_acs(&b64("<samlp:Response/>"), Some(&relay)).await;
            assert!(res.status().is_client_error());
        }

        let seen = deliver_until(&s, &r, |seen| received(seen).len() >= 6).await;
        assert_eq!(seen["refused"], 0, "every delivery verifies: {seen}");
        assert_eq!(seen["failed"], 3);
        let got = received(&seen);
        assert_eq!(got.len(), 6, "each event once: {seen}");
        let mut ids: Vec<&str> = got.iter().map(|d| d["id"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 6, "no message twice: {seen}");
        let of = |connection: &str| -> Vec<(String, String)> {
            got.iter()
                .filter(|d| {
                    d["payload"]["data"]["connectionId"]
                        .as_str()
                        .is_some_and(|c| c == connection)
                })
                .map(|d| {
                    (
                        d["payload"]["type"].as_str().unwrap().to_string(),
                        d["payload"]["data"]["name"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        };
        let a_conn = relay_connection(&relay).to_string();
        let b_conn = b["id"].as_str().map(String::from).unwrap_or_else(|| {
            got.iter()
                .find(|d| d["payload"]["type"] == "connection.deleted")
                .unwrap()["payload"]["data"]["connectionId"]
                .as_str()
                .unwrap()
                .to_string()
        });
        assert_eq!(
            of(&b_conn),
            [
                ("connection.created".to_string(), "Globex".to_string()),
                ("connection.updated".to_string(), "Globex 2".to_string()),
                ("connection.deleted".to_string(), "Globex 2".to_string()),
            ]
        );
        let a_events = of(&a_conn);
        assert_eq!(
            a_events.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            ["connection.updated", "connection.updated", "sign_in.failed"],
            "{a_events:?}"
        );
        assert_eq!(a_events[0].1, "Acme 2");
        assert_eq!(a_events[1].1, "Acme 3");
        let failed = got.iter().find(|d| d["payload"]["type"] == "sign_in.failed").unwrap();
        assert_eq!(failed["payload"]["data"]["reason"], "malformed_response");
        assert!(failed["payload"]["data"]["referenceId"].is_string());

        // each delivery's state over the API; the retried ones say so
        let (status, deliveries) = call(
            &s,
            &s.api_key,
            Method::GET,
            &format!("/api/v1/webhooks/{endpoint}/deliveries"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{deliveries}");
        let list = deliveries["data"].as_array().unwrap();
        assert_eq!(list.len(), 6);
        assert!(list.iter().all(|d| d["state"] == "delivered" && d["lastStatus"] == 200), "{deliveries}");
        assert!(list.iter().any(|d| d["attempts"].as_u64().unwrap() > 1), "{deliveries}");

        // Resend: the same message again, same id
        let again = list[0]["id"].as_str().unwrap().to_string();
        let (status, _) = call(
            &s,
            &s.api_key,
            Method::POST,
            &format!("/api/v1/webhooks/deliveries/{again}/resend"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let seen = deliver_until(&s, &r, |seen| received(seen).len() >= 7).await;
        assert_eq!(received(&seen)[6]["id"], again.as_str());

        // a receiver holding another secret refuses; the delivery shows why
        r.configure(json!({ "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" })).await;
        let (status, _) = s.api(Method::PATCH, &[], Some(patch(&s.client_id, &s.client_secret, "acme.com", "Acme 4"))).await;
        assert_eq!(status, 200);
        s.app.services.webhooks.run_delivery_pass().await.unwrap();
        assert_eq!(r.seen().await["refused"], 1);
        let (_, deliveries) = call(
            &s,
            &s.api_key,
            Method::GET,
            &format!("/api/v1/webhooks/{endpoint}/deliveries"),
            None,
        )
        .await;
        let newest = &deliveries["data"][0];
        assert_eq!(newest["state"], "pending");
        assert_eq!(newest["lastStatus"], 401, "{newest}");

        // another product reaches none of it
        let other = Vendor::seed(&s.app.base, "keys=primary", "acme.com", json!({})).await;
        let (status, _) = call(&s, &other.api_key, Method::GET, &format!("/api/v1/webhooks/{endpoint}/deliveries"), None).await;
        assert_eq!(status, 404);
        let (status, _) = call(&s, &other.api_key, Method::POST, &format!("/api/v1/webhooks/deliveries/{again}/resend"), None).await;
        assert_eq!(status, 404);
        let (status, _) = call(&s, &other.api_key, Method::DELETE, &format!("/api/v1/webhooks/{endpoint}"), None).await;
        assert_eq!(status, 404);
        let (_, theirs) = call(&s, &other.api_key, Method::GET, "/api/v1/webhooks", None).await;
        assert_eq!(theirs["data"], json!([]));

        // the audit log has the endpoint, never its secret
        let (_, audit) = call(&s, &s.api_key, Method::GET, "/api/v1/audit?action=webhook.created", None).await;
        assert_eq!(audit["data"][0]["targetId"], endpoint.as_str(), "{audit}");
        assert!(!audit.to_string().contains(&secret[6..]));

        // removing the endpoint removes its deliveries
        let (status, _) = call(&s, &s.api_key, Method::DELETE, &format!("/api/v1/webhooks/{endpoint}"), None).await;
        assert_eq!(status, 200);
        let (status, _) = call(&s, &s.api_key, Method::GET, &format!("/api/v1/webhooks/{endpoint}/deliveries"), None).await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn endpoint_urls_go_through_the_outbound_guard() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for (url, why) in [
            ("ftp://example.com/hook", "not http(s)"),
            ("http://example.com/hook", "plain http"),
            ("https://user:pw@example.com/hook", "credentials in the URL"),
            ("not a url", "not a URL"),
        ] {
            let (status, err) = call(
                &s,
                &s.api_key,
                Method::POST,
                "/api/v1/webhooks",
                Some(json!({ "url": url })),
            )
            .await;
            assert_eq!(status, 400, "{why}: {err}");
            assert!(
                err["error"]["message"].as_str().unwrap().contains("url"),
                "{err}"
            );
        }
        let (status, err) = call(
            &s,
            &s.api_key,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "https://example.com/hook", "events": ["connection.exploded"] })),
        )
        .await;
        assert_eq!(status, 400, "{err}");

        // a private address is taken, and refused when sending: the delivery says why
        let (status, created) = call(
            &s,
            &s.api_key,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "https://127.0.0.1:9/hook" })),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let endpoint = created["data"]["endpoint"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, _) = s
            .api(
                Method::PATCH,
                &[],
                Some(json!({
                    "clientID": s.client_id, "clientSecret": s.client_secret, "tenant": "acme.com",
                    "product": s.product, "name": "Renamed", "redirectUrl": [APP_REDIRECT],
                })),
            )
            .await;
        assert_eq!(status, 200);
        s.app.services.webhooks.run_delivery_pass().await.unwrap();
        let (_, deliveries) = call(
            &s,
            &s.api_key,
            Method::GET,
            &format!("/api/v1/webhooks/{endpoint}/deliveries"),
            None,
        )
        .await;
        let d = &deliveries["data"][0];
        assert_eq!(d["state"], "pending", "{deliveries}");
        assert!(d["lastError"].as_str().unwrap().contains("private"), "{d}");
    })
    .await;
}

async fn detail(s: &Sso, connection: &str) -> Value {
    s.owner
        .rpc(
            "connections/get",
            &[
                ("team", &s.team),
                ("product", &s.product),
                ("connection", connection),
            ],
        )
        .await
        .body
}

#[tokio::test]
async fn expiring_certificates_are_flagged_told_once_and_then_refuse_sign_ins() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (status, created) = call(
            &s,
            &s.api_key,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({
                "url": "https://receiver.example/hook",
                "events": ["certificate.expiring", "certificate.expired"],
            })),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let endpoint = created["data"]["endpoint"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, relay) = s.start(&[]).await;
        let connection = relay_connection(&relay).to_string();
        let shown = detail(&s, &connection).await;
        assert_eq!(shown["certificate_health"]["state"], "valid", "{shown}");
        let not_after: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(shown["certificates"][0]["not_after"].clone()).unwrap();

        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            0
        );
        // 20 days before: flagged on the list and the page, told once
        s.app.clock.set(not_after - Duration::days(20));
        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            0,
            "told once"
        );
        let listed = s
            .owner
            .rpc(
                "connections/list",
                &[("team", &s.team), ("product", &s.product)],
            )
            .await;
        let mine = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == connection.as_str())
            .unwrap()
            .clone();
        assert_eq!(
            mine["certificate_health"],
            json!({ "state": "expiring", "days": 20 })
        );
        // 5 days before, then after
        s.app.clock.set(not_after - Duration::days(5));
        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            detail(&s, &connection).await["certificate_health"],
            json!({ "state": "expiring_soon", "days": 5 })
        );
        s.app.clock.set(not_after + Duration::hours(1));
        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            s.app
                .services
                .connections
                .check_certificates()
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            detail(&s, &connection).await["certificate_health"]["state"],
            "expired"
        );

        let (_, deliveries) = call(
            &s,
            &s.api_key,
            Method::GET,
            &format!("/api/v1/webhooks/{endpoint}/deliveries"),
            None,
        )
        .await;
        let told: Vec<(String, String)> = deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|d| {
                let payload: Value = serde_json::from_str(d["payload"].as_str().unwrap()).unwrap();
                (
                    payload["type"].as_str().unwrap().to_string(),
                    payload["data"]["state"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            told,
            [
                ("certificate.expiring".to_string(), "expiring".to_string()),
                (
                    "certificate.expiring".to_string(),
                    "expiring_soon".to_string()
                ),
                ("certificate.expired".to_string(), "expired".to_string()),
            ]
        );

        // and its sign-ins fail with that reason, whatever the response
        let response = s.signed_for(&relay, json!({})).await;
        let page = refused(s.post_acs(&response, Some(&relay)).await).await;
        s.app.services.traces.flush().await;
        let reference = reference_on(&page).to_string();
        let (_, found) = call(
            &s,
            &s.api_key,
            Method::GET,
            &format!("/api/v1/sso/traces?referenceId={reference}"),
            None,
        )
        .await;
        assert_eq!(found["data"][0]["reason"], "certificate_expired", "{found}");
    })
    .await;
}
