//! Parse, don't validate: newtypes that cannot hold an invalid value.
//!
//! Each constructor returns a [`FieldError`] naming the form field and saying what is
//! wrong in words a user can act on. The dashboard calls the same functions in the
//! browser for instant feedback; the server calls them again and is the authority.

use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// A validation failure for one form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An email address, trimmed and lower-cased so that lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_lowercase();
        let err = |m: &str| Err(FieldError::new("email", m));
        if value.is_empty() {
            return err("Enter your email address.");
        }
        if value.len() > Self::MAX_LEN {
            return err("That email address is too long.");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return err("Enter an email address like name@example.com.");
        };
        if local.is_empty()
            || local.contains(char::is_whitespace)
            || !is_domain_name(domain)
            || !domain.contains('.')
        {
            return err("Enter an email address like name@example.com.");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl TryFrom<String> for Email {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS name such as `acme.com` (letters, digits, hyphens; labels of 1..=63 chars).
pub fn is_domain_name(value: &str) -> bool {
    if value.is_empty() || value.len() > 253 {
        return false;
    }
    value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The password rule, in one place.
pub struct PasswordPolicy;

impl PasswordPolicy {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1024;

    pub fn check(password: &str) -> Result<(), FieldError> {
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                "password",
                format!(
                    "Use at least {} characters ({} so far).",
                    Self::MIN_CHARS,
                    chars
                ),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new("password", "That password is too long."));
        }
        Ok(())
    }
}

macro_rules! short_text {
    ($name:ident, $field:literal, $what:literal, $max:expr) => {
        #[doc = concat!("A ", $what, ": trimmed, 1 to ", stringify!($max), " characters.")]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, FieldError> {
                let value = raw.trim();
                if value.is_empty() {
                    return Err(FieldError::new($field, concat!("Enter a ", $what, ".")));
                }
                if value.chars().count() > Self::MAX_CHARS {
                    return Err(FieldError::new(
                        $field,
                        format!("Keep the {} under {} characters.", $what, Self::MAX_CHARS),
                    ));
                }
                if value.chars().any(char::is_control) {
                    return Err(FieldError::new(
                        $field,
                        concat!("The ", $what, " cannot contain control characters."),
                    ));
                }
                Ok(Self(value.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

short_text!(TeamName, "team_name", "team name", 80);
short_text!(ProductName, "name", "product name", 80);

/// Product descriptions: optional, at most 500 characters.
pub fn parse_description(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.chars().count() > 500 {
        return Err(FieldError::new(
            "description",
            "Keep the description under 500 characters.",
        ));
    }
    Ok(value.to_string())
}

/// An absolute redirect URL: `https://…`, or `http://` only for localhost.
/// No fragment (RFC 6749 §3.1.2), no user-info.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUrl(String);

impl RedirectUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        let url = Url::parse(value).map_err(|_| format!("“{value}” is not an absolute URL."))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&url) => {}
            "http" => {
                return Err(format!(
                    "“{value}” uses http: only https is allowed, except for localhost."
                ))
            }
            _ => return Err(format!("“{value}” must start with https://.")),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("“{value}” has no host."));
        }
        if url.fragment().is_some() {
            return Err(format!("“{value}” must not contain a #fragment."));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "“{value}” must not contain a user name or password."
            ));
        }
        // Keep the URL exactly as typed (trimmed): redirect matching is exact.
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl TryFrom<String> for RedirectUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RedirectUrl> for String {
    fn from(value: RedirectUrl) -> Self {
        value.0
    }
}

impl fmt::Display for RedirectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A redirect-URL allow-list with its default, as edited on a settings form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUrlList {
    pub urls: Vec<RedirectUrl>,
    pub default: Option<RedirectUrl>,
}

impl RedirectUrlList {
    pub const MAX_URLS: usize = 100;

