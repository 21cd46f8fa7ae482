//! Setup links: made by the admin (dashboard and Jackson's API), opened by a
//! customer's IT admin without an account, reaching only their own tenant.

use chrono::Duration;
use gatehouse_domain::clock::Clock;
use gatehouse_domain::model::{
    ConnectionSource, LoginPurpose, LoginTarget, PendingLogin, SetupLink,
};
use gatehouse_domain::ports::{ConnectionStore, LoginStore, SetupLinkStore};
use reqwest::Method;
use serde_json::{json, Value};

use crate::idp::idp;
use crate::sso_support::*;
use crate::support::*;

/// A setup link for `tenant`: (token, link id, the whole answer).
pub async fn create_link(s: &Sso, tenant: &str, days: &str) -> (String, String, Value) {
    let r = s
        .owner
        .rpc(
            "setup-links/create",
            &[
                ("team", &s.team),
                ("product", &s.product),
                ("tenant", tenant),
                ("name", "Globex"),
                ("expiry_days", days),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (
        token_in_url(r.body["url"].as_str().unwrap()),
        r.body["link"]["id"].as_str().unwrap().to_string(),
        r.body.clone(),
    )
}

/// The setup page's Save with pasted metadata XML (and any extra form fields).
async fn save_xml(it: &Client, token: &str, xml: &str, extra: &[(&str, &str)]) -> RpcResponse {
    let mut form = vec![
        ("token", token),
        ("metadataSource", "xml"),
        ("rawMetadata", xml),
        ("metadataUrl", ""),
    ];
    form.extend_from_slice(extra);
    it.rpc("setup/save", &form).await
}

/// The setup page's Test with pasted metadata XML: the settings are checked and kept
/// for a test sign-in, not saved.
async fn try_xml(it: &Client, token: &str, xml: &str) -> RpcResponse {
    save_xml(it, token, xml, &[("intent", "test")]).await
}

/// A test sign-in from its start URL through the test IdP (as jane@globex.com, the
/// links' tenant): the result page shows the profile to this browser, and to no other.
async fn test_succeeds(s: &Sso, it: &Client, start: &str) {
    let res = it.get(start).await;
    assert_eq!(res.status().as_u16(), 303, "{start}");
    let to = res.headers()["location"].to_str().unwrap().to_string();
    // the customer's IdP signs in one of the customer's people (globex.com)
    let (_, relay, response) = idp().answer_as(&to, Some("jane@globex.com")).await;
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let acs = it.http.post(s.acs()).form(&form).send().await.unwrap();
    assert_eq!(acs.status().as_u16(), 303);
    let result = acs.headers()["location"].to_str().unwrap().to_string();
    assert!(result.starts_with("/sso-test/"), "{result}");
    let shown = it.get(&result).await.text().await.unwrap();
    assert!(shown.contains("data-testid=\"test-success\""), "{shown}");
    assert!(shown.contains("jane@globex.com"));
    assert_eq!(customer(&s.app).get(&result).await.status().as_u16(), 404);
}

/// The product owner's call to `setup-links/{endpoint}` (`link`: a link's id).
async fn owner_links(s: &Sso, endpoint: &str, link: Option<&str>) -> RpcResponse {
    let mut form = vec![("team", s.team.as_str()), ("product", s.product.as_str())];
    if let Some(link) = link {
        form.push(("link", link));
    }
    s.owner.rpc(&format!("setup-links/{endpoint}"), &form).await
}

/// A browser without an account (its own cookie jar).
/// The link as stored (hashes, use and draft state).
async fn stored_link(s: &Sso, link_id: &str) -> SetupLink {
    s.app
        .store
        .setup_link(&s.product, link_id)
        .await
        .unwrap()
        .unwrap()
}

fn customer(app: &TestApp) -> Client {
    Client::new(app)
}

#[tokio::test]
async fn a_setup_link_configures_its_own_tenant_and_nothing_else() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await; // product "Portal" with an acme.com connection
        let acme_before = s
            .app
            .store
            .connection_by_client_id(&s.client_id)
            .await
            .unwrap()
            .unwrap();
        let (token, link_id, created) = create_link(&s, "Globex.com", "").await;
        assert!(token.starts_with("gsl_"), "{token}");
        assert_eq!(created["link"]["tenant"], "globex.com");
        assert_eq!(created["link"]["status"], "active");
        let expires = created["link"]["expires_at"].as_str().unwrap();
        let made = created["link"]["created_at"].as_str().unwrap();
        let days = chrono::DateTime::parse_from_rfc3339(expires).unwrap()
            - chrono::DateTime::parse_from_rfc3339(made).unwrap();
        assert_eq!(days.num_days(), 3, "default expiry");

        // only the hash is stored; the list never shows the token
        let list = owner_links(&s, "list", None).await;
        assert!(!list.body.to_string().contains(&token));
        let stored = stored_link(&s, &link_id).await;
        assert_ne!(stored.token_hash, token);
        assert!(!stored.token_hash.contains(&token));

        // the customer opens it: product name and their tenant, nothing else
        let it = customer(&s.app);
        let page = it.rpc("setup/get", &[("token", &token)]).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(page.body["product_name"], "Portal");
        assert_eq!(page.body["tenant"], "globex.com");
        assert!(page.body["saved"].is_null());
        assert!(!page.body.to_string().contains("acme.com"));

        // broken metadata: a clear error, nothing saved
        let bad = save_xml(&it, &token, "<x/>", &[]).await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        assert_eq!(bad.body["field"], "metadata");
        assert_eq!(s.app.store.connections(&s.product).await.unwrap().len(), 1);

        // save: a connection for globex.com, from the link; a stray tenant field is ignored
        let metadata = idp().metadata("keys=primary").await;
        let saved = save_xml(&it, &token, &metadata, &[("tenant", "acme.com")]).await;
        assert_eq!(saved.status, 200, "{:?}", saved.body);
        assert_eq!(
            saved.body["saved"]["idp_entity_id"],
            idp().entity_id.as_str()
        );
        let all = s.app.store.connections(&s.product).await.unwrap();
        assert_eq!(all.len(), 2);
        let globex = all.iter().find(|c| c.tenant == "globex.com").unwrap();
        assert_eq!(globex.source, ConnectionSource::SetupLink);
        assert_eq!(globex.setup_link_id.as_deref(), Some(link_id.as_str()));
        let acme_after = all.iter().find(|c| c.tenant == "acme.com").unwrap();
        assert_eq!(
            acme_after.updated_at, acme_before.updated_at,
            "acme.com untouched"
        );

        // saving again updates the same connection
        let both_keys = idp().metadata("keys=both").await;
        let again = save_xml(&it, &token, &both_keys, &[]).await;
        assert_eq!(again.status, 200);
        assert_eq!(s.app.store.connections(&s.product).await.unwrap().len(), 2);
        let listed = s
            .owner
            .rpc(
                "connections/list",
                &[("team", &s.team), ("product", &s.product)],
            )
            .await;
        let row = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tenant"] == "globex.com")
            .unwrap()
            .clone();
        assert_eq!(row["source"], "setup_link");
        let links = owner_links(&s, "list", None).await;
        assert!(links.body[0]["used_at"].is_string(), "{:?}", links.body);

        // Test: a real sign-in, whose result only this browser sees
        test_succeeds(&s, &it, &format!("/setup/{token}/test")).await;

        // revoked: the page and the save both refuse, with no data
        let r = owner_links(&s, "revoke", Some(&link_id)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let gone = it.rpc("setup/get", &[("token", &token)]).await;
        assert_eq!(gone.status, 410, "{:?}", gone.body);
        assert!(!gone.body.to_string().contains("Portal"));
        let refused = save_xml(&it, &token, &metadata, &[]).await;
        assert_eq!(refused.status, 410);
        assert_eq!(
            it.get(&format!("/setup/{token}/test"))
                .await
                .status()
                .as_u16(),
            410
        );
    })
    .await;
}

