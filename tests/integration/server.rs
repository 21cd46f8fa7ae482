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
