//! Every SAML rule, broken on purpose. Signed material comes from the third-party IdP;
//! tampering happens here, after signing.

use serde_json::json;

use crate::sso_support::*;
use crate::support::*;

/// A pending login and a response for it built with `overrides`; returns the page.
async fn refused_with(s: &Sso, overrides: serde_json::Value) -> String {
    let (_, relay) = s.start(&[]).await;
    let response = s.signed_for(&relay, overrides).await;
    refused(s.post_acs(&response, Some(&relay)).await).await
}

#[tokio::test]
async fn unsigned_responses_are_refused() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        refused_with(&s, json!({ "sign": "none" })).await;
    })
    .await;
}

#[tokio::test]
async fn a_certificate_inside_the_response_is_never_trusted() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        // signed by the attacker, whose certificate rides along in KeyInfo
        refused_with(&s, json!({ "key": "attacker" })).await;
        refused_with(&s, json!({ "key": "attacker", "sign": "assertion" })).await;
    })
    .await;
}

#[tokio::test]
async fn sha1_signatures_and_digests_are_refused() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        refused_with(
            &s,
            json!({ "signatureAlgorithm": "rsa-sha1", "digestAlgorithm": "sha1" }),
        )
        .await;
        refused_with(
            &s,
            json!({ "signatureAlgorithm": "rsa-sha256", "digestAlgorithm": "sha1" }),
        )
        .await;
        refused_with(
            &s,
            json!({ "signatureAlgorithm": "rsa-sha1", "digestAlgorithm": "sha256" }),
        )
        .await;
        // SHA-512 is fine
        let (_, relay) = s.start(&[]).await;
        let ok = s
            .signed_for(
                &relay,
                json!({ "signatureAlgorithm": "rsa-sha512", "digestAlgorithm": "sha512" }),
            )
            .await;
        code_from(s.post_acs(&ok, Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn changing_signed_content_breaks_the_signature() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for sign in ["response", "assertion"] {
            let (_, relay) = s.start(&[]).await;
            let xml = unb64(
                &s.signed_for(&relay, json!({ "sign": sign, "nameId": "jane@acme.test" }))
                    .await,
            );
            let tampered = xml.replace(">jane@acme.test<", ">ceo@acme.test<");
            assert_ne!(xml, tampered);
            refused(s.post_acs(&b64(&tampered), Some(&relay)).await).await;
        }
    })
    .await;
}

