//! An OIDC IdP's configuration: where its discovery document is, what it says, and
//! its signing keys. Everything is fetched through the [`Fetch`] port (https only, no
//! private addresses unless the operator allows them), because every URL here comes
//! from an admin or a customer, and through the [`super::cache`].

use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata, CoreResponseType};
use openidconnect::ResponseTypes;

use std::sync::Arc;

use crate::clock::Clock;
use crate::model::OidcIdpConfig;
use crate::oidc::cache::DocCache;
use crate::outbound::{Fetch, FetchError};

pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// What the admin typed, understood: the issuer we expect and where its discovery
/// document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub issuer: String,
    pub discovery_url: String,
}

/// `https://idp.example.com` (an issuer) or
/// `https://idp.example.com/.well-known/openid-configuration` (its discovery URL).
pub fn locate(input: &str) -> Result<Location, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter the IdP's issuer or discovery URL.".into());
    }
    let parsed = url::Url::parse(input)
        .map_err(|_| "Enter a full URL, e.g. https://idp.example.com.".to_string())?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err("Enter a full https URL, e.g. https://idp.example.com.".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("The issuer URL cannot have a query or a fragment.".into());
    }
    Ok(match input.strip_suffix(DISCOVERY_SUFFIX) {
        Some(issuer) => Location {
            issuer: issuer.to_string(),
            discovery_url: input.to_string(),
        },
        None => Location {
            issuer: input.to_string(),
            discovery_url: format!("{}{DISCOVERY_SUFFIX}", input.trim_end_matches('/')),
        },
    })
}

/// Why an IdP's configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("discovery document at {url}: {error}")]
    Fetch { url: String, error: FetchError },
    #[error("the discovery document is not a valid OpenID Provider configuration: {0}")]
    Invalid(String),
    #[error("the discovery document names issuer {found}, expected {expected}")]
    WrongIssuer { expected: String, found: String },
    #[error("the IdP has no token endpoint")]
    NoTokenEndpoint,
    #[error("the IdP does not offer the authorization code flow (response_type=code)")]
    NoCodeFlow,
    #[error("signing keys at {url}: {error}")]
    Keys { url: String, error: String },
}

/// Issuers compare exactly, but a trailing slash the admin typed (or left out) is
/// forgiven when reading their input.
fn same_issuer(typed: &str, stated: &str) -> bool {
    typed == stated || typed.trim_end_matches('/') == stated.trim_end_matches('/')
}

/// OIDC IdPs' configurations, fetched through the outbound port and cached.
#[derive(Clone)]
pub struct OidcProviders {
    docs: Arc<DocCache>,
    fetch: Arc<dyn Fetch>,
    clock: Arc<dyn Clock>,
}

impl OidcProviders {
    pub fn new(fetch: Arc<dyn Fetch>, clock: Arc<dyn Clock>) -> Self {
        Self {
            docs: Arc::default(),
            fetch,
            clock,
        }
    }

    /// The discovery document, checked: its issuer is `expected_issuer`, it has a
    /// token endpoint and offers the code flow. `force` skips the cache.
    pub async fn discovery(
        &self,
        discovery_url: &str,
        expected_issuer: &str,
        force: bool,
    ) -> Result<CoreProviderMetadata, ProviderError> {
        Ok(self
            .discovery_with_iss(discovery_url, expected_issuer, force)
            .await?
            .0)
    }

    /// [`Self::discovery`], and whether the IdP says it puts `iss` in every
    /// authorization response (`authorization_response_iss_parameter_supported`,
    /// RFC 9207 §3), read from the same document.
    async fn discovery_with_iss(
        &self,
        discovery_url: &str,
        expected_issuer: &str,
        force: bool,
    ) -> Result<(CoreProviderMetadata, bool), ProviderError> {
        let now = self.clock.now();
        let body = self
            .docs
            .get(self.fetch.as_ref(), discovery_url, now, force)
            .await
            .map_err(|error| ProviderError::Fetch {
                url: discovery_url.to_string(),
                error,
            })?;
        let checked = check_discovery(&body, expected_issuer);
        if checked.is_err() {
            self.docs.forget(discovery_url);
        }
        checked
    }

    /// The IdP's signing keys (JWKS); `force` refetches them (key rotation).
    pub async fn keys(
        &self,
        metadata: &CoreProviderMetadata,
        force: bool,
    ) -> Result<CoreJsonWebKeySet, ProviderError> {
        let url = metadata.jwks_uri().url().as_str().to_string();
        let body = self
            .docs
            .get(self.fetch.as_ref(), &url, self.clock.now(), force)
            .await
            .map_err(|error| ProviderError::Keys {
                url: url.clone(),
                error: error.to_string(),
            })?;
        let keys: CoreJsonWebKeySet =
            serde_json::from_slice(&body).map_err(|e| ProviderError::Keys {
                url: url.clone(),
                error: format!("not a JSON Web Key Set ({e})"),
            })?;
        if keys.keys().is_empty() {
            self.docs.forget(&url);
            return Err(ProviderError::Keys {
                url,
                error: "the key set has no usable signing key".into(),
            });
        }
        Ok(keys)
    }

