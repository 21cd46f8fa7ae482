//! The settings the domain needs: a subset of the server configuration.

use chrono::Duration;
use gatehouse_core::views::SpInfo;
use url::Url;

/// Where OIDC IdPs send users back; each connection has its own path below it.
pub const OIDC_CALLBACK_PATH: &str = "/api/oauth/oidc";

/// Settings the domain needs (a subset of the server configuration).
#[derive(Debug, Clone)]
pub struct DomainSettings {
    /// Where users reach Gatehouse, e.g. `https://sso.example.com` (no trailing slash).
    pub public_base_url: Url,
    pub invite_ttl: Duration,
    pub sso: SsoSettings,
}

/// Protocol timings and switches.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Allowed clock difference with IdPs (default 3 minutes).
    pub clock_skew: Duration,
    /// Authorization codes live 5 minutes.
    pub code_ttl: Duration,
    /// Access tokens (default 1 hour).
    pub access_token_ttl: Duration,
    /// How long a login may take at the IdP.
    pub pending_ttl: Duration,
    /// Operator switch: fetch metadata from private/loopback addresses (and plain http to them).
    pub allow_private_metadata_urls: bool,
    /// How long sign-in traces are kept (`GATEHOUSE_TRACE_RETENTION_DAYS`, default 30).
    pub trace_retention: Duration,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            clock_skew: Duration::minutes(3),
            code_ttl: Duration::minutes(5),
            access_token_ttl: Duration::hours(1),
            pending_ttl: Duration::minutes(15),
            allow_private_metadata_urls: false,
            trace_retention: Duration::days(30),
        }
    }
}

impl DomainSettings {
    /// The OAuth/OIDC issuer: the public base URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_base_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    /// The SAML assertion consumer service (same path as Jackson).
    pub fn acs_url(&self) -> String {
        self.public_url("/api/oauth/saml")
    }

    /// Our SAML entity id for a product (one per product, so one customer can use
    /// several of the vendor's products from the same IdP tenant).
    pub fn sp_entity_id(&self, product_id: &str) -> String {
        self.public_url(&format!("/saml/{product_id}"))
    }

    /// Where an OIDC IdP sends the user back: one redirect URI per connection (its
    /// [`crate::model::Connection::oidc_redirect_key`]), so that no IdP's answer can
    /// be taken for another's (mix-up, RFC 9700 §4.4).
    pub fn oidc_callback_url(&self, key: &str) -> String {
        self.public_url(&format!("{OIDC_CALLBACK_PATH}/{key}"))
    }

    pub fn sp_metadata_url(&self, product_id: &str) -> String {
        self.public_url(&format!("/saml/{product_id}/metadata"))
    }

    /// What the IdP side needs; `oidc_key` is the connection's (or the connection to
    /// be's) [`crate::model::Connection::oidc_redirect_key`].
    pub fn sp_info(&self, product_id: &str, oidc_key: &str) -> SpInfo {
        SpInfo {
            acs_url: self.acs_url(),
            entity_id: self.sp_entity_id(product_id),
            metadata_url: self.sp_metadata_url(product_id),
            oidc_redirect_uri: self.oidc_callback_url(oidc_key),
        }
    }

    /// An absolute URL under the public base URL.
    pub fn public_url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.public_base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}
