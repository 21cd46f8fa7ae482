//! A tenant's IdP may only vouch for its own email addresses (the "malicious IdP"
//! problem): the connection's email domains are its tenant (when a domain) and the
//! domains the vendor's admin adds; anything else is refused, unless the connection
//! explicitly accepts any domain, and then `email_verified` is `false`.

use gatehouse_domain::ports::ConnectionStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::sso_support::*;
use crate::support::*;

/// A sign-in answered with `overrides`: `Ok(userinfo, id_token claims)` or
/// `Err(error page)`.
async fn sign_in(s: &Sso, overrides: Value) -> Result<(Value, Value), String> {
    let (_, relay) = s.start(&[]).await;
    let response = s.signed_for(&relay, overrides).await;
    let res = s.post_acs(&response, Some(&relay)).await;
    if res.status().as_u16() != 303 {
        return Err(refused(res).await);
    }
    let code = code_from(res).await;
    let (status, tokens) = s.token_for(&code).await;
    assert_eq!(status, 200, "{tokens}");
    let (_, info) = s.userinfo(tokens["access_token"].as_str().unwrap()).await;
    Ok((info, jwt_claims(tokens["id_token"].as_str().unwrap())))
}

fn as_user(name_id: &str, email: Option<&str>) -> Value {
    let attributes = match email {
        Some(e) => json!({ "email": e, "firstName": "Jane" }),
        None => json!({ "firstName": "Jane" }),
    };
    json!({ "nameId": name_id, "attributes": attributes })
}

