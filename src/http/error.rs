//! The HTTP edge's one error type. Policy:
//!
//! * Browser flows ([`WebError::Login`]): a short HTML page with a reference id; the
//!   precise reason is logged under that id (target `gatehouse::login`).
//! * OAuth endpoints ([`WebError::OAuth`]): RFC 6749 §5.2 JSON (`error`,
//!   `error_description`), `Cache-Control: no-store`; 401 for `invalid_client` and
//!   `invalid_token` with the matching `WWW-Authenticate` challenge.
//! * Admin API ([`WebError::Api`]): Jackson's `{"error":{"message":…}}` shape.
//!   Internal failures are logged with a reference id and only the id is returned.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_domain::sso::error::{LoginError, OAuthError};
use gatehouse_domain::DomainError;
use serde_json::json;

use super::html::{escape, page};

#[derive(Debug)]
pub enum WebError {
    Login(LoginError),
    OAuth(OAuthError),
    Api {
        status: StatusCode,
        message: String,
    },
    /// A plain browser page (setup links): a title and a sentence.
    Page {
        status: StatusCode,
        title: String,
        message: String,
    },
    NotFound,
}

pub fn reference_id() -> String {
    gatehouse_domain::tokens::new_id("ref")
}

impl From<LoginError> for WebError {
    fn from(e: LoginError) -> Self {
        WebError::Login(e)
    }
}

impl From<OAuthError> for WebError {
    fn from(e: OAuthError) -> Self {
        WebError::OAuth(e)
    }
}

impl WebError {
    pub fn api(status: StatusCode, message: impl Into<String>) -> Self {
        WebError::Api {
            status,
            message: message.into(),
        }
    }

    pub fn page(status: StatusCode, title: &str, message: &str) -> Self {
        WebError::Page {
            status,
            title: title.to_string(),
            message: message.to_string(),
        }
    }

    /// Domain errors met by a browser page outside the dashboard.
    pub fn from_domain_page(e: DomainError) -> Self {
        match e {
            DomainError::SetupLinkGone => Self::page(
                StatusCode::GONE,
                "This setup link has expired",
                "It has expired or is no longer valid. Ask the vendor for a new link.",
            ),
            DomainError::RateLimited => Self::page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Try again in a minute.",
            ),
            DomainError::NotFound => WebError::NotFound,
            other => {
                let reference = reference_id();
                tracing::error!(%reference, error = %other, "page failed");
                Self::page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    &format!("Reference {reference}."),
                )
            }
        }
    }

    /// Domain errors met by the admin API.
    pub fn from_domain_api(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => Self::api(StatusCode::NOT_FOUND, "Not found"),
            DomainError::Unauthenticated => Self::api(StatusCode::UNAUTHORIZED, "Unauthorized"),
            DomainError::Invalid(f) => Self::api(
                StatusCode::BAD_REQUEST,
                format!("{}: {}", f.field, f.message),
            ),
            DomainError::Rejected(m) => Self::api(StatusCode::BAD_REQUEST, m),
            DomainError::SetupLinkGone => {
                Self::api(StatusCode::GONE, DomainError::SetupLinkGone.to_string())
            }
            DomainError::RateLimited => Self::api(
                StatusCode::TOO_MANY_REQUESTS,
                DomainError::RateLimited.to_string(),
            ),
            DomainError::TrialExpired => {
                Self::api(StatusCode::FORBIDDEN, DomainError::TrialExpired.to_string())
            }
            other => {
                let reference = reference_id();
                tracing::error!(%reference, error = %other, "admin API failure");
                Self::api(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("Internal error (reference {reference})"),
                )
            }
        }
    }
}

pub fn login_error_page(e: &LoginError) -> Response {
    let reference = reference_id();
    if e.status >= 500 {
        tracing::error!(target: "gatehouse::login", %reference, connection_id = ?e.connection_id, reason = %e.detail, "sign-in failed");
    } else {
        tracing::warn!(target: "gatehouse::login", %reference, connection_id = ?e.connection_id, reason = %e.detail, "sign-in failed");
    }
    let shown = e
        .shown
        .as_deref()
        .map(|s| format!(r#"<p class="mt-3 rounded bg-slate-100 px-3 py-2 text-sm text-slate-700" data-testid="idp-error">{}</p>"#, escape(s)))
        .unwrap_or_default();
    let body = format!(
        r#"<div class="rounded-xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="login-error">
<h1 class="text-lg font-semibold">{title}</h1>{shown}
<p class="mt-3 text-sm text-slate-600">If this keeps happening, send this reference to your administrator:</p>
<p class="mt-2"><code class="rounded bg-slate-100 px-2 py-1 text-sm" data-testid="reference">{reference}</code></p>
</div>"#,
        title = escape(&e.title),
    );
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (status, page(&e.title, &body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login(e) => login_error_page(&e),
            WebError::OAuth(e) => {
                let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                if status.is_server_error() {
                    tracing::error!(error = %e, "OAuth endpoint failure");
                }
                let mut res = (
                    status,
                    Json(json!({ "error": e.code, "error_description": e.description })),
                )
                    .into_response();
                let h = res.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
                match e.code {
                    "invalid_client" => {
                        h.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Basic realm=\"gatehouse\""),
                        );
                    }
                    "invalid_token" => {
                        h.insert(
                            header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer error=\"invalid_token\""),
                        );
                    }
                    _ => {}
                }
                res
            }
            WebError::Api { status, message } => {
                (status, Json(json!({ "error": { "message": message } }))).into_response()
            }
            WebError::Page {
                status,
                title,
                message,
            } => (
                status,
                page(
                    &title,
                    &format!(
                        r#"<div class="rounded-xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="page-error"><h1 class="text-lg font-semibold">{}</h1><p class="mt-3 text-sm text-slate-600">{}</p></div>"#,
                        escape(&title),
                        escape(&message)
                    ),
                ),
            )
                .into_response(),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                page("Not found", "<h1>Not found</h1>"),
            )
                .into_response(),
        }
    }
}
