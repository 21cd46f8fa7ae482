//! Connections mirrored into Ory Network (the console API emulator), with
//! retries, leases, guarded patches, drift repair, and the OAuth client Ory uses.

use chrono::Duration;
use gatehouse_domain::model::{OrySyncRow, OrySyncState};
use gatehouse_domain::ports::{ConnectionStore, OrySyncStore};
use reqwest::Method;
use serde_json::{json, Value};

use crate::idp::idp;
use crate::sso_support::*;
use crate::support::*;

const SLUG: &str = "eager-goldberg-abc123";

struct Mirror {
    s: Sso,
    ory: OryEmulator,
    connection_id: String,
}

/// A product with one SAML connection (tenant acme.com), then Ory settings saved.
async fn mirrored(engine: gatehouse_store::Engine) -> Mirror {
    let ory = OryEmulator::start().await;
    let s = Sso::with_env(
        engine,
        "keys=primary",
        "acme.com",
        json!({}),
        &[("ORY_API_URL", ory.url.clone())],
    )
    .await;
    let r = s
        .owner
        .rpc(
            "ory/save",
            &[
                ("team", &s.team),
                ("product", &s.product),
                ("token", ORY_TOKEN),
                ("project_id", ORY_PROJECT_ID),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["queued"], 1,
        "the connection made before the settings is queued: {:?}",
        r.body
    );
    let connection_id = s
        .app
        .store
        .connection_by_client_id(&s.client_id)
        .await
        .unwrap()
        .unwrap()
        .id;
    Mirror {
        s,
        ory,
        connection_id,
    }
}

impl Mirror {
    async fn sync(&self) -> usize {
        self.s.app.services.ory.run_ory_sync_once().await.unwrap()
    }

    async fn row(&self, connection_id: &str) -> Option<OrySyncRow> {
        self.s.app.store.ory_sync_row(connection_id).await.unwrap()
    }

    async fn state(&self) -> OrySyncRow {
        self.row(&self.connection_id).await.unwrap()
    }

    fn advance(&self, secs: i64) {
        self.s.app.clock.advance(Duration::seconds(secs));
    }

    /// Another connection through the admin API: (client id, secret, connection id).
    async fn add_connection(&self, tenant: &str, name: &str) -> (String, String, String) {
        let (status, body) = self
            .s
            .api(
                Method::POST,
                &[],
                Some(json!({
                    "tenant": tenant,
                    "product": self.s.product,
                    "name": name,
                    "rawMetadata": idp().metadata("keys=primary").await,
                    "redirectUrl": [APP_REDIRECT],
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let client_id = body["clientID"].as_str().unwrap().to_string();
        let id = self
            .s
            .app
            .store
            .connection_by_client_id(&client_id)
            .await
            .unwrap()
            .unwrap()
            .id;
        (
            client_id,
            body["clientSecret"].as_str().unwrap().to_string(),
            id,
        )
    }

    async fn patch_connection(&self, client_id: &str, secret: &str, fields: Value) {
        let mut body = json!({ "clientID": client_id, "clientSecret": secret });
        if let (Value::Object(b), Value::Object(f)) = (&mut body, fields) {
            b.extend(f);
        }
        let (status, res) = self.s.api(Method::PATCH, &[], Some(body)).await;
        assert_eq!(status, 200, "{res}");
    }

    async fn delete_connection(&self, client_id: &str, secret: &str) {
        let (status, res) = self
            .s
            .api(
                Method::DELETE,
                &[("clientID", client_id), ("clientSecret", secret)],
                None,
            )
            .await;
        assert!(status == 200 || status == 204, "{status} {res}");
    }

    async fn connection(&self) -> gatehouse_domain::model::Connection {
        self.s
            .app
            .store
            .connection_by_id(&self.connection_id)
            .await
            .unwrap()
            .unwrap()
    }

    /// A dashboard call about the first connection.
    async fn connection_rpc(&self, endpoint: &str) -> RpcResponse {
        self.s
            .owner
            .rpc(
                endpoint,
                &[
                    ("team", &self.s.team),
                    ("product", &self.s.product),
                    ("connection", &self.connection_id),
                ],
            )
            .await
    }

    /// A dashboard call about the product's Ory settings.
    async fn ory_rpc(&self, endpoint: &str, extra: &[(&str, &str)]) -> RpcResponse {
        let mut form = vec![
            ("team", self.s.team.as_str()),
            ("product", self.s.product.as_str()),
        ];
        form.extend_from_slice(extra);
        self.s.owner.rpc(endpoint, &form).await
    }

    async fn fault(&self, rule: Value) {
        self.ory.admin("faults", rule).await;
    }
}

fn provider_with<'a>(providers: &'a [Value], id: &str) -> Option<&'a Value> {
    providers.iter().find(|p| p["id"] == id)
}

#[tokio::test]
async fn a_connection_becomes_an_organization_and_a_generic_provider_and_follows_every_change() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        assert_eq!(m.state().await.state, OrySyncState::Pending);
        assert_eq!(m.sync().await, 1);

        let orgs = m.ory.organizations().await;
        assert_eq!(orgs.len(), 1, "{orgs:?}");
        assert_eq!(orgs[0]["label"], "acme.com");
        assert_eq!(
            orgs[0]["domains"],
            json!(["acme.com", TEST_USERS_DOMAIN]),
            "the organization's domains are the connection's email domains"
        );
        let org_id = orgs[0]["id"].as_str().unwrap().to_string();

        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Synced);
        assert_eq!(row.organization_id.as_deref(), Some(org_id.as_str()));
        let pid = format!("gatehouse-{}", m.connection_id);
        assert_eq!(row.provider_id, pid);

        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 1);
        let p = &providers[0];
        assert_eq!(p["id"], pid);
        assert_eq!(p["provider"], "generic");
        assert_eq!(p["label"], "Acme Okta");
        assert_eq!(p["issuer_url"], m.s.app.base.as_str());
        assert_eq!(p["organization_id"], org_id.as_str());
        assert_eq!(p["scope"], json!(["openid", "offline_access", "email"]));
        assert!(p["client_secret"].as_str().is_some_and(|s| s.len() >= 32));
        // Ory stores base64 mappers and hands back a storage URL
        assert!(
            p["mapper_url"]
                .as_str()
                .unwrap()
                .starts_with("https://storage.googleapis.com/"),
            "{p}"
        );

        // the credentials given to Ory, with Ory's callback as their only redirect
        let c = m.connection().await;
        let ory_client = c.ory_client.clone().unwrap();
        assert_eq!(p["client_id"], ory_client.client_id.as_str());
        assert_ne!(ory_client.client_id, c.client_id);
        let callback = format!(
            "https://{SLUG}.projects.oryapis.com/self-service/methods/oidc/organization/{org_id}/callback/{pid}"
        );
        assert_eq!(ory_client.redirect_url.as_deref(), Some(callback.as_str()));

        // the connection page shows it
        let view = m.connection_rpc("connections/get").await;
        assert_eq!(view.body["ory"]["state"], "synced", "{:?}", view.body);
        assert_eq!(view.body["ory"]["organization_id"], org_id.as_str());
        assert_eq!(view.body["ory"]["callback_url"], callback.as_str());
        let list = m
            .s
            .owner
            .rpc(
                "connections/list",
                &[("team", &m.s.team), ("product", &m.s.product)],
            )
            .await;
        assert_eq!(list.body[0]["ory_state"], "synced");

        // nothing left to do
        assert_eq!(m.sync().await, 0);

        // rename → the provider follows
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"name": "Acme Entra"}))
            .await;
        assert_eq!(m.state().await.state, OrySyncState::Pending);
        assert_eq!(m.sync().await, 1);
        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0]["label"], "Acme Entra");

        // disable → the provider leaves Ory's list; the organization stays
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"deactivated": true}))
            .await;
        m.sync().await;
        assert!(m.ory.providers().await.is_empty());
        assert_eq!(m.ory.organizations().await.len(), 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // re-enable → it comes back, same id
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"deactivated": false}))
            .await;
        m.sync().await;
        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0]["id"], pid);

        // delete → provider and (unused) organization removed, outbox row gone
        m.delete_connection(&m.s.client_id, &m.s.client_secret).await;
        assert!(m.state().await.deleted);
        m.sync().await;
        assert!(m.ory.providers().await.is_empty());
        assert!(m.ory.organizations().await.is_empty());
        assert!(m.row(&m.connection_id).await.is_none());
    })
    .await;
}

