//! `/api/v1/sso`: the connection admin API, compatible with BoxyHQ SAML Jackson
//! (`product` is the Gatehouse product id). Authenticated with
//! `Authorization: Api-Key <key>` using the product's API keys. Bodies may be JSON or
//! form-encoded, as with Jackson. Published as OpenAPI at `/api/v1/openapi.json`.
//!
//! Differences from Jackson, by design: `clientSecret` is returned only when a
//! connection is created (it is stored hashed), and a key only reaches its own
//! product's connections (others are 404 / empty lists).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_domain::model::{Connection, ConnectionSource, IdpConfig, Product};
use gatehouse_domain::sso::connections::{
    parse_tenant, ConnectionInput, MetadataSource, OidcSource,
};
use gatehouse_domain::{DomainError, Services};
use serde_json::{json, Map, Value};

use super::api_auth::{authenticate, authenticate_for_write, same_product};
use super::api_body::{body_object, text};
use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/sso",
            get(sso_get)
                .post(sso_post)
                .patch(sso_patch)
                .delete(sso_delete),
        )
        .route("/api/v1/openapi.json", get(openapi_get))
}

fn flag(m: &Map<String, Value>, k: &str) -> Option<bool> {
    match m.get(k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true" || s == "1"),
        _ => None,
    }
}

/// Jackson's `redirectUrl`: an array, a JSON-encoded array in a string, or one URL.
fn redirect_urls(m: &Map<String, Value>) -> Result<Option<Vec<String>>, WebError> {
    string_list(m, "redirectUrl")
}

/// A list field as Jackson sends `redirectUrl`: an array, a JSON-encoded array in a
/// string, or values separated by new lines or commas.
fn string_list(m: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, WebError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
        )),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            serde_json::from_str::<Vec<String>>(s)
                .map(Some)
                .map_err(|_| WebError::invalid(key, "not a JSON array of strings"))
        }
        Some(Value::String(s)) => Ok(Some(
            s.split(['\n', ','])
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect(),
        )),
        Some(_) => Err(WebError::invalid(key, "expected a list")),
    }
}

fn metadata_source(m: &Map<String, Value>) -> Result<Option<MetadataSource>, WebError> {
    if let Some(raw) = text(m, "rawMetadata").filter(|s| !s.trim().is_empty()) {
        return Ok(Some(MetadataSource::Xml(raw)));
    }
    if let Some(enc) = text(m, "encodedRawMetadata").filter(|s| !s.trim().is_empty()) {
        let bytes = STANDARD
            .decode(enc.trim())
            .map_err(|_| WebError::invalid("encodedRawMetadata", "not base64"))?;
        let xml = String::from_utf8(bytes)
            .map_err(|_| WebError::invalid("encodedRawMetadata", "not UTF-8"))?;
        return Ok(Some(MetadataSource::Xml(xml)));
    }
    if let Some(url) = text(m, "metadataUrl").filter(|s| !s.trim().is_empty()) {
        return Ok(Some(MetadataSource::Url(url)));
    }
    // Jackson's OIDC connection fields.
    if let Some(discovery) = text(m, "oidcDiscoveryUrl").filter(|s| !s.trim().is_empty()) {
        return Ok(Some(MetadataSource::Oidc(OidcSource {
            discovery_url: discovery,
            client_id: text(m, "oidcClientId").unwrap_or_default(),
            client_secret: text(m, "oidcClientSecret"),
        })));
    }
    Ok(None)
}

