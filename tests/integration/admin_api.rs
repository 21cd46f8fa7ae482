//! The Jackson-compatible admin API.

use serde_json::{json, Value};

use crate::idp::idp;
use crate::sso_support::*;
use crate::support::*;

#[tokio::test]
async fn connections_are_managed_over_the_api() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        assert_eq!(s.connection["tenant"], "acme.com");
        assert_eq!(s.connection["idpMetadata"]["entityID"], idp().entity_id.as_str());
        assert_eq!(s.connection["sp"]["acsUrl"], s.acs().as_str());

        let (status, list) = s.api(reqwest::Method::GET, &[("tenant", "acme.com"), ("product", &s.product)], None).await;
        assert_eq!(status, 200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(list[0].get("clientSecret").is_none(), "the secret is shown once");
        let (_, by_id) = s.api(reqwest::Method::GET, &[("clientID", &s.client_id)], None).await;
        assert_eq!(by_id[0]["clientID"], s.client_id.as_str());

        // form-encoded create, like Jackson's curl examples, with encodedRawMetadata
        let metadata = b64(&idp().metadata("keys=secondary").await);
        let res = s
            .http
            .post(format!("{}/api/v1/sso", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .form(&[("tenant", "globex.com"), ("product", s.product.as_str()), ("encodedRawMetadata", metadata.as_str()), ("redirectUrl", "[\"https://app.example.com/callback\"]"), ("defaultRedirectUrl", "https://app.example.com/callback")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);

        // PATCH needs the secret
        let (status, body) = s.api(reqwest::Method::PATCH, &[], Some(json!({ "clientID": s.client_id, "clientSecret": "wrong", "name": "x" }))).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["message"], "clientSecret does not match.");
        // invalid input: 400 and the field named, as in the dashboard
        let (status, body) = s.api(reqwest::Method::PATCH, &[], Some(json!({ "clientID": s.client_id, "name": "x" }))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "clientSecret");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("clientSecret: "), "{body}");
        let (status, updated) = s
            .api(reqwest::Method::PATCH, &[], Some(json!({ "clientID": s.client_id, "clientSecret": s.client_secret, "name": "Acme Entra" })))
            .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["name"], "Acme Entra");

        // DELETE by clientID + secret
        let (status, _) = s.api(reqwest::Method::DELETE, &[("clientID", &s.client_id), ("clientSecret", "wrong")], None).await;
        assert_eq!(status, 401);
        let (status, _) = s.api(reqwest::Method::DELETE, &[("clientID", &s.client_id), ("clientSecret", &s.client_secret)], None).await;
        assert_eq!(status, 204);
        // DELETE by tenant + product
        let (status, _) = s.api(reqwest::Method::DELETE, &[("tenant", "globex.com"), ("product", &s.product)], None).await;
        assert_eq!(status, 204);
        let (_, list) = s.api(reqwest::Method::GET, &[("tenant", "globex.com"), ("product", &s.product)], None).await;
        assert!(list.as_array().unwrap().is_empty());
    })
    .await;
}

