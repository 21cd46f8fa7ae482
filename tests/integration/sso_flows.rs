//! Complete logins through the third-party IdP (samlify).

use serde_json::json;

use crate::idp::idp;
use crate::sso_support::*;
use crate::support::*;

#[tokio::test]
async fn sp_initiated_login_gives_code_token_id_token_and_userinfo() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (to, relay) = s.start(&[]).await;
        // RelayState: the request id and the connection, within SAML's 80 bytes
        let id = request_id(&relay);
        assert!(id.starts_with('_') && id.len() == 41, "{relay}");
        assert!(
            relay_connection(&relay).starts_with("conn_") && relay.len() <= 80,
            "{relay}"
        );
        // the AuthnRequest is signed (HTTP-Redirect binding)
        assert!(to.contains("SigAlg=") && to.contains("Signature="));

        let (acs, relay_back, response) = idp().answer(&to).await;
        assert_eq!(relay_back.as_deref(), Some(relay.as_str()));
        let res = s.post_acs(&response, relay_back.as_deref()).await;
        assert_eq!(res.status().as_u16(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.contains("state=st4te"), "{location}");
        let code = code_from(res).await;
        let _ = acs;

        let (status, token) = s.token_for(&code).await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(token["expires_in"], 3600);
        let claims = jwt_claims(token["id_token"].as_str().unwrap());
        assert_eq!(claims["iss"], s.app.base.as_str());
        assert_eq!(claims["aud"], s.client_id.as_str());
        assert_eq!(claims["nonce"], "n0nce");
        assert_eq!(claims["email"], "jane@acme.test");
        let sub = claims["sub"].as_str().unwrap().to_string();

        let (status, me) = s.userinfo(token["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["id"], sub.as_str());
        assert_eq!(me["sub"], sub.as_str());
        assert_eq!(me["email"], "jane@acme.test");
        assert_eq!(me["firstName"], "Jane");
        assert_eq!(me["lastName"], "Doe");
        assert_eq!(me["given_name"], "Jane");
        assert_eq!(me["family_name"], "Doe");
        assert_eq!(me["groups"], json!(["engineering", "admins"]));
        assert_eq!(me["roles"], json!(["admin"]));
        assert_eq!(me["requested"]["tenant"], "acme.com");
        assert_eq!(me["requested"]["product"], s.product.as_str());
        assert_eq!(me["raw"]["email"], "jane@acme.test");

        // the same person gets the same sub next time
        let code = s.login(&[]).await;
        let (_, token) = s.token_for(&code).await;
        assert_eq!(
            jwt_claims(token["id_token"].as_str().unwrap())["sub"],
            sub.as_str()
        );
    })
    .await;
}

#[tokio::test]
async fn discovery_and_jwks_describe_the_provider() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let d: serde_json::Value =
            reqwest::get(format!("{}/.well-known/openid-configuration", s.app.base))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(d["issuer"], s.app.base.as_str());
        assert_eq!(
            d["authorization_endpoint"],
            format!("{}/api/oauth/authorize", s.app.base)
        );
        assert_eq!(
            d["token_endpoint"],
            format!("{}/api/oauth/token", s.app.base)
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        let jwks: serde_json::Value = reqwest::get(d["jwks_uri"].as_str().unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        // the id_token's kid is published
        let code = s.login(&[]).await;
        let (_, token) = s.token_for(&code).await;
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token["id_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], key["kid"]);
        assert_eq!(header["alg"], "RS256");
    })
    .await;
}

