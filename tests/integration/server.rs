use crate::support::*;

#[tokio::test]
async fn healthz_reports_version_and_database() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let res = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(body["database"], engine.name());
    })
    .await;
}

#[tokio::test]
async fn healthz_is_503_when_the_database_is_gone() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        app.store.close().await;
        let res = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
        assert_eq!(res.status().as_u16(), 503);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "unavailable");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    })
    .await;
}

#[tokio::test]
async fn pages_send_security_headers_and_unknown_paths_are_404() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let res = c.get("/login").await;
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let body = res.text().await.unwrap();
        assert!(body.contains("Log in to Gatehouse"));
        assert_eq!(c.get("/no/such/page").await.status().as_u16(), 404);
    })
    .await;
}

/// Started with a secret key other than the one the database's secrets were sealed
/// with, the server refuses to start, says why, and changes nothing: with the right
/// key it starts again and the data is there.
#[tokio::test]
async fn a_wrong_secret_key_is_refused_at_start_and_overwrites_nothing() {
    for engine in gatehouse_store::testing::engines() {
        let mut server = ChildServer::start(engine, &[]).await;
        let owner = Client::at(&server.base);
        let team = owner.sign_up(&unique_email("key"), "Keys").await;
        server.kill9();

        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .env("GATEHOUSE_LISTEN_ADDR", "127.0.0.1:0")
            .env("GATEHOUSE_PUBLIC_URL", "http://127.0.0.1:1")
            .env("DATABASE_URL", &server.db.url)
            .env(
                "GATEHOUSE_SECRET_KEY",
                "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=",
            )
            .env("ORY_SYNC_INTERVAL_MS", "0")
            .env("RUST_LOG", "off")
            .output()
            .expect("the gatehouse binary runs");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("GATEHOUSE_SECRET_KEY does not decrypt the signing keys"),
            "{stderr}"
        );

        server.restart().await;
        let products = owner.rpc("products/list", &[("team", &team)]).await;
        assert_eq!(products.status, 200, "{:?}", products.body);
    }
}