#[tokio::test]
async fn connections_of_one_tenant_share_its_organization_until_the_last_one_goes() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        let (cid2, secret2, id2) = m.add_connection("acme.com", "Acme backup IdP").await;
        while m.sync().await > 0 {}
        let orgs = m.ory.organizations().await;
        assert_eq!(orgs.len(), 1, "one organization per tenant: {orgs:?}");
        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 2);
        assert_eq!(
            providers[0]["organization_id"],
            providers[1]["organization_id"]
        );

        // deleting one keeps the organization for the other
        m.delete_connection(&m.s.client_id, &m.s.client_secret)
            .await;
        m.sync().await;
        assert_eq!(m.ory.organizations().await.len(), 1);
        assert_eq!(m.ory.providers().await.len(), 1);

        // moving the last one to another tenant moves it to a new organization
        m.patch_connection(&cid2, &secret2, json!({"tenant": "globex.com"}))
            .await;
        m.sync().await;
        let orgs = m.ory.organizations().await;
        assert_eq!(orgs.len(), 1, "{orgs:?}");
        assert_eq!(orgs[0]["domains"], json!(["globex.com"]));
        let providers = m.ory.providers().await;
        assert_eq!(providers[0]["organization_id"], orgs[0]["id"]);
        assert_eq!(m.row(&id2).await.unwrap().tenant, "globex.com");
    })
    .await;
}

