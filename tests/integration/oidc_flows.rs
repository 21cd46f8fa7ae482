//! OIDC connections: a customer's IdP that speaks OpenID Connect, with
//! Gatehouse as its relying party. The happy paths run against a third-party
//! OpenID Provider (`oidc-provider`); what a correct provider never does (forged,
//! misaddressed or expired id_tokens, rotated keys) against a scriptable fake.

use chrono::Duration;
use gatehouse_domain::ports::ConnectionStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::oidc_peers::*;
use crate::sso_support::*;
use crate::support::*;

fn allow_private() -> Vec<(&'static str, String)> {
    vec![("GATEHOUSE_METADATA_ALLOW_PRIVATE", "true".into())]
}

/// A product (with the usual SAML connection for acme.com) whose metadata URLs may
/// be local, as the test IdPs are.
pub(crate) async fn product(engine: gatehouse_store::Engine) -> Sso {
    Sso::with_env(
        engine,
        "keys=primary",
        "acme.com",
        json!({}),
        &allow_private(),
    )
    .await
}

/// oidc-provider with Gatehouse registered as its client: (provider, client id,
/// secret). Its redirect URI is set to the connection's once that exists
/// ([`oidc_connection`]), as an IdP admin does after Gatehouse shows it.
pub(crate) async fn registered_provider(s: &Sso) -> (OidcProvider, String, String) {
    let op = OidcProvider::start();
    let (cid, secret) = op
        .register(&format!("{}/api/oauth/oidc/not-yet-known", s.app.base))
        .await;
    (op, cid, secret)
}

/// Create an OIDC connection over the admin API; returns the JSON (with clientSecret).
/// The oidc-provider client `cid` is then pointed at the connection's redirect URI.
pub(crate) async fn oidc_connection(
    s: &Sso,
    tenant: &str,
    discovery: &str,
    cid: &str,
    secret: &str,
) -> (u16, Value) {
    let (status, conn) = s
        .api(
            Method::POST,
            &[],
            Some(json!({
                "tenant": tenant,
                "product": s.product,
                "name": format!("{tenant} OIDC"),
                "oidcDiscoveryUrl": discovery,
                "oidcClientId": cid,
                "oidcClientSecret": secret,
                "redirectUrl": [APP_REDIRECT],
                "defaultRedirectUrl": APP_REDIRECT,
                "emailDomains": [TEST_USERS_DOMAIN],
            })),
        )
        .await;
    if status == 200 {
        let redirect = conn["oidcProvider"]["redirectUrl"]
            .as_str()
            .unwrap_or_default();
        set_redirect_uri(cid, redirect).await;
    }
    (status, conn)
}

pub(crate) fn authorize_url(s: &Sso, client_id: &str, state: &str, challenge: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("state", state)
        .append_pair("nonce", "n0nce-from-the-app")
        .append_pair("scope", "openid email")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{}/api/oauth/authorize?{q}", s.app.base)
}

/// A whole sign-in as the vendor's app sees it: returns (token response, userinfo).
pub(crate) async fn app_login(s: &Sso, client_id: &str, client_secret: &str) -> (Value, Value) {
    let (verifier, challenge) = pkce_pair();
    let landed = browse(
        &browser(),
        &authorize_url(s, client_id, "st4te", &challenge),
        APP_REDIRECT,
    )
    .await
    .unwrap_or_else(|(status, body)| panic!("sign-in stopped at {status}: {body}"));
    assert!(landed.contains("state=st4te"), "{landed}");
    let code = code_in(&landed);
    let (status, tokens) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, info) = s.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{info}");
    (tokens, info)
}

