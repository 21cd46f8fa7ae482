//! The identifiers requests carry: tenants, OAuth client ids, redirect URIs, product
//! and setup link ids.
//!
//! [`Tenant`] is checked when it is read (a malformed one is a field error). The
//! others are kept exactly as sent, because they are
//! compared byte for byte with what is stored (RFC 6749 §3.1.2.3), and what to
//! answer when they match nothing depends on the endpoint.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::validate::FieldError;

/// A tenant: what the app passes as `tenant`, usually the customer's email domain.
/// Lower-case letters, digits, `.`, `-`, `_`; 1–253 characters; read trimmed and
/// lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "acme.com"))]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(String);

impl Tenant {
    pub const MAX_LEN: usize = 253;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let t = raw.trim().to_lowercase();
        if t.is_empty() {
            return Err(FieldError::new(
                "tenant",
                "Enter the tenant, usually the customer's email domain (e.g. acme.com).",
            ));
        }
        if t.len() > Self::MAX_LEN
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(FieldError::new(
                "tenant",
                "Use letters, digits, dots, hyphens and underscores only (e.g. acme.com).",
            ));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Read from a request: the error is the message alone (the reader names the field).
impl TryFrom<String> for Tenant {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).map_err(|e| e.message)
    }
}

/// Declares a string kept exactly as the request sent it.
macro_rules! exact_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

exact_string!(
    /// An OAuth `client_id` as sent: a connection's client id, the client id it
    /// gave Ory, or Jackson's `tenant=…&product=…` form.
    ClientId
);
exact_string!(
    /// A `redirect_uri` as sent, compared exactly with the allow-list.
    RedirectUri
);
exact_string!(
    /// A product id as a request names it (Jackson's `product`); it must be the
    /// caller's product.
    ProductId
);
exact_string!(
    /// A setup link's id as a request names it (`setupID`).
    SetupLinkId
);

impl From<Tenant> for String {
    fn from(value: Tenant) -> Self {
        value.0
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_read_lower_case_and_checked() {
        assert_eq!(
            Tenant::parse(" Acme.COM ").map(String::from),
            Ok("acme.com".into())
        );
        for bad in [
            "",
            "  ",
            "acme com",
            "acme.com/x",
            "ac%me",
            &"a".repeat(254),
        ] {
            assert!(Tenant::parse(bad).is_err(), "{bad:?}");
        }
        let e = serde_json::from_str::<Tenant>(r#""a b""#)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("letters, digits")));
    }

    #[test]
    fn client_ids_and_redirect_uris_are_kept_exactly() {
        let uri: RedirectUri = serde_json::from_str(r#"" https://App.test/cb?x=1 ""#)
            .unwrap_or_else(|_| RedirectUri::new(""));
        assert_eq!(uri.as_str(), " https://App.test/cb?x=1 ");
        let id: ClientId = serde_json::from_str(r#""tenant=a.com&product=p""#)
            .unwrap_or_else(|_| ClientId::new(""));
        assert_eq!(id.as_str(), "tenant=a.com&product=p");
    }
}