#[tokio::test]
async fn expired_regenerated_and_forged_links_show_nothing() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let it = customer(&s.app);

        // bad expiry values are refused in place
        let r = s
            .owner
            .rpc(
                "setup-links/create",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("tenant", "globex.com"),
                    ("name", ""),
                    ("expiry_days", "31"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["field"], "expiry_days");

        let (token, link_id, _) = create_link(&s, "globex.com", "1").await;
        assert_eq!(it.rpc("setup/get", &[("token", &token)]).await.status, 200);
        s.app.clock.advance(Duration::hours(25));
        assert_eq!(it.rpc("setup/get", &[("token", &token)]).await.status, 410);

        // regenerate: a new working link, the old one stops at once
        let (token, link_id2, _) = create_link(&s, "globex.com", "5").await;
        assert_ne!(link_id, link_id2);
        let r = owner_links(&s, "regenerate", Some(&link_id2)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let new_token = token_in_url(r.body["url"].as_str().unwrap());
        assert_eq!(it.rpc("setup/get", &[("token", &token)]).await.status, 410);
        assert_eq!(
            it.rpc("setup/get", &[("token", &new_token)]).await.status,
            200
        );

        // forged tokens
        for forged in [
            "gsl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "nope",
            "",
        ] {
            assert_eq!(
                it.rpc("setup/get", &[("token", forged)]).await.status,
                410,
                "{forged}"
            );
        }

        // another team's admin cannot see or touch the links
        let other = Client::new(&s.app);
        let other_team = other.sign_up(&unique_email("other"), "Other").await;
        let r = other
            .rpc(
                "setup-links/list",
                &[("team", &other_team), ("product", &s.product)],
            )
            .await;
        assert_eq!(r.status, 404);
        let r = other
            .rpc(
                "setup-links/list",
                &[("team", &s.team), ("product", &s.product)],
            )
            .await;
        assert_eq!(r.status, 404);
    })
    .await;
}

