//! Which email addresses a connection's IdP may vouch for.
//!
//! Every tenant's IdP is run by someone else, and an app that binds users by email
//! would let the IdP of `evil.example` sign in as `ceo@acme.example`. So each
//! connection has **email domains**: its tenant when the tenant is a domain name,
//! plus the domains the vendor's admin adds (dashboard or admin API; never a setup
//! link, which is in the customer's hands). A sign-in is refused
//! ([`REASON`]) when an email address the IdP asserted is outside them: the
//! email attribute or claim, and the subject (NameID, OIDC `sub`) when it is an
//! email address.
//!
//! Matching is exact and case-insensitive: `acme.com` does not cover
//! `eu.acme.com` (add it) nor `acme.com.evil.example`.
//!
//! A connection can opt out ("accept any email domain"): its sign-ins then carry
//! `email_verified: false`, so an app (and Ory) can tell; otherwise `true`.

use gatehouse_core::FieldError;

use crate::model::Connection;
use crate::sso::profile::Profile;

/// The reason code of a refusal, on the error page, in logs and test results.
pub const REASON: &str = "email_outside_tenant_domains";

/// Most extra domains one connection may list.
pub const MAX_DOMAINS: usize = 50;

/// `raw` when it is a DNS name with at least two labels and a non-numeric top level
/// (`acme.com`, `eu.acme.co.uk`), lower-cased; `None` otherwise (`acme_corp`,
/// `10.0.0.1`).
pub fn as_domain(raw: &str) -> Option<String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let ok = labels.len() >= 2
        && d.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
    ok.then_some(d)
}

/// The email domains of a tenant: the tenant itself when it is a domain name, none
/// otherwise.
pub fn tenant_domains(tenant: &str) -> Vec<String> {
    as_domain(tenant).into_iter().collect()
}

/// The domains an admin typed (one per line, or separated by commas or spaces),
/// checked, lower-cased, without duplicates.
pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for entry in raw
        .iter()
        .flat_map(|r| r.as_ref().split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|e| !e.trim().is_empty())
    {
        let entry = entry.trim().trim_start_matches('@');
        let domain = as_domain(entry).ok_or_else(|| {
            FieldError::new(
                "email_domains",
                format!("“{entry}” is not a domain name (e.g. acme.com)."),
            )
        })?;
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(FieldError::new(
            "email_domains",
            format!("At most {MAX_DOMAINS} email domains per connection."),
        ));
    }
    Ok(out)
}

/// The connection's email domains: its tenant's, then the added ones.
pub fn of(connection: &Connection) -> Vec<String> {
    let mut all = tenant_domains(&connection.tenant);
    for d in &connection.email_domains {
        if !all.contains(d) {
            all.push(d.clone());
        }
    }
    all
}

/// An email address the IdP asserted, outside the connection's domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    pub email: String,
    pub domains: Vec<String>,
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.domains.is_empty() {
            write!(
                f,
                "{REASON}: the IdP asserted {}, and this connection has no email domains (its tenant is not a domain name: add the customer's domains, or accept any email domain)",
                self.email
            )
        } else {
            write!(
                f,
                "{REASON}: the IdP asserted {}, which is outside this connection's email domains ({})",
                self.email,
                self.domains.join(", ")
            )
        }
    }
}

/// Apply the rule to a sign-in's profile: `Ok(email_verified)`, or the address that
/// is outside.
pub fn check(connection: &Connection, profile: &Profile) -> Result<bool, Outside> {
    if connection.accept_any_email_domain {
        return Ok(false);
    }
    let domains = of(connection);
    let asserted = profile
        .email
        .iter()
        .chain(std::iter::once(&profile.idp_subject).filter(|s| s.contains('@')));
    for email in asserted {
        if !in_domains(email, &domains) {
            return Err(Outside {
                email: email.clone(),
                domains,
            });
        }
    }
    Ok(true)
}

/// Exact, case-insensitive match of the part after the last `@`.
fn in_domains(email: &str, domains: &[String]) -> bool {
    let Some((local, domain)) = email.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    !local.is_empty() && domains.contains(&domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_that_are_domains_are_email_domains() {
        assert_eq!(tenant_domains("acme.com"), vec!["acme.com"]);
        assert_eq!(tenant_domains("eu.acme.co.uk"), vec!["eu.acme.co.uk"]);
        assert!(tenant_domains("acme_corp").is_empty());
        assert!(tenant_domains("acme").is_empty());
        assert!(tenant_domains("-acme.com").is_empty());
        assert!(tenant_domains("10.0.0.1").is_empty());
    }

    #[test]
    fn matching_is_exact_and_case_insensitive() {
        let d = vec!["acme.com".to_string()];
        assert!(in_domains("jane@acme.com", &d));
        assert!(in_domains("Jane@ACME.com", &d));
        assert!(in_domains("jane@acme.com.", &d));
        assert!(
            !in_domains("jane@eu.acme.com", &d),
            "subdomains must be listed"
        );
        assert!(!in_domains("jane@acme.com.evil.example", &d));
        assert!(!in_domains("jane@evilacme.com", &d));
        assert!(!in_domains("acme.com@evil.example", &d));
        assert!(!in_domains("jane@evil.example@acme", &d));
        assert!(!in_domains("@acme.com", &d));
        assert!(!in_domains("jane", &d));
    }

    #[test]
    fn typed_lists_are_checked() {
        assert_eq!(
            parse_list(&["acme.com, @Acme.co.uk\neu.acme.com acme.com"]).unwrap(),
            vec!["acme.com", "acme.co.uk", "eu.acme.com"]
        );
        assert!(parse_list(&["acme"]).is_err());
        assert!(parse_list(&["*.acme.com"]).is_err());
        assert!(parse_list::<&str>(&[]).unwrap().is_empty());
    }
}
