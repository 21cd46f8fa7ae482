//! What kind of failure an error is, as every caller sees it, and the one HTTP status
//! each kind is answered with ([`ErrorKind::status`]). The dashboard's server
//! functions, the admin API, the browser pages and the OAuth endpoints all answer
//! through it; `docs/errors.md` has the table and which domain error is which kind.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Invalid,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    RateLimited,
    Internal,
    Upstream,
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status this kind is answered with, everywhere.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Gone => 410,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Upstream => 502,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The snake_case name (as serialized), for logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Gone => "gone",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Internal => "internal",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// Server-side failures: logged as errors, not warnings.
    pub const fn is_server_side(self) -> bool {
        self.status() >= 500
    }
}

/// An error as a caller may see it: its kind, words safe to show, the field it is
/// about (invalid input) and, for internal failures, the reference id its cause was
/// logged under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl PublicError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
            reference: None,
        }
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;

    #[test]
    fn every_kind_has_its_own_status() {
        let all = [
            Invalid,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            RateLimited,
            Internal,
            Upstream,
            Unavailable,
        ];
        let mut statuses: Vec<u16> = all.iter().map(|k| k.status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        assert_eq!(statuses.len(), all.len());
        assert!(all
            .iter()
            .all(|k| k.is_server_side() == (k.status() >= 500)));
        for k in all {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
    }
}
