//! The client's address behind a reverse proxy. Rate limits and socket caps
//! key on the client's address; behind nginx, Caddy or a load balancer
//! every request comes from the proxy, so one busy store would throttle
//! itself. From the proxies named by `--trusted-proxies`, and only from
//! them, the address is read from `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`; anyone else could forge those headers.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::app::AppState;

/// Hops read from the right of a forwarding chain: more is a forgery or a
/// misconfiguration, and reading further would only cost time.
const MAX_HOPS: usize = 20;

/// Networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// `10.0.0.0/8, 192.168.1.5, ::1`: networks or single addresses.
    fn from_str(s: &str) -> Result<Self, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{p}' is not an address or a network like 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

/// Replaces the peer address requests see with the client's, for requests
/// that came through a trusted proxy.
pub async fn client_addr(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    if !s.site.trusted_proxies.is_empty() {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        if let Some(peer) = peer.filter(|p| s.site.trusted_proxies.contains(p.ip())) {
            if let Some(ip) = forwarded_client(req.headers(), &s.site.trusted_proxies) {
                req.extensions_mut()
                    .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
            }
        }
    }
    next.run(req).await
}

/// The nearest address in the forwarding chain that is not one of our
/// proxies: each proxy appends the address it heard from, so everything
/// left of that is the client's to write. None when the chain is missing
/// or holds something that is not an address (`unknown`, `_hidden`).
pub fn forwarded_client(headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let chain: Vec<&str> = if !forwarded.is_empty() {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                })
            })
            .collect()
    } else {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect()
    };
    for hop in chain.iter().rev().take(MAX_HOPS) {
        let ip = node_address(hop)?;
        if !trusted.contains(ip) {
            return Some(ip);
        }
    }
    // Every hop is a proxy of ours: the leftmost is as near the client as we get.
    chain.first().and_then(|h| node_address(h))
}

/// `192.0.2.1`, `"192.0.2.1:8080"`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn node_address(hop: &str) -> Option<IpAddr> {
    let h = hop.trim().trim_matches('"');
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    h.parse::<IpAddr>().ok().or_else(|| {
        h.rsplit_once(':')
            .and_then(|(ip, _port)| ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let t: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A client that forged its own header is still found behind it.
        assert_eq!(
            forwarded_client(&headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")]), &t),
            ip("203.0.113.7")
        );
        assert_eq!(
            forwarded_client(
                &headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]),
                &t
            ),
            ip("203.0.113.7")
        );
        assert_eq!(
            forwarded_client(
                &headers(&[("forwarded", "for=6.6.6.6, for=\"[2001:db8::17]:4711\";proto=https")]),
                &t
            ),
            ip("2001:db8::17")
        );
        assert_eq!(
            forwarded_client(&headers(&[("forwarded", "for=\"192.0.2.43:47011\"")]), &t),
            ip("192.0.2.43")
        );
        assert_eq!(
            forwarded_client(&headers(&[("x-forwarded-for", "10.2.2.2, 127.0.0.1")]), &t),
            ip("10.2.2.2")
        );
        assert_eq!(forwarded_client(&headers(&[("forwarded", "for=unknown")]), &t), None);
        assert_eq!(
            forwarded_client(&headers(&[("x-forwarded-for", "not an address")]), &t),
            None
        );
        assert_eq!(forwarded_client(&headers(&[]), &t), None);
    }

    #[test]
    fn proxies_parse_as_networks_or_addresses() {
        let t: TrustedProxies = " 10.0.0.0/8 ,::1, 192.168.1.5".parse().unwrap();
        assert!(t.contains("10.9.9.9".parse().unwrap()) && t.contains("::1".parse().unwrap()));
        assert!(
            t.contains("::ffff:192.168.1.5".parse().unwrap()),
            "IPv4 seen through an IPv6 socket"
        );
        assert!(!t.contains("192.168.1.6".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("nginx".parse::<TrustedProxies>().is_err());
    }
}