#[tokio::test]
async fn an_oidc_idp_signs_users_in_exactly_like_a_saml_one() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let (op, idp_client, idp_secret) = registered_provider(&s).await;
        let (status, conn) =
            oidc_connection(&s, "globex.com", &op.url, &idp_client, &idp_secret).await;
        assert_eq!(status, 200, "{conn}");
        assert_eq!(conn["oidcProvider"]["provider"], op.url.as_str());
        assert_eq!(conn["oidcProvider"]["clientId"], idp_client.as_str());
        assert!(
            !conn.to_string().contains(&idp_secret),
            "the IdP's secret is never sent back"
        );
        let client_id = conn["clientID"].as_str().unwrap().to_string();
        let client_secret = conn["clientSecret"].as_str().unwrap().to_string();

        let (tokens, info) = app_login(&s, &client_id, &client_secret).await;
        let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["aud"], client_id.as_str());
        assert_eq!(claims["nonce"], "n0nce-from-the-app");
        assert_eq!(
            claims["email"], "jane@acme.test",
            "userinfo's email reaches the id_token"
        );
        let sub = claims["sub"].as_str().unwrap().to_string();
        assert_eq!(sub.len(), 40);
        // the profile: Jackson's fields and OIDC claims, userinfo merged
        assert_eq!(info["sub"], sub.as_str());
        assert_eq!(info["email"], "jane@acme.test");
        assert_eq!(info["firstName"], "Jane");
        assert_eq!(info["family_name"], "Doe");
        assert_eq!(info["groups"], json!(["engineering", "admins"]));
        assert_eq!(info["requested"]["tenant"], "globex.com");
        assert_eq!(info["raw"]["email_verified"], true);
        assert!(info["raw"].get("nonce").is_none() && info["raw"].get("aud").is_none());

        // stable sub: the same IdP user gets the same sub, another user another one
        let (tokens, _) = app_login(&s, &client_id, &client_secret).await;
        assert_eq!(
            jwt_claims(tokens["id_token"].as_str().unwrap())["sub"],
            sub.as_str()
        );
        op.set_user(json!({ "sub": "oidc-user-0002", "email": "john@acme.test" }))
            .await;
        let (_, info) = app_login(&s, &client_id, &client_secret).await;
        assert_ne!(info["sub"], sub.as_str());
        assert_eq!(info["email"], "john@acme.test");

        // the tenant/product form reaches it too
        let (_, challenge) = pkce_pair();
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair(
                "client_id",
                &format!("tenant=globex.com&product={}", s.product),
            )
            .append_pair("redirect_uri", APP_REDIRECT)
            .append_pair("state", "s2")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let landed = browse(
            &browser(),
            &format!("{}/api/oauth/authorize?{q}", s.app.base),
            APP_REDIRECT,
        )
        .await;
        assert!(landed.is_ok(), "{landed:?}");
    })
    .await;
}

#[tokio::test]
async fn idp_errors_replayed_and_forged_states_are_refused_with_a_reference() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let (op, idp_client, idp_secret) = registered_provider(&s).await;
        let (_, conn) = oidc_connection(&s, "globex.com", &op.url, &idp_client, &idp_secret).await;
        let callback = conn["oidcProvider"]["redirectUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let client_id = conn["clientID"].as_str().unwrap().to_string();

        // the IdP refuses: its words are on the error page, with a reference id
        op.deny_next("access_denied", "User is not assigned to this application")
            .await;
        let (_, challenge) = pkce_pair();
        let (status, page) = browse(
            &browser(),
            &authorize_url(&s, &client_id, "st", &challenge),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("data-testid=\"reference\""), "{page}");
        assert!(
            page.contains("User is not assigned to this application"),
            "{page}"
        );

        // a callback used twice: the second finds its state consumed
        let b = browser();
        let at_callback = browse(
            &b,
            &authorize_url(&s, &client_id, "st", &challenge),
            &callback,
        )
        .await
        .unwrap();
        let first = browse(&b, &at_callback, APP_REDIRECT).await;
        assert!(first.is_ok(), "{first:?}");
        let (status, page) = browse(&b, &at_callback, APP_REDIRECT).await.unwrap_err();
        assert_eq!(status, 403);
        assert!(page.contains("expired"), "{page}");

        // a state Gatehouse never issued, and no state at all
        let (status, page) = browse(
            &b,
            &format!("{callback}?code=x&state=_forged"),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        assert_eq!(status, 403);
        assert!(page.contains("data-testid=\"reference\""));
        let (status, _) = browse(&b, &format!("{callback}?code=x"), APP_REDIRECT)
            .await
            .unwrap_err();
        assert_eq!(status, 400);

        // an answer naming another issuer (RFC 9207 `iss`) is refused before any token request
        let at_callback = browse(
            &b,
            &authorize_url(&s, &client_id, "st", &challenge),
            &callback,
        )
        .await
        .unwrap();
        let mut forged = url::Url::parse(&at_callback).unwrap();
        let pairs: Vec<(String, String)> = forged
            .query_pairs()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    if k == "iss" {
                        "https://evil.example.com".to_string()
                    } else {
                        v.to_string()
                    },
                )
            })
            .collect();
        forged.query_pairs_mut().clear().extend_pairs(pairs);
        let (status, _) = browse(&b, forged.as_str(), APP_REDIRECT).await.unwrap_err();
        assert_eq!(status, 403);
    })
    .await;
}

