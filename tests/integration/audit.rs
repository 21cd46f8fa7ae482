//! The audit log: every admin change (dashboard, admin API, setup link) is recorded
//! with who made it and the before/after of non-secret fields; no secret ever
//! appears; a product's API key reads its product's changes, a team's members the
//! team's, nobody else any.

use reqwest::Method;
use serde_json::{json, Value};

use crate::sso_support::*;
use crate::support::*;

async fn audit(s: &Sso, api_key: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let res = s
        .http
        .get(format!("{}/api/v1/audit", s.app.base))
        .header("Authorization", format!("Api-Key {api_key}"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn actions(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

fn change<'a>(event: &'a Value, field: &str) -> &'a Value {
    event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("no change of {field} in {event}"))
}

#[tokio::test]
async fn every_admin_change_is_recorded_with_its_actor_and_never_a_secret() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let mut secrets = vec![s.api_key.clone(), s.client_secret.clone()];

        // the admin API changes the connection (actor: the API key)
        let (status, patched) = s
            .api(
                Method::PATCH,
                &[],
                Some(json!({
                    "clientID": s.client_id,
                    "clientSecret": s.client_secret,
                    "tenant": "acme.com",
                    "product": s.product,
                    "name": "Acme Entra",
                    "redirectUrl": [APP_REDIRECT],
                    "defaultRedirectUrl": APP_REDIRECT,
                })),
            )
            .await;
        assert_eq!(status, 200, "{patched}");
        let connection = patched["id"].as_str().unwrap_or_default().to_string();
        let connection = if connection.is_empty() {
            relay_connection(&s.start(&[]).await.1).to_string()
        } else {
            connection
        };

        // the dashboard turns it off and rotates its secret (actor: the owner)
        let off = s
            .owner
            .rpc(
                "connections/set-enabled",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("connection", &connection),
                    ("enabled", "false"),
                ],
            )
            .await;
        assert_eq!(off.status, 200, "{:?}", off.body);
        let rotated = s
            .owner
            .rpc(
                "connections/rotate-secret",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("connection", &connection),
                ],
            )
            .await;
        assert_eq!(rotated.status, 200, "{:?}", rotated.body);
        for v in rotated.body.as_object().unwrap().values() {
            if let Some(text) = v.as_str().filter(|t| t.len() >= 20) {
                secrets.push(text.to_string());
            }
        }
        let verifier = s
            .owner
            .rpc(
                "products/rotate-verifier",
                &[("team", &s.team), ("product", &s.product)],
            )
            .await;
        assert_eq!(verifier.status, 200, "{:?}", verifier.body);
        if let Some(v) = verifier.body.as_str() {
            secrets.push(v.to_string());
        }

        // a setup link, made and revoked through the API
        let res = s
            .http
            .post(format!("{}/api/v1/sso/setuplinks", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .json(&json!({ "tenant": "globex.com", "product": s.product, "name": "Globex" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        let link: Value = res.json().await.unwrap();
        let link_id = link["data"]["setupID"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        secrets.push(link["data"]["url"].as_str().unwrap_or_default().to_string());

        // a member invited in the dashboard: a team change, not a product change
        let invited = s
            .owner
            .rpc(
                "teams/invite",
                &[
                    ("team", &s.team),
                    ("email", "new.admin@vendor.test"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(invited.status, 200, "{:?}", invited.body);
        secrets.push(invited.body["url"].as_str().unwrap().to_string());

        // the product's changes, newest first, through its API key
        let (status, list) = audit(&s, &s.api_key, &[]).await;
        assert_eq!(status, 200, "{list}");
        let data = &list["data"];
        let got = actions(data);
        for expected in [
            "product.updated",
            "api_key.created",
            "connection.created",
            "connection.updated",
            "connection.disabled",
            "connection.secret_rotated",
            "product.secret_verifier_rotated",
            "setup_link.created",
        ] {
            assert!(got.contains(&expected.to_string()), "{expected} in {got:?}");
        }
        assert!(!got.iter().any(|a| a.starts_with("member.")), "{got:?}");
        assert_eq!(got[0], "setup_link.created", "newest first: {got:?}");

        let updated = data
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "connection.updated")
            .unwrap();
        assert_eq!(updated["actorKind"], "api_key");
        assert_eq!(updated["actorLabel"], "ci", "the key's name");
        let name = change(updated, "name");
        assert_eq!(name["before"], "Acme Okta");
        assert_eq!(name["after"], "Acme Entra");
        assert!(
            updated["changes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["field"] != "tenant"),
            "unchanged fields are left out: {updated}"
        );
        let disabled = data
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "connection.disabled")
            .unwrap();
        assert_eq!(disabled["actorKind"], "user");
        assert!(
            disabled["actorLabel"].as_str().unwrap().contains('@'),
            "{disabled}"
        );
        let created = data
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "connection.created")
            .unwrap();
        assert!(change(created, "certificates")["after"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        let rotated = data
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "connection.secret_rotated")
            .unwrap();
        assert_eq!(change(rotated, "clientSecret")["after"], "(changed)");

        // filters
        let (_, only) = audit(&s, &s.api_key, &[("action", "connection.updated")]).await;
        assert_eq!(actions(&only["data"]), ["connection.updated"]);
        let owner_id = disabled["actorId"].as_str().unwrap().to_string();
        let (_, by_owner) = audit(&s, &s.api_key, &[("actor", &owner_id)]).await;
        assert!(by_owner["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actorId"] == owner_id.as_str()));
        let (_, paged) = audit(&s, &s.api_key, &[("pageLimit", "2")]).await;
        assert_eq!(paged["data"].as_array().unwrap().len(), 2);
        assert_eq!(paged["more"], true);
        for (field, value) in [("action", "connection.exploded"), ("to", "soon")] {
            let (status, err) = audit(&s, &s.api_key, &[(field, value)]).await;
            assert_eq!(status, 400, "{field}: {err}");
        }

        // revoking the link and deleting the connection are recorded too
        let res = s
            .http
            .delete(format!("{}/api/v1/sso/setuplinks", s.app.base))
            .header("Authorization", format!("Api-Key {}", s.api_key))
            .query(&[("setupID", link_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let deleted = s
            .owner
            .rpc(
                "connections/delete",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("connection", &connection),
                ],
            )
            .await;
        assert!(deleted.status < 300, "{:?}", deleted.body);
        let (_, list) = audit(&s, &s.api_key, &[("pageLimit", "2")]).await;
        assert_eq!(
            actions(&list["data"]),
            ["connection.deleted", "setup_link.revoked"]
        );

        // the team's log in the dashboard has the member change as well
        let team = s
            .owner
            .rpc("audit/list", &[("team", &s.team), ("offset", "0")])
            .await;
        assert_eq!(team.status, 200, "{:?}", team.body);
        let team_actions = actions(&team.body["events"]);
        assert!(
            team_actions.contains(&"member.invited".to_string()),
            "{team_actions:?}"
        );
        assert!(
            team_actions.contains(&"product.created".to_string()),
            "{team_actions:?}"
        );
        let by_product = s
            .owner
            .rpc(
                "audit/list",
                &[
                    ("team", &s.team),
                    ("product", &s.product),
                    ("action", "connection.deleted"),
                    ("offset", "0"),
                ],
            )
            .await;
        assert_eq!(actions(&by_product.body["events"]), ["connection.deleted"]);

        // no secret anywhere in either view
        let everything = format!(
            "{} {}",
            audit(&s, &s.api_key, &[("pageLimit", "100")]).await.1,
            s.owner
                .rpc("audit/list", &[("team", &s.team), ("offset", "0")])
                .await
                .body
        );
        for secret in secrets.iter().filter(|x| !x.is_empty()) {
            let tail = &secret[secret.len().saturating_sub(16)..];
            assert!(
                !everything.contains(tail),
                "a secret is in the audit log: {tail}"
            );
        }

        // another team sees none of it
        let other = Vendor::seed(&s.app.base, "keys=primary", "acme.com", json!({})).await;
        let (_, theirs) = audit(&s, &other.api_key, &[]).await;
        assert!(theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["product"] == other.product.as_str()));
        let stranger = other
            .owner
            .rpc("audit/list", &[("team", &s.team), ("offset", "0")])
            .await;
        assert_eq!(stranger.status, 404, "{:?}", stranger.body);
        let (status, _) = audit(&s, &other.api_key, &[("product", &s.product)]).await;
        assert_eq!(status, 404);
    })
    .await;
}

#[tokio::test]
async fn a_setup_link_save_is_recorded_as_the_link() {
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
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (_, list) = audit(&s, &s.api_key, &[]).await;
        let got = actions(&list["data"]);
        assert_eq!(
            got[..2],
            ["setup_link.used", "connection.created"],
            "{got:?}"
        );
        let used = &list["data"][0];
        assert_eq!(used["actorKind"], "setup_link");
        assert_eq!(used["actorLabel"], "globex.com");
    })
    .await;
}