#[tokio::test]
async fn jackson_tenant_product_clients_use_pkce_or_the_secret_verifier() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let client = format!("tenant=acme.com&product={}", s.product);
        let (verifier, challenge) = pkce_pair();
        let code = s
            .login(&[
                ("client_id", &client),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .await;
        let (status, token) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP_REDIRECT),
                ("client_id", &client),
                ("code_verifier", &verifier),
            ])
            .await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(
            jwt_claims(token["id_token"].as_str().unwrap())["aud"],
            client.as_str()
        );

        // separate tenant & product parameters (client_id=dummy), secret verifier, no PKCE
        let scope = s
            .app
            .services
            .access
            .authenticate_api_key(&s.api_key)
            .await
            .unwrap();
        let verifier_secret = s
            .app
            .services
            .connections
            .secret_verifier(&scope)
            .await
            .unwrap();
        let code = s
            .login(&[
                ("client_id", "dummy"),
                ("tenant", "acme.com"),
                ("product", &s.product),
            ])
            .await;
        let (status, body) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP_REDIRECT),
                ("client_id", &client),
                ("client_secret", "wrong"),
            ])
            .await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client");
        let code = s
            .login(&[
                ("client_id", "dummy"),
                ("tenant", "acme.com"),
                ("product", &s.product),
            ])
            .await;
        let (status, body) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP_REDIRECT),
                ("client_id", &client),
                ("client_secret", &verifier_secret),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

#[tokio::test]
async fn client_secret_basic_and_post_both_authenticate() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        let res = s
            .http
            .post(format!("{}/api/oauth/token", s.app.base))
            .basic_auth(&s.client_id, Some(&s.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", APP_REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
    })
    .await;
}

#[tokio::test]
async fn idp_initiated_login_lands_on_the_default_redirect_url_when_allowed() {
    each_engine(|engine| async move {
        let refused_by_default = Sso::new(engine).await;
        let response = refused_by_default
            .idp()
            .sign(json!({ "destination": refused_by_default.acs(), "audience": refused_by_default.sp_entity_id() }))
            .await;
        let body = refused(refused_by_default.post_acs(&response, None).await).await;
        assert!(body.contains("Start sign-in from the application"), "{body}");

        let s = Sso::with(engine, "keys=primary", "acme.com", json!({ "allowIdpInitiated": true })).await;
        let page: serde_json::Value = reqwest::get(format!(
            "{}/idp-initiated?acs={}&audience={}&format=json",
            idp().url,
            urlencode(&s.acs()),
            urlencode(&s.sp_entity_id())
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let res = s.post_acs(page["samlResponse"].as_str().unwrap(), None).await;
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(!location.contains("state="), "{location}");
        let code = code_from(res).await;
        let (status, token) = s.token_for(&code).await;
        assert_eq!(status, 200, "{token}");
        assert!(token.get("id_token").is_none(), "no openid scope was requested");
        let (_, me) = s.userinfo(token["access_token"].as_str().unwrap()).await;
        assert_eq!(me["email"], "jane@acme.test");
    })
    .await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn signed_assertion_only_and_both_signed_are_accepted() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for sign in ["assertion", "both", "response"] {
            let (_, relay) = s.start(&[]).await;
            let response = s.signed_for(&relay, json!({ "sign": sign })).await;
            let code = code_from(s.post_acs(&response, Some(&relay)).await).await;
            assert_eq!(s.token_for(&code).await.0, 200, "{sign}");
        }
    })
    .await;
}

#[tokio::test]
async fn rotated_certificates_work_when_both_are_pinned() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=both", "acme.com", json!({})).await;
        assert_eq!(
            s.connection["idpMetadata"]["certificates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        for key in ["primary", "secondary"] {
            let (_, relay) = s.start(&[]).await;
            let response = s.signed_for(&relay, json!({ "key": key })).await;
            code_from(s.post_acs(&response, Some(&relay)).await).await;
        }
        // a connection pinned to the primary only refuses the secondary
        let old = Sso::new(engine).await;
        let (_, relay) = old.start(&[]).await;
        let response = old.signed_for(&relay, json!({ "key": "secondary" })).await;
        let body = refused(old.post_acs(&response, Some(&relay)).await).await;
        assert!(body.contains("Sign-in failed"));
    })
    .await;
}

