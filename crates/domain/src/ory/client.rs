//! A small client for the parts of Ory's console API that Gatehouse uses.
//! The bearer token is passed per call and never logged or put in an error.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OryProject {
    pub id: String,
    pub name: String,
    pub slug: String,
}

/// Why an Ory call failed, in words shown to the admin. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OryError {
    #[error("Ory rejected the token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("Ory has no project {project_id} that this token can access ({status}): {message}")]
    ProjectNotFound {
        project_id: String,
        status: u16,
        message: String,
    },
    #[error("could not reach Ory at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Ory answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("Ory sent a response Gatehouse could not read: {0}")]
    BadResponse(String),
}

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

    /// `GET /projects/{project_id}`.
    pub async fn get_project(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<OryProject, OryError> {
        let url = self.url(&["projects", project_id])?;
        let response = self
            .http
            .get(url.clone())
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return response
                .json::<OryProject>()
                .await
                .map_err(|e| OryError::BadResponse(e.without_url().to_string()));
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
