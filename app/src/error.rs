//! The dashboard's error type: what a server function can fail with, as the browser
//! sees it. On the server, [`AppError::from`] a `DomainError` is the single place
//! that picks the HTTP status and the user-facing words; internal failures are logged
//! with a reference id and only the id is shown.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please log in to continue.")]
    Unauthenticated,
    #[error("Not found. It may have been deleted, or it belongs to a team you are not in.")]
    NotFound,
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Rejected(String),
    #[error(
        "This team's trial has ended, so the dashboard is read-only. Nothing has been deleted."
    )]
    TrialExpired,
    #[error("This setup link has expired or is no longer valid. Ask the vendor for a new one.")]
    SetupLinkGone,
    #[error("Too many requests. Try again in a minute.")]
    RateLimited,
    #[error("Something went wrong on our side (reference {reference}).")]
    Internal { reference: String },
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The message to show next to `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// The message to show at form level (anything not tied to one of `fields`).
    pub fn general(&self, fields: &[&str]) -> Option<String> {
        match self {
            AppError::Invalid { field, .. } if fields.contains(&field.as_str()) => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
mod from_domain {
    use super::AppError;
    use gatehouse_domain::DomainError;
    use http::StatusCode;

    fn set_status(status: StatusCode) {
        if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            options.set_status(status);
        }
    }

    impl From<DomainError> for AppError {
        fn from(e: DomainError) -> Self {
            let (status, error) = match e {
                DomainError::NotFound => (StatusCode::NOT_FOUND, AppError::NotFound),
                DomainError::Unauthenticated => {
                    (StatusCode::UNAUTHORIZED, AppError::Unauthenticated)
                }
                DomainError::Invalid(f) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    AppError::Invalid {
                        field: f.field,
                        message: f.message,
                    },
                ),
                DomainError::BadCredentials => (
                    StatusCode::UNAUTHORIZED,
                    AppError::Rejected("Wrong email or password.".into()),
                ),
                DomainError::LockedOut { until } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    AppError::Rejected(format!(
                        "Too many failed attempts for this email. Sign-in is locked until {} UTC.",
                        until.format("%H:%M")
                    )),
                ),
                DomainError::TrialExpired => (StatusCode::FORBIDDEN, AppError::TrialExpired),
                DomainError::OwnerOnly => (
                    StatusCode::FORBIDDEN,
                    AppError::Rejected("Only team owners can do that.".into()),
                ),
                DomainError::Rejected(m) => (StatusCode::BAD_REQUEST, AppError::Rejected(m)),
                DomainError::Ory(o) => (StatusCode::BAD_GATEWAY, AppError::Rejected(o.to_string())),
                DomainError::SetupLinkGone => (StatusCode::GONE, AppError::SetupLinkGone),
                DomainError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, AppError::RateLimited),
                other => {
                    let reference = gatehouse_domain::tokens::new_id("err");
                    tracing::error!(%reference, error = %other, "server function failed");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        AppError::Internal { reference },
                    )
                }
            };
            set_status(status);
            error
        }
    }

    impl From<gatehouse_core::FieldError> for AppError {
        fn from(f: gatehouse_core::FieldError) -> Self {
            DomainError::Invalid(f).into()
        }
    }
}
