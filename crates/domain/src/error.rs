//! The domain's error type. Each variant is something a caller can act on.
//! [`DomainError::public`] is the one policy that turns it into what a caller sees (a
//! kind, hence one HTTP status, and words safe to show); every edge (server
//! functions, admin API, browser pages) answers through it. The table is in
//! `docs/errors.md`. Internal failures keep their cause for the log and show only a
//! reference id.

use std::error::Error as StdError;

use chrono::{DateTime, Utc};
use gatehouse_core::{ErrorKind, FieldError, PublicError};

use crate::ory::api::OryError;
use crate::ports::StoreError;
use crate::secret_box::SecretBoxError;

pub type BoxError = Box<dyn StdError + Send + Sync>;

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
    /// A secret sent with a request (e.g. a connection's `clientSecret`) is wrong.
    #[error("{0} does not match")]
    WrongSecret(&'static str),
    #[error("too many failed sign-in attempts; try again after {until}")]
    LockedOut { until: DateTime<Utc> },
    #[error("this team's trial has ended; the dashboard is read-only")]
    TrialExpired,
    #[error("only team owners can do that")]
    OwnerOnly,
    /// A valid request that clashes with the current state; the words say how.
    #[error("{0}")]
    Conflict(String),
    /// A setup link that does not exist, has expired or was revoked (never says which).
    #[error("this setup link has expired or is no longer valid")]
    SetupLinkGone,
    #[error("too many requests; try again in a minute")]
    RateLimited,
    #[error(transparent)]
    Ory(#[from] OryError),
    #[error("storage")]
    Store(#[from] StoreError),
    #[error("secrets")]
    Secrets(#[from] SecretBoxError),
    /// Our own failure: `context` says what was being done, `source` why it failed.
    #[error("internal error: {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Option<BoxError>,
    },
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        DomainError::Invalid(e)
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// An internal failure caused by `source` while doing `context`.
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        DomainError::Internal {
            context,
            source: Some(source.into()),
        }
    }

    /// An internal failure with no underlying error (a broken invariant).
    pub fn bug(context: &'static str) -> Self {
        DomainError::Internal {
            context,
            source: None,
        }
    }

    /// The kind of failure: decides the HTTP status everywhere.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::NotFound => ErrorKind::NotFound,
            DomainError::Invalid(_) => ErrorKind::Invalid,
            DomainError::Unauthenticated
            | DomainError::BadCredentials
            | DomainError::WrongSecret(_) => ErrorKind::Unauthenticated,
            DomainError::LockedOut { .. } | DomainError::RateLimited => ErrorKind::RateLimited,
            DomainError::TrialExpired | DomainError::OwnerOnly => ErrorKind::Forbidden,
            DomainError::Conflict(_) => ErrorKind::Conflict,
            DomainError::SetupLinkGone => ErrorKind::Gone,
            DomainError::Ory(_) => ErrorKind::Upstream,
            DomainError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
            DomainError::Store(_) | DomainError::Secrets(_) | DomainError::Internal { .. } => {
                ErrorKind::Internal
            }
        }
    }

    /// What the caller sees. Server-side failures are logged here, with their whole
    /// cause, under a fresh reference id that is the only thing shown.
    pub fn public(&self) -> PublicError {
        let kind = self.kind();
        let mut public = PublicError::new(kind, String::new());
        public.message = match self {
            DomainError::NotFound => {
                "Not found. It may have been deleted, or it belongs to a team you are not in."
                    .to_string()
            }
            DomainError::Invalid(f) => {
                public.field = Some(f.field.clone());
                f.message.clone()
            }
            DomainError::Unauthenticated => {
                "Please log in, or send valid credentials, to continue.".to_string()
            }
            DomainError::BadCredentials => "Wrong email or password.".to_string(),
            DomainError::WrongSecret(what) => format!("{what} does not match."),
            DomainError::LockedOut { until } => format!(
                "Too many failed attempts for this email. Sign-in is locked until {} UTC.",
                until.format("%H:%M")
            ),
            DomainError::TrialExpired => "This team's trial has ended, so the dashboard is \
                 read-only. Nothing has been deleted."
                .to_string(),
            DomainError::OwnerOnly => "Only team owners can do that.".to_string(),
            DomainError::Conflict(m) => m.clone(),
            DomainError::SetupLinkGone => "This setup link has expired or is no longer valid. \
                 Ask the vendor for a new one."
                .to_string(),
            DomainError::RateLimited => "Too many requests. Try again in a minute.".to_string(),
            DomainError::Ory(o) => o.to_string(),
            DomainError::Store(_) | DomainError::Secrets(_) | DomainError::Internal { .. } => {
                let reference = reference_id();
                tracing::error!(%reference, error = %chain(self), "request failed");
                let message = if kind == ErrorKind::Unavailable {
                    format!("The service is busy. Try again shortly (reference {reference}).")
                } else {
                    format!("Something went wrong on our side (reference {reference}).")
                };
                public.reference = Some(reference);
                message
            }
        };
        public
    }
}

tokio::task_local! {
    /// The id of the request being served (`X-Request-Id`), set by the HTTP layer
    /// around each request.
    pub static REQUEST_ID: std::sync::Arc<str>;
}

/// The reference to log a failure under and show the caller: the request's id when
/// serving one (so the reference finds the request's log lines), else a fresh
/// `ref_…`.
pub fn reference_id() -> String {
    REQUEST_ID
        .try_with(|id| id.to_string())
        .unwrap_or_else(|_| crate::tokens::new_id("ref"))
}

/// An error and all its causes, `outer: inner: innermost`.
pub fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_show_only_a_reference_and_keep_their_cause() {
        let e = DomainError::internal(
            "signing a token",
            std::io::Error::other("disk on fire at /secret/path"),
        );
        assert_eq!(
            chain(&e),
            "internal error: signing a token: disk on fire at /secret/path"
        );
        let p = e.public();
        assert_eq!(p.kind, ErrorKind::Internal);
        assert_eq!(p.status(), 500);
        let reference = p.reference.clone().unwrap_or_default();
        assert!(reference.starts_with("ref_"), "{reference}");
        assert!(p.message.contains(&reference));
        assert!(!p.message.contains("disk") && !p.message.contains("signing"));
    }

    #[test]
    fn invalid_input_names_its_field() {
        let p = DomainError::Invalid(FieldError::new("name", "Name is required.")).public();
        assert_eq!((p.status(), p.field.as_deref()), (400, Some("name")));
        assert_eq!(p.message, "Name is required.");
        assert_eq!(p.reference, None);
    }

    #[test]
    fn each_rule_has_its_status() {
        let until = DateTime::<Utc>::UNIX_EPOCH;
        for (e, status) in [
            (DomainError::NotFound, 404),
            (DomainError::Unauthenticated, 401),
            (DomainError::BadCredentials, 401),
            (DomainError::WrongSecret("clientSecret"), 401),
            (DomainError::LockedOut { until }, 429),
            (DomainError::RateLimited, 429),
            (DomainError::TrialExpired, 403),
            (DomainError::OwnerOnly, 403),
            (DomainError::Conflict("taken".into()), 409),
            (DomainError::SetupLinkGone, 410),
            (DomainError::Ory(OryError::BadResponse("x".into())), 502),
            (DomainError::bug("invariant"), 500),
        ] {
            assert_eq!(e.public().status(), status, "{e:?}");
        }
    }
}
