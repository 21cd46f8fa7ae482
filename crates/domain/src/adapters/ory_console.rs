//! [`OryApi`] over HTTP: the parts of Ory's console API that Gatehouse uses.
//! The bearer token is passed per call and never logged or put in an error.

use std::time::Duration;

use async_trait::async_trait;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::ory::{OryApi, OryError, OryOrganization, OryProject};

#[derive(Clone, Debug)]
pub struct OryClient {
    http: reqwest::Client,
    base: Url,
}

impl OryClient {
    pub const DEFAULT_API_URL: &'static str = "https://api.console.ory.sh";

    pub fn new(base: Url, timeout: Duration) -> Result<Self, OryError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OryError::BadResponse(e.to_string()))?;
        Ok(Self { http, base })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Result<Url, OryError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| OryError::BadResponse("ORY_API_URL cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
        url: &Url,
        project_id: &str,
    ) -> Result<reqwest::Response, OryError> {
        let response = request
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let message = error_message(response).await;
        Err(match status {
            401 | 403 => OryError::Unauthorized { status, message },
            404 => OryError::ProjectNotFound {
                project_id: project_id.to_string(),
                status,
                message,
            },
            _ => OryError::Status {
                status,
                message,
                retry_after,
            },
        })
    }
}

#[async_trait]
impl OryApi for OryClient {
    /// `GET /projects/{project_id}`.
    async fn get_project(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<OryProject, OryError> {
        let url = self.url(&["projects", project_id])?;
        let request = self.http.get(url.clone());
        let response = self.send(request, token, &url, project_id).await?;
        read_json(response).await
    }

    /// The OIDC providers in the project's identity config
    /// (`services.identity.config.selfservice.methods.oidc.config.providers`), or
    /// `None` when the project has no such array yet.
    async fn providers(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<Option<Vec<Value>>, OryError> {
        let url = self.url(&["projects", project_id])?;
        let request = self.http.get(url.clone());
        let response = self.send(request, token, &url, project_id).await?;
        let project: Value = read_json(response).await?;
        Ok(project
            .pointer("/services/identity/config/selfservice/methods/oidc/config/providers")
            .and_then(Value::as_array)
            .cloned())
    }

    /// Is the project's OpenID Connect sign-in method on
    /// (`services.identity.config.selfservice.methods.oidc.enabled`)?
    async fn oidc_method_enabled(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<bool, OryError> {
        let url = self.url(&["projects", project_id])?;
        let request = self.http.get(url.clone());
        let response = self.send(request, token, &url, project_id).await?;
        let project: Value = read_json(response).await?;
        Ok(project
            .pointer(crate::ory::provider::OIDC_ENABLED_POINTER)
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    /// `PATCH /projects/{project_id}` with an RFC 6902 JSON Patch.
    async fn patch_project(
        &self,
        token: &SecretString,
        project_id: &str,
        ops: &Value,
    ) -> Result<(), OryError> {
        let url = self.url(&["projects", project_id])?;
        let request = self.http.patch(url.clone()).json(ops);
        self.send(request, token, &url, project_id).await?;
        Ok(())
    }

    /// `GET /projects/{id}/organizations`, every page.
    async fn organizations(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<Vec<OryOrganization>, OryError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            organizations: Vec<OryOrganization>,
            #[serde(default)]
            has_next_page: bool,
            #[serde(default)]
            next_page_token: String,
        }
        let mut all = Vec::new();
        let mut page_token = String::new();
        for _ in 0..100 {
            let mut url = self.url(&["projects", project_id, "organizations"])?;
            url.query_pairs_mut().append_pair("page_size", "1000");
            if !page_token.is_empty() {
                url.query_pairs_mut().append_pair("page_token", &page_token);
            }
            let request = self.http.get(url.clone());
            let response = self.send(request, token, &url, project_id).await?;
            let page: Page = read_json(response).await?;
            all.extend(page.organizations);
            if !page.has_next_page || page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(all)
    }

    /// `GET /projects/{id}/organizations/{org_id}`; `None` when it is gone.
    async fn organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
    ) -> Result<Option<OryOrganization>, OryError> {
        #[derive(Deserialize)]
        struct Wrapped {
            organization: OryOrganization,
        }
        let url = self.url(&["projects", project_id, "organizations", organization_id])?;
        let request = self.http.get(url.clone());
        match self.send(request, token, &url, project_id).await {
            Ok(response) => Ok(Some(read_json::<Wrapped>(response).await?.organization)),
            Err(OryError::ProjectNotFound { .. }) => {
                // 404 is either the project or the organization: tell them apart.
                self.get_project(token, project_id).await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /projects/{id}/organizations`.
    async fn create_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        label: &str,
        domains: &[String],
    ) -> Result<OryOrganization, OryError> {
        let url = self.url(&["projects", project_id, "organizations"])?;
        let request = self
            .http
            .post(url.clone())
            .json(&json!({ "label": label, "domains": domains }));
        let response = self.send(request, token, &url, project_id).await?;
        read_json(response).await
    }

    /// `PUT /projects/{id}/organizations/{org_id}`.
    async fn update_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
        label: &str,
        domains: &[String],
    ) -> Result<(), OryError> {
        let url = self.url(&["projects", project_id, "organizations", organization_id])?;
        let request = self
            .http
            .put(url.clone())
            .json(&json!({ "label": label, "domains": domains }));
        self.send(request, token, &url, project_id).await?;
        Ok(())
    }

    /// `DELETE /projects/{id}/organizations/{org_id}`; an organization already gone
    /// counts as deleted.
    async fn delete_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
    ) -> Result<(), OryError> {
        let url = self.url(&["projects", project_id, "organizations", organization_id])?;
        let request = self.http.delete(url.clone());
        match self.send(request, token, &url, project_id).await {
            Ok(_) => Ok(()),
            Err(OryError::ProjectNotFound { .. }) => {
                self.get_project(token, project_id).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, OryError> {
    response
        .json::<T>()
        .await
        .map_err(|e| OryError::BadResponse(e.without_url().to_string()))
}

fn unreachable(url: &Url, e: &reqwest::Error) -> OryError {
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        // reqwest's Display includes the URL; we add it ourselves.
        let mut msg = e.to_string();
        if let Some(src) = std::error::Error::source(e) {
            msg = format!("{msg}: {src}");
        }
        msg
    };
    let mut shown = url.clone();
    shown.set_path("");
    shown.set_query(None);
    OryError::Unreachable {
        url: shown.as_str().trim_end_matches('/').to_string(),
        reason,
    }
}

/// Ory errors look like `{"error":{"code":401,"status":"Unauthorized","message":"…","reason":"…"}}`.
async fn error_message(response: reqwest::Response) -> String {
    #[derive(Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    match serde_json::from_str::<Envelope>(&body) {
        Ok(Envelope { error }) => {
            let mut parts: Vec<String> = Vec::new();
            if let Some(m) = error.message.filter(|m| !m.is_empty()) {
                parts.push(m);
            } else if let Some(s) = error.status {
                parts.push(s);
            }
            if let Some(r) = error.reason.filter(|r| !r.is_empty()) {
                parts.push(r);
            }
            if parts.is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                parts.join(" — ")
            }
        }
        Err(_) => {
            let text: String = body.chars().take(200).collect();
            if text.trim().is_empty() {
                status.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            }
        }
    }
}
