//! The domain's error type. Each variant is something a caller can act on; the
//! edges (HTTP handlers, server functions) map them to status codes and messages in
//! one place each. `Internal` carries detail for the log only.

use chrono::{DateTime, Utc};
use gatehouse_core::FieldError;

use crate::ory::OryError;
use crate::ports::StoreError;
use crate::secret_box::SecretBoxError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist *for this caller* (also used for other teams' rows).
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(FieldError),
    #[error("sign in to continue")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many failed sign-in attempts; try again after {until}")]
    LockedOut { until: DateTime<Utc> },
    #[error("this team's trial has ended; the dashboard is read-only")]
    TrialExpired,
    #[error("only team owners can do that")]
    OwnerOnly,
    #[error("{0}")]
    Rejected(String),
    /// A setup link that does not exist, has expired or was revoked (never says which).
    #[error("this setup link has expired or is no longer valid")]
    SetupLinkGone,
    #[error("too many requests; try again in a minute")]
    RateLimited,
    #[error(transparent)]
    Ory(#[from] OryError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("secrets: {0}")]
    Secrets(#[from] SecretBoxError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        DomainError::Invalid(e)
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