#[tokio::test]
async fn ory_failures_are_retried_with_backoff_and_never_create_duplicates() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;

        // 503 on creating the organization: pending, retried after 2 s
        m.fault(json!({"mode": "5xx", "status": 503, "count": 1, "path": "/organizations", "method": "POST"}))
            .await;
        assert_eq!(m.sync().await, 1);
        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Pending);
        assert_eq!(row.last_status, Some(503));
        assert_eq!(row.attempts, 1);
        assert_eq!(m.sync().await, 0, "not due before its backoff");
        m.advance(3);
        assert_eq!(m.sync().await, 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // 429 with Retry-After: 30 s is honoured
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"name": "Rate limited"}))
            .await;
        m.fault(json!({"mode": "429", "retryAfter": 30, "count": 1})).await;
        m.sync().await;
        let row = m.state().await;
        assert_eq!(row.last_status, Some(429));
        m.advance(20);
        assert_eq!(m.sync().await, 0, "Retry-After is respected");
        m.advance(11);
        assert_eq!(m.sync().await, 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // 401 (token revoked): failed, with Ory's status, and the token nowhere
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"name": "Token revoked"}))
            .await;
        m.fault(json!({"mode": "401", "count": 1})).await;
        m.sync().await;
        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Failed);
        assert_eq!(row.last_status, Some(401));
        let msg = row.last_error.clone().unwrap();
        assert!(msg.contains("rejected the token"), "{msg}");
        assert!(!msg.contains(ORY_TOKEN) && !msg.contains("validtoken"), "{msg}");
        let view = m.connection_rpc("connections/get").await;
        assert_eq!(view.body["ory"]["state"], "failed");
        assert_eq!(view.body["ory"]["last_status"], 401);
        assert!(!view.body.to_string().contains("validtoken"));
        // "Retry now" makes it due at once
        let retried = m.connection_rpc("connections/ory-retry").await;
        assert_eq!(retried.status, 200, "{:?}", retried.body);
        assert_eq!(m.sync().await, 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // connection reset: pending, no status
        m.patch_connection(&m.s.client_id, &m.s.client_secret, json!({"name": "Reset"}))
            .await;
        m.fault(json!({"mode": "reset", "count": 1})).await;
        m.sync().await;
        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Pending);
        assert_eq!(row.last_status, None);
        assert!(row.last_error.unwrap().contains("could not reach Ory"));
        m.advance(3);
        m.sync().await;
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // after all that: exactly one organization, one provider
        assert_eq!(m.ory.organizations().await.len(), 1);
        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0]["label"], "Reset");
        // and Ory was asked to create the organization exactly once
        let log = m.ory.state().await["log"].clone();
        let creates = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == "POST" && e["status"] == 201)
            .count();
        assert_eq!(creates, 1);
    })
    .await;
}