pub fn connection_json(services: &Services, c: &Connection, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": c.id,
        "clientID": c.client_id,
        "tenant": c.tenant,
        "product": c.product_id,
        "name": c.name,
        "description": c.description,
        "redirectUrl": c.redirect_urls,
        "defaultRedirectUrl": c.default_redirect_url,
        "deactivated": !c.enabled,
        "allowIdpInitiated": c.allow_idp_initiated,
        "emailDomains": c.email_domains,
        "acceptAnyEmailDomain": c.accept_any_email_domain,
        "sp": {
            "acsUrl": services.settings.acs_url(),
            "entityId": services.settings.sp_entity_id(&c.product_id),
            "metadataUrl": services.settings.sp_metadata_url(&c.product_id),
        },
        "createdAt": c.created_at.to_rfc3339(),
        "updatedAt": c.updated_at.to_rfc3339(),
    });
    if let Value::Object(map) = &mut v {
        match &c.idp {
            IdpConfig::Saml(saml) => {
                let certs: Vec<Value> = saml
                    .idp
                    .certificates
                    .iter()
                    .map(|cert| json!({ "subject": cert.subject, "validTo": cert.not_after.to_rfc3339(), "sha256": cert.sha256 }))
                    .collect();
                map.insert("metadataUrl".into(), json!(saml.metadata_url));
                map.insert(
                    "idpMetadata".into(),
                    json!({
                        "entityID": saml.idp.entity_id,
                        "sso": { "redirectUrl": saml.idp.sso_redirect_url, "postUrl": saml.idp.sso_post_url },
                        "validTo": saml.idp.certificates.first().map(|c| c.not_after.to_rfc3339()),
                        "thumbprint": saml.idp.certificates.first().map(|c| c.sha256.clone()),
                        "certificates": certs,
                        "loginType": "idp",
                    }),
                );
            }
            IdpConfig::Oidc(oidc) => {
                // As Jackson, without the client secret (it is stored sealed and never
                // sent back).
                map.insert(
                    "oidcProvider".into(),
                    json!({
                        "provider": oidc.issuer,
                        "discoveryUrl": oidc.discovery_url,
                        "clientId": oidc.client_id,
                        "redirectUrl": services.settings.oidc_callback_url(c.oidc_redirect_key()),
                    }),
                );
            }
        }
        if let Some(s) = secret {
            map.insert("clientSecret".into(), Value::String(s.to_string()));
        }
    }
    v
}