#[tokio::test]
async fn ecdsa_signatures_are_accepted_from_a_pinned_ec_certificate() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=primary,ec", "acme.com", json!({})).await;
        let (_, relay) = s.start(&[]).await;
        let response = s.signed_for(&relay, json!({ "key": "ec" })).await;
        code_from(s.post_acs(&response, Some(&relay)).await).await;
    })
    .await;
}

#[tokio::test]
async fn attributes_from_each_vendor_map_to_the_profile() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for profile in ["okta", "azure", "google", "adfs", "onelogin"] {
            let (_, relay) = s.start(&[]).await;
            let response = s
                .signed_for(&relay, json!({ "attributeProfile": profile }))
                .await;
            let code = code_from(s.post_acs(&response, Some(&relay)).await).await;
            let (_, token) = s.token_for(&code).await;
            let (_, me) = s.userinfo(token["access_token"].as_str().unwrap()).await;
            assert_eq!(me["email"], "jane@acme.test", "{profile}: {me}");
            assert_eq!(me["firstName"], "Jane", "{profile}");
            assert_eq!(me["lastName"], "Doe", "{profile}");
            assert!(
                me["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g == "engineering"),
                "{profile}: {me}"
            );
            if profile != "google" {
                assert_eq!(me["roles"], json!(["admin"]), "{profile}: {me}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn sub_is_per_person_and_per_product() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let mut subs = Vec::new();
        for name_id in ["jane@acme.test", "john@acme.test", "jane@acme.test"] {
            let (_, relay) = s.start(&[]).await;
            let response = s.signed_for(&relay, json!({ "nameId": name_id })).await;
            let code = code_from(s.post_acs(&response, Some(&relay)).await).await;
            let (_, token) = s.token_for(&code).await;
            subs.push(
                jwt_claims(token["id_token"].as_str().unwrap())["sub"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        assert_ne!(subs[0], subs[1]);
        assert_eq!(subs[0], subs[2]);
    })
    .await;
}

#[tokio::test]
async fn post_binding_is_used_when_the_idp_offers_only_post() {
    each_engine(|engine| async move {
        let s = Sso::with(engine, "keys=primary&bindings=post", "acme.com", json!({})).await;
        let res = s.authorize(&[]).await;
        assert_eq!(res.status().as_u16(), 200);
        let page = res.text().await.unwrap();
        assert!(
            page.contains(&format!("action=\"{}/sso\"", idp().url)),
            "{page}"
        );
        let saml_request = page
            .split("name=\"SAMLRequest\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let xml = unb64(saml_request);
        assert!(
            xml.contains("<ds:SignatureValue>") && !xml.contains("<ds:SignatureValue/>"),
            "signed: {xml}"
        );
        let relay = page
            .split("name=\"RelayState\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        // the IdP accepts and answers the POSTed request
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/sso", idp().url))
            .form(&[
                ("SAMLRequest", saml_request),
                ("RelayState", relay.as_str()),
                ("format", "json"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        code_from(
            s.post_acs(v["samlResponse"].as_str().unwrap(), Some(&relay))
                .await,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn several_connections_for_a_tenant_offer_a_choice() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (status, _) = s
            .api(
                reqwest::Method::POST,
                &[],
                Some(json!({ "tenant": "acme.com", "product": s.product, "name": "Acme backup IdP", "rawMetadata": idp().metadata("keys=secondary").await })),
            )
            .await;
        assert_eq!(status, 200);
        let client = format!("tenant=acme.com&product={}", s.product);
        let (verifier, challenge) = pkce_pair();
        let res = s.authorize(&[("client_id", &client), ("code_challenge", &challenge), ("code_challenge_method", "S256")]).await;
        assert_eq!(res.status().as_u16(), 200);
        let page = res.text().await.unwrap();
        assert!(page.contains("Acme Okta") && page.contains("Acme backup IdP"), "{page}");
        let choices = page.split("data-testid=\"idp-choice\"").nth(1).unwrap();
        let link = choices.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let res = s.http.get(&link).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303, "the chosen IdP gets the request");
        let _ = verifier;
    })
    .await;
}
