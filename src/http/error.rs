//! The HTTP edge's one error type. Every status comes from the same table,
//! [`gatehouse_core::ErrorKind::status`] (`docs/errors.md`); what differs between the
//! areas is only the body's shape:
//!
//! * Browser sign-in flows ([`WebError::Login`]): a short HTML page with a reference
//!   id; the precise reason is logged under that id (target `gatehouse::login`).
//! * OAuth endpoints ([`WebError::OAuth`]): RFC 6749 §5.2 JSON (`error`,
//!   `error_description`), `Cache-Control: no-store`; `invalid_client` and
//!   `invalid_token` with the matching `WWW-Authenticate` challenge.
//! * Admin API ([`WebError::Api`]): Jackson's `{"error":{"message":…}}` shape.
//! * Other browser pages ([`WebError::Page`]): a title and the public message.
//!
//! Domain errors become words through [`DomainError::public`], which logs internal
//! failures under a reference id and shows only the id.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_core::{ErrorKind, FieldError, PublicError};
use gatehouse_domain::error::reference_id;
use gatehouse_domain::sso::error::{LoginError, OAuthError};
use gatehouse_domain::DomainError;
use serde_json::json;

use super::html::{escape, page};

#[derive(Debug)]
pub enum WebError {
    Login(LoginError),
    OAuth(OAuthError),
    /// A domain error met by the admin API.
    Api(DomainError),
    /// A domain error met by a browser page outside the dashboard (setup links).
    Page(DomainError),
}

fn status(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
    /// Malformed admin API input: `field` and what is wrong with it.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        WebError::Api(DomainError::Invalid(FieldError::new(field, message)))
    }

    pub fn api(e: impl Into<DomainError>) -> Self {
        WebError::Api(e.into())
    }

    pub fn page(e: impl Into<DomainError>) -> Self {
        WebError::Page(e.into())
    }
}

pub fn login_error_page(e: &LoginError) -> Response {
    let reference = reference_id();
    if e.kind.is_server_side() {
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
    let mut res = (status(e.kind), page(&e.title, &body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn oauth_response(e: &OAuthError) -> Response {
    if e.kind.is_server_side() {
        tracing::error!(error = %e, "OAuth endpoint failure");
    }
    let mut res = (
        status(e.kind),
        Json(json!({ "error": e.code, "error_description": e.description })),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    let challenge = match e.code {
        "invalid_client" => Some("Basic realm=\"gatehouse\""),
        "invalid_token" => Some("Bearer error=\"invalid_token\""),
        _ => None,
    };
    if let Some(challenge) = challenge {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    res
}

/// Jackson's shape. The message names the field of invalid input (an API caller has
/// no form to show it beside); `field` and `reference` are there when known.
fn api_response(p: PublicError) -> Response {
    let message = match &p.field {
        Some(field) => format!("{field}: {}", p.message),
        None => p.message.clone(),
    };
    let mut error = json!({ "message": message });
    if let Some(field) = &p.field {
        error["field"] = json!(field);
    }
    if let Some(reference) = &p.reference {
        error["reference"] = json!(reference);
    }
    (status(p.kind), Json(json!({ "error": error }))).into_response()
}

fn page_title(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "Not found",
        ErrorKind::Gone => "This setup link has expired",
        ErrorKind::RateLimited => "Too many requests",
        ErrorKind::Conflict => "Nothing to do yet",
        ErrorKind::Invalid => "This request is not valid",
        ErrorKind::Unauthenticated => "Please sign in",
        ErrorKind::Forbidden => "Not allowed",
        ErrorKind::Upstream => "An outside service failed",
        ErrorKind::Unavailable => "The service is busy",
        ErrorKind::Internal => "Something went wrong",
    }
}

fn page_response(p: PublicError) -> Response {
    let title = page_title(p.kind);
    (
        status(p.kind),
        page(
            title,
            &format!(
                r#"<div class="rounded-xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="page-error"><h1 class="text-lg font-semibold">{}</h1><p class="mt-3 text-sm text-slate-600">{}</p></div>"#,
                escape(title),
                escape(&p.message)
            ),
        ),
    )
        .into_response()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login(e) => login_error_page(&e),
            WebError::OAuth(e) => oauth_response(&e),
            WebError::Api(e) => api_response(e.public()),
            WebError::Page(e) => page_response(e.public()),
        }
    }
}