#[tokio::test]
async fn signature_wrapping_is_refused() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let xml = unb64(&s.signed_for(&relay, json!({ "sign": "assertion" })).await);
        // Classic XSW: keep the signed assertion, add a forged one before it.
        let start = xml.find("<saml:Assertion").unwrap();
        let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let signed_assertion = &xml[start..end];
        let forged = signed_assertion
            .replace("jane@acme.test", "ceo@acme.test")
            .replacen("ID=\"", "ID=\"forged", 1);
        let forged_without_signature = {
            let a = forged.find("<ds:Signature").unwrap();
            let b = forged.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            format!("{}{}", &forged[..a], &forged[b..])
        };
        let wrapped = format!(
            "{}{}{}",
            &xml[..start],
            forged_without_signature,
            &xml[start..]
        );
        let body = refused(s.post_acs(&b64(&wrapped), Some(&relay)).await).await;
        assert!(!body.contains("ceo@acme.test"));

        // XSW variant: the signed assertion hidden inside an Extensions element, the
        // forged one in its place.
        let (_, relay) = s.start(&[]).await;
        let xml = unb64(&s.signed_for(&relay, json!({ "sign": "assertion" })).await);
        let start = xml.find("<saml:Assertion").unwrap();
        let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let signed_assertion = xml[start..end].to_string();
        let forged = signed_assertion.replace("jane@acme.test", "ceo@acme.test");
        let hidden = format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions>");
        let status_pos = xml.find("<samlp:Status").unwrap();
        let moved = format!(
            "{}{}{}{}",
            &xml[..status_pos],
            hidden,
            &xml[status_pos..start],
            forged
        ) + &xml[end..];
        refused(s.post_acs(&b64(&moved), Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn a_comment_cannot_truncate_the_name_id() {
    each_engine(|engine| async move {
        // the full NameID's domain is an email domain of the connection (otherwise the
        // email-domain rule alone would refuse it)
        let s = Sso::with(
            engine,
            "keys=primary",
            "acme.com",
            json!({ "emailDomains": [TEST_USERS_DOMAIN, "acme.test.evil.example"] }),
        )
        .await;
        let (_, relay) = s.start(&[]).await;
        let xml = unb64(
            &s.signed_for(&relay, json!({ "nameId": "jane@acme.test.evil.example" }))
                .await,
        );
        // c14n drops comments, so the signature still verifies after this insertion;
        // a naive parser would then read "jane@acme.test".
        let with_comment = xml.replace(
            ">jane@acme.test.evil.example<",
            ">jane@acme.test<!---->.evil.example<",
        );
        assert_ne!(xml, with_comment);
        let code = code_from(s.post_acs(&b64(&with_comment), Some(&relay)).await).await;
        let (_, token) = s.token_for(&code).await;
        let (_, me) = s.userinfo(token["access_token"].as_str().unwrap()).await;
        let profile_sub_for_full = gatehouse_domain::sso::profile::subject_id(
            &s.product,
            "acme.com",
            "jane@acme.test.evil.example",
        );
        assert_eq!(
            me["sub"],
            profile_sub_for_full.as_str(),
            "the whole NameID is used"
        );
    })
    .await;
}

#[tokio::test]
async fn doctype_is_refused() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let xml = unb64(&s.signed_for(&relay, json!({})).await);
        let body = xml.trim_start_matches(|c| c != '<');
        let with_doctype = format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{body}");
        refused(s.post_acs(&b64(&with_doctype), Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn issuer_audience_destination_and_recipient_must_be_ours() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        refused_with(&s, json!({ "issuer": "https://evil.example/idp" })).await;
        refused_with(&s, json!({ "audience": "https://someone-else.example/sp" })).await;
        refused_with(&s, json!({ "audience": format!("{}/saml/prod_other", s.app.base) })).await;
        refused_with(&s, json!({ "omitAudience": true })).await;
        refused_with(&s, json!({ "destination": "https://evil.example/acs", "recipient": s.acs() })).await;
        refused_with(&s, json!({ "recipient": "https://evil.example/acs", "destination": s.acs() })).await;
        refused_with(&s, json!({ "sign": "assertion", "recipient": "https://evil.example/acs", "destination": s.acs() })).await;
    })
    .await;
}

#[tokio::test]
async fn conditions_are_required_and_time_windows_enforced() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let body = refused_with(&s, json!({ "omitConditions": true })).await;
        assert!(body.contains("Sign-in failed"));
        // expired beyond the 3-minute skew
        refused_with(
            &s,
            json!({ "notOnOrAfter": "-4m", "subjectNotOnOrAfter": "+5m" }),
        )
        .await;
        refused_with(&s, json!({ "subjectNotOnOrAfter": "-4m" })).await;
        refused_with(&s, json!({ "subjectNotOnOrAfter": null })).await;
        // not yet valid beyond the skew
        refused_with(&s, json!({ "notBefore": "+4m" })).await;
        // within the skew: accepted
        let (_, relay) = s.start(&[]).await;
        let ok = s
            .signed_for(&relay, json!({ "notOnOrAfter": "-2m", "notBefore": "+2m" }))
            .await;
        code_from(s.post_acs(&ok, Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn in_response_to_must_match_a_pending_unused_request() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        // answers another request
        let (_, relay) = s.start(&[]).await;
        let (_, other) = s.start(&[]).await;
        let response = s.signed_for(&other, json!({})).await;
        refused(s.post_acs(&response, Some(&relay)).await).await;

        // a request can be answered once
        let (_, relay) = s.start(&[]).await;
        let first = s.signed_for(&relay, json!({})).await;
        code_from(s.post_acs(&first, Some(&relay)).await).await;
        let second = s.signed_for(&relay, json!({})).await;
        refused(s.post_acs(&second, Some(&relay)).await).await;

        // an unknown request id (no RelayState): not treated as IdP-initiated
        let body = refused(
            s.post_acs(
                &s.signed_for("_0123456789abcdef0123456789abcdef01234567", json!({}))
                    .await,
                None,
            )
            .await,
        )
        .await;
        assert!(body.contains("expired"), "{body}");
    })
    .await;
}

/// The ACS verifies an app sign-in with the certificates of the connection its
/// RelayState names, before reading anything; naming another connection must gain
/// nothing. Here the attacker runs the IdP of another tenant of the same product.
#[tokio::test]
async fn a_relay_state_naming_another_connection_gains_nothing() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (status, evil) = s
            .api(
                reqwest::Method::POST,
                &[],
                Some(json!({ "tenant": "evil.example", "product": s.product, "rawMetadata": s.idp().metadata("keys=secondary").await, "redirectUrl": [APP_REDIRECT], "emailDomains": [TEST_USERS_DOMAIN] })),
            )
            .await;
        assert_eq!(status, 200, "{evil}");
        let evil_client = evil["clientID"].as_str().unwrap();
        let (_, evil_relay) = s.start(&[("client_id", evil_client)]).await;
        let evil_connection = relay_connection(&evil_relay);

        // the victim's request, on acme.com's connection
        let (_, relay) = s.start(&[]).await;
        assert_ne!(relay_connection(&relay), evil_connection);
        // the attacker's IdP answers it, and the RelayState names the attacker's connection
        let forged = s.signed_for(&relay, json!({ "key": "secondary" })).await;
        let swapped = format!("{}.{evil_connection}", request_id(&relay));
        let body = refused(s.post_acs(&forged, Some(&swapped)).await).await;
        assert!(body.contains("expired"), "{body}");
        // naming acme.com's connection, the attacker's signature does not verify
        refused(s.post_acs(&forged, Some(&relay)).await).await;
        // a made-up connection id: the request is read, and the signature checked
        // against its own connection
        let made_up = format!("{}.conn_aaaaaaaaaaaaaaaaaaaaaaaaaa", request_id(&relay));
        refused(s.post_acs(&forged, Some(&made_up)).await).await;

        // none of that used the request up: acme.com's IdP can still answer it
        let genuine = s.signed_for(&relay, json!({})).await;
        code_from(s.post_acs(&genuine, Some(&made_up)).await).await;
    })
    .await;
}

