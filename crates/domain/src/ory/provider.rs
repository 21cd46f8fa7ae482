//! What Gatehouse writes into Ory for one connection, and how to tell whether what
//! Ory holds still matches it.
//!
//! A connection becomes a *generic* OIDC provider in the project's identity config
//! (`selfservice.methods.oidc.config.providers`), tied to an Organization whose
//! domains are the tenant's, so Ory offers "Sign in with SSO" to `@tenant` emails.

use base64::Engine as _;
use serde_json::{json, Value};

/// Where the OIDC providers live in the project document (and in JSON Patch paths).
pub const PROVIDERS_POINTER: &str =
    "/services/identity/config/selfservice/methods/oidc/config/providers";

/// The project's OpenID Connect sign-in method switch.
pub const OIDC_ENABLED_POINTER: &str = "/services/identity/config/selfservice/methods/oidc/enabled";

/// The scopes Ory asks Gatehouse for.
pub const SCOPES: [&str; 3] = ["openid", "offline_access", "email"];

/// The provider id Gatehouse gives a connection in Ory: stable, and recognisably
/// Gatehouse's.
pub fn provider_id(connection_id: &str) -> String {
    format!("gatehouse-{connection_id}")
}

/// The Jsonnet mapper Ory runs on Gatehouse's claims: the email always, the name
/// when the IdP sent one, and the email as a *verified* address only when Gatehouse
/// vouched for it (`email_verified: true`: inside the connection's email domains,
/// see [`crate::sso::email_domains`]).
pub const MAPPER_JSONNET: &str = r#"// Written by Gatehouse: maps its OpenID Connect claims to Ory identity traits.
local claims = std.extVar('claims');
local has(key) = std.objectHas(claims, key) && claims[key] != null && claims[key] != '';
local verified = has('email') && std.objectHas(claims, 'email_verified') && claims.email_verified == true;

{
  identity: {
    traits: {
      email: claims.email,
    } + (
      if has('given_name') || has('family_name') then {
        name: {
          [if has('given_name') then 'first']: claims.given_name,
          [if has('family_name') then 'last']: claims.family_name,
        },
      } else {}
    ),
    verified_addresses: if verified then [{ via: 'email', value: claims.email }] else [],
  },
}
"#;

/// `base64://…` of [`MAPPER_JSONNET`].
pub fn mapper_url() -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(MAPPER_JSONNET)
    )
}

/// Ory Network stores `base64://` mappers and returns them as a storage URL named
/// after the SHA-512 of the content; either form is "our mapper".
fn is_our_mapper(url: &str) -> bool {
    if url == mapper_url() {
        return true;
    }
    let digest = crate::tokens::hex(&openssl::sha::sha512(MAPPER_JSONNET.as_bytes()));
    url.starts_with("https://") && url.ends_with(&format!("{digest}.jsonnet"))
}

/// Ory's callback for a provider of an organization: the one redirect URL the
/// credentials given to Ory may use.
pub fn callback_url(project_slug: &str, organization_id: &str, provider_id: &str) -> String {
    format!(
        "https://{project_slug}.projects.oryapis.com/self-service/methods/oidc/organization/{organization_id}/callback/{provider_id}"
    )
}

/// Everything that goes into a provider entry.
#[derive(Debug, Clone)]
pub struct ProviderSpec<'a> {
    pub provider_id: &'a str,
    pub label: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub issuer_url: &'a str,
    pub organization_id: &'a str,
}

