//! Sign-in traces: every attempt the ACS or the OIDC callback can tie to a product is
//! stored with its typed reason, the reference the user saw and the IdP's response
//! without signature material; the admin API and the dashboard read them within the
//! product only; old ones are pruned; a flood of failures is capped and never slows
//! the sign-ins down.

use chrono::Duration;
use serde_json::{json, Value};

use crate::sso_support::*;
use crate::support::*;

async fn traces(s: &Sso, api_key: &str, query: &[(&str, &str)]) -> (u16, Value) {
    s.app.services.traces.flush().await;
    let res = s
        .http
        .get(format!("{}/api/v1/sso/traces", s.app.base))
        .header("Authorization", format!("Api-Key {api_key}"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn trace(s: &Sso, api_key: &str, id: &str) -> (u16, Value) {
    let res = s
        .http
        .get(format!("{}/api/v1/sso/traces/{id}", s.app.base))
        .header("Authorization", format!("Api-Key {api_key}"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The one trace of the error page's reference.
async fn trace_of(s: &Sso, page: &str) -> Value {
    let reference = reference_on(page).to_string();
    let (status, found) = traces(s, &s.api_key, &[("referenceId", &reference)]).await;
    assert_eq!(status, 200, "{found}");
    let list = found["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "one trace for {reference}: {found}");
    assert_eq!(list[0]["referenceId"], reference.as_str());
    list[0].clone()
}

/// An app sign-in answered by `response` (made for the request in `relay`).
async fn answered(s: &Sso, overrides: Value) -> Result<String, String> {
    let (_, relay) = s.start(&[]).await;
    let response = s.signed_for(&relay, overrides).await;
    let res = s.post_acs(&response, Some(&relay)).await;
    if res.status().as_u16() == 303 {
        Ok(code_from(res).await)
    } else {
        Err(refused(res).await)
    }
}

/// The text of every `<…:{local}>` element in `xml`.
fn element_texts(xml: &str, local: &str) -> Vec<String> {
    xml.split(&format!(":{local}>"))
        .skip(1)
        .step_by(2)
        .filter_map(|after| after.split('<').next().map(str::to_string))
        .filter(|t| !t.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn every_sign_in_is_traced_with_its_reason_and_a_redacted_response() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let connection_id = s.connection["clientID"].as_str().unwrap().to_string();

        // a sign-in that works
        let (_, relay) = s.start(&[]).await;
        let response = s
            .signed_for(
                &relay,
                json!({ "nameId": "jane@acme.test", "attributes": { "email": "jane@acme.test" } }),
            )
            .await;
        let res = s.post_acs(&response, Some(&relay)).await;
        assert_eq!(res.status().as_u16(), 303);
        let (status, list) = traces(&s, &s.api_key, &[]).await;
        assert_eq!(status, 200, "{list}");
        let ok = &list["data"][0];
        assert_eq!(ok["outcome"], "success", "{list}");
        assert_eq!(ok["kind"], "saml");
        assert_eq!(ok["purpose"], "app");
        assert_eq!(ok["product"], s.product.as_str());
        assert_eq!(ok["tenant"], "acme.com");
        assert_eq!(ok["clientID"], connection_id.as_str());
        assert_eq!(ok["subject"], "jane@acme.test");
        assert_eq!(ok["email"], "jane@acme.test");
        assert!(ok["reason"].is_null() && ok["detail"].is_null(), "{ok}");
        assert!(ok["idpResponse"].is_null(), "lists leave the response out");

        // the single trace has the response, with no signature material in it
        let (status, one) = trace(&s, &s.api_key, ok["id"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{one}");
        let kept = one["data"]["idpResponse"].as_str().unwrap();
        let sent = unb64(&response);
        assert!(kept.contains("jane@acme.test"), "{kept}");
        for local in ["SignatureValue", "DigestValue", "X509Certificate"] {
            let values = element_texts(&sent, local);
            assert!(!values.is_empty(), "the IdP sent a {local}");
            for v in values {
                assert!(!kept.contains(v.trim()), "{local} kept: {kept}");
            }
        }
        assert!(kept.contains("[redacted]"), "{kept}");

        // a signed response changed after signing
        let (_, relay) = s.start(&[]).await;
        let signed = unb64(
            &s.signed_for(&relay, json!({ "nameId": "jane@acme.test" }))
                .await,
        );
        let forged = signed.replace("jane@acme.test", "ceo@acme.test");
        assert_ne!(forged, signed);
        let page = refused(s.post_acs(&b64(&forged), Some(&relay)).await).await;
        let t = trace_of(&s, &page).await;
        assert_eq!(t["outcome"], "failure");
        assert_eq!(t["reason"], "signature_invalid", "{t}");
        assert_eq!(t["clientID"], connection_id.as_str());

        // signed with a certificate the connection does not have
        let page = answered(&s, json!({ "key": "secondary" }))
            .await
            .unwrap_err();
        let t = trace_of(&s, &page).await;
        assert_eq!(t["reason"], "certificate_not_pinned", "{t}");
        assert!(t["detail"].as_str().unwrap().contains("SHA-256"), "{t}");

        // for another service provider, or to another ACS
        let page = answered(&s, json!({ "audience": "https://other.example/sp" }))
            .await
            .unwrap_err();
        assert_eq!(trace_of(&s, &page).await["reason"], "audience_mismatch");
        let page = answered(&s, json!({ "destination": "https://other.example/acs" }))
            .await
            .unwrap_err();
        assert_eq!(trace_of(&s, &page).await["reason"], "destination_mismatch");

        // an address outside the tenant: the subject is in the trace
        let page = answered(
            &s,
            json!({ "nameId": "ceo@evil.example", "attributes": { "email": "ceo@evil.example" } }),
        )
        .await
        .unwrap_err();
        let t = trace_of(&s, &page).await;
        assert_eq!(t["reason"], "email_outside_tenant_domains", "{t}");
        assert_eq!(t["subject"], "ceo@evil.example");

        // filters and pages
        let (_, failed) = traces(&s, &s.api_key, &[("outcome", "failure")]).await;
        let failed = failed["data"].as_array().unwrap().clone();
        assert_eq!(failed.len(), 5, "{failed:?}");
        assert!(failed.iter().all(|t| t["outcome"] == "failure"));
        let (_, page1) = traces(&s, &s.api_key, &[("pageLimit", "4")]).await;
        assert_eq!(page1["data"].as_array().unwrap().len(), 4);
        assert_eq!(page1["more"], true);
        let (_, page2) = traces(&s, &s.api_key, &[("pageLimit", "4"), ("pageOffset", "4")]).await;
        assert_eq!(page2["data"].as_array().unwrap().len(), 2);
        assert_eq!(page2["more"], false);
        assert_eq!(page2["data"][1]["outcome"], "success", "oldest last");
        let (_, by_tenant) = traces(&s, &s.api_key, &[("tenant", "other.com")]).await;
        assert_eq!(by_tenant["data"], json!([]));
        let (_, future) = traces(&s, &s.api_key, &[("from", "2999-01-01T00:00:00Z")]).await;
        assert_eq!(future["data"], json!([]));
        for (field, value) in [
            ("outcome", "maybe"),
            ("from", "yesterday"),
            ("pageLimit", "-1"),
        ] {
            let (status, err) = traces(&s, &s.api_key, &[(field, value)]).await;
            assert_eq!(status, 400, "{field}={value}: {err}");
            assert!(
                err["error"]["message"].as_str().unwrap().contains(field),
                "{err}"
            );
        }

        // another product's key sees none of it
        let other = Vendor::seed(&s.app.base, "keys=primary", "acme.com", json!({})).await;
        let (status, none) = traces(&s, &other.api_key, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(none["data"], json!([]));
        let (status, _) = trace(&s, &other.api_key, ok["id"].as_str().unwrap()).await;
        assert_eq!(status, 404);
        let (status, _) = traces(&s, &other.api_key, &[("product", &s.product)]).await;
        assert_eq!(status, 404);
        let (status, own) = traces(&s, &other.api_key, &[("product", &other.product)]).await;
        assert_eq!(
            status, 200,
            "naming its own product is the same as naming none"
        );
        assert_eq!(own["data"], json!([]));
        let (status, _) = traces(&s, &other.api_key, &[("product", " ")]).await;
        assert_eq!(status, 400, "a blank product is invalid, not the key's own");
        let (status, _) = traces(&s, "ghk_nope_nope", &[]).await;
        assert_eq!(status, 401);

        // the dashboard reads the same, within the team only
        let listed = s
            .owner
            .rpc(
                "traces/list",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("connection", ok["connectionId"].as_str().unwrap()),
                    ("outcome", "failure"),
                    ("offset", "0"),
                ],
            )
            .await;
        assert_eq!(listed.status, 200, "{:?}", listed.body);
        assert_eq!(listed.body["traces"].as_array().unwrap().len(), 5);
        let shown = s
            .owner
            .rpc(
                "traces/get",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("trace", ok["id"].as_str().unwrap()),
                ],
            )
            .await;
        assert_eq!(shown.status, 200, "{:?}", shown.body);
        assert!(shown.body["idpResponse"]
            .as_str()
            .unwrap()
            .contains("[redacted]"));
        let stranger = other
            .owner
            .rpc(
                "traces/get",
                &[
                    ("team", &other.team),
                    ("product", &s.product),
                    ("trace", ok["id"].as_str().unwrap()),
                ],
            )
            .await;
        assert_eq!(stranger.status, 404, "{:?}", stranger.body);
    })
    .await;
}

#[tokio::test]
async fn garbage_and_idp_initiated_attempts_are_traced_when_they_name_a_connection() {
    each_engine(|engine| async move {
        let s = Sso::with(
            engine,
            "keys=primary",
            "acme.com",
            json!({ "allowIdpInitiated": true }),
        )
        .await;
        let connection_id = s.connection["clientID"].as_str().unwrap().to_string();
        let (_, relay) = s.start(&[]).await;

        // not base64, naming the connection through the RelayState
        let page = refused(s.post_acs("%%%not base64", Some(&relay)).await).await;
        let t = trace_of(&s, &page).await;
        assert_eq!(t["reason"], "malformed_response", "{t}");
        let (_, one) = trace(&s, &s.api_key, t["id"].as_str().unwrap()).await;
        assert!(
            one["data"]["idpResponse"]
                .as_str()
                .unwrap()
                .starts_with("(not kept"),
            "{one}"
        );
        // a DOCTYPE is described, never stored
        let page = refused(
            s.post_acs(
                &b64("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"),
                Some(&relay),
            )
            .await,
        )
        .await;
        let t = trace_of(&s, &page).await;
        let (_, one) = trace(&s, &s.api_key, t["id"].as_str().unwrap()).await;
        assert!(
            !one["data"]["idpResponse"]
                .as_str()
                .unwrap()
                .contains("passwd"),
            "{one}"
        );

        // IdP-initiated, from the connection's IdP, then replayed
        let response = s
            .idp()
            .sign(json!({ "destination": s.acs(), "audience": s.sp_entity_id() }))
            .await;
        let res = s.post_acs(&response, None).await;
        assert_eq!(res.status().as_u16(), 303);
        let page = refused(s.post_acs(&response, None).await).await;
        let t = trace_of(&s, &page).await;
        assert_eq!(t["kind"], "saml_idp_initiated");
        assert_eq!(t["reason"], "replayed", "{t}");
        assert_eq!(t["clientID"], connection_id.as_str());
        let (_, ok) = traces(&s, &s.api_key, &[("outcome", "success")]).await;
        assert_eq!(ok["data"][0]["kind"], "saml_idp_initiated", "{ok}");

        // nothing names a product: logged, not stored
        let page = refused(s.post_acs(&b64("<samlp:Response/>"), None).await).await;
        let reference = reference_on(&page).to_string();
        let (_, none) = traces(&s, &s.api_key, &[("referenceId", &reference)]).await;
        assert_eq!(none["data"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_test_sign_in_is_traced_as_a_test() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let connection = relay_connection(&s.start(&[]).await.1).to_string();
        let start = format!(
            "/sso-test/start/{connection}?team={}&product={}",
            s.team, s.product
        );
        let res = s.owner.get(&start).await;
        assert_eq!(res.status().as_u16(), 303);
        let relay = query_param(res.headers()["location"].to_str().unwrap(), "RelayState");
        let response = s
            .signed_for(&relay, json!({ "audience": "https://other.example/sp" }))
            .await;
        let res = s.post_acs(&response, Some(&relay)).await;
        assert_eq!(res.status().as_u16(), 303, "a test ends on its result page");
        let (_, list) = traces(&s, &s.api_key, &[]).await;
        let t = &list["data"][0];
        assert_eq!(t["purpose"], "test", "{list}");
        assert_eq!(t["outcome"], "failure");
        assert_eq!(t["reason"], "audience_mismatch");
        assert_eq!(t["connectionId"], connection.as_str());
    })
    .await;
}

#[tokio::test]
async fn old_traces_are_pruned_after_the_retention() {
    each_engine(|engine| async move {
        let s = Sso::with_env(
            engine,
            "keys=primary",
            "acme.com",
            json!({}),
            &[("GATEHOUSE_TRACE_RETENTION_DAYS", "2".into())],
        )
        .await;
        s.login(&[]).await;
        let (_, list) = traces(&s, &s.api_key, &[]).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        s.app.clock.advance(Duration::days(1));
        s.app.services.maintenance.purge_expired().await.unwrap();
        let (_, list) = traces(&s, &s.api_key, &[]).await;
        assert_eq!(
            list["data"].as_array().unwrap().len(),
            1,
            "kept within the retention"
        );
        s.app.clock.advance(Duration::days(2));
        s.app.services.maintenance.purge_expired().await.unwrap();
        let (_, list) = traces(&s, &s.api_key, &[]).await;
        assert_eq!(list["data"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_failures_is_capped_per_connection_and_sign_ins_go_on() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let limit = gatehouse_domain::sso::trace::FAILURES_PER_CONNECTION_PER_MINUTE as usize;
        for _ in 0..limit + 30 {
            let res = s.post_acs(&b64("<samlp:Response/>"), Some(&relay)).await;
            assert!(res.status().is_client_error());
        }
        let (_, list) = traces(
            &s,
            &s.api_key,
            &[
                ("pageLimit", "100"),
                ("pageOffset", &(limit - 100).to_string()),
            ],
        )
        .await;
        assert_eq!(list["data"].as_array().unwrap().len(), 100);
        assert_eq!(list["more"], false, "no more than the cap is stored");
        assert!(s.app.services.traces.dropped() >= 30);
        // a real sign-in still works, and is traced
        s.login(&[]).await;
        let (_, ok) = traces(&s, &s.api_key, &[("outcome", "success")]).await;
        assert_eq!(ok["data"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn oidc_sign_ins_are_traced_without_codes_or_tokens() {
    use crate::oidc_flows::{
        app_login, authorize_url, oidc_connection, product, registered_provider,
    };
    use crate::oidc_peers::*;
    each_engine(|engine| async move {
        let s = product(engine).await;
        let (op, idp_client, idp_secret) = registered_provider(&s).await;
        let (_, conn) = oidc_connection(&s, "globex.com", &op.url, &idp_client, &idp_secret).await;
        let callback = conn["oidcProvider"]["redirectUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let client_id = conn["clientID"].as_str().unwrap().to_string();
        let client_secret = conn["clientSecret"].as_str().unwrap().to_string();

        let (tokens, _) = app_login(&s, &client_id, &client_secret).await;
        let (_, list) = traces(&s, &s.api_key, &[("clientID", &client_id)]).await;
        let ok = &list["data"][0];
        assert_eq!(ok["kind"], "oidc", "{list}");
        assert_eq!(ok["outcome"], "success");
        assert_eq!(ok["email"], "jane@acme.test");
        let (_, one) = trace(&s, &s.api_key, ok["id"].as_str().unwrap()).await;
        let kept = one["data"]["idpResponse"].as_str().unwrap().to_string();
        assert!(kept.contains("id_token_claims"), "{kept}");
        assert!(kept.contains("\"code\": \"[redacted]\""), "{kept}");
        for secret in [
            idp_secret.as_str(),
            client_secret.as_str(),
            tokens["access_token"].as_str().unwrap(),
        ] {
            assert!(!kept.contains(secret), "a secret is kept: {kept}");
        }

        // the IdP refuses: idp_error, with its words in the detail
        op.deny_next("access_denied", "User is not assigned to this application")
            .await;
        let (_, challenge) = pkce_pair();
        let (_, page) = browse(
            &browser(),
            &authorize_url(&s, &client_id, "st", &challenge),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        let t = trace_of(&s, &page).await;
        assert_eq!(t["reason"], "idp_error", "{t}");
        assert!(
            t["detail"].as_str().unwrap().contains("not assigned"),
            "{t}"
        );

        // a state never issued, at this connection's redirect URI
        let (_, page) = browse(
            &browser(),
            &format!("{callback}?code=x&state=_forged"),
            APP_REDIRECT,
        )
        .await
        .unwrap_err();
        let t = trace_of(&s, &page).await;
        assert_eq!(t["reason"], "oidc_state_unknown", "{t}");
        assert_eq!(t["clientID"], client_id.as_str());
    })
    .await;
}