#[tokio::test]
async fn token_lookups_are_rate_limited() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let it = customer(&s.app);
        let mut statuses = Vec::new();
        for i in 0..32 {
            let token = format!("gsl_guess{i}");
            statuses.push(it.rpc("setup/get", &[("token", &token)]).await.status);
        }
        assert!(statuses[..30].iter().all(|s| *s == 410), "{statuses:?}");
        assert_eq!(statuses[31], 429, "{statuses:?}");
        s.app.clock.advance(Duration::seconds(61));
        assert_eq!(it.rpc("setup/get", &[("token", "gsl_x")]).await.status, 410);
    })
    .await;
}

/// `X-Forwarded-For` counts only from a proxy in `GATEHOUSE_TRUSTED_PROXIES`: a
/// client cannot escape the limit by writing one, and behind a trusted proxy each
/// forwarded client has its own limit.
#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    each_engine(|engine| async move {
        let guess = |c: &Client, i: usize, forwarded: String| {
            let req = c
                .http
                .post(format!("{}/rpc/setup/get", c.base))
                .header("X-Forwarded-For", forwarded)
                .form(&[("token", format!("gsl_guess{i}"))]);
            async move { req.send().await.unwrap().status().as_u16() }
        };

        let s = Sso::new(engine).await;
        let it = customer(&s.app);
        let mut statuses = Vec::new();
        for i in 0..32 {
            statuses.push(guess(&it, i, format!("198.51.100.{i}")).await);
        }
        assert_eq!(
            statuses[31], 429,
            "a forged header escaped the limit: {statuses:?}"
        );

        let s = Sso::with_env(
            engine,
            "keys=primary",
            "acme.com",
            json!({}),
            &[("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32, ::1".to_string())],
        )
        .await;
        let it = customer(&s.app);
        let mut statuses = Vec::new();
        for i in 0..32 {
            statuses.push(guess(&it, i, format!("6.6.6.6, 198.51.100.{i}")).await);
        }
        assert!(
            statuses.iter().all(|s| *s == 410),
            "each forwarded client has its own limit: {statuses:?}"
        );
        let mut statuses = Vec::new();
        for i in 0..32 {
            statuses.push(guess(&it, i, format!("198.51.100.{i}, 203.0.113.1")).await);
        }
        assert_eq!(
            statuses[31], 429,
            "the hop the trusted proxy saw is the client: {statuses:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn setup_links_over_the_jackson_admin_api() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let call = |method: Method, query: Vec<(&'static str, String)>, body: Option<Value>| {
            let s = &s;
            async move {
                let mut req = s
                    .http
                    .request(method, format!("{}/api/v1/sso/setuplinks", s.app.base))
                    .header("Authorization", format!("Api-Key {}", s.api_key))
                    .query(&query);
                if let Some(b) = body {
                    req = req.json(&b);
                }
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (status, body) = call(
            Method::POST,
            vec![],
            Some(json!({"tenant": "globex.com", "product": s.product, "name": "Globex", "service": "sso", "expiryDays": 7})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let id = body["data"]["setupID"].as_str().unwrap().to_string();
        let url = body["data"]["url"].as_str().unwrap().to_string();
        assert!(url.starts_with(&format!("{}/setup/gsl_", s.app.base)), "{url}");
        assert_eq!(body["data"]["tenant"], "globex.com");

        let (status, body) = call(
            Method::GET,
            vec![("product", s.product.clone()), ("tenant", "globex.com".into())],
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"].as_array().unwrap().len(), 1);
        assert!(body["data"][0].get("url").is_none(), "the token is shown once");
        let (status, body) = call(Method::GET, vec![("setupID", id.clone())], None).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["status"], "active");

        // a product's key cannot name another product
        let (status, _) = call(Method::GET, vec![("product", "prod_other".into())], None).await;
        assert_eq!(status, 404);
        // bad input
        let (status, _) = call(
            Method::POST,
            vec![],
            Some(json!({"tenant": "globex.com", "product": s.product, "expiryDays": 90})),
        )
        .await;
        assert_eq!(status, 400);

        let (status, _) = call(Method::DELETE, vec![("setupID", id.clone())], None).await;
        assert_eq!(status, 200);
        let (_, body) = call(Method::GET, vec![("setupID", id)], None).await;
        assert_eq!(body["data"]["status"], "revoked");
        let token = token_in_url(&url);
        let it = customer(&s.app);
        assert_eq!(it.rpc("setup/get", &[("token", &token)]).await.status, 410);
    })
    .await;
}

#[tokio::test]
async fn test_before_save_tries_the_settings_without_saving_them() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await; // acme.com already has a connection
        let (token, link_id, _) = create_link(&s, "globex.com", "").await;
        let it = customer(&s.app);
        let count = || async { s.app.store.connections(&s.product).await.unwrap().len() };

        // nothing to test yet
        let res = it.get(&format!("/setup/{token}/test?draft=1")).await;
        assert_eq!(res.status().as_u16(), 400);
        assert!(res.text().await.unwrap().contains("Nothing to test yet"));

        // broken metadata: the error in place, nothing kept
        let bad = try_xml(&it, &token, "<x/>").await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        assert_eq!(bad.body["field"], "metadata");
        assert!(s.app.store.setup_draft(&link_id).await.unwrap().is_none());

        // good metadata: checked and kept for the test, not saved
        let metadata = idp().metadata("keys=primary").await;
        let tried = try_xml(&it, &token, &metadata).await;
        assert_eq!(tried.status, 200, "{:?}", tried.body);
        let start = tried.body["test_url"].as_str().unwrap().to_string();
        assert_eq!(start, format!("/setup/{token}/test?draft=1"));
        assert!(tried.body["saved"].is_null());
        assert_eq!(count().await, 1, "no connection for globex.com yet");
        let link = stored_link(&s, &link_id).await;
        assert!(link.used_at.is_none() && link.connection_id.is_none());

        // the test sign-in runs through the draft and shows the profile to this browser only
        test_succeeds(&s, &it, &start).await;
        assert_eq!(count().await, 1, "a test saves nothing");

        // the draft serves no app: no connection answers for globex.com ...
        let res = s
            .authorize(&[
                ("client_id", ""),
                ("tenant", "globex.com"),
                ("product", &s.product),
            ])
            .await;
        assert!(res.status().as_u16() >= 400, "{}", res.status());
        // ... and an app sign-in forged onto the draft is refused at the ACS
        let now = s.app.clock.now();
        let forged = PendingLogin {
            id: format!("_{}", gatehouse_domain::tokens::new_secret()),
            target: LoginTarget::SetupDraft(link_id.clone()),
            purpose: LoginPurpose::App,
            client_id: s.client_id.clone(),
            redirect_uri: APP_REDIRECT.into(),
            state: "st4te".into(),
            nonce: None,
            code_challenge: None,
            scope: "openid".into(),
            idp_state: None,
            created_at: now,
            expires_at: now + Duration::minutes(5),
        };
        s.app.store.create_pending_login(&forged).await.unwrap();
        let response = s.signed_for(&forged.id, json!({})).await;
        let page = refused(s.post_acs(&response, Some(&forged.id)).await).await;
        assert!(!page.contains("code="), "{page}");

        // a test started before the link is revoked does not finish after it
        let res = it.get(&start).await;
        let to = res.headers()["location"].to_str().unwrap().to_string();
        let (_, relay, response) = idp().answer(&to).await;
        let r = owner_links(&s, "regenerate", Some(&link_id)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let late = s.post_acs(&response, relay.as_deref()).await;
        refused(late).await;
        let new_token = token_in_url(r.body["url"].as_str().unwrap());

        // the new link starts without a draft; Test then Save
        let res = it.get(&format!("/setup/{new_token}/test?draft=1")).await;
        assert_eq!(res.status().as_u16(), 400);
        let tried = try_xml(&it, &new_token, &metadata).await;
        assert_eq!(tried.status, 200, "{:?}", tried.body);
        let new_link = r.body["link"]["id"].as_str().unwrap().to_string();
        assert!(s.app.store.setup_draft(&new_link).await.unwrap().is_some());
        let saved = save_xml(&it, &new_token, &metadata, &[("intent", "save")]).await;
        assert_eq!(saved.status, 200, "{:?}", saved.body);
        assert!(saved.body["test_url"].is_null());
        assert_eq!(
            saved.body["saved"]["idp_entity_id"],
            idp().entity_id.as_str()
        );
        assert_eq!(count().await, 2);
        assert!(
            s.app.store.setup_draft(&new_link).await.unwrap().is_none(),
            "saving clears the draft"
        );
    })
    .await;
}