/// A "Test connection" sign-in's request cannot be answered as an app sign-in (which
/// would send a code to an app), whatever the RelayState says.
#[tokio::test]
async fn a_test_sign_in_cannot_be_answered_as_an_app_sign_in() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, app_relay) = s.start(&[]).await;
        let connection = relay_connection(&app_relay);
        let start = format!(
            "/sso-test/start/{connection}?team={}&product={}",
            s.team, s.product
        );
        let res = s.owner.get(&start).await;
        assert_eq!(res.status().as_u16(), 303, "{start}");
        let test_relay = query_param(res.headers()["location"].to_str().unwrap(), "RelayState");
        assert!(
            !test_relay.contains('.'),
            "a test sign-in's RelayState is its request id: {test_relay}"
        );

        let response = s.signed_for(&test_relay, json!({})).await;
        let as_app = format!("{test_relay}.{connection}");
        let body = refused(s.post_acs(&response, Some(&as_app)).await).await;
        assert!(body.contains("expired"), "{body}");
        // the test itself still completes
        let res = s.post_acs(&response, Some(&test_relay)).await;
        assert_eq!(res.status().as_u16(), 303);
        let result = res.headers()["location"].to_str().unwrap().to_string();
        assert!(result.starts_with("/sso-test/"), "{result}");
    })
    .await;
}

#[tokio::test]
async fn pending_requests_expire() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let response = s.signed_for(&relay, json!({})).await;
        s.app.clock.advance(chrono::Duration::minutes(16));
        refused(s.post_acs(&response, Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn an_assertion_is_accepted_once() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=primary", "acme.com", json!({ "allowIdpInitiated": true })).await;
        let response = s
            .idp()
            .sign(json!({ "destination": s.acs(), "audience": s.sp_entity_id(), "assertionId": "_replayed-assertion-1" }))
            .await;
        code_from(s.post_acs(&response, None).await).await;
        let body = refused(s.post_acs(&response, None).await).await;
        assert!(body.contains("Sign-in failed"), "{body}");
    })
    .await;
}

/// One response posted many times at once (a double click, a replaying proxy) signs
/// in once: one code, every other post refused. On PostgreSQL the posts' completions
/// share statements (the store batches them); sharing one must not share the win.
#[tokio::test]
async fn one_response_posted_many_times_at_once_signs_in_once() {
    each_engine(|engine| async move {
        let s = std::sync::Arc::new(Sso::new(engine).await);
        let (_, relay) = s.start(&[]).await;
        let response = s.signed_for(&relay, json!({})).await;
        let mut posts = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (s, response, relay) = (s.clone(), response.clone(), relay.clone());
            posts.spawn(async move {
                let res = s.post_acs(&response, Some(&relay)).await;
                res.status().as_u16()
            });
        }
        let mut statuses = posts.join_all().await;
        statuses.sort_unstable();
        assert_eq!(statuses[0], 303, "{statuses:?}");
        assert!(statuses[1..].iter().all(|s| *s >= 400), "{statuses:?}");
    })
    .await;
}

