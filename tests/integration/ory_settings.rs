use crate::support::*;
use gatehouse_domain::ports::ProductStore;

#[tokio::test]
async fn ory_settings_are_verified_masked_and_encrypted() {
    each_engine(|engine| async move {
        let ory = OryEmulator::start().await;
        let app = spawn_app_with(engine, &[("ORY_API_URL", ory.url.clone())]).await;
        let c = Client::new(&app);
        let team = c.sign_up(&unique_email("ory"), "Acme").await;
        let product = c.create_product(&team, "Portal").await;
        let save = |token: &'static str, project: &'static str| {
            let (c, team, product) = (&c, team.clone(), product.clone());
            async move {
                c.rpc(
                    "ory/save",
                    &[
                        ("team", &team),
                        ("product", &product),
                        ("token", token),
                        ("project_id", project),
                    ],
                )
                .await
            }
        };

        // wrong kind of token
        let r = save("hunter2", ORY_PROJECT_ID).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["field"], "token");

        // token Ory does not know
        let r = save("ory_st_wrongtoken00000000000000000", ORY_PROJECT_ID).await;
        assert_eq!(r.status, 502);
        let msg = r.body["message"].as_str().unwrap();
        assert!(msg.starts_with("Ory rejected the token (401)"), "{msg}");
        assert!(
            !msg.contains("wrongtoken"),
            "the token must not appear in errors: {msg}"
        );

        // unknown project
        let r = save(ORY_TOKEN, "00000000-0000-4000-8000-000000000000").await;
        assert_eq!(r.status, 502);
        assert!(
            r.body["message"].as_str().unwrap().contains("no project"),
            "{:?}",
            r.body
        );

        // nothing saved so far
        let g = c
            .rpc("ory/get", &[("team", &team), ("product", &product)])
            .await;
        assert_eq!(g.body["connected"], false);

        // right token
        let r = save(ORY_TOKEN, ORY_PROJECT_ID).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["project_name"], "Acme Login");
        assert_eq!(r.body["project_slug"], "eager-goldberg-abc123");
        assert_eq!(r.body["token_hint"], "ory_st_…0001");

        let g = c
            .rpc("ory/get", &[("team", &team), ("product", &product)])
            .await;
        let text = g.body.to_string();
        assert!(
            !text.contains(ORY_TOKEN),
            "the token must never go back to the browser"
        );
        assert_eq!(g.body["token_hint"], "ory_st_…0001");

        // stored sealed, not in clear
        let stored = app.store.ory_settings(&product).await.unwrap().unwrap();
        assert!(stored.token_ciphertext.starts_with("v1."));
        assert!(!stored.token_ciphertext.contains("validtoken"));

        // saving without a token keeps the stored one (change of project id is re-verified)
        let r = c
            .rpc(
                "ory/save",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("token", ""),
                    ("project_id", ORY_PROJECT_ID),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);

        // unreachable Ory
        ory.stop().await;
        let r = c
            .rpc(
                "ory/save",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("token", ""),
                    ("project_id", ORY_PROJECT_ID),
                ],
            )
            .await;
        assert_eq!(r.status, 502);
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .starts_with("could not reach Ory"),
            "{:?}",
            r.body
        );
        // the failed save kept the working settings
        let g = c
            .rpc("ory/get", &[("team", &team), ("product", &product)])
            .await;
        assert_eq!(g.body["connected"], true);

        let r = c
            .rpc("ory/disconnect", &[("team", &team), ("product", &product)])
            .await;
        assert_eq!(r.status, 200);
        assert!(app.store.ory_settings(&product).await.unwrap().is_none());
    })
    .await;
}