#[tokio::test]
async fn oidc_settings_are_checked_when_saved() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let (op, cid, secret) = registered_provider(&s).await;
        // the discovery document names another issuer (127.0.0.1, not localhost)
        let port = op.url.rsplit(':').next().unwrap();
        let (status, body) = oidc_connection(
            &s,
            "globex.com",
            &format!("http://localhost:{port}"),
            &cid,
            &secret,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("names issuer"), "{body}");
        // nothing listening
        let (status, body) =
            oidc_connection(&s, "globex.com", "http://127.0.0.1:9", &cid, &secret).await;
        assert_eq!(status, 400, "{body}");
        // no secret, no client id
        let (status, body) = oidc_connection(&s, "globex.com", &op.url, &cid, "").await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("client secret"), "{body}");
        let (status, _) = oidc_connection(&s, "globex.com", &op.url, "", &secret).await;
        assert_eq!(status, 400);
        let (_, list) = s
            .api(
                Method::GET,
                &[("tenant", "globex.com"), ("product", &s.product)],
                None,
            )
            .await;
        assert_eq!(list, json!([]), "nothing half-saved");
        // the discovery URL itself is accepted too
        let (status, body) = oidc_connection(
            &s,
            "globex.com",
            &format!("{}/.well-known/openid-configuration", op.url),
            &cid,
            &secret,
        )
        .await;
        assert_eq!(status, 200, "{body}");

        // without the operator switch, plain http and local addresses are refused
        let strict = Sso::new(engine).await;
        let (status, body) = oidc_connection(&strict, "globex.com", &op.url, &cid, &secret).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("must use https"), "{body}");
        let (status, body) =
            oidc_connection(&strict, "globex.com", "https://127.0.0.1:9", &cid, &secret).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains("private or local"), "{body}");
    })
    .await;
}

/// The reason a dashboard "Test connection" through the fake shows.
async fn tested(s: &Sso, connection_id: &str) -> String {
    let start = format!(
        "{}/sso-test/start/{connection_id}?team={}&product={}",
        s.app.base, s.team, s.product
    );
    let (status, page) = browse(&s.owner.http, &start, "never").await.unwrap_err();
    assert_eq!(status, 200, "{page}");
    page
}