#[tokio::test]
async fn a_sync_cut_off_halfway_resumes_after_its_lease_without_duplicates() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        // A worker claimed the row, created the organization, and died.
        let now = gatehouse_domain::clock::Clock::now(m.s.app.clock.as_ref());
        let claimed =
            m.s.app
                .store
                .claim_ory_sync(now, now + Duration::seconds(120), 20)
                .await
                .unwrap();
        assert_eq!(claimed.len(), 1);
        let status = m
            .ory
            .console(
                Method::POST,
                &format!("/projects/{ORY_PROJECT_ID}/organizations"),
                Some(json!({"label": "acme.com", "domains": ["acme.com"]})),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(m.sync().await, 0, "leased to the dead worker");
        m.advance(121);
        assert_eq!(m.sync().await, 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);
        assert_eq!(
            m.ory.organizations().await.len(),
            1,
            "the organization is reused"
        );
        assert_eq!(m.ory.providers().await.len(), 1);

        // A sync really cut off in flight (task aborted while Ory is slow).
        let (_, _, id2) = m.add_connection("globex.com", "Globex").await;
        m.ory.admin("latency", json!({"ms": 150})).await;
        let services = m.s.app.services.clone();
        let task = tokio::spawn(async move { services.ory.run_ory_sync_once().await });
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        task.abort();
        let _ = task.await;
        m.ory.admin("latency", json!({"ms": 0})).await;
        m.advance(121);
        while m.sync().await > 0 {}
        assert_eq!(m.row(&id2).await.unwrap().state, OrySyncState::Synced);
        let globex: Vec<Value> = m
            .ory
            .organizations()
            .await
            .into_iter()
            .filter(|o| o["label"] == "globex.com")
            .collect();
        assert_eq!(globex.len(), 1, "{globex:?}");
        let providers = m.ory.providers().await;
        assert_eq!(providers.len(), 2, "{providers:?}");
    })
    .await;
}

/// A worker that is stopping (SIGTERM) hands its claimed rows back: another worker
/// takes them at once instead of waiting for the lease to expire. Handing back is
/// bound to the lease taken, so a late hand-back cannot free another worker's claim.
#[tokio::test]
async fn a_stopping_worker_hands_its_rows_back_at_once() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        let (_, _, id2) = m.add_connection("globex.com", "Globex").await;
        let stopped =
            m.s.app
                .services
                .ory
                .run_ory_sync_pass(&|| true)
                .await
                .unwrap();
        assert_eq!(stopped, 0, "nothing was synced by a stopping worker");
        assert!(m.ory.organizations().await.is_empty());
        for id in [&m.connection_id, &id2] {
            assert_eq!(m.row(id).await.unwrap().lease_until, None, "handed back");
        }
        // another worker, no time passing
        assert_eq!(m.sync().await, 2);
        assert_eq!(m.state().await.state, OrySyncState::Synced);
        assert_eq!(m.row(&id2).await.unwrap().state, OrySyncState::Synced);

        // a hand-back with an old lease leaves the current claim alone
        let (_, _, id3) = m.add_connection("initech.com", "Initech").await;
        let now = gatehouse_domain::clock::Clock::now(m.s.app.clock.as_ref());
        let lease = now + Duration::seconds(120);
        let claimed = m.s.app.store.claim_ory_sync(now, lease, 20).await.unwrap();
        assert_eq!(claimed.len(), 1);
        m.s.app
            .store
            .release_ory_sync(&id3, lease - Duration::seconds(1))
            .await
            .unwrap();
        assert!(
            m.row(&id3).await.unwrap().lease_until.is_some(),
            "still ours"
        );
        assert_eq!(m.sync().await, 0, "still leased");
        m.s.app.store.release_ory_sync(&id3, lease).await.unwrap();
        assert_eq!(m.sync().await, 1);
    })
    .await;
}

