//! Requests to URLs we do not control (SAML metadata, an OIDC IdP's discovery
//! document, keys, token and userinfo endpoints), as a port. Every such URL comes
//! from an admin or a customer, so the implementation
//! ([`crate::adapters::guarded_http`]) refuses private addresses, redirects and large
//! answers.

use std::net::IpAddr;

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the URL is not valid")]
    BadUrl,
    #[error("the URL must use https")]
    NotHttps,
    #[error("the URL points to a private or local address ({0}), which is not allowed")]
    PrivateAddress(IpAddr),
    #[error("could not resolve {0}")]
    Dns(String),
    #[error("could not fetch it: {0}")]
    Http(String),
    #[error("the URL answered {0}")]
    Status(u16),
    #[error("the URL redirects to {0}; use that URL instead")]
    Redirect(String),
    #[error("the answer is larger than 1 MB")]
    TooLarge,
    #[error("no answer within 10 seconds")]
    Timeout,
}

/// Sends one request to a URL we do not control.
#[async_trait]
pub trait Fetch: Send + Sync {
    async fn send(&self, request: Outbound) -> Result<Fetched, FetchError>;
}

/// SAML metadata at `raw_url` (GET, 2xx, text).
pub async fn fetch_text(fetch: &dyn Fetch, raw_url: &str) -> Result<String, FetchError> {
    let fetched = fetch.send(Outbound::get(raw_url)).await?;
    if !(200..300).contains(&fetched.status) {
        return Err(FetchError::Status(fetched.status));
    }
    String::from_utf8(fetched.body)
        .map_err(|_| FetchError::Http("the answer is not UTF-8 text".into()))
}

/// A request to a URL we do not control.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outbound {
    pub fn get(url: &str) -> Self {
        Self {
            method: reqwest::Method::GET,
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Its answer (any status but a redirect; redirects are refused).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}