    /// Parse "one URL per line" text plus a default. The default, when given, must
    /// be one of the listed URLs (it is added to the list when the list is empty).
    pub fn parse(lines: &str, default: &str) -> Result<Self, FieldError> {
        let mut urls: Vec<RedirectUrl> = Vec::new();
        for (n, line) in lines.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let url = RedirectUrl::parse(line)
                .map_err(|m| FieldError::new("redirect_urls", format!("Line {}: {m}", n + 1)))?;
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        if urls.len() > Self::MAX_URLS {
            return Err(FieldError::new(
                "redirect_urls",
                format!("At most {} redirect URLs.", Self::MAX_URLS),
            ));
        }
        let default = if default.trim().is_empty() {
            None
        } else {
            let d = RedirectUrl::parse(default)
                .map_err(|m| FieldError::new("default_redirect_url", m))?;
            if urls.is_empty() {
                urls.push(d.clone());
            } else if !urls.contains(&d) {
                return Err(FieldError::new(
                    "default_redirect_url",
                    "The default redirect URL must be one of the allowed redirect URLs.",
                ));
            }
            Some(d)
        };
        Ok(Self { urls, default })
    }

    /// The list as "one per line" text, for a textarea.
    pub fn to_lines(&self) -> String {
        self.urls
            .iter()
            .map(RedirectUrl::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Exact-match check (RFC 6749 §3.1.2.3 simple string comparison).
    pub fn allows(&self, candidate: &str) -> bool {
        self.urls.iter().any(|u| u.as_str() == candidate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Jane@Acme.COM ").map(|e| e.to_string()),
            Ok("jane@acme.com".to_string())
        );
        for bad in [
            "",
            "jane",
            "jane@",
            "@acme.com",
            "jane@acme",
            "ja ne@acme.com",
            "j@-a.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn password_needs_ten_characters() {
        assert!(PasswordPolicy::check("123456789").is_err());
        assert!(PasswordPolicy::check("1234567890").is_ok());
        // characters, not bytes
        assert!(PasswordPolicy::check("ééééééééé").is_err());
    }

    #[test]
    fn redirect_urls_are_absolute_https_or_loopback_http() {
        assert!(RedirectUrl::parse("https://app.example.com/cb").is_ok());
        assert!(RedirectUrl::parse("http://localhost:3000/cb").is_ok());
        assert!(RedirectUrl::parse("http://127.0.0.1:8080/cb").is_ok());
        assert!(RedirectUrl::parse("http://[::1]/cb").is_ok());
        assert!(RedirectUrl::parse("http://app.example.com/cb").is_err());
        assert!(RedirectUrl::parse("http://localhost.evil.com/cb").is_err());
        assert!(RedirectUrl::parse("/relative").is_err());
        assert!(RedirectUrl::parse("javascript:alert(1)").is_err());
        assert!(RedirectUrl::parse("https://app.example.com/cb#x").is_err());
        assert!(RedirectUrl::parse("https://user:pw@app.example.com/cb").is_err());
        assert!(RedirectUrl::parse("ftp://app.example.com/").is_err());
    }

    #[test]
    fn redirect_list_parses_lines_and_default() {
        let list = RedirectUrlList::parse(
            "https://a.example.com/cb\n\n  http://localhost:3000/cb  \nhttps://a.example.com/cb",
            "https://a.example.com/cb",
        );
        let list = list.unwrap_or_default();
        assert_eq!(list.urls.len(), 2);
        assert!(list.allows("http://localhost:3000/cb"));
        assert!(!list.allows("http://localhost:3000/cb/"));
        let err = RedirectUrlList::parse("https://a.example.com/cb\nnope", "");
        assert_eq!(
            err.map_err(|e| e.message),
            Err("Line 2: “nope” is not an absolute URL.".into())
        );
        let err = RedirectUrlList::parse("https://a.example.com/cb", "https://b.example.com/cb");
        assert!(err.is_err());
        let only_default =
            RedirectUrlList::parse("", "https://b.example.com/cb").unwrap_or_default();
        assert_eq!(only_default.urls.len(), 1);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            TeamName::parse("  Acme ").map(|n| n.to_string()),
            Ok("Acme".into())
        );
        assert!(TeamName::parse("   ").is_err());
        assert!(ProductName::parse(&"x".repeat(81)).is_err());
        assert!(ProductName::parse("a\u{0007}b").is_err());
    }
}