#[tokio::test]
async fn forged_misaddressed_and_stale_id_tokens_are_refused() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let fake = FakeIdp::start().await;
        let (status, conn) = oidc_connection(
            &s,
            "globex.com",
            &fake.url,
            FAKE_CLIENT_ID,
            FAKE_CLIENT_SECRET,
        )
        .await;
        assert_eq!(status, 200, "{conn}");
        let id = conn["id"].as_str().unwrap().to_string();
        let page = tested(&s, &id).await;
        assert!(page.contains("data-testid=\"test-success\""), "{page}");
        assert!(page.contains("Mustermann"), "userinfo merged: {page}");

        for (m, reason) in [
            (Misbehave::WrongAudience, "audience"),
            (Misbehave::WrongIssuer, "issuer"),
            (Misbehave::BadSignature, "signature"),
            (Misbehave::Expired, "expired"),
            (Misbehave::WrongNonce, "nonce"),
            (Misbehave::HmacWithClientSecret, "HS256"),
            (Misbehave::UserinfoOtherSubject, "another subject"),
        ] {
            fake.misbehave(m);
            let page = tested(&s, &id).await;
            assert!(
                page.contains("data-testid=\"test-failure\""),
                "{m:?}: {page}"
            );
            assert!(
                page.to_lowercase().contains(&reason.to_lowercase()),
                "{m:?}: {page}"
            );
        }

        // a wrong client secret (PATCH changes only the secret; the rest is kept)
        fake.misbehave(Misbehave::Nothing);
        let patch = |secret: &str| {
            json!({
                "clientID": conn["clientID"], "clientSecret": conn["clientSecret"],
                "oidcClientSecret": secret,
            })
        };
        let (status, body) = s
            .api(Method::PATCH, &[], Some(patch("not-the-secret")))
            .await;
        assert!(status < 300, "{status} {body}");
        let page = tested(&s, &id).await;
        assert!(page.contains("invalid_client"), "{page}");
        let (status, body) = s
            .api(Method::PATCH, &[], Some(patch(FAKE_CLIENT_SECRET)))
            .await;
        assert!(status < 300, "{status} {body}");
        assert!(tested(&s, &id)
            .await
            .contains("data-testid=\"test-success\""));

        // the app's own sign-in is refused the same way, with a reference id
        fake.misbehave(Misbehave::WrongAudience);
        let (_, challenge) = pkce_pair();
        let (status, page) = browse(
            &browser(),
            &authorize_url(&s, conn["clientID"].as_str().unwrap(), "st", &challenge),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        assert_eq!(status, 403);
        assert!(page.contains("data-testid=\"reference\""), "{page}");
    })
    .await;
}

#[tokio::test]
async fn keys_and_discovery_are_cached_by_their_headers_and_refetched_on_rotation() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let fake = FakeIdp::start().await; // max-age=600
        let (_, conn) = oidc_connection(
            &s,
            "globex.com",
            &fake.url,
            FAKE_CLIENT_ID,
            FAKE_CLIENT_SECRET,
        )
        .await;
        let (cid, secret) = (
            conn["clientID"].as_str().unwrap(),
            conn["clientSecret"].as_str().unwrap(),
        );
        assert_eq!(fake.hits(), (1, 1), "fetched once when saved");
        app_login(&s, cid, secret).await;
        app_login(&s, cid, secret).await;
        assert_eq!(fake.hits(), (1, 1), "served from the cache");

        // the IdP rotates its key: the unknown kid makes Gatehouse fetch the keys again
        // (no sooner than 10 s after the last fetch)
        s.app.clock.advance(Duration::seconds(11));
        fake.rotate();
        app_login(&s, cid, secret).await;
        assert_eq!(fake.hits(), (1, 2));

        // max-age passes: both are fetched again; with no-store, at every use (the
        // discovery document twice per sign-in: for the redirect and for the callback)
        fake.cache_control(Some("no-store"));
        s.app.clock.advance(Duration::seconds(601));
        app_login(&s, cid, secret).await;
        assert_eq!(fake.hits(), (3, 3));
        app_login(&s, cid, secret).await;
        assert_eq!(fake.hits(), (5, 4));
    })
    .await;
}