    /// Discovery document and keys of a saved connection's IdP (from the cache), and
    /// whether it always sends `iss` in authorization responses.
    pub async fn provider(
        &self,
        cfg: &OidcIdpConfig,
    ) -> Result<(CoreProviderMetadata, bool), ProviderError> {
        let (metadata, sends_iss) = self
            .discovery_with_iss(&cfg.discovery_url, &cfg.issuer, false)
            .await?;
        let keys = self.keys(&metadata, false).await?;
        Ok((metadata.set_jwks(keys), sends_iss))
    }

    /// For saving a connection: fetch everything fresh and check it.
    pub async fn check_location(
        &self,
        location: &Location,
    ) -> Result<CoreProviderMetadata, ProviderError> {
        self.provider_with_keys(&location.discovery_url, &location.issuer, true)
            .await
    }

    async fn provider_with_keys(
        &self,
        discovery_url: &str,
        issuer: &str,
        force: bool,
    ) -> Result<CoreProviderMetadata, ProviderError> {
        let metadata = self.discovery(discovery_url, issuer, force).await?;
        let keys = self.keys(&metadata, force).await?;
        Ok(metadata.set_jwks(keys))
    }
}

fn check_discovery(
    body: &[u8],
    expected_issuer: &str,
) -> Result<(CoreProviderMetadata, bool), ProviderError> {
    let metadata: CoreProviderMetadata =
        serde_json::from_slice(body).map_err(|e| ProviderError::Invalid(e.to_string()))?;
    let found = metadata.issuer().as_str();
    if !same_issuer(expected_issuer, found) {
        return Err(ProviderError::WrongIssuer {
            expected: expected_issuer.to_string(),
            found: found.to_string(),
        });
    }
    if metadata.token_endpoint().is_none() {
        return Err(ProviderError::NoTokenEndpoint);
    }
    let code = ResponseTypes::new(vec![CoreResponseType::Code]);
    if !metadata.response_types_supported().contains(&code) {
        return Err(ProviderError::NoCodeFlow);
    }
    let sends_iss = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|doc| {
            doc.get("authorization_response_iss_parameter_supported")?
                .as_bool()
        })
        .unwrap_or(false);
    Ok((metadata, sends_iss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_or_discovery_url() {
        assert_eq!(
            locate("https://idp.example.com/"),
            Ok(Location {
                issuer: "https://idp.example.com/".into(),
                discovery_url: "https://idp.example.com/.well-known/openid-configuration".into()
            })
        );
        assert_eq!(
            locate(" https://login.example.com/tenant/v2.0/.well-known/openid-configuration "),
            Ok(Location {
                issuer: "https://login.example.com/tenant/v2.0".into(),
                discovery_url:
                    "https://login.example.com/tenant/v2.0/.well-known/openid-configuration".into()
            })
        );
        assert!(locate("").is_err());
        assert!(locate("idp.example.com").is_err());
        assert!(locate("ftp://idp.example.com").is_err());
        assert!(locate("https://idp.example.com/?x=1").is_err());
    }

    fn doc(issuer: &str, response_types: &str, token: bool) -> Vec<u8> {
        let token = if token {
            r#""token_endpoint": "https://idp.example.com/token","#
        } else {
            ""
        };
        format!(
            r#"{{"issuer": "{issuer}", "authorization_endpoint": "https://idp.example.com/auth", {token}
               "jwks_uri": "https://idp.example.com/jwks", "response_types_supported": [{response_types}],
               "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}}"#
        )
        .into_bytes()
    }

    #[test]
    fn discovery_checks() {
        assert!(check_discovery(
            &doc("https://idp.example.com", r#""code""#, true),
            "https://idp.example.com/"
        )
        .is_ok());
        assert!(matches!(
            check_discovery(
                &doc("https://evil.example.com", r#""code""#, true),
                "https://idp.example.com"
            ),
            Err(ProviderError::WrongIssuer { .. })
        ));
        assert_eq!(
            check_discovery(
                &doc("https://idp.example.com", r#""code""#, false),
                "https://idp.example.com"
            )
            .err(),
            Some(ProviderError::NoTokenEndpoint)
        );
        assert_eq!(
            check_discovery(
                &doc("https://idp.example.com", r#""id_token""#, true),
                "https://idp.example.com"
            )
            .err(),
            Some(ProviderError::NoCodeFlow)
        );
        assert!(matches!(
            check_discovery(b"<html>", "https://idp.example.com"),
            Err(ProviderError::Invalid(_))
        ));
    }
}
