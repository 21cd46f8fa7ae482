use crate::support::*;
use gatehouse_domain::ports::ProductStore;

#[tokio::test]
async fn products_are_created_renamed_configured_and_deleted() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let team = c.sign_up(&unique_email("p"), "Acme").await;
        let r = c
            .rpc(
                "products/create",
                &[
                    ("team", &team),
                    ("name", "  Portal "),
                    ("description", "Customer portal"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        let id = r.body["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("prod_"));
        assert_eq!(r.body["name"], "Portal");
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/teams/{team}/products/{id}/settings/general").as_str())
        );

        let r = c
            .rpc(
                "products/update",
                &[
                    ("team", &team),
                    ("product", &id),
                    ("name", "Portal 2"),
                    ("description", "d"),
                    (
                        "redirect_urls",
                        "https://app.example.com/callback\nhttp://localhost:3000/cb\n",
                    ),
                    ("default_redirect_url", "https://app.example.com/callback"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["redirect_urls"].as_array().unwrap().len(), 2);
        let got = c
            .rpc("products/get", &[("team", &team), ("product", &id)])
            .await;
        assert_eq!(got.body["name"], "Portal 2");
        assert_eq!(
            got.body["default_redirect_url"],
            "https://app.example.com/callback"
        );

        for (urls, default, field) in [
            ("http://app.example.com/cb", "", "redirect_urls"),
            ("not a url", "", "redirect_urls"),
            (
                "https://a.example.com/cb",
                "https://b.example.com/cb",
                "default_redirect_url",
            ),
        ] {
            let r = c
                .rpc(
                    "products/update",
                    &[
                        ("team", &team),
                        ("product", &id),
                        ("name", "Portal 2"),
                        ("description", ""),
                        ("redirect_urls", urls),
                        ("default_redirect_url", default),
                    ],
                )
                .await;
            assert_eq!(r.status, 400, "{urls}");
            assert_eq!(r.body["field"], field);
        }
        // a failed save changed nothing
        let got = c
            .rpc("products/get", &[("team", &team), ("product", &id)])
            .await;
        assert_eq!(got.body["redirect_urls"].as_array().unwrap().len(), 2);

        c.rpc(
            "api-keys/create",
            &[("team", &team), ("product", &id), ("name", "k")],
        )
        .await;
        let impact = c
            .rpc(
                "products/deletion-impact",
                &[("team", &team), ("product", &id)],
            )
            .await;
        assert_eq!(impact.body["product_name"], "Portal 2");
        assert_eq!(impact.body["api_keys"], 1);

        let r = c
            .rpc(
                "products/delete",
                &[
                    ("team", &team),
                    ("product", &id),
                    ("confirm_name", "Portal"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["field"], "confirm_name");
        let r = c
            .rpc(
                "products/delete",
                &[
                    ("team", &team),
                    ("product", &id),
                    ("confirm_name", "Portal 2"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            c.rpc("products/get", &[("team", &team), ("product", &id)])
                .await
                .status,
            404
        );
        assert!(app.store.api_keys(&id).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn api_keys_are_shown_once_stored_hashed_and_revocable() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let team = c.sign_up(&unique_email("k"), "Acme").await;
        let product = c.create_product(&team, "Portal").await;
        let r = c
            .rpc(
                "api-keys/create",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("name", "production"),
                ],
            )
            .await;
        assert_eq!(r.status, 200);
        let secret = r.body["secret"].as_str().unwrap().to_string();
        let key_id = r.body["key"]["id"].as_str().unwrap().to_string();
        assert!(secret.starts_with("ghk_"));

        let list = c
            .rpc("api-keys/list", &[("team", &team), ("product", &product)])
            .await;
        let text = list.body.to_string();
        assert!(
            !text.contains(&secret[12..]),
            "the list must not contain the secret"
        );
        let stored = app.store.api_key(&key_id).await.unwrap().unwrap();
        assert!(!stored.secret_hash.contains(&secret[secret.len() - 20..]));

        let p = app
            .services
            .access
            .authenticate_api_key(&secret)
            .await
            .unwrap();
        assert_eq!(p.id, product);
        // wrong secret, malformed, unknown id
        let mut wrong = secret.clone();
        let last = wrong.pop();
        wrong.push(if last == Some('x') { 'y' } else { 'x' });
        assert!(app
            .services
            .access
            .authenticate_api_key(&wrong)
            .await
            .is_err());
        assert!(app
            .services
            .access
            .authenticate_api_key("Api-Key nonsense")
            .await
            .is_err());
        assert!(app
            .services
            .access
            .authenticate_api_key("ghk_unknown_secret")
            .await
            .is_err());

        let r = c
            .rpc(
                "api-keys/revoke",
                &[("team", &team), ("product", &product), ("key", &key_id)],
            )
            .await;
        assert_eq!(r.status, 200);
        assert!(app
            .services
            .access
            .authenticate_api_key(&secret)
            .await
            .is_err());
        let list = c
            .rpc("api-keys/list", &[("team", &team), ("product", &product)])
            .await;
        assert!(!list.body[0]["revoked_at"].is_null());
    })
    .await;
}