async fn sso_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate_for_write(services, &headers).await?;
        let m = body_object(&headers, &body)?;
        same_product(&product, text(&m, "product").as_deref())?;
        let input = ConnectionInput {
            tenant: text(&m, "tenant").unwrap_or_default(),
            name: text(&m, "name").unwrap_or_default(),
            description: text(&m, "description").unwrap_or_default(),
            metadata: metadata_source(&m)?,
            redirect_urls: redirect_urls(&m)?.unwrap_or_default(),
            default_redirect_url: text(&m, "defaultRedirectUrl").unwrap_or_default(),
            allow_idp_initiated: flag(&m, "allowIdpInitiated").unwrap_or(false),
            email_domains: string_list(&m, "emailDomains")?,
            accept_any_email_domain: flag(&m, "acceptAnyEmailDomain"),
        };
        let created = services
            .create_connection(&product, input, ConnectionSource::Api, None, None)
            .await
            .map_err(WebError::api)?;
        Ok::<_, WebError>(
            Json(connection_json(
                services,
                &created.connection,
                Some(&created.client_secret),
            ))
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Select connections by `clientID`, or by `tenant` + `product`.
async fn select(
    services: &Services,
    product: &Product,
    q: &Map<String, Value>,
) -> Result<Vec<Connection>, WebError> {
    if let Some(client_id) = text(q, "clientID").filter(|s| !s.is_empty()) {
        let c = services
            .store
            .connection_by_client_id(&client_id)
            .await
            .map_err(WebError::api)?;
        return Ok(c
            .into_iter()
            .filter(|c| c.product_id == product.id)
            .collect());
    }
    same_product(product, text(q, "product").as_deref())?;
    let tenant = parse_tenant(&text(q, "tenant").unwrap_or_default()).map_err(WebError::api)?;
    services
        .store
        .connections_for_tenant(&product.id, &tenant)
        .await
        .map_err(WebError::api)
}

async fn sso_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Map<String, Value>>,
) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate(services, &headers).await?;
        let found = select(services, &product, &q).await?;
        Ok::<_, WebError>(
            Json(
                found
                    .iter()
                    .map(|c| connection_json(services, c, None))
                    .collect::<Vec<_>>(),
            )
            .into_response(),
        )
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn sso_patch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate_for_write(services, &headers).await?;
        let m = body_object(&headers, &body)?;
        let client_id =
            text(&m, "clientID").ok_or_else(|| WebError::invalid("clientID", "is required"))?;
        let secret = text(&m, "clientSecret")
            .ok_or_else(|| WebError::invalid("clientSecret", "is required"))?;
        let connection = services
            .store
            .connection_by_client_id(&client_id)
            .await
            .map_err(WebError::api)?
            .filter(|c| c.product_id == product.id)
            .ok_or(WebError::Api(DomainError::NotFound))?;
        if !Services::own_client_secret_matches(&connection, &secret) {
            return Err(WebError::Api(DomainError::WrongSecret("clientSecret")));
        }
        // An OIDC connection's fields left out of the PATCH keep their values.
        let metadata = match (metadata_source(&m)?, &connection.idp) {
            (Some(MetadataSource::Oidc(mut given)), IdpConfig::Oidc(current)) => {
                if given.client_id.trim().is_empty() {
                    given.client_id = current.client_id.clone();
                }
                Some(MetadataSource::Oidc(given))
            }
            (None, IdpConfig::Oidc(current))
                if m.contains_key("oidcClientId") || m.contains_key("oidcClientSecret") =>
            {
                Some(MetadataSource::Oidc(OidcSource {
                    discovery_url: current.discovery_url.clone(),
                    client_id: text(&m, "oidcClientId")
                        .unwrap_or_else(|| current.client_id.clone()),
                    client_secret: text(&m, "oidcClientSecret"),
                }))
            }
            (given, _) => given,
        };
        let input = ConnectionInput {
            tenant: text(&m, "tenant").unwrap_or_else(|| connection.tenant.clone()),
            name: text(&m, "name").unwrap_or_else(|| connection.name.clone()),
            description: text(&m, "description").unwrap_or_else(|| connection.description.clone()),
            metadata,
            redirect_urls: redirect_urls(&m)?.unwrap_or_else(|| connection.redirect_urls.clone()),
            default_redirect_url: text(&m, "defaultRedirectUrl")
                .or_else(|| connection.default_redirect_url.clone())
                .unwrap_or_default(),
            allow_idp_initiated: flag(&m, "allowIdpInitiated")
                .unwrap_or(connection.allow_idp_initiated),
            email_domains: string_list(&m, "emailDomains")?,
            accept_any_email_domain: flag(&m, "acceptAnyEmailDomain"),
        };
        let enable = flag(&m, "deactivated").map(|d| !d);
        let mut updated = services
            .update_connection(connection, input)
            .await
            .map_err(WebError::api)?;
        if let Some(enabled) = enable.filter(|e| *e != updated.enabled) {
            updated = services
                .set_connection_enabled(updated, enabled)
                .await
                .map_err(WebError::api)?;
        }
        Ok::<_, WebError>(Json(connection_json(services, &updated, None)).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn sso_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Map<String, Value>>,
) -> Response {
    let run = async {
        let services = &state.services;
        let product = authenticate_for_write(services, &headers).await?;
        let targets = if text(&q, "clientID").is_some_and(|s| !s.is_empty()) {
            let secret = text(&q, "clientSecret")
                .ok_or_else(|| WebError::invalid("clientSecret", "is required with clientID"))?;
            let found = select(services, &product, &q).await?;
            let Some(c) = found.into_iter().next() else {
                return Err(WebError::Api(DomainError::NotFound));
            };
            if !Services::own_client_secret_matches(&c, &secret) {
                return Err(WebError::Api(DomainError::WrongSecret("clientSecret")));
            }
            vec![c]
        } else {
            select(services, &product, &q).await?
        };
        for c in &targets {
            services.delete_connection(c).await.map_err(WebError::api)?;
        }
        Ok::<_, WebError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn openapi_get(State(state): State<AppState>) -> Response {
    Json(openapi(&state.services.settings.issuer())).into_response()
}

fn openapi(server: &str) -> Value {
    let connection_fields = json!({
        "tenant": { "type": "string", "example": "acme.com" },
        "product": { "type": "string", "description": "Gatehouse product id" },
        "name": { "type": "string" },
        "description": { "type": "string" },
        "rawMetadata": { "type": "string", "description": "IdP metadata XML" },
        "encodedRawMetadata": { "type": "string", "description": "IdP metadata XML, base64" },
        "metadataUrl": { "type": "string", "format": "uri", "description": "https URL of the IdP metadata (fetched on save)" },
        "redirectUrl": { "oneOf": [{ "type": "array", "items": { "type": "string", "format": "uri" } }, { "type": "string" }] },
        "defaultRedirectUrl": { "type": "string", "format": "uri" },
        "allowIdpInitiated": { "type": "boolean" },
        "emailDomains": { "oneOf": [{ "type": "array", "items": { "type": "string" } }, { "type": "string" }], "description": "Email domains the IdP may vouch for beside the tenant's own (when the tenant is a domain); a sign-in asserting another email is refused (email_outside_tenant_domains)" },
        "acceptAnyEmailDomain": { "type": "boolean", "description": "Accept any email address; sign-ins then carry email_verified: false" },
        "oidcDiscoveryUrl": { "type": "string", "format": "uri", "description": "An OIDC IdP instead of SAML: its issuer or discovery URL (fetched and checked on save)" },
        "oidcClientId": { "type": "string", "description": "The client id the OIDC IdP issued for Gatehouse (redirect URI: {issuer}/api/oauth/oidc/{connection id}, returned as oidcProvider.redirectUrl)" },
        "oidcClientSecret": { "type": "string", "description": "Its client secret (stored encrypted, never returned; omit on PATCH to keep it)" },
    });
    let error = json!({ "type": "object", "properties": { "error": { "type": "object", "properties": { "message": { "type": "string" } } } } });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Gatehouse admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "SSO connections, compatible with BoxyHQ SAML Jackson's /api/v1/sso. `product` is the Gatehouse product id; the API key must belong to it.",
        },
        "servers": [{ "url": server }],
        "components": {
            "securitySchemes": { "apiKey": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "`Api-Key <key>`" } },
            "schemas": {
                "ConnectionInput": { "type": "object", "properties": connection_fields, "required": ["tenant", "product"] },
                "Connection": { "type": "object", "properties": {
                    "id": { "type": "string" }, "clientID": { "type": "string" },
                    "clientSecret": { "type": "string", "description": "only in the response to POST" },
                    "tenant": { "type": "string" }, "product": { "type": "string" }, "name": { "type": "string" },
                    "description": { "type": "string" }, "redirectUrl": { "type": "array", "items": { "type": "string" } },
                    "defaultRedirectUrl": { "type": "string", "nullable": true }, "deactivated": { "type": "boolean" },
                    "allowIdpInitiated": { "type": "boolean" }, "metadataUrl": { "type": "string", "nullable": true },
                    "emailDomains": { "type": "array", "items": { "type": "string" } }, "acceptAnyEmailDomain": { "type": "boolean" },
                    "idpMetadata": { "type": "object", "description": "SAML connections" },
                    "oidcProvider": { "type": "object", "description": "OIDC connections: provider (issuer), discoveryUrl, clientId, redirectUrl" },
                    "sp": { "type": "object" },
                    "createdAt": { "type": "string", "format": "date-time" }, "updatedAt": { "type": "string", "format": "date-time" }
                } },
                "Error": error,
            }
        },
        "security": [{ "apiKey": [] }],
        "paths": {
            "/api/v1/sso": {
                "post": {
                    "summary": "Create an SSO connection",
                    "requestBody": { "required": true, "content": {
                        "application/json": { "schema": { "$ref": "#/components/schemas/ConnectionInput" } },
                        "application/x-www-form-urlencoded": { "schema": { "$ref": "#/components/schemas/ConnectionInput" } } } },
                    "responses": {
                        "200": { "description": "Created", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Connection" } } } },
                        "400": { "description": "Invalid input (e.g. bad metadata)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                        "401": { "description": "Missing or wrong API key" },
                        "404": { "description": "Product not found" }
                    }
                },
                "get": {
                    "summary": "Find connections by clientID, or by tenant and product",
                    "parameters": [
                        { "name": "clientID", "in": "query", "schema": { "type": "string" } },
                        { "name": "tenant", "in": "query", "schema": { "type": "string" } },
                        { "name": "product", "in": "query", "schema": { "type": "string" } }
                    ],
                    "responses": { "200": { "description": "Connections", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Connection" } } } } }, "401": { "description": "Missing or wrong API key" } }
                },
                "patch": {
                    "summary": "Update a connection (clientID and clientSecret identify it)",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "allOf": [
                        { "$ref": "#/components/schemas/ConnectionInput" },
                        { "type": "object", "properties": { "clientID": { "type": "string" }, "clientSecret": { "type": "string" }, "deactivated": { "type": "boolean" } }, "required": ["clientID", "clientSecret"] } ] } } } },
                    "responses": { "200": { "description": "Updated", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Connection" } } } }, "401": { "description": "Wrong API key or clientSecret" }, "404": { "description": "Not found" } }
                },
                "delete": {
                    "summary": "Delete by clientID + clientSecret, or all of a tenant + product",
                    "parameters": [
                        { "name": "clientID", "in": "query", "schema": { "type": "string" } },
                        { "name": "clientSecret", "in": "query", "schema": { "type": "string" } },
                        { "name": "tenant", "in": "query", "schema": { "type": "string" } },
                        { "name": "product", "in": "query", "schema": { "type": "string" } }
                    ],
                    "responses": { "204": { "description": "Deleted" }, "401": { "description": "Wrong API key or clientSecret" }, "404": { "description": "Not found" } }
                }
            },
            "/api/v1/sso/setuplinks": {
                "post": {
                    "summary": "Create a setup link for a tenant (the URL, with its token, is returned only here)",
                    "requestBody": { "content": { "application/json": { "schema": { "type": "object", "required": ["tenant", "product"], "properties": {
                        "tenant": { "type": "string" }, "product": { "type": "string" }, "name": { "type": "string" },
                        "service": { "type": "string", "enum": ["sso"] }, "expiryDays": { "type": "integer", "minimum": 1, "maximum": 30, "default": 3 }
                    } } } } },
                    "responses": { "201": { "description": "Created: {data: {setupID, tenant, product, name, service, validTill, status, url}}" }, "400": { "description": "Invalid input" }, "401": { "description": "Wrong API key" } }
                },
                "get": {
                    "summary": "One link by setupID, or the product's links (optionally of one tenant)",
                    "parameters": [
                        { "name": "setupID", "in": "query", "schema": { "type": "string" } },
                        { "name": "product", "in": "query", "schema": { "type": "string" } },
                        { "name": "tenant", "in": "query", "schema": { "type": "string" } }
                    ],
                    "responses": { "200": { "description": "{data: link} or {data: [link]}" }, "401": { "description": "Wrong API key" }, "404": { "description": "Not found" } }
                },
                "delete": {
                    "summary": "Revoke a setup link (it stops working at once)",
                    "parameters": [{ "name": "setupID", "in": "query", "required": true, "schema": { "type": "string" } }],
                    "responses": { "200": { "description": "Revoked" }, "401": { "description": "Wrong API key" }, "404": { "description": "Not found" } }
                }
            }
        }
    })
}