#[tokio::test]
async fn only_the_tenants_email_domains_are_accepted() {
    each_engine(|engine| async move {
        // tenant acme.com, no domains added
        let s = Sso::with(engine, "keys=primary", "acme.com", json!({ "emailDomains": [] })).await;

        let (info, claims) = sign_in(&s, as_user("jane@acme.com", Some("jane@acme.com")))
            .await
            .unwrap();
        assert_eq!(info["email"], "jane@acme.com");
        assert_eq!(info["email_verified"], true);
        assert_eq!(claims["email_verified"], true);
        // case does not matter; an opaque NameID with an in-domain email is fine
        sign_in(&s, as_user("00u1abcd", Some("Jane@ACME.com"))).await.unwrap();
        // no email at all: nothing to vouch for
        let (info, _) = sign_in(&s, as_user("00u1abcd", None)).await.unwrap();
        assert!(info["email"].is_null(), "{info}");

        for (name_id, email) in [
            ("ceo@evil.example", Some("ceo@evil.example")),
            // the NameID is an address elsewhere, though the attribute is in-domain
            ("ceo@evil.example", Some("ceo@acme.com")),
            // the attribute is elsewhere, though the NameID is in-domain
            ("jane@acme.com", Some("ceo@evil.example")),
            // look-alikes and subdomains (which must be listed)
            ("00u1", Some("ceo@acme.com.evil.example")),
            ("00u1", Some("ceo@evilacme.com")),
            ("00u1", Some("jane@eu.acme.com")),
            // the NameID alone, as the email
            ("ceo@evil.example", None),
        ] {
            let page = sign_in(&s, as_user(name_id, email)).await.unwrap_err();
            assert!(
                page.contains("email_outside_tenant_domains"),
                "{name_id} / {email:?}: {page}"
            );
        }

        // the admin adds the subdomain: now it is accepted, the others still not
        let id = s.connection["clientID"].as_str().unwrap().to_string();
        let (status, body) = s
            .api(
                Method::PATCH,
                &[],
                Some(json!({ "clientID": id, "clientSecret": s.client_secret, "emailDomains": ["eu.acme.com"] })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, got) = s
            .api(Method::GET, &[("clientID", id.as_str())], None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(got[0]["emailDomains"], json!(["eu.acme.com"]), "{got}");
        sign_in(&s, as_user("00u1", Some("jane@eu.acme.com"))).await.unwrap();
        sign_in(&s, as_user("00u1", Some("jane@acme.com"))).await.unwrap();
        assert!(sign_in(&s, as_user("00u1", Some("ceo@evil.example"))).await.is_err());

        // junk is refused with the field named
        let (status, body) = s
            .api(
                Method::PATCH,
                &[],
                Some(json!({ "clientID": id, "clientSecret": s.client_secret, "emailDomains": ["not a domain"] })),
            )
            .await;
        assert_eq!(status, 400, "{body}");
    })
    .await;
}

#[tokio::test]
async fn accepting_any_domain_is_explicit_and_unverified() {
    each_engine(|engine| async move {
        let s = Sso::with(
            engine,
            "keys=primary",
            "acme.com",
            json!({ "emailDomains": [], "acceptAnyEmailDomain": true }),
        )
        .await;
        let (info, claims) = sign_in(&s, as_user("ceo@evil.example", Some("ceo@evil.example")))
            .await
            .unwrap();
        assert_eq!(info["email"], "ceo@evil.example");
        assert_eq!(info["email_verified"], false, "{info}");
        assert_eq!(claims["email_verified"], false, "{claims}");
        // even an in-domain address is not vouched for by such a connection
        let (info, _) = sign_in(&s, as_user("jane@acme.com", Some("jane@acme.com")))
            .await
            .unwrap();
        assert_eq!(info["email_verified"], false);

        // the dashboard shows the warning
        let connection = relay_connection(&s.start(&[]).await.1).to_string();
        let detail = s
            .owner
            .rpc(
                "connections/get",
                &[("team", &s.team), ("product", &s.product), ("connection", &connection)],
            )
            .await;
        assert_eq!(detail.body["accept_any_email_domain"], true, "{:?}", detail.body);
        let page = s
            .owner
            .get(&format!("/teams/{}/products/{}/connections/{connection}", s.team, s.product))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("data-testid=\"accept-any-warning\""), "the warning is on the connection page");

        // switched off again: refused
        let (status, _) = s
            .api(
                Method::PATCH,
                &[],
                Some(json!({ "clientID": s.client_id, "clientSecret": s.client_secret, "acceptAnyEmailDomain": false })),
            )
            .await;
        assert_eq!(status, 200);
        assert!(sign_in(&s, as_user("ceo@evil.example", Some("ceo@evil.example"))).await.is_err());
    })
    .await;
}

/// "Test connection" shows the reason to the admin.
#[tokio::test]
async fn test_connection_shows_the_reason() {
    each_engine(|engine| async move {
        let s = Sso::with(
            engine,
            "keys=primary",
            "acme.com",
            json!({ "emailDomains": [] }),
        )
        .await;
        let connection = relay_connection(&s.start(&[]).await.1).to_string();
        let start = format!(
            "/sso-test/start/{connection}?team={}&product={}",
            s.team, s.product
        );
        let res = s.owner.get(&start).await;
        assert_eq!(res.status().as_u16(), 303);
        let relay = query_param(res.headers()["location"].to_str().unwrap(), "RelayState");
        let response = s
            .signed_for(
                &relay,
                as_user("ceo@evil.example", Some("ceo@evil.example")),
            )
            .await;
        let res = s.post_acs(&response, Some(&relay)).await;
        assert_eq!(res.status().as_u16(), 303);
        let result = res.headers()["location"].to_str().unwrap().to_string();
        let page = s.owner.get(&result).await.text().await.unwrap();
        assert!(page.contains("data-testid=\"test-failure\""), "{page}");
        assert!(page.contains("email_outside_tenant_domains"), "{page}");
        assert!(page.contains("ceo@evil.example"), "{page}");
    })
    .await;
}

/// A setup link is in the customer's hands: it cannot widen what its IdP may vouch
/// for, nor change any other field of the connection, whatever it posts.
#[tokio::test]
async fn a_setup_link_cannot_widen_the_email_domains() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (token, _, _) = crate::setup_links::create_link(&s, "globex.com", "3").await;
        let it = Client::new(&s.app);
        let r = it
            .rpc(
                "setup/save",
                &[
                    ("token", token.as_str()),
                    ("intent", "save"),
                    ("metadataSource", "xml"),
                    ("rawMetadata", &s.idp().metadata("keys=primary").await),
                    ("metadataUrl", ""),
                    ("emailDomains", "evil.example"),
                    ("acceptAnyEmailDomain", "on"),
                    ("tenant", "evil.example"),
                    ("allowIdpInitiated", "on"),
                    ("redirectUrl", "https://evil.example/cb"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let connections = s.app.store.connections(&s.product).await.unwrap();
        let made = connections
            .iter()
            .find(|c| c.tenant == "globex.com")
            .unwrap();
        assert!(made.email_domains.is_empty(), "{:?}", made.email_domains);
        assert!(!made.accept_any_email_domain);
        assert!(!made.allow_idp_initiated);
        assert!(made.redirect_urls.is_empty(), "{:?}", made.redirect_urls);
        assert!(connections.iter().all(|c| c.tenant != "evil.example"));
    })
    .await;
}