#[tokio::test]
async fn a_setup_link_can_configure_an_oidc_idp_for_its_tenant_only() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        let (op, cid, secret) = registered_provider(&s).await;
        // the customer's IdP signs in the customer's own people
        op.set_user(json!({ "email": "jane@globex.com" })).await;
        let (token, link_id, _) = crate::setup_links::create_link(&s, "globex.com", "3").await;

        let customer = Client::new(&s.app);
        let page = customer.rpc("setup/get", &[("token", &token)]).await;
        let redirect_uri = format!("{}/api/oauth/oidc/{link_id}", s.app.base);
        assert_eq!(
            page.body["sp"]["oidc_redirect_uri"],
            redirect_uri.as_str(),
            "the link's own redirect URI, the same before and after Save"
        );
        set_redirect_uri(&cid, &redirect_uri).await;
        let submit = |intent: &'static str, secret: String| {
            let (customer, token, url, cid) =
                (&customer, token.clone(), op.url.clone(), cid.clone());
            async move {
                customer
                    .rpc(
                        "setup/save",
                        &[
                            ("token", token.as_str()),
                            ("intent", intent),
                            ("metadataSource", "oidc"),
                            ("rawMetadata", ""),
                            ("metadataUrl", ""),
                            ("oidcDiscoveryUrl", url.as_str()),
                            ("oidcClientId", cid.as_str()),
                            ("oidcClientSecret", secret.as_str()),
                        ],
                    )
                    .await
            }
        };
        let bad = submit("test", String::new()).await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        assert!(
            bad.body.to_string().contains("oidc_client_secret"),
            "{:?}",
            bad.body
        );

        // Test before Save: the settings are checked and a real sign-in runs through
        // them (twice: the second Test keeps the secret given to the first)
        for secret in [secret.clone(), String::new()] {
            let tried = submit("test", secret).await;
            assert_eq!(tried.status, 200, "{:?}", tried.body);
            assert!(tried.body["saved"].is_null());
            let start = tried.body["test_url"].as_str().unwrap();
            let (status, shown) =
                browse(&customer.http, &format!("{}{start}", s.app.base), "never")
                    .await
                    .unwrap_err();
            assert_eq!(status, 200, "{shown}");
            assert!(shown.contains("data-testid=\"test-success\""), "{shown}");
            assert!(shown.contains("jane@globex.com"), "{shown}");
        }
        let connections = s.app.store.connections(&s.product).await.unwrap();
        assert!(
            connections.iter().all(|c| c.tenant != "globex.com"),
            "nothing saved by a test"
        );

        let saved = submit("save", secret.clone()).await;
        assert_eq!(saved.status, 200, "{:?}", saved.body);
        assert_eq!(saved.body["saved"]["protocol"], "oidc");
        assert_eq!(saved.body["saved"]["idp_entity_id"], op.url.as_str());

        // the admin sees it, from a setup link, speaking OIDC; the acme.com one is untouched
        let list = s
            .owner
            .rpc(
                "connections/list",
                &[("team", &s.team), ("product", &s.product)],
            )
            .await;
        let rows = list.body.as_array().unwrap();
        let globex = rows.iter().find(|c| c["tenant"] == "globex.com").unwrap();
        assert_eq!(globex["protocol"], "oidc");
        assert_eq!(globex["source"], "setup_link");
        let acme = rows.iter().find(|c| c["tenant"] == "acme.com").unwrap();
        assert_eq!(acme["protocol"], "saml");

        // the customer's test sign-in shows the profile to that browser only
        let (status, shown) = browse(
            &customer.http,
            &format!("{}/setup/{token}/test", s.app.base),
            "never",
        )
        .await
        .unwrap_err();
        assert_eq!(status, 200, "{shown}");
        assert!(shown.contains("data-testid=\"test-success\""), "{shown}");
        assert!(shown.contains("jane@globex.com"), "{shown}");
    })
    .await;
}

