//! Connections created from a metadata URL fetch it again daily: a rotated
//! certificate set is applied (both certificates verify while the IdP lists both)
//! and recorded in the audit log; a failed or broken fetch keeps the last good
//! metadata and shows the error.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::sso_support::*;
use crate::support::*;

/// An IdP's metadata URL whose answer the test sets (`None`: 500).
struct MetadataUrl {
    url: String,
    answer: Arc<Mutex<Option<String>>>,
}

impl MetadataUrl {
    async fn start(xml: String) -> Self {
        let answer = Arc::new(Mutex::new(Some(xml)));
        let served = answer.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/metadata.xml", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/metadata.xml",
            axum::routing::get(move || {
                let served = served.clone();
                async move {
                    match served.lock().unwrap().clone() {
                        Some(xml) => (axum::http::StatusCode::OK, xml),
                        None => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down".into()),
                    }
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, answer }
    }

    fn set(&self, xml: Option<String>) {
        *self.answer.lock().unwrap() = xml;
    }
}

async fn detail(s: &Sso, connection: &str) -> Value {
    let r = s
        .owner
        .rpc(
            "connections/get",
            &[
                ("team", &s.team),
                ("product", &s.product),
                ("connection", connection),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn a_metadata_url_is_refreshed_daily_and_a_rotation_is_applied() {
    each_engine(|engine| async move {
        let s = Sso::with_env(
            engine,
            "keys=primary",
            "acme.com",
            json!({}),
            &[("GATEHOUSE_METADATA_ALLOW_PRIVATE", "true".into())],
        )
        .await;
        let served = MetadataUrl::start(s.idp().metadata("keys=primary").await).await;
        let (status, created) = s
            .api(
                Method::POST,
                &[],
                Some(json!({
                    "tenant": "globex.com",
                    "product": s.product,
                    "name": "Globex",
                    "metadataUrl": served.url,
                    "redirectUrl": [APP_REDIRECT],
                    "emailDomains": [TEST_USERS_DOMAIN],
                })),
            )
            .await;
        assert_eq!(status, 200, "{created}");
        let connection = created["id"].as_str().unwrap().to_string();
        let refresh = || async { s.app.services.connections.refresh_metadata().await.unwrap() };
        let start = {
            use gatehouse_domain::clock::Clock;
            s.app.clock.now()
        };

        assert_eq!(refresh().await, 0, "fetched on save: not due yet");
        assert!(detail(&s, &connection).await["metadata_checked_at"].is_null());
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(refresh().await, 0, "the same metadata changes nothing");
        let shown = detail(&s, &connection).await;
        assert!(shown["metadata_checked_at"].is_string(), "{shown}");
        assert!(shown["metadata_error"].is_null());
        assert_eq!(shown["certificates"].as_array().unwrap().len(), 1);

        // the IdP starts a rotation: both certificates listed, both verify
        served.set(Some(s.idp().metadata("keys=both").await));
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(refresh().await, 1);
        assert_eq!(refresh().await, 0, "not due again for a day");
        assert_eq!(
            detail(&s, &connection).await["certificates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let audit: Value = s
            .http
            .get(format!("{}/api/v1/audit", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .query(&[("action", "connection.updated")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let event = &audit["data"][0];
        assert_eq!(event["actorKind"], "system", "{audit}");
        assert_eq!(event["targetId"], connection.as_str());
        assert!(event["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "certificates"));

        // sign-ins signed with either key work (at the IdP's time)
        s.app.clock.set(start);
        for key in ["primary", "secondary"] {
            let to = authorize_at(&s.http, &s.app.base, created["clientID"].as_str().unwrap())
                .await
                .expect("authorize");
            let relay = query_param(&to, "RelayState");
            let response = s.signed_for(&relay, json!({ "key": key })).await;
            let res = s.post_acs(&response, Some(&relay)).await;
            assert_eq!(res.status().as_u16(), 303, "signed with {key}");
        }

        // back to the refresh's time
        s.app.clock.set(start + Duration::hours(50));

        // the URL fails, then answers garbage: the last good metadata stays
        served.set(None);
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(refresh().await, 0);
        let shown = detail(&s, &connection).await;
        assert!(
            shown["metadata_error"].as_str().unwrap().contains("500"),
            "{shown}"
        );
        assert_eq!(shown["certificates"].as_array().unwrap().len(), 2);
        served.set(Some("<not-metadata/>".into()));
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(refresh().await, 0);
        let shown = detail(&s, &connection).await;
        assert!(shown["metadata_error"].is_string(), "{shown}");
        assert_eq!(shown["certificates"].as_array().unwrap().len(), 2);

        // and a fetch that works again clears the error
        served.set(Some(s.idp().metadata("keys=both").await));
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(refresh().await, 0);
        assert!(detail(&s, &connection).await["metadata_error"].is_null());
    })
    .await;
}
