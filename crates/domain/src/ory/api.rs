//! What Gatehouse asks of Ory's console API, as a port: the HTTP client is
//! [`crate::adapters::ory_console::OryClient`]; tests may use a fake.

use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

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

/// An Ory Organization (B2B SSO): a label and the email domains it owns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OryOrganization {
    pub id: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub domains: Vec<String>,
}

impl OryError {
    /// The HTTP status Ory answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            OryError::Unauthorized { status, .. }
            | OryError::ProjectNotFound { status, .. }
            | OryError::Status { status, .. } => Some(*status),
            OryError::Unreachable { .. } | OryError::BadResponse(_) => None,
        }
    }

    /// Worth retrying later without anyone changing anything (network, 5xx, 429,
    /// a lost race on a guarded patch).
    pub fn is_transient(&self) -> bool {
        match self {
            OryError::Unreachable { .. } => true,
            OryError::Status { status, .. } => *status >= 500 || *status == 429 || *status == 409,
            _ => false,
        }
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            OryError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The console API calls the Ory mirror makes. Every call takes the product's token
/// and project id.
#[async_trait]
pub trait OryApi: Send + Sync {
    /// `GET /projects/{project_id}`.
    async fn get_project(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<OryProject, OryError>;
    /// The OIDC providers in the project's identity config
    /// (`services.identity.config.selfservice.methods.oidc.config.providers`), or
    /// `None` when the project has no such array yet.
    async fn providers(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<Option<Vec<Value>>, OryError>;
    /// Is the project's OpenID Connect sign-in method on?
    async fn oidc_method_enabled(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<bool, OryError>;
    /// `PATCH /projects/{project_id}` with an RFC 6902 JSON Patch.
    async fn patch_project(
        &self,
        token: &SecretString,
        project_id: &str,
        ops: &Value,
    ) -> Result<(), OryError>;
    /// Every organization of the project.
    async fn organizations(
        &self,
        token: &SecretString,
        project_id: &str,
    ) -> Result<Vec<OryOrganization>, OryError>;
    /// `None` when it is gone.
    async fn organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
    ) -> Result<Option<OryOrganization>, OryError>;
    async fn create_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        label: &str,
        domains: &[String],
    ) -> Result<OryOrganization, OryError>;
    async fn update_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
        label: &str,
        domains: &[String],
    ) -> Result<(), OryError>;
    /// An organization already gone counts as deleted.
    async fn delete_organization(
        &self,
        token: &SecretString,
        project_id: &str,
        organization_id: &str,
    ) -> Result<(), OryError>;
}
