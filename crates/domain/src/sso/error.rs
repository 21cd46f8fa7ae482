//! Errors of the protocol endpoints.
//!
//! * [`OAuthError`]: RFC 6749 §5.2 / §4.1.2.1 error codes, sent as JSON from the token
//!   endpoint or as query parameters back to the app.
//! * [`LoginError`]: a failed browser login. The user sees `title` and a reference id;
//!   `detail` goes to the log under that id (and, for "Test connection", to the admin).

use std::fmt;

pub use gatehouse_core::traces::FailureReason;
pub use gatehouse_core::ErrorKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    /// Decides the HTTP status when sent as JSON (`ErrorKind::status`).
    pub kind: ErrorKind,
}

impl OAuthError {
    fn new(code: &'static str, kind: ErrorKind, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            kind,
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", ErrorKind::Invalid, d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", ErrorKind::Unauthenticated, d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", ErrorKind::Invalid, d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", ErrorKind::Invalid, d)
    }
    pub fn unsupported_response_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_response_type", ErrorKind::Invalid, d)
    }
    pub fn access_denied(d: impl Into<String>) -> Self {
        Self::new("access_denied", ErrorKind::Forbidden, d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new("invalid_token", ErrorKind::Unauthenticated, d)
    }
    pub fn server_error(d: impl Into<String>) -> Self {
        Self::new("server_error", ErrorKind::Internal, d)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginError {
    /// Decides the HTTP status of the error page (`ErrorKind::status`).
    pub kind: ErrorKind,
    /// Short, for the user.
    pub title: String,
    /// Precise, for the log and the admin.
    pub detail: String,
    /// The connection involved, when known (for the log).
    pub connection_id: Option<String>,
    /// Extra words safe to show the user (e.g. the IdP's own error message).
    pub shown: Option<String>,
    /// The typed reason, for the sign-in trace and the metrics.
    pub reason: FailureReason,
}

impl LoginError {
    pub fn bad_request(title: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            title: title.into(),
            detail: detail.into(),
            connection_id: None,
            shown: None,
            reason: FailureReason::MalformedResponse,
        }
    }
    pub fn rejected(detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Forbidden,
            title: "Sign-in failed".into(),
            detail: detail.into(),
            connection_id: None,
            shown: None,
            reason: FailureReason::Rejected,
        }
    }
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self {
            kind: ErrorKind::Internal,
            title: "Something went wrong".into(),
            detail: detail.to_string(),
            connection_id: None,
            shown: None,
            reason: FailureReason::Internal,
        }
    }
    pub fn on(mut self, connection_id: &str) -> Self {
        self.connection_id = Some(connection_id.to_string());
        self
    }
    pub fn because(mut self, reason: FailureReason) -> Self {
        self.reason = reason;
        self
    }
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)
    }
}

impl std::error::Error for LoginError {}
