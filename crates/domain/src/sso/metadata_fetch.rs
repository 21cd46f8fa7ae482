//! Fetching IdP metadata from a URL, safely.
//!
//! * https only. Private, loopback, link-local and other non-public addresses are
//!   refused (server-side request forgery) unless the operator allows them
//!   (`GATEHOUSE_METADATA_ALLOW_PRIVATE=true`, which also allows plain http to them).
//! * The host is resolved once, every address is checked, and the connection goes to
//!   a checked address (no DNS-rebinding window). Redirects are not followed.
//! * At most 1 MB and 10 seconds.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use url::Url;

use crate::saml::guard::MAX_METADATA_BYTES;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the metadata URL is not valid")]
    BadUrl,
    #[error("the metadata URL must use https")]
    NotHttps,
    #[error("the metadata URL points to a private or local address ({0}), which is not allowed")]
    PrivateAddress(IpAddr),
    #[error("could not resolve {0}")]
    Dns(String),
    #[error("could not fetch the metadata: {0}")]
    Http(String),
    #[error("the metadata URL answered {0}")]
    Status(u16),
    #[error("the metadata URL redirects to {0}; use that URL instead")]
    Redirect(String),
    #[error("the metadata is larger than 1 MB")]
    TooLarge,
    #[error("fetching the metadata took longer than 10 seconds")]
    Timeout,
}

/// Is this address on the public internet?
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..=127).contains(&o[1])) // CGNAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 198 && (18..=19).contains(&o[1])) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation
        }
    }
}

pub async fn fetch_metadata(raw_url: &str, allow_private: bool) -> Result<String, FetchError> {
    let url = Url::parse(raw_url.trim()).map_err(|_| FetchError::BadUrl)?;
    let host = url.host_str().ok_or(FetchError::BadUrl)?.to_string();
    let port = url.port_or_known_default().ok_or(FetchError::BadUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err(FetchError::NotHttps),
        _ => return Err(FetchError::BadUrl),
    }

    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    .map_err(|_| FetchError::Timeout)?
    .map_err(|_| FetchError::Dns(host.clone()))?
    .collect();
    if addrs.is_empty() {
        return Err(FetchError::Dns(host));
    }
    for a in &addrs {
        if !is_public(a.ip()) && !allow_private {
            return Err(FetchError::PrivateAddress(a.ip()));
        }
    }
    if url.scheme() == "http" && addrs.iter().any(|a| is_public(a.ip())) {
        // plain http is only tolerated to operator-allowed private addresses
        return Err(FetchError::NotHttps);
    }

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .resolve_to_addrs(&lookup_host, &addrs)
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let mut response = client.get(url.clone()).send().await.map_err(map_reqwest)?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("another URL")
            .to_string();
        return Err(FetchError::Redirect(to));
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_METADATA_BYTES {
            return Err(FetchError::TooLarge);
        }
    }
    String::from_utf8(body).map_err(|_| FetchError::Http("the metadata is not UTF-8 text".into()))
}

fn map_reqwest(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Http(e.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                !is_public(ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{ip}"
            );
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(
                is_public(ip.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))),
                "{ip}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_http_and_private_addresses() {
        assert_eq!(
            fetch_metadata("http://idp.example.com/m", false).await,
            Err(FetchError::NotHttps)
        );
        assert!(matches!(
            fetch_metadata("https://127.0.0.1/m", false).await,
            Err(FetchError::PrivateAddress(_))
        ));
        assert!(matches!(
            fetch_metadata("https://localhost/m", false).await,
            Err(FetchError::PrivateAddress(_))
        ));
        assert_eq!(
            fetch_metadata("file:///etc/passwd", true).await,
            Err(FetchError::BadUrl)
        );
    }
}