#[tokio::test]
async fn removals_are_guarded_so_a_moving_list_never_loses_someone_elses_provider() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        let (cid_b, secret_b, id_b) = m.add_connection("b-corp.com", "B").await;
        let (cid_c, secret_c, id_c) = m.add_connection("c-corp.com", "C").await;
        while m.sync().await > 0 {}
        assert_eq!(m.ory.providers().await.len(), 3);

        // someone adds a provider by hand at the top of the list …
        let hand_made = json!({
            "id": "hand-made", "provider": "generic", "client_id": "x", "client_secret": "y",
            "issuer_url": "https://idp.example.com", "mapper_url": "base64://e30=",
        });
        let status = m
            .ory
            .console(
                Method::PATCH,
                &format!("/projects/{ORY_PROJECT_ID}"),
                Some(json!([{"op": "add", "path": "/services/identity/config/selfservice/methods/oidc/config/providers/0", "value": hand_made}])),
            )
            .await;
        assert_eq!(status, 200);
        // … and Ory's next read is stale (from before that change), so the index
        // Gatehouse computes first is off by one
        m.fault(json!({"mode": "stale", "count": 1, "method": "GET"})).await;

        m.delete_connection(&m.s.client_id, &m.s.client_secret).await;
        assert_eq!(m.sync().await, 1);
        let providers = m.ory.providers().await;
        let mut ids: Vec<String> = providers
            .iter()
            .filter_map(|p| p["id"].as_str().map(String::from))
            .collect();
        assert_eq!(ids.remove(0), "hand-made", "the hand-made provider stays first");
        ids.sort();
        let mut expected = vec![format!("gatehouse-{id_b}"), format!("gatehouse-{id_c}")];
        expected.sort();
        assert_eq!(ids, expected);
        // the guard did its job: the patch built on the stale index was refused by its `test`
        let log = m.ory.state().await["log"].clone();
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["method"] == "PATCH" && e["status"] == 400),
            "the stale index must have been caught by the test op"
        );

        // two workers removing two providers at once, with Ory slow enough to interleave
        m.ory.admin("latency", json!({"ms": 40})).await;
        m.delete_connection(&cid_b, &secret_b).await;
        m.delete_connection(&cid_c, &secret_c).await;
        let services = m.s.app.services.clone();
        let (a, b) = tokio::join!(m.sync(), services.ory.run_ory_sync_once());
        assert_eq!(a + b.unwrap(), 2);
        let providers = m.ory.providers().await;
        let ids: Vec<&str> = providers.iter().filter_map(|p| p["id"].as_str()).collect();
        assert_eq!(ids, vec!["hand-made"]);
        assert!(m.ory.organizations().await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn drift_is_reported_and_re_sync_repairs_it() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        m.sync().await;
        let old_org = m.state().await.organization_id.unwrap();
        let pid = format!("gatehouse-{}", m.connection_id);

        // edits by hand in the Ory console
        let status = m
            .ory
            .console(
                Method::PATCH,
                &format!("/projects/{ORY_PROJECT_ID}"),
                Some(json!([{"op": "replace", "path": "/services/identity/config/selfservice/methods/oidc/config/providers/0/label", "value": "Edited by hand"}])),
            )
            .await;
        assert_eq!(status, 200);
        let status = m
            .ory
            .console(
                Method::DELETE,
                &format!("/projects/{ORY_PROJECT_ID}/organizations/{old_org}"),
                None,
            )
            .await;
        assert_eq!(status, 204);

        assert_eq!(
            m.s.app
                .services
                .ory.check_ory_drift(&m.s.product)
                .await
                .unwrap(),
            1
        );
        let drift = m.state().await.drift;
        assert!(drift.iter().any(|d| d.contains("label")), "{drift:?}");
        assert!(drift.iter().any(|d| d.contains("was deleted in Ory")), "{drift:?}");
        let view = m.ory_rpc("ory/get", &[]).await;
        assert_eq!(view.body["sync"]["drifted"], 1, "{:?}", view.body);

        let r = m.ory_rpc("ory/resync", &[]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["queued"], 1);
        m.sync().await;

        let orgs = m.ory.organizations().await;
        assert_eq!(orgs.len(), 1);
        let new_org = orgs[0]["id"].as_str().unwrap();
        assert_ne!(new_org, old_org);
        let providers = m.ory.providers().await;
        let p = provider_with(&providers, &pid).unwrap();
        assert_eq!(p["label"], "Acme Okta");
        assert_eq!(p["organization_id"], new_org);
        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Synced);
        assert!(row.drift.is_empty());
        assert_eq!(
            m.s.app
                .services
                .ory.check_ory_drift(&m.s.product)
                .await
                .unwrap(),
            0
        );
        // the callback moved with the organization
        let c = m.connection().await;
        assert!(c
            .ory_client
            .unwrap()
            .redirect_url
            .unwrap()
            .contains(new_org));
    })
    .await;
}