/// The mix-up attack (RFC 9700 §4.4): one tenant's IdP is the attacker's. Answers
/// are only accepted at the redirect URI of the connection the sign-in was sent to,
/// with the IdP's `iss` (oidc-provider always sends it and says so), and a refused
/// answer costs no token request (the honest IdP's code stays unused).
#[tokio::test]
async fn an_answer_at_another_connections_redirect_uri_is_refused() {
    each_engine(|engine| async move {
        let s = product(engine).await;
        // the victim tenant's honest IdP, and the attacker's own tenant and IdP
        let (honest, h_client, h_secret) = registered_provider(&s).await;
        let (evil, e_client, e_secret) = registered_provider(&s).await;
        let (_, victim) =
            oidc_connection(&s, "victim.example", &honest.url, &h_client, &h_secret).await;
        let (_, attacker) =
            oidc_connection(&s, "evil.example", &evil.url, &e_client, &e_secret).await;
        let r_victim = victim["oidcProvider"]["redirectUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let r_attacker = attacker["oidcProvider"]["redirectUrl"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(
            r_victim, r_attacker,
            "each connection has its own redirect URI"
        );
        for r in [&r_victim, &r_attacker] {
            assert!(
                r.starts_with(&format!("{}/api/oauth/oidc/conn_", s.app.base)),
                "{r}"
            );
        }
        let discovery: Value =
            reqwest::get(format!("{}/.well-known/openid-configuration", honest.url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(
            discovery["authorization_response_iss_parameter_supported"],
            true
        );

        // 1. The victim signs in through their tenant's connection; the honest IdP
        //    answers to the victim connection's redirect URI.
        let victim_client = victim["clientID"].as_str().unwrap();
        let (_, challenge) = pkce_pair();
        let b = browser();
        let answer = browse(
            &b,
            &authorize_url(&s, victim_client, "v", &challenge),
            &r_victim,
        )
        .await
        .unwrap();
        let answer = url::Url::parse(&answer).unwrap();
        let query = answer.query().unwrap().to_string();
        assert!(query.contains("iss="), "the IdP sends iss: {query}");

        // 2. The same answer delivered to the attacker connection's redirect URI (the
        //    mix-up): refused before any token request.
        let (status, page) = browse(&b, &format!("{r_attacker}?{query}"), APP_REDIRECT)
            .await
            .unwrap_err();
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("data-testid=\"reference\""), "{page}");

        // 3. The shared path of old: refused too.
        let (status, _) = browse(
            &b,
            &format!("{}/api/oauth/oidc?{query}", s.app.base),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        assert_eq!(status, 403);

        // 4. Without iss, or with the attacker IdP's issuer: refused.
        let strip = |q: &str, replace_iss: Option<&str>| {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "iss")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut out = url::form_urlencoded::Serializer::new(String::new());
            out.extend_pairs(pairs);
            if let Some(iss) = replace_iss {
                out.append_pair("iss", iss);
            }
            out.finish()
        };
        for q in [strip(&query, None), strip(&query, Some(&evil.url))] {
            let (status, page) = browse(&b, &format!("{r_victim}?{q}"), APP_REDIRECT)
                .await
                .unwrap_err();
            assert_eq!(status, 403, "{q}: {page}");
        }

        // 5. The attacker's own sign-in answered at the victim's redirect URI: refused.
        let attacker_client = attacker["clientID"].as_str().unwrap();
        let b2 = browser();
        let evil_answer = browse(
            &b2,
            &authorize_url(&s, attacker_client, "a", &challenge),
            &r_attacker,
        )
        .await
        .unwrap();
        let evil_query = url::Url::parse(&evil_answer)
            .unwrap()
            .query()
            .unwrap()
            .to_string();
        let (status, _) = browse(&b2, &format!("{r_victim}?{evil_query}"), APP_REDIRECT)
            .await
            .unwrap_err();
        assert_eq!(status, 403);

        // 6. The genuine answer, where it belongs, still works: nothing above spent
        //    the honest IdP's single-use code.
        let landed = browse(&b, &format!("{r_victim}?{query}"), APP_REDIRECT).await;
        assert!(landed.is_ok(), "{landed:?}");
    })
    .await;
}
