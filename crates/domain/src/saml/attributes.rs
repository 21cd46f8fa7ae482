//! Map IdP attributes to the profile fields, whatever vendor sent them.
//!
//! Known names (matched case-insensitively, first hit wins):
//! * Okta / Google Workspace / generic: `email`, `firstName`, `lastName`, `groups`, `role(s)`
//! * Entra ID / Azure AD and ADFS claim URIs (`…/claims/emailaddress`, `givenname`,
//!   `surname`, `…/ws/2008/06/identity/claims/groups`, `…/role`, `http://schemas.xmlsoap.org/claims/Group`)
//! * OneLogin: `User.email`, `User.FirstName`, `User.LastName`, `memberOf`, `Role`
//! * LDAP-style OIDs: `urn:oid:0.9.2342.19200300.100.1.3` (mail), `urn:oid:2.5.4.42`
//!   (givenName), `urn:oid:2.5.4.4` (sn)
//!
//! The email falls back to the NameID when it looks like an address.

const EMAIL: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "user.email",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "http://schemas.xmlsoap.org/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
];
const FIRST_NAME: &[&str] = &[
    "firstname",
    "first_name",
    "givenname",
    "given_name",
    "user.firstname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const LAST_NAME: &[&str] = &[
    "lastname",
    "last_name",
    "surname",
    "sn",
    "family_name",
    "user.lastname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];
const GROUPS: &[&str] = &[
    "groups",
    "group",
    "memberof",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.xmlsoap.org/claims/group",
];
const ROLES: &[&str] = &[
    "roles",
    "role",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappedAttributes {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
}

fn find<'a>(attrs: &'a [(String, Vec<String>)], names: &[&str]) -> Option<&'a Vec<String>> {
    names.iter().find_map(|wanted| {
        attrs
            .iter()
            .find(|(name, values)| name.eq_ignore_ascii_case(wanted) && !values.is_empty())
            .map(|(_, v)| v)
    })
}

pub fn map(attrs: &[(String, Vec<String>)], name_id: &str) -> MappedAttributes {
    let first = |names: &[&str]| find(attrs, names).and_then(|v| v.first().cloned());
    let email = first(EMAIL)
        .or_else(|| name_id.contains('@').then(|| name_id.to_string()))
        .map(|e| e.trim().to_string());
    MappedAttributes {
        email,
        first_name: first(FIRST_NAME),
        last_name: first(LAST_NAME),
        groups: find(attrs, GROUPS).cloned().unwrap_or_default(),
        roles: find(attrs, ROLES).cloned().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn okta_and_google_names() {
        let m = map(
            &attrs(&[
                ("email", &["jane@acme.com"]),
                ("firstName", &["Jane"]),
                ("lastName", &["Doe"]),
                ("groups", &["eng", "admins"]),
                ("role", &["admin"]),
            ]),
            "00u1",
        );
        assert_eq!(m.email.as_deref(), Some("jane@acme.com"));
        assert_eq!(m.first_name.as_deref(), Some("Jane"));
        assert_eq!(m.last_name.as_deref(), Some("Doe"));
        assert_eq!(m.groups, vec!["eng", "admins"]);
        assert_eq!(m.roles, vec!["admin"]);
    }

    #[test]
    fn entra_and_adfs_claim_uris() {
        let m = map(
            &attrs(&[
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                    &["jane@acme.com"],
                ),
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                    &["Jane"],
                ),
                (
                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                    &["Doe"],
                ),
                (
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                    &["g1"],
                ),
                (
                    "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
                    &["r1"],
                ),
            ]),
            "x",
        );
        assert_eq!(
            (
                m.email.as_deref(),
                m.first_name.as_deref(),
                m.last_name.as_deref()
            ),
            (Some("jane@acme.com"), Some("Jane"), Some("Doe"))
        );
        assert_eq!(
            (m.groups, m.roles),
            (vec!["g1".to_string()], vec!["r1".to_string()])
        );
        let adfs = map(
            &attrs(&[("http://schemas.xmlsoap.org/claims/Group", &["Domain Users"])]),
            "x",
        );
        assert_eq!(adfs.groups, vec!["Domain Users"]);
    }

    #[test]
    fn onelogin_names_and_nameid_fallback() {
        let m = map(
            &attrs(&[
                ("User.email", &["j@acme.com"]),
                ("User.FirstName", &["J"]),
                ("User.LastName", &["D"]),
                ("memberOf", &["a;b"]),
                ("Role", &["r"]),
            ]),
            "x",
        );
        assert_eq!(m.email.as_deref(), Some("j@acme.com"));
        assert_eq!(m.groups, vec!["a;b"]);
        assert_eq!(
            map(&[], "jane@acme.com").email.as_deref(),
            Some("jane@acme.com")
        );
        assert_eq!(map(&[], "opaque-id").email, None);
    }
}