#[tokio::test]
async fn disconnecting_can_remove_everything_from_ory_or_leave_it() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        m.add_connection("globex.com", "Globex").await;
        while m.sync().await > 0 {}
        assert_eq!(m.ory.providers().await.len(), 2);

        // Ory failing: nothing is disconnected, the error says why
        m.fault(json!({"mode": "5xx", "status": 503})).await;
        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "remove")]).await;
        assert_eq!(r.status, 502, "{:?}", r.body);
        m.ory.admin("faults", json!({"mode": "none"})).await;
        let g = m.ory_rpc("ory/get", &[]).await;
        assert_eq!(g.body["connected"], true);

        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "remove")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["connected"], false);
        assert!(m.ory.providers().await.is_empty());
        assert!(m.ory.organizations().await.is_empty());
        let c = m.connection().await;
        assert!(c.ory_client.is_none(), "the client given to Ory is revoked");
        assert!(m.row(&m.connection_id).await.is_none());

        // reconnect, then disconnect leaving Ory as it is
        let r = m
            .ory_rpc(
                "ory/save",
                &[("token", ORY_TOKEN), ("project_id", ORY_PROJECT_ID)],
            )
            .await;
        assert_eq!(r.body["queued"], 2);
        while m.sync().await > 0 {}
        assert_eq!(m.ory.providers().await.len(), 2);
        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "leave")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(m.ory.providers().await.len(), 2);
        assert_eq!(m.ory.organizations().await.len(), 2);
    })
    .await;
}

/// Ory's side of a sign-in: the provider entry Gatehouse wrote, used the way Ory uses
/// it (discovery at `issuer_url`, code flow with its client and Ory's callback), then
/// the mapper's Jsonnet run on the claims by a real Jsonnet evaluator.
#[tokio::test]
async fn ory_signs_users_in_through_the_provider_gatehouse_wrote() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        m.sync().await;
        let state = m.ory.state().await;
        let providers = m.ory.providers().await;
        let p = providers[0].clone();
        let client_id = p["client_id"].as_str().unwrap().to_string();
        let client_secret = p["client_secret"].as_str().unwrap().to_string();
        let callback = format!(
            "https://{SLUG}.projects.oryapis.com/self-service/methods/oidc/organization/{}/callback/{}",
            p["organization_id"].as_str().unwrap(),
            p["id"].as_str().unwrap()
        );

        let issuer = p["issuer_url"].as_str().unwrap();
        let discovery: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], issuer);

        // negative: the client given to Ory may only redirect to Ory
        let res = m
            .s
            .authorize(&[("client_id", &client_id), ("redirect_uri", APP_REDIRECT)])
            .await;
        assert_eq!(res.status().as_u16(), 400);
        assert!(res.headers().get("location").is_none());
        // and the connection's own client may not redirect to Ory's callback
        let res = m.s.authorize(&[("redirect_uri", &callback)]).await;
        assert_eq!(res.status().as_u16(), 400);

        let (verifier, challenge) = pkce_pair();
        let (to, _) = m
            .s
            .start(&[
                ("client_id", &client_id),
                ("redirect_uri", &callback),
                ("scope", "openid offline_access email"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .await;
        let (_, relay, response) = idp().answer(&to).await;
        let res = m.s.post_acs(&response, relay.as_deref()).await;
        assert_eq!(res.status().as_u16(), 303);
        let back = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(&callback), "{back}");
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.to_string())
            .unwrap();

        // wrong secret, and the connection's own secret, are refused
        for wrong in ["nope", m.s.client_secret.as_str()] {
            let res = m
                .s
                .http
                .post(format!("{}/api/oauth/token", m.s.app.base))
                .basic_auth(&client_id, Some(wrong))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", callback.as_str()),
                    ("code_verifier", verifier.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 401);
        }

        let res = m
            .s
            .http
            .post(format!("{}/api/oauth/token", m.s.app.base))
            .basic_auth(&client_id, Some(&client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", callback.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let tokens: Value = res.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let jwks: Value = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claims = verify_id_token(id_token, &jwks);
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["aud"], client_id.as_str());
        assert_eq!(claims["email"], "jane@acme.test");
        assert!(claims["exp"].as_i64().unwrap() > start_time().timestamp());

        // the mapper, as Ory stores it, run by the Jsonnet evaluator
        let mapper_url = p["mapper_url"].as_str().unwrap();
        let jsonnet = state["blobs"][mapper_url].as_str().unwrap();
        let identity = run_jsonnet(jsonnet, &claims);
        assert_eq!(identity["identity"]["traits"]["email"], "jane@acme.test");
        assert_eq!(identity["identity"]["traits"]["name"]["first"], claims["given_name"]);
        // in the connection's email domains: Gatehouse vouches, Ory marks it verified
        assert_eq!(claims["email_verified"], true);
        assert_eq!(
            identity["identity"]["verified_addresses"],
            json!([{ "via": "email", "value": "jane@acme.test" }])
        );
        // a connection that accepts any domain says email_verified: false; the mapper
        // then passes the email, unverified
        let mut unverified = claims.clone();
        unverified["email_verified"] = json!(false);
        let identity = run_jsonnet(jsonnet, &unverified);
        assert_eq!(identity["identity"]["traits"]["email"], "jane@acme.test");
        assert_eq!(identity["identity"]["verified_addresses"], json!([]));
    })
    .await;
}

