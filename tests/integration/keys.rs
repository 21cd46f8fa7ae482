//! Signing keys rotate without an outage: the next key is published before it signs
//! (JWKS and SP metadata list both), the old one stays published until nothing it
//! signed can still be valid, and every instance reads the schedule from the
//! database.

use chrono::Duration;
use gatehouse_domain::keys::RotateOptions;
use gatehouse_domain::sso::keys::KeyPurpose;
use gatehouse_domain::DomainError;
use serde_json::{json, Value};

use crate::idp::OwnIdp;
use crate::sso_support::*;
use crate::support::*;

fn kid(jwt: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

async fn jwks(s: &Sso) -> Value {
    s.http
        .get(format!("{}/oauth/jwks", s.app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn id_token(s: &Sso) -> String {
    let code = s.login(&[]).await;
    let (status, token) = s.token_for(&code).await;
    assert_eq!(status, 200, "{token}");
    token["id_token"].as_str().unwrap().to_string()
}

fn rotate_in(grace_s: i64, retire_s: i64) -> RotateOptions {
    RotateOptions {
        grace: Duration::seconds(grace_s),
        retire_after: Some(Duration::seconds(retire_s)),
    }
}

#[tokio::test]
async fn a_relying_party_that_cached_the_jwks_keeps_validating_across_the_switch() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let before = id_token(&s).await;
        let old = kid(&before);
        assert_eq!(kids(&jwks(&s).await), std::slice::from_ref(&old));

        let rotation = s
            .app
            .services
            .keys
            .rotate(KeyPurpose::Jwt, rotate_in(60, 120))
            .await
            .unwrap();
        let new = rotation.next.id.clone();
        assert_eq!(rotation.current.id, old);

        // published at once, the signing key first; the RP refreshes its cache now
        let cached = jwks(&s).await;
        assert_eq!(kids(&cached), [old.clone(), new.clone()]);
        // a second rotation before the switch is refused, nothing stored
        let again = s
            .app
            .services
            .keys
            .rotate(KeyPurpose::Jwt, rotate_in(60, 120))
            .await;
        assert!(matches!(again, Err(DomainError::Conflict(_))), "{again:?}");
        assert_eq!(kids(&jwks(&s).await), kids(&cached));

        // during the grace period the old key still signs
        let during = id_token(&s).await;
        assert_eq!(kid(&during), old);
        verify_id_token(&during, &cached);

        // after the switch the new key signs, and the cached JWKS already has it
        s.app.clock.advance(Duration::seconds(61));
        let after = id_token(&s).await;
        assert_eq!(kid(&after), new);
        let claims = verify_id_token(&after, &cached);
        assert_eq!(claims["aud"], s.client_id);
        // tokens signed before the switch still verify against the JWKS served now
        let now = jwks(&s).await;
        assert_eq!(kids(&now), [new.clone(), old.clone()]);
        verify_id_token(&before, &now);
        verify_id_token(&during, &now);

        // once nothing the old key signed can be valid, it is gone
        s.app.clock.advance(Duration::seconds(120));
        assert_eq!(kids(&jwks(&s).await), std::slice::from_ref(&new));
        let listed = s.app.services.keys.list().await.unwrap();
        let state = |id: &str| {
            listed
                .iter()
                .find(|k| k.schedule.id == id)
                .map(|k| k.state.as_str())
                .unwrap()
        };
        assert_eq!(state(&old), "retired");
        assert_eq!(state(&new), "active");

        // the SAML key was not touched
        let sp = listed
            .iter()
            .filter(|k| k.purpose == KeyPurpose::SamlSp)
            .count();
        assert_eq!(sp, 1);
    })
    .await;
}

fn certificates(metadata: &str) -> Vec<String> {
    metadata
        .split("<ds:X509Certificate>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().trim().to_string())
        .collect()
}

/// The IdP's answer to an AuthnRequest, as JSON, or its refusal.
async fn idp_answer(to: &str) -> Result<Value, String> {
    let res = reqwest::get(format!("{to}&format=json")).await.unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    if status.is_success() {
        Ok(serde_json::from_str(&body).unwrap())
    } else {
        Err(body)
    }
}

#[tokio::test]
async fn an_idp_that_pinned_the_old_sp_certificate_keeps_working_during_the_overlap() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let own = OwnIdp::start();
        let (status, connection) = s
            .api(
                reqwest::Method::POST,
                &[],
                Some(json!({
                    "tenant": "pinned.com",
                    "product": s.product,
                    "name": "Pinned",
                    "rawMetadata": own.idp.metadata("keys=primary").await,
                    "defaultRedirectUrl": APP_REDIRECT,
                    "redirectUrl": [APP_REDIRECT],
                    "emailDomains": [TEST_USERS_DOMAIN],
                })),
            )
            .await;
        assert_eq!(status, 200, "{connection}");
        let client_id = connection["clientID"].as_str().unwrap().to_string();
        let metadata_url = format!("{}/saml/{}/metadata", s.app.base, s.product);
        let metadata = || async {
            reqwest::get(&metadata_url)
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };

        // the IdP admin pins the SP certificate from the metadata
        let old = certificates(&metadata().await);
        assert_eq!(old.len(), 1);
        own.configure(json!({ "spCertificate": old[0] })).await;
        let sign_in = || async {
            let to = authorize_at(&s.http, &s.app.base, &client_id)
                .await
                .unwrap();
            assert!(to.starts_with(&own.idp.url), "{to}");
            idp_answer(&to).await
        };
        sign_in()
            .await
            .expect("the pinned IdP verifies the AuthnRequest");

        s.app
            .services
            .keys
            .rotate(KeyPurpose::SamlSp, rotate_in(60, 120))
            .await
            .unwrap();
        // the overlap: both certificates published, the current one first, and the
        // requests still signed with it
        let both = certificates(&metadata().await);
        assert_eq!(both.len(), 2);
        assert_eq!(both[0], old[0]);
        let answer = sign_in().await.expect("still verified during the overlap");
        // the whole sign-in finishes
        let res = s
            .http
            .post(answer["acsUrl"].as_str().unwrap())
            .form(&[
                ("SAMLResponse", answer["samlResponse"].as_str().unwrap()),
                ("RelayState", answer["relayState"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);

        // after the switch an IdP that never took the new certificate refuses, and
        // one that did accepts
        s.app.clock.advance(Duration::seconds(61));
        let refused = sign_in().await.expect_err("the old pin no longer verifies");
        assert!(refused.contains("does not verify"), "{refused}");
        own.configure(json!({ "spCertificate": both[1] })).await;
        sign_in().await.expect("the new certificate verifies");
        let now = certificates(&metadata().await);
        assert_eq!(now, [both[1].clone(), both[0].clone()]);

        s.app.clock.advance(Duration::seconds(120));
        assert_eq!(certificates(&metadata().await), [both[1].clone()]);
    })
    .await;
}
