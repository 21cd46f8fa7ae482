//! The admin API against its own OpenAPI document, checked by a third-party tool
//! (schemathesis, installed by `scripts/setup.sh`): every operation the document
//! lists gets generated valid and invalid inputs, with and without the API key, and
//! every answer's status, content type and body must be what the document says; no
//! input may cause a server error.

use crate::sso_support::*;
use gatehouse_store::testing::engines;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_as_its_openapi_document_says() {
    let engine = engines()[0];
    let s = Sso::new(engine).await;
    let doc: serde_json::Value = s
        .http
        .get(format!("{}/api/v1/openapi.json", s.app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, 15, "every admin endpoint is in the document");

    let report =
        std::env::temp_dir().join(format!("gatehouse-schemathesis-{}", std::process::id()));
    let out = tokio::process::Command::new("schemathesis")
        .args([
            "run",
            &format!("{}/api/v1/openapi.json", s.app.base),
            "--header",
            &format!("Authorization: Api-Key {}", s.api_key),
            "--checks",
            "all",
            // The document types fields as strings; which strings are a valid tenant
            // or metadata is for the server to say (400, naming the field).
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-color",
            "--generation-database",
            "none",
            "--report-dir",
        ])
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true)
        .output()
        .await
        .expect("schemathesis runs (scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    for op in [
        "POST /api/v1/sso",
        "GET /api/v1/sso",
        "PATCH /api/v1/sso",
        "DELETE /api/v1/sso",
        "POST /api/v1/sso/setuplinks",
        "GET /api/v1/sso/setuplinks",
        "DELETE /api/v1/sso/setuplinks",
        "GET /api/v1/sso/traces",
        "GET /api/v1/sso/traces/{id}",
        "GET /api/v1/audit",
        "GET /api/v1/webhooks",
        "POST /api/v1/webhooks",
        "DELETE /api/v1/webhooks/{id}",
        "GET /api/v1/webhooks/{id}/deliveries",
        "POST /api/v1/webhooks/deliveries/{id}/resend",
    ] {
        let (method, path) = op.split_once(' ').unwrap();
        assert!(
            doc["paths"][path][method.to_lowercase()].is_object(),
            "{op} is not in the document"
        );
    }
    assert!(
        stdout.contains(&format!("Tested: {operations}")),
        "not every operation was exercised:\n{stdout}"
    );
}
