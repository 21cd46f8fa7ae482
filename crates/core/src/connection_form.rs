//! The connection form: what the dashboard, a setup link and the admin API post to
//! create or change an SSO connection, with SAML Jackson's field names in JSON and in
//! form bodies alike. Every value arrives as sent; the domain checks and converts it
//! (so a bad value is reported against its field, never as a decoding failure).
//!
//! Lists and flags accept what Jackson's clients send: `redirectUrl` as a JSON array,
//! a JSON-encoded array in a string, or lines/commas in one string; flags as booleans
//! or `true`/`false`/`1`/`0`/`on` (an HTML checkbox). Both serialize as strings so
//! the form survives a round trip through URL encoding.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Where a form's IdP settings are: pasted or uploaded SAML metadata, a metadata URL,
/// or an OpenID Connect IdP. Absent (the admin API), Jackson's precedence applies:
/// `rawMetadata`, `encodedRawMetadata`, `metadataUrl`, `oidcDiscoveryUrl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum MetadataChoice {
    Xml,
    File,
    Url,
    Oidc,
}

/// An SSO connection's fields as posted. Absent fields keep their value on update
/// (see the domain's form modes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionForm {
    /// Usually the customer's email domain, e.g. `acme.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "acme.com"))]
    pub tenant: Option<String>,
    /// The Gatehouse product id (the admin API: it must be the API key's product).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<crate::ids::ProductId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which of the IdP inputs below to use (the dashboard's choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_source: Option<MetadataChoice>,
    /// IdP metadata XML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_metadata: Option<String>,
    /// IdP metadata XML, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoded_raw_metadata: Option<String>,
    /// An https URL of the IdP metadata, fetched on save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_url: Option<String>,
    /// An OIDC IdP instead of SAML: its issuer or discovery URL (fetched on save).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_discovery_url: Option<String>,
    /// The client id the OIDC IdP issued for Gatehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_client_id: Option<String>,
    /// Its client secret (stored encrypted, never returned; leave out to keep it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_client_secret: Option<String>,
    /// Where the app may be sent back; empty: the product's allow-list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<StringList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_redirect_url: Option<String>,
    /// Accept IdP-initiated sign-ins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_idp_initiated: Option<Flag>,
    /// Email domains the IdP may vouch for beside the tenant's own (when the tenant is
    /// a domain); a sign-in asserting another email is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domains: Option<StringList>,
    /// Accept any email address; sign-ins then carry `email_verified: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_any_email_domain: Option<Flag>,
}

/// A list of strings, as Jackson's clients send `redirectUrl`: a JSON array, a
/// JSON-encoded array in a string, or values separated by new lines or commas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl StringList {
    /// The values of a string: a JSON array of strings when it starts with `[`,
    /// otherwise split on new lines and commas (blank entries dropped).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.trim_start().starts_with('[') {
            return parse_json_string_array(raw)
                .map(Self)
                .ok_or("not a JSON array of strings");
        }
        Ok(Self(
            raw.split(['\n', ','])
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        ))
    }

    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// A JSON array of strings, without a JSON library (this crate also builds for the
/// browser): `["a", "b"]` with the escapes JSON strings may hold.
fn parse_json_string_array(raw: &str) -> Option<Vec<String>> {
    let mut chars = raw.trim().chars().peekable();
    let mut out = Vec::new();
    if chars.next()? != '[' {
        return None;
    }
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while c.peek().is_some_and(|ch| ch.is_whitespace()) {
            c.next();
        }
    };
    skip_ws(&mut chars);
    if chars.peek() == Some(&']') {
        chars.next();
        skip_ws(&mut chars);
        return chars.next().is_none().then_some(out);
    }
    loop {
        skip_ws(&mut chars);
        if chars.next()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => match chars.next()? {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code)?);
                    }
                    _ => return None,
                },
                c if (c as u32) < 0x20 => return None,
                c => s.push(c),
            }
        }
        out.push(s);
        skip_ws(&mut chars);
        match chars.next()? {
            ',' => continue,
            ']' => break,
            _ => return None,
        }
    }
    skip_ws(&mut chars);
    chars.next().is_none().then_some(out)
}

impl Serialize for StringList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.join("\n"))
    }
}

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings, or one string of lines")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringList, E> {
                StringList::parse(v).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for StringList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(
                        "a JSON-encoded array, or values separated by new lines or commas",
                    )),
            )
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for StringList {}

/// A yes/no field: a boolean, or `true`/`false`/`1`/`0`/`on`/`off` (an HTML checkbox
/// sends `on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Flag {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" => Ok(Self(true)),
            "false" | "0" | "off" | "no" | "" => Ok(Self(false)),
            _ => Err("expected true or false"),
        }
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0 { "true" } else { "false" })
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                Flag::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Flag, E> {
                match v {
                    0 => Ok(Flag(false)),
                    1 => Ok(Flag(true)),
                    _ => Err(E::custom("expected true or false")),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Flag, E> {
                self.visit_u64(u64::try_from(v).map_err(|_| E::custom("expected true or false"))?)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Flag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["true", "false", "1", "0", "on", "off"])),
            )
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Flag {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_accept_what_jackson_clients_send() {
        let cases = [
            ("https://a.test/cb", vec!["https://a.test/cb"]),
            (
                "https://a.test/cb\nhttps://b.test/cb",
                vec!["https://a.test/cb", "https://b.test/cb"],
            ),
            (" a , b ,, ", vec!["a", "b"]),
            (
                r#"["https://a.test/cb","x,y"]"#,
                vec!["https://a.test/cb", "x,y"],
            ),
            (r#" [ "\u0041\"" ] "#, vec!["A\""]),
            ("[]", vec![]),
            ("", vec![]),
        ];
        for (raw, want) in cases {
            assert_eq!(
                StringList::parse(raw),
                Ok(StringList(want.iter().map(|s| s.to_string()).collect())),
                "{raw}"
            );
        }
    }

    #[test]
    fn broken_json_lists_are_refused_not_split() {
        for raw in [
            r#"["a""#,
            r#"["a" "b"]"#,
            "[1]",
            r#"["a"] x"#,
            r#"["\x"]"#,
            "[",
            r#"["a",]"#,
        ] {
            assert!(StringList::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn flags_accept_booleans_and_checkbox_values_only() {
        for (raw, want) in [
            ("true", true),
            ("on", true),
            ("1", true),
            ("false", false),
            ("0", false),
            ("", false),
        ] {
            assert_eq!(Flag::parse(raw), Ok(Flag(want)), "{raw}");
        }
        for raw in ["maybe", "2", "truthy"] {
            assert!(Flag::parse(raw).is_err(), "{raw}");
        }
    }
}
