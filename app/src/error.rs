//! The dashboard's error type: what a server function can fail with, as the browser
//! sees it. On the server it is built only from a `DomainError`, through
//! `DomainError::public` (the one error policy, `docs/errors.md`), which picks the
//! kind (hence the HTTP status) and the words; internal failures are logged with a
//! reference id and only the id is shown.

use gatehouse_core::{ErrorKind, PublicError};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError(pub PublicError);

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for AppError {}

impl From<PublicError> for AppError {
    fn from(p: PublicError) -> Self {
        AppError(p)
    }
}

impl AppError {
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn is(&self, kind: ErrorKind) -> bool {
        self.0.kind == kind
    }

    /// The message to show next to `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.0.field.as_deref() == Some(field)).then(|| self.0.message.clone())
    }

    /// The message to show at form level (anything not tied to one of `fields`).
    pub fn general(&self, fields: &[&str]) -> Option<String> {
        match &self.0.field {
            Some(field) if fields.contains(&field.as_str()) => None,
            _ => Some(self.0.message.clone()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// The request did not reach the server function or its answer was unreadable.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError(PublicError::new(
            ErrorKind::Unavailable,
            format!("Could not reach the server: {value}"),
        ))
    }
}

#[cfg(feature = "ssr")]
mod from_domain {
    use super::AppError;
    use gatehouse_domain::DomainError;

    impl From<DomainError> for AppError {
        fn from(e: DomainError) -> Self {
            let public = e.public();
            if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                options.set_status(
                    http::StatusCode::from_u16(public.status())
                        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                );
            }
            AppError(public)
        }
    }

    impl From<gatehouse_core::FieldError> for AppError {
        fn from(f: gatehouse_core::FieldError) -> Self {
            DomainError::Invalid(f).into()
        }
    }
}