#[tokio::test]
async fn exactly_one_assertion() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let xml = unb64(&s.signed_for(&relay, json!({ "sign": "response" })).await);
        let start = xml.find("<saml:Assertion").unwrap();
        let end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let doubled = format!(
            "{}{}{}",
            &xml[..end],
            &xml[start..end].replacen("ID=\"", "ID=\"x", 1),
            &xml[end..]
        );
        refused(s.post_acs(&b64(&doubled), Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn an_idp_error_status_is_shown_as_the_idps_error() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let response = s
            .signed_for(&relay, json!({ "status": { "code": "urn:oasis:names:tc:SAML:2.0:status:Responder", "subCode": "urn:oasis:names:tc:SAML:2.0:status:RequestDenied", "message": "User is not assigned to this application" } }))
            .await;
        let body = refused(s.post_acs(&response, Some(&relay)).await).await;
        assert!(body.contains("Your identity provider refused the sign-in"), "{body}");
        assert!(body.contains("User is not assigned to this application"), "{body}");
        assert!(body.contains("Responder"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn garbage_is_refused_with_a_reference() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for junk in ["not base64 at all!!", &b64("<not-saml/>"), &b64("<<<"), ""] {
            let res = s.post_acs(junk, Some("whatever")).await;
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            assert!(status >= 400, "{junk}: {status}");
            assert!(body.contains("data-testid=\"reference\""), "{body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_disabled_connection_does_not_sign_anyone_in() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let response = s.signed_for(&relay, json!({})).await;
        let (status, _) = s
            .api(reqwest::Method::PATCH, &[], Some(json!({ "clientID": s.client_id, "clientSecret": s.client_secret, "deactivated": true })))
            .await;
        assert_eq!(status, 200);
        refused(s.post_acs(&response, Some(&relay)).await).await;
        let res = s.authorize(&[]).await;
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(APP_REDIRECT) && location.contains("error=access_denied"), "{location}");
    })
    .await;
}

#[tokio::test]
async fn idp_initiated_sign_in_refuses_to_guess_between_tenants() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=primary", "a.example", json!({ "allowIdpInitiated": true })).await;
        let (status, _) = s
            .api(
                reqwest::Method::POST,
                &[],
                Some(json!({ "tenant": "b.example", "product": s.product, "rawMetadata": s.idp().metadata("keys=primary").await, "allowIdpInitiated": true })),
            )
            .await;
        assert_eq!(status, 200);
        let response = s.idp().sign(json!({ "destination": s.acs(), "audience": s.sp_entity_id() })).await;
        let body = refused(s.post_acs(&response, None).await).await;
        assert!(body.contains("Start sign-in from the application"), "{body}");
    })
    .await;
}

/// libxmlsec1 keys are loaded once per thread and reused (vendor/samael,
/// GATEHOUSE-PATCH.md): a key loaded for one certificate never verifies for another.
/// The servers below share this test's thread, so the second and third checks run
/// with both keys already loaded.
#[tokio::test]
async fn a_loaded_key_only_ever_verifies_for_its_own_certificate() {
    each_engine(|engine| async move {
        let primary = Sso::with(engine, "keys=primary", "acme.com", json!({})).await;
        let secondary = Sso::with(engine, "keys=secondary", "acme.com", json!({})).await;
        for (s, good, other) in [
            (&primary, "primary", "secondary"),
            (&secondary, "secondary", "primary"),
            (&primary, "primary", "secondary"),
        ] {
            let (_, relay) = s.start(&[]).await;
            let response = s.signed_for(&relay, json!({ "key": good })).await;
            code_from(s.post_acs(&response, Some(&relay)).await).await;
            refused_with(s, json!({ "key": other })).await;
            refused_with(s, json!({ "key": other, "sign": "assertion" })).await;
        }
    })
    .await;
}

/// Verification runs on several threads at once: every genuine response among many
/// concurrent ones (signed with either pinned key) must verify, and every forged one
/// must not, whichever thread checks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifications_never_mix_up_their_answers() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=both", "acme.com", json!({})).await;
        for round in 0..4 {
            let mut signed = Vec::new();
            for i in 0..48 {
                let (_, relay) = s.start(&[]).await;
                let key = if i % 2 == 0 { "primary" } else { "secondary" };
                let mut response = s.signed_for(&relay, json!({ "key": key })).await;
                let forged = i % 3 == 0;
                if forged {
                    // the same response signed by a key nobody pinned
                    response = s.signed_for(&relay, json!({ "key": "attacker" })).await;
                }
                signed.push((relay, response, forged));
            }
            let mut posts = tokio::task::JoinSet::new();
            for (i, (relay, response, _)) in signed.iter().enumerate() {
                let (http, acs) = (s.http.clone(), s.acs());
                let form = [
                    ("SAMLResponse", response.clone()),
                    ("RelayState", relay.clone()),
                ];
                posts.spawn(async move {
                    let res = http.post(acs).form(&form).send().await.unwrap();
                    let status = res.status().as_u16();
                    (i, status, res.text().await.unwrap_or_default())
                });
            }
            let mut answers = posts.join_all().await;
            answers.sort_by_key(|(i, _, _)| *i);
            for ((_, _, forged), (_, status, body)) in signed.iter().zip(answers) {
                if *forged {
                    assert!(
                        status >= 400,
                        "round {round}: a forged response was accepted"
                    );
                } else {
                    assert_eq!(
                        status, 303,
                        "round {round}: a genuine response was refused: {body}"
                    );
                }
            }
        }
    })
    .await;
}