impl ProviderSpec<'_> {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.provider_id,
            "provider": "generic",
            "label": self.label,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "issuer_url": self.issuer_url,
            "mapper_url": mapper_url(),
            "organization_id": self.organization_id,
            "scope": SCOPES,
        })
    }

    /// How Ory's entry differs from this one, in words for the admin (empty = same).
    pub fn differences(&self, actual: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let text = |key: &str| actual.get(key).and_then(Value::as_str).unwrap_or("");
        let mut check = |key: &str, expected: &str| {
            let got = text(key);
            if got != expected {
                out.push(format!(
                    "provider {key} is \"{got}\" in Ory, Gatehouse expects \"{expected}\""
                ));
            }
        };
        check("provider", "generic");
        check("label", self.label);
        check("client_id", self.client_id);
        check("issuer_url", self.issuer_url);
        check("organization_id", self.organization_id);
        // Ory may not return secrets; when it does, compare without showing them.
        if let Some(secret) = actual.get("client_secret").and_then(Value::as_str) {
            if !secret.is_empty() && secret != self.client_secret {
                out.push("provider client_secret differs from Gatehouse's".into());
            }
        }
        if !is_our_mapper(text("mapper_url")) {
            out.push("provider mapper_url is not Gatehouse's mapper".into());
        }
        let scopes: Vec<&str> = actual
            .get("scope")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if scopes != SCOPES {
            out.push(format!(
                "provider scope is {scopes:?} in Ory, Gatehouse expects {SCOPES:?}"
            ));
        }
        out
    }
}

/// The index of the provider with `id` in Ory's list.
pub fn find_provider(providers: &[Value], id: &str) -> Option<usize> {
    providers
        .iter()
        .position(|p| p.get("id").and_then(Value::as_str) == Some(id))
}

/// JSON Patch: add a provider (creating the list when the project has none).
pub fn add_patch(providers_exist: bool, value: Value) -> Value {
    if providers_exist {
        json!([{ "op": "add", "path": format!("{PROVIDERS_POINTER}/-"), "value": value }])
    } else {
        json!([{ "op": "add", "path": PROVIDERS_POINTER, "value": [value] }])
    }
}

/// JSON Patch: replace or remove the provider at `index`, guarded by a `test` that
/// the entry there is still `id`, so a concurrent change to the list can never make
/// Gatehouse overwrite or remove someone else's provider.
pub fn guarded_patch(index: usize, id: &str, replacement: Option<Value>) -> Value {
    let at = format!("{PROVIDERS_POINTER}/{index}");
    let test = json!({ "op": "test", "path": format!("{at}/id"), "value": id });
    match replacement {
        Some(value) => json!([test, { "op": "replace", "path": at, "value": value }]),
        None => json!([test, { "op": "remove", "path": at }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProviderSpec<'static> {
        ProviderSpec {
            provider_id: "gatehouse-conn_1",
            label: "Acme",
            client_id: "ory_abc",
            client_secret: "s3cret",
            issuer_url: "https://sso.example.com",
            organization_id: "org-1",
        }
    }

    #[test]
    fn the_provider_entry_has_every_field_ory_needs() {
        let v = spec().to_json();
        assert_eq!(v["provider"], "generic");
        assert_eq!(v["scope"], json!(["openid", "offline_access", "email"]));
        assert!(v["mapper_url"].as_str().unwrap().starts_with("base64://"));
        assert!(spec().differences(&v).is_empty());
    }

    #[test]
    fn a_stored_mapper_url_counts_as_ours_but_another_does_not() {
        let digest = crate::tokens::hex(&openssl::sha::sha512(MAPPER_JSONNET.as_bytes()));
        let mut v = spec().to_json();
        v["mapper_url"] = json!(format!(
            "https://storage.googleapis.com/bac-gcs-production/{digest}.jsonnet"
        ));
        assert!(spec().differences(&v).is_empty());
        v["mapper_url"] = json!("https://storage.googleapis.com/bac-gcs-production/abc.jsonnet");
        assert_eq!(spec().differences(&v).len(), 1);
    }

    #[test]
    fn hand_edits_are_reported_without_showing_secrets() {
        let mut v = spec().to_json();
        v["label"] = json!("Edited");
        v["client_secret"] = json!("other");
        v["scope"] = json!(["openid"]);
        let d = spec().differences(&v);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d
            .iter()
            .all(|line| !line.contains("s3cret") && !line.contains("other")));
    }

    #[test]
    fn removal_is_guarded_by_a_test_on_the_id() {
        let p = guarded_patch(3, "gatehouse-conn_1", None);
        assert_eq!(p[0]["op"], "test");
        assert_eq!(p[0]["path"], format!("{PROVIDERS_POINTER}/3/id"));
        assert_eq!(p[1]["op"], "remove");
        assert_eq!(p[1]["path"], format!("{PROVIDERS_POINTER}/3"));
    }
}
