//! The user profile handed to the vendor's app, in BoxyHQ SAML Jackson's shape plus
//! the standard OIDC claims.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::saml::attributes::MappedAttributes;
use crate::tokens::hex;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Stable per (product, tenant, IdP subject): see [`subject_id`].
    pub sub: String,
    pub email: Option<String>,
    /// `true` when the connection's email-domain rule vouched for `email`
    /// ([`crate::sso::email_domains`]); `false` for connections that accept any
    /// email domain.
    #[serde(default)]
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub tenant: String,
    pub product: String,
    /// The IdP's subject (SAML NameID).
    pub idp_subject: String,
    /// Every attribute the IdP sent.
    pub raw: BTreeMap<String, Value>,
}

/// `sub`: SHA-256 over a versioned tag, the product id, the tenant and the IdP's
/// subject, as 40 hex characters. Changing IdP (new connection, same tenant) keeps the
/// same `sub` as long as the IdP keeps the same NameID; another product or tenant
/// never collides.
pub fn subject_id(product_id: &str, tenant: &str, idp_subject: &str) -> String {
    let mut input = Vec::new();
    for part in ["gatehouse/sub/v1", product_id, tenant, idp_subject] {
        input.extend_from_slice(&(part.len() as u64).to_be_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    hex(&openssl::sha::sha256(&input)[..20])
}

impl Profile {
    pub fn from_saml(
        product_id: &str,
        tenant: &str,
        name_id: &str,
        attributes: &[(String, Vec<String>)],
        mapped: MappedAttributes,
    ) -> Self {
        let raw = attributes
            .iter()
            .map(|(k, v)| {
                let value = if v.len() == 1 {
                    Value::String(v[0].clone())
                } else {
                    Value::Array(v.iter().cloned().map(Value::String).collect())
                };
                (k.clone(), value)
            })
            .collect();
        Self {
            sub: subject_id(product_id, tenant, name_id),
            email: mapped.email,
            email_verified: false,
            first_name: mapped.first_name,
            last_name: mapped.last_name,
            groups: mapped.groups,
            roles: mapped.roles,
            tenant: tenant.to_string(),
            product: product_id.to_string(),
            idp_subject: name_id.to_string(),
            raw,
        }
    }

    /// From an OIDC IdP's verified id_token claims merged with its userinfo (protocol
    /// claims such as `iss`, `aud`, `nonce` already removed). The IdP's `sub` plays the
    /// NameID's part.
    pub fn from_oidc(
        product_id: &str,
        tenant: &str,
        idp_sub: &str,
        claims: &serde_json::Map<String, Value>,
    ) -> Self {
        let attributes: Vec<(String, Vec<String>)> = claims
            .iter()
            .filter_map(|(k, v)| {
                let values = match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| match i {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect(),
                    Value::Number(n) => vec![n.to_string()],
                    Value::Bool(b) => vec![b.to_string()],
                    Value::Null | Value::Object(_) => return None,
                };
                Some((k.clone(), values))
            })
            .collect();
        let mapped = crate::saml::attributes::map(&attributes, idp_sub);
        Self {
            raw: claims.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ..Self::from_saml(product_id, tenant, idp_sub, &[], mapped)
        }
    }

    /// `/api/oauth/userinfo`: Jackson's fields and the OIDC standard claims.
    pub fn userinfo(&self, client_id: &str) -> Value {
        json!({
            "id": self.sub,
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email.is_some().then_some(self.email_verified),
            "firstName": self.first_name,
            "lastName": self.last_name,
            "given_name": self.first_name,
            "family_name": self.last_name,
            "name": match (&self.first_name, &self.last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(f), None) => Some(f.clone()),
                (None, Some(l)) => Some(l.clone()),
                (None, None) => None,
            },
            "roles": self.roles,
            "groups": self.groups,
            "requested": { "tenant": self.tenant, "product": self.product, "client_id": client_id },
            "raw": self.raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_is_stable_and_scoped() {
        let a = subject_id("prod_a", "acme.com", "jane@acme.com");
        assert_eq!(a, subject_id("prod_a", "acme.com", "jane@acme.com"));
        assert_eq!(a.len(), 40);
        assert_ne!(a, subject_id("prod_b", "acme.com", "jane@acme.com"));
        assert_ne!(a, subject_id("prod_a", "acme.org", "jane@acme.com"));
        assert_ne!(a, subject_id("prod_a", "acme.com", "john@acme.com"));
        // length-prefixed: no ambiguity from concatenation
        assert_ne!(subject_id("ab", "c", "d"), subject_id("a", "bc", "d"));
    }
}