/// Evaluate a mapper with the `jsonnet` command (the C++ reference implementation),
/// with the claims as `std.extVar('claims')`, as Ory does.
fn run_jsonnet(source: &str, claims: &Value) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "gh-mapper-{}",
        gatehouse_domain::tokens::new_id("m")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mapper.jsonnet");
    std::fs::write(&file, source).unwrap();
    let out = std::process::Command::new("jsonnet")
        .arg("--ext-code")
        .arg(format!("claims={claims}"))
        .arg(&file)
        .output()
        .expect("the jsonnet command (Debian package jsonnet) is needed");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "jsonnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_project_without_a_provider_list_gets_one_and_an_invalid_config_is_reported() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        let project = |identity_config: Value| {
            json!({
                "id": ORY_PROJECT_ID, "slug": SLUG, "name": "Acme Login",
                "tokens": [ORY_TOKEN], "identity_config": identity_config,
            })
        };
        // a new Ory project may have no providers array at all
        m.ory
            .admin(
                "projects",
                project(
                    json!({"selfservice": {"methods": {"oidc": {"enabled": true, "config": {}}}}}),
                ),
            )
            .await;
        assert_eq!(m.sync().await, 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);
        assert_eq!(m.ory.providers().await.len(), 1);

        // a project whose config Ory refuses (someone saved a broken provider): failed,
        // with Ory's status and reason, retried later
        m.ory
            .admin(
                "projects",
                project(
                    json!({"selfservice": {"methods": {"oidc": {"enabled": true, "config": {
                        "providers": [{"id": "broken", "provider": "generic"}]
                    }}}}}),
                ),
            )
            .await;
        m.patch_connection(
            &m.s.client_id,
            &m.s.client_secret,
            json!({"name": "Renamed"}),
        )
        .await;
        assert_eq!(m.sync().await, 1);
        let row = m.state().await;
        assert_eq!(row.state, OrySyncState::Failed, "{row:?}");
        assert_eq!(row.last_status, Some(400));
        assert!(
            row.last_error.as_deref().unwrap_or("").contains("validate"),
            "{row:?}"
        );
        assert!(row.next_attempt_at.is_some());
    })
    .await;
}

/// "Sign in with SSO" only shows on Ory's login page while the project's OpenID
/// Connect method is on: the first provider switches it on (the Ory tab says so), and
/// a disconnect with clean-up switches it off only if Gatehouse switched it on and no
/// other provider is left.
#[tokio::test]
async fn the_oidc_method_follows_the_providers_gatehouse_adds() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        assert!(!m.ory.oidc_enabled().await, "a new project has it off");
        m.sync().await;
        assert!(
            m.ory.oidc_enabled().await,
            "the first provider switched it on"
        );
        let g = m.ory_rpc("ory/get", &[]).await;
        assert!(g.body["oidc_enabled_at"].is_string(), "{:?}", g.body);
        let page =
            m.s.owner
                .get(&format!(
                    "/teams/{}/products/{}/settings/ory",
                    m.s.team, m.s.product
                ))
                .await
                .text()
                .await
                .unwrap();
        assert!(
            page.contains("data-testid=\"ory-oidc-enabled\""),
            "the Ory tab says so"
        );

        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "remove")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert!(m.ory.providers().await.is_empty());
        assert!(
            !m.ory.oidc_enabled().await,
            "off again: Gatehouse had switched it on"
        );
    })
    .await;
}

