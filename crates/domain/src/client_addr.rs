//! Who is calling, for rate limits and lockouts: the peer's address, or what a trusted
//! proxy says it forwarded for.
//!
//! `X-Forwarded-For` is anyone's to write, so it is read only when the connection
//! comes from a proxy the operator listed (`GATEHOUSE_TRUSTED_PROXIES`: addresses or
//! CIDR ranges). Then the list is read from the right, each trusted hop skipped, and
//! the first address that is not a trusted proxy is the client (what the last trusted
//! proxy saw). Anything unparsable ends the walk at the last address known to be good.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// The calling client's address, as decided by [`TrustedProxies::client`]. The HTTP
/// edge puts it in each request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not an IP address or CIDR range (e.g. 10.0.0.5 or 10.0.0.0/8)")]
pub struct BadProxy(String);

impl FromStr for TrustedProxies {
    type Err = BadProxy;

    /// A comma- or space-separated list of addresses and CIDR ranges.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(p.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` header values
    /// (in the order they appear).
    pub fn client<'a>(
        &self,
        peer: SocketAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> ClientAddr {
        let mut client = canonical(peer.ip());
        if !self.trusts(client) {
            return ClientAddr(client);
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        ClientAddr(client)
    }
}

/// `::ffff:a.b.c.d` is the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    fn ip(s: &str) -> ClientAddr {
        ClientAddr(s.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(peer("203.0.113.9"), ["1.2.3.4"].into_iter()),
            ip("203.0.113.9")
        );
        let proxies: TrustedProxies = "10.0.0.0/8, 192.168.1.10".parse().unwrap();
        assert_eq!(
            proxies.client(peer("203.0.113.9"), ["1.2.3.4"].into_iter()),
            ip("203.0.113.9"),
            "an untrusted peer cannot name another client"
        );
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8 192.168.1.10".parse().unwrap();
        // the client forged the leftmost entry; the proxies appended the rest
        let xff = ["6.6.6.6, 198.51.100.7", "10.1.1.1"];
        assert_eq!(
            proxies.client(peer("192.168.1.10"), xff.into_iter()),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client(peer("::ffff:10.0.0.1"), ["198.51.100.7"].into_iter()),
            ip("198.51.100.7")
        );
        // no header: the proxy itself
        assert_eq!(
            proxies.client(peer("10.0.0.1"), std::iter::empty()),
            ip("10.0.0.1")
        );
        // garbage ends the walk at the last good address
        assert_eq!(
            proxies.client(peer("10.0.0.1"), ["not-an-ip, 10.0.0.2"].into_iter()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            "10.0.0.0/8, proxy.local".parse::<TrustedProxies>(),
            Err(BadProxy("proxy.local".into()))
        );
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }
}
