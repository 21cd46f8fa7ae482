//! A member of team A tries to reach team B's product, keys and settings through every
//! server function, with B's ids and with A's team id plus B's product id. Every
//! attempt must be a 404 (never 403), and B's data must be unchanged afterwards.

use crate::support::*;

struct World {
    a: Client,
    b: Client,
    team_a: String,
    team_b: String,
    product_b: String,
    key_b: String,
}

async fn world(app: &TestApp) -> World {
    let a = Client::new(app);
    let b = Client::new(app);
    let team_a = a.sign_up(&unique_email("alice"), "Team A").await;
    let team_b = b.sign_up(&unique_email("bob"), "Team B").await;
    a.create_product(&team_a, "A product").await;
    let product_b = b.create_product(&team_b, "B product").await;
    let key = b
        .rpc(
            "api-keys/create",
            &[("team", &team_b), ("product", &product_b), ("name", "prod")],
        )
        .await;
    let key_b = key.body["key"]["id"].as_str().unwrap().to_string();
    World {
        a,
        b,
        team_a,
        team_b,
        product_b,
        key_b,
    }
}

#[tokio::test]
async fn every_server_function_hides_other_teams() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let w = world(&app).await;
        let (pb, kb) = (w.product_b.as_str(), w.key_b.as_str());

        // (endpoint, form) with team B's id, then with team A's id + B's product.
        for team in [w.team_b.as_str(), w.team_a.as_str()] {
            let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
                ("products/get", vec![("team", team), ("product", pb)]),
                (
                    "products/update",
                    vec![
                        ("team", team),
                        ("product", pb),
                        ("name", "pwned"),
                        ("description", ""),
                        ("redirect_urls", ""),
                        ("default_redirect_url", ""),
                    ],
                ),
                (
                    "products/deletion-impact",
                    vec![("team", team), ("product", pb)],
                ),
                (
                    "products/delete",
                    vec![
                        ("team", team),
                        ("product", pb),
                        ("confirm_name", "B product"),
                    ],
                ),
                ("api-keys/list", vec![("team", team), ("product", pb)]),
                (
                    "api-keys/create",
                    vec![("team", team), ("product", pb), ("name", "stolen")],
                ),
                (
                    "api-keys/revoke",
                    vec![("team", team), ("product", pb), ("key", kb)],
                ),
                ("ory/get", vec![("team", team), ("product", pb)]),
                (
                    "ory/save",
                    vec![
                        ("team", team),
                        ("product", pb),
                        ("token", "ory_st_x"),
                        ("project_id", "p"),
                    ],
                ),
                ("ory/disconnect", vec![("team", team), ("product", pb)]),
            ];
            for (endpoint, form) in calls {
                let r = w.a.rpc(endpoint, &form).await;
                assert_eq!(r.status, 404, "{endpoint} with team {team}: {:?}", r.body);
                assert_eq!(r.body["kind"], "not_found", "{endpoint}");
            }
        }
        // team-level functions with B's team id
        let tb = w.team_b.as_str();
        let team_calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("teams/context", vec![("team", tb)]),
            ("teams/members", vec![("team", tb)]),
            (
                "teams/invite",
                vec![
                    ("team", tb),
                    ("email", "spy@example.com"),
                    ("role", "owner"),
                ],
            ),
            (
                "teams/revoke-invite",
                vec![("team", tb), ("invite", "inv_x")],
            ),
            (
                "teams/remove-member",
                vec![("team", tb), ("member", "user_x")],
            ),
            ("products/list", vec![("team", tb)]),
            (
                "products/create",
                vec![("team", tb), ("name", "planted"), ("description", "")],
            ),
        ];
        for (endpoint, form) in team_calls {
            let r = w.a.rpc(endpoint, &form).await;
            assert_eq!(r.status, 404, "{endpoint}: {:?}", r.body);
        }

        // B's data is untouched
        let p =
            w.b.rpc("products/get", &[("team", tb), ("product", pb)])
                .await;
        assert_eq!(p.body["name"], "B product");
        let keys =
            w.b.rpc("api-keys/list", &[("team", tb), ("product", pb)])
                .await;
        let keys = keys.body.as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0]["revoked_at"].is_null());
        let products = w.b.rpc("products/list", &[("team", tb)]).await;
        assert_eq!(products.body.as_array().unwrap().len(), 1);
        let members = w.b.rpc("teams/members", &[("team", tb)]).await;
        assert!(members.body["invites"].as_array().unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn signed_out_callers_get_401_everywhere() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let w = world(&app).await;
        let anon = Client::new(&app);
        for endpoint in [
            "teams/context",
            "products/list",
            "products/get",
            "api-keys/list",
            "ory/get",
            "teams/members",
        ] {
            let r = anon
                .rpc(endpoint, &[("team", &w.team_b), ("product", &w.product_b)])
                .await;
            assert_eq!(r.status, 401, "{endpoint}");
        }
        let _ = &w.b;
    })
    .await;
}

#[tokio::test]
async fn dashboard_pages_of_other_teams_are_404() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let w = world(&app).await;
        let res = w.a.get(&format!("/teams/{}/products", w.team_b)).await;
        assert_eq!(res.status().as_u16(), 404);
        let res =
            w.a.get(&format!(
                "/teams/{}/products/{}/settings/general",
                w.team_a, w.product_b
            ))
            .await;
        assert_eq!(res.status().as_u16(), 404);
        let body = res.text().await.unwrap();
        assert!(!body.contains("B product"));
        let res =
            w.b.get(&format!(
                "/teams/{}/products/{}/settings/general",
                w.team_b, w.product_b
            ))
            .await;
        assert_eq!(res.status().as_u16(), 200);
    })
    .await;
}
