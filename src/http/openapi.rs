//! The admin API's OpenAPI document, generated from its handlers and types
//! (`GET /api/v1/openapi.json`).

use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi};

use super::{admin_api, audit_api, setup_links_api, traces_api, webhooks_api};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "SSO connections, setup links, sign-in traces, the audit log and webhooks, compatible with BoxyHQ SAML Jackson's `/api/v1/sso`. `product` is the Gatehouse product id; the API key (`Authorization: Api-Key <key>`) must belong to it. Bodies may be JSON or form-encoded."
    ),
    paths(
        admin_api::sso_post,
        admin_api::sso_get,
        admin_api::sso_patch,
        admin_api::sso_delete,
        setup_links_api::setup_links_post,
        setup_links_api::setup_links_get,
        setup_links_api::setup_links_delete,
        traces_api::traces_get,
        traces_api::trace_get,
        audit_api::audit_get,
        webhooks_api::webhooks_get,
        webhooks_api::webhooks_post,
        webhooks_api::webhook_delete,
        webhooks_api::deliveries_get,
        webhooks_api::delivery_resend_post,
    ),
    modifiers(&ApiKeyAuth),
    tags(
        (name = "connections", description = "SSO connections"),
        (name = "setup links", description = "Links for a customer's IT admin to configure their own connection"),
        (name = "audit", description = "Admin changes to the product: who, when, what, before and after (never secrets)"),
        (name = "webhooks", description = "Signed event deliveries to the product's endpoints (Standard Webhooks; see docs/webhooks.md)"),
        (name = "traces", description = "Every sign-in attempt, with its typed reason (see docs/traces.md)"),
    )
)]
struct AdminApi;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Api-Key <key>`: one of the product's API keys",
            ))),
        );
    }
}

/// The document, with `server` (the public URL) as its server.
pub fn document(server: &str) -> Value {
    let mut doc = AdminApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.servers = Some(vec![Server::new(server)]);
    serde_json::to_value(&doc).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_endpoint_is_described() {
        let doc = document("https://sso.example.com");
        let paths = doc["paths"].as_object().expect("paths");
        for (path, methods) in [
            ("/api/v1/sso", &["get", "post", "patch", "delete"][..]),
            ("/api/v1/sso/setuplinks", &["get", "post", "delete"][..]),
            ("/api/v1/sso/traces", &["get"][..]),
            ("/api/v1/sso/traces/{id}", &["get"][..]),
            ("/api/v1/audit", &["get"][..]),
            ("/api/v1/webhooks", &["get", "post"][..]),
            ("/api/v1/webhooks/{id}", &["delete"][..]),
            ("/api/v1/webhooks/{id}/deliveries", &["get"][..]),
            ("/api/v1/webhooks/deliveries/{id}/resend", &["post"][..]),
        ] {
            for m in methods {
                assert!(paths[path][m].is_object(), "{m} {path}");
                assert_eq!(
                    paths[path][m]["security"][0]["apiKey"],
                    serde_json::json!([])
                );
            }
        }
        let form = &doc["components"]["schemas"]["ConnectionForm"]["properties"];
        for field in [
            "tenant",
            "product",
            "rawMetadata",
            "encodedRawMetadata",
            "metadataUrl",
            "redirectUrl",
            "defaultRedirectUrl",
            "oidcDiscoveryUrl",
            "oidcClientId",
            "oidcClientSecret",
        ] {
            assert!(form[field].is_object(), "{field}");
        }
    }
}