/// A tenant is read by one rule (lower-cased; letters, digits, `.`, `-`, `_`): a
/// malformed or missing one is a 400 naming `tenant`, and selects or deletes nothing;
/// one written in capitals is the same tenant.
#[tokio::test]
async fn tenants_in_queries_are_checked_before_anything_is_selected() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for bad in ["acme.com%", "acme.com'--", "", "acme com", "acme.com/../x"] {
            for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
                let (status, body) = s
                    .api(
                        method.clone(),
                        &[("tenant", bad), ("product", &s.product)],
                        None,
                    )
                    .await;
                assert_eq!(status, 400, "{method} tenant={bad:?}: {body}");
                assert_eq!(body["error"]["field"], "tenant", "{body}");
            }
        }
        let (status, body) = s
            .api(reqwest::Method::DELETE, &[("product", &s.product)], None)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "tenant", "{body}");
        // nothing was deleted; capitals name the same tenant
        let (status, list) = s
            .api(
                reqwest::Method::GET,
                &[("tenant", "ACME.com"), ("product", &s.product)],
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
        // setup links: the same rule on create and on list
        let res = s
            .http
            .post(format!("{}/api/v1/sso/setuplinks", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .json(&json!({ "tenant": "evil tenant", "product": s.product }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400);
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(body["error"]["field"], "tenant", "{body}");
        let res = s
            .http
            .get(format!("{}/api/v1/sso/setuplinks", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .query(&[("tenant", "a%b"), ("product", s.product.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400);
    })
    .await;
}

/// `xml` without any `<…name …>` element (self-closing or not, no nesting of itself).
fn without_elements(xml: &str, name: &str) -> String {
    let mut out = xml.to_string();
    while let Some(pos) = out
        .find(&format!(":{name} "))
        .or_else(|| out.find(&format!("<{name} ")))
    {
        let start = out[..=pos].rfind('<').unwrap();
        let open_end = out[start..].find('>').unwrap() + start + 1;
        let end = if out[..open_end].ends_with("/>") {
            open_end
        } else {
            let close =
                out[open_end..].find(&format!("{name}>")).unwrap() + open_end + name.len() + 1;
            close
        };
        out.replace_range(start..end, "");
    }
    out
}

#[tokio::test]
async fn bad_metadata_gets_a_clear_error_and_saves_nothing() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let good = idp().metadata("keys=primary").await;
        let no_cert = {
            let a = good.find("<KeyDescriptor").or_else(|| good.find("<md:KeyDescriptor")).unwrap();
            let end_tag = if good.contains("</md:KeyDescriptor>") { "</md:KeyDescriptor>" } else { "</KeyDescriptor>" };
            let b = good.find(end_tag).unwrap() + end_tag.len();
            format!("{}{}", &good[..a], &good[b..])
        };
        for (metadata, expected) in [
            ("not xml".to_string(), "not SAML metadata"),
            ("<x/>".to_string(), "not SAML metadata"),
            (no_cert, "no signing certificate"),
            (without_elements(&good, "SingleSignOnService"), "no SingleSignOnService"),
            (format!("<!DOCTYPE x>{good}"), "DOCTYPE"),
        ] {
            let (status, body) = s
                .api(reqwest::Method::POST, &[], Some(json!({ "tenant": "broken.com", "product": s.product, "rawMetadata": metadata })))
                .await;
            assert_eq!(status, 400, "{body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{expected}: {message}");
        }
        let (_, list) = s.api(reqwest::Method::GET, &[("tenant", "broken.com"), ("product", &s.product)], None).await;
        assert!(list.as_array().unwrap().is_empty(), "nothing half-saved");
    })
    .await;
}

#[tokio::test]
async fn metadata_urls_must_be_public_https() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for (url, expected) in [
            (format!("{}/metadata", idp().url), "https"),
            (
                "https://127.0.0.1:1/metadata".to_string(),
                "private or local",
            ),
            (
                "https://169.254.169.254/latest/meta-data".to_string(),
                "private or local",
            ),
        ] {
            let (status, body) = s
                .api(
                    reqwest::Method::POST,
                    &[],
                    Some(json!({ "tenant": "url.com", "product": s.product, "metadataUrl": url })),
                )
                .await;
            assert_eq!(status, 400, "{body}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(expected),
                "{body}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn operators_may_allow_private_metadata_urls() {
    each_engine(|engine| async move {
        let app = spawn_app_with(engine, &[("GATEHOUSE_METADATA_ALLOW_PRIVATE", "true".into())]).await;
        let c = Client::new(&app);
        let team = c.sign_up(&unique_email("m"), "M").await;
        let product = c.create_product(&team, "P").await;
        let key = c.rpc("api-keys/create", &[("team", &team), ("product", &product), ("name", "k")]).await;
        let res = reqwest::Client::new()
            .post(format!("{}/api/v1/sso", app.base))
            .header("Authorization", format!("Api-Key {}", key.body["secret"].as_str().unwrap()))
            .json(&json!({ "tenant": "acme.com", "product": product, "metadataUrl": format!("{}/metadata", idp().url) }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["metadataUrl"], format!("{}/metadata", idp().url));
    })
    .await;
}

#[tokio::test]
async fn api_keys_only_reach_their_own_product() {
    each_engine(|engine| async move {
        let a = Sso::new(engine).await;
        let b = Sso::new(engine).await;
        // no key, wrong key
        let res = a.http.get(format!("{}/api/v1/sso?tenant=acme.com&product={}", a.app.base, a.product)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401);
        let res = a
            .http
            .get(format!("{}/api/v1/sso?tenant=acme.com&product={}", a.app.base, a.product))
            .header("Authorization", "Api-Key ghk_nope_nope")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        // a's key naming b's product (b lives in another app instance, so use a's own world):
        let (status, _) = a.api(reqwest::Method::GET, &[("tenant", "acme.com"), ("product", "prod_someoneelse")], None).await;
        assert_eq!(status, 404);
        let (status, _) = a
            .api(reqwest::Method::POST, &[], Some(json!({ "tenant": "x.com", "product": "prod_someoneelse", "rawMetadata": "<x/>" })))
            .await;
        assert_eq!(status, 404);
        let _ = b;
    })
    .await;
}

#[tokio::test]
async fn openapi_document_is_published() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let doc: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", s.app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
        for method in ["get", "post", "patch", "delete"] {
            assert!(doc["paths"]["/api/v1/sso"][method].is_object(), "{method}");
        }
    })
    .await;
}

#[tokio::test]
async fn sp_metadata_is_public_and_names_the_acs() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let res = reqwest::get(format!("{}/saml/{}/metadata", s.app.base, s.product))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let xml = res.text().await.unwrap();
        assert!(xml.contains(&format!("entityID=\"{}\"", s.sp_entity_id())));
        assert!(xml.contains(&format!("Location=\"{}\"", s.acs())));
        assert!(xml.contains("X509Certificate"));
        // it parses as metadata with samael too
        assert!(xml.parse::<samael::metadata::EntityDescriptor>().is_ok());
        assert_eq!(
            reqwest::get(format!("{}/saml/prod_nope/metadata", s.app.base))
                .await
                .unwrap()
                .status()
                .as_u16(),
            404
        );
    })
    .await;
}