#[tokio::test]
async fn an_oidc_method_someone_else_switched_on_or_uses_stays_on() {
    each_engine(|engine| async move {
        // already on before Gatehouse came: left on at disconnect
        let m = mirrored(engine).await;
        let enable = json!([{ "op": "replace", "path": "/services/identity/config/selfservice/methods/oidc/enabled", "value": true }]);
        let status = m
            .ory
            .console(Method::PATCH, &format!("/projects/{ORY_PROJECT_ID}"), Some(enable))
            .await;
        assert_eq!(status, 200);
        m.sync().await;
        let g = m.ory_rpc("ory/get", &[]).await;
        assert!(g.body["oidc_enabled_at"].is_null(), "{:?}", g.body);
        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "remove")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert!(m.ory.oidc_enabled().await, "it was not Gatehouse's to switch off");

        // switched on by Gatehouse, but another provider (someone else's) remains
        let m = mirrored(engine).await;
        m.sync().await;
        assert!(m.ory.oidc_enabled().await);
        let theirs = json!([{ "op": "add", "path": "/services/identity/config/selfservice/methods/oidc/config/providers/-", "value": {
            "id": "their-google", "provider": "google", "client_id": "x", "client_secret": "y",
            "mapper_url": "base64://e30=", "scope": ["email"]
        } }]);
        let status = m
            .ory
            .console(Method::PATCH, &format!("/projects/{ORY_PROJECT_ID}"), Some(theirs))
            .await;
        assert_eq!(status, 200);
        let r = m.ory_rpc("ory/disconnect", &[("cleanup", "remove")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(m.ory.providers().await.len(), 1, "theirs is left");
        assert!(m.ory.oidc_enabled().await, "their provider still needs it");
    })
    .await;
}

#[tokio::test]
async fn the_operator_syncs_now_from_the_cli_and_sees_what_is_behind() {
    each_engine(|engine| async move {
        let m = mirrored(engine).await;
        // the worker's first try fails: the row waits for its backoff
        m.fault(json!({"mode": "5xx", "status": 503, "count": 1, "path": "/organizations", "method": "POST"}))
            .await;
        m.sync().await;
        let waiting = m.state().await;
        assert_eq!(waiting.state, OrySyncState::Pending);
        assert!(
            waiting.next_attempt_at
                > Some(gatehouse_domain::clock::Clock::now(m.s.app.clock.as_ref()))
        );

        let env = [
            ("DATABASE_URL", m.s.app.db.url.as_str()),
            ("GATEHOUSE_SECRET_KEY", crate::cli::KEY),
            ("GATEHOUSE_PUBLIC_URL", m.s.app.base.as_str()),
            ("ORY_API_URL", m.ory.url.as_str()),
        ];
        // sync-now does not wait for the backoff
        let run = crate::cli::gatehouse_with(&["ory", "sync-now"], &env);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains(&format!("acme.com {} synced", m.connection_id)),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("1 connection(s): 1 in sync, 0 not."));
        assert_eq!(m.ory.providers().await.len(), 1);
        assert_eq!(m.state().await.state, OrySyncState::Synced);

        // Ory down: the operator is told, with Ory's answer, and the exit code says so
        m.fault(json!({"mode": "5xx", "status": 503, "count": 1000})).await;
        let run = crate::cli::gatehouse_with(&["ory", "sync-now"], &env);
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(run.stdout.contains("0 in sync, 1 not."), "{}", run.stdout);
        assert!(run.stdout.contains("503"), "{}", run.stdout);
        m.fault(json!({"mode": "none"})).await;

        // an unknown product is named
        let run = crate::cli::gatehouse_with(&["ory", "sync-now", "--product", "nope"], &env);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains("nope"), "{}", run.stderr);
    })
    .await;
}
