//! [`Fetch`] over HTTP, guarded: fetching from a URL an admin (or a customer, through a setup link) gave us, safely:
//! SAML metadata, and an OIDC IdP's discovery document, JWKS, token and userinfo
//! endpoints.
//!
//! * https only. Private, loopback, link-local and other non-public addresses are
//!   refused (server-side request forgery) unless the operator allows them
//!   (`GATEHOUSE_METADATA_ALLOW_PRIVATE=true`, which also allows plain http to them).
//! * The host is resolved once, every address is checked, and the connection goes to
//!   a checked address (no DNS-rebinding window). Redirects are not followed.
//! * IPv6 forms that embed or reach an IPv4 address (NAT64, 6to4, Teredo,
//!   IPv4-compatible and -translated) and site-local addresses count as private.
//! * The environment's `HTTP(S)_PROXY` is never used: a proxy would make the checked
//!   address meaningless.
//! * At most 1 MB and 10 seconds.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::outbound::{Fetch, FetchError, Fetched, Outbound};
use crate::saml::guard::MAX_METADATA_BYTES;

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
                || seg[..6] == [0; 6] // IPv4-compatible ::a.b.c.d (deprecated)
                || seg[..6] == [0, 0, 0, 0, 0xffff, 0] // IPv4-translated ::ffff:0:a.b.c.d
                || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] // NAT64 64:ff9b::/96
                || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // local NAT64 64:ff9b:1::/48
                || seg[0] == 0x2002 // 6to4 2002::/16 (embeds an IPv4 address)
                || (seg[0] == 0x2001 && seg[1] == 0) // Teredo 2001::/32
                || seg[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)) // documentation
        }
    }
}

/// The outbound port as the guard above implements it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedHttp {
    /// The operator's switch (`GATEHOUSE_METADATA_ALLOW_PRIVATE`).
    pub allow_private: bool,
}

#[async_trait]
impl Fetch for GuardedHttp {
    async fn send(&self, request: Outbound) -> Result<Fetched, FetchError> {
        send(request, self.allow_private).await
    }
}

/// Send `request` under the rules above.
async fn send(request: Outbound, allow_private: bool) -> Result<Fetched, FetchError> {
    let url = Url::parse(request.url.trim()).map_err(|_| FetchError::BadUrl)?;
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
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .resolve_to_addrs(&lookup_host, &addrs)
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Http(e.to_string()))?;
    let mut builder = client.request(request.method, url.clone());
    for (k, v) in &request.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body);
    }
    let mut response = builder.send().await.map_err(map_reqwest)?;
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
    if response
        .content_length()
        .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_METADATA_BYTES {
            return Err(FetchError::TooLarge);
        }
    }
    Ok(Fetched {
        status: status.as_u16(),
        headers,
        body,
    })
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
    use crate::outbound::fetch_text;

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
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "::127.0.0.1",
            "::169.254.169.254",
            "::ffff:0:7f00:1",
            "fec0::1",
            "feff::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
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

    /// A proxy from the environment would make the checked address meaningless (the
    /// proxy connects wherever it likes): the guard never uses one.
    #[tokio::test]
    async fn the_environments_proxy_is_never_used() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let target_url = format!("http://{}/metadata", target.local_addr().unwrap());
        let proxied = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hit = proxied.clone();
        tokio::spawn(async move {
            if proxy.accept().await.is_ok() {
                hit.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        tokio::spawn(async move {
            if let Ok((mut s, _)) = target.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n<x/>")
                    .await;
            }
        });
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::set_var(var, &proxy_url);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
        let fetched = fetch_text(
            &GuardedHttp {
                allow_private: true,
            },
            &target_url,
        )
        .await;
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
        ] {
            std::env::remove_var(var);
        }
        assert_eq!(fetched.as_deref(), Ok("<x/>"));
        assert!(
            !proxied.load(std::sync::atomic::Ordering::SeqCst),
            "the proxy was used"
        );
    }

    #[tokio::test]
    async fn refuses_http_and_private_addresses() {
        assert_eq!(
            fetch_text(&GuardedHttp::default(), "http://idp.example.com/m").await,
            Err(FetchError::NotHttps)
        );
        assert!(matches!(
            fetch_text(&GuardedHttp::default(), "https://127.0.0.1/m").await,
            Err(FetchError::PrivateAddress(_))
        ));
        assert!(matches!(
            fetch_text(&GuardedHttp::default(), "https://localhost/m").await,
            Err(FetchError::PrivateAddress(_))
        ));
        assert_eq!(
            fetch_text(
                &GuardedHttp {
                    allow_private: true
                },
                "file:///etc/passwd"
            )
            .await,
            Err(FetchError::BadUrl)
        );
    }
}
