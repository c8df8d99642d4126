//! The client's address: the one place that decides it. The console's login limit, the public
//! pages' budget and the truncated address kept as evidence of a person's action (GDPR Art. 7(1))
//! all take it from [`ClientIp`] or [`client_ip`].
//!
//! The TCP peer is the client unless it is one of the configured `trusted_proxies`; then the
//! proxy's forwarding header (`X-Forwarded-For`, or `Forwarded` per RFC 7239 §5.2) is read from
//! the right, each trusted hop skipped, and the first address that is not a trusted proxy is the
//! client. Anything further left was written by the client itself and proves nothing. With no
//! trusted proxy configured the header is never read: anyone can send one.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;

use crate::config::ProxyHeader;
use crate::state::AppState;

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    /// Parses the configured blocks (`10.0.0.0/8`, `fd00::/8`, or a bare address for one host).
    pub fn parse(list: &[String], header: ProxyHeader) -> Result<Self, String> {
        let nets = list
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "config: trusted_proxies: {text:?} is not an address or a CIDR block"
                        )
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { nets, header })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let name = match self.header {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        };
        // Several header lines are one list, in order (RFC 9110 §5.3).
        let mut hops: Vec<&str> = Vec::new();
        for value in headers.get_all(name) {
            let Ok(text) = value.to_str() else {
                // A value that is not text: nothing in it can be trusted.
                return peer;
            };
            hops.extend(split_list(text));
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            let named = match self.header {
                ProxyHeader::XForwardedFor => parse_address(hop),
                ProxyHeader::Forwarded => forwarded_for(hop).and_then(parse_address),
            };
            // `unknown`, an obfuscated name or garbage: the hop that wrote it is as far as the
            // chain can be followed.
            let Some(ip) = named.map(canonical) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:192.0.2.1`) is that IPv4 address, so
/// that one client has one address for the rate limits and the evidence.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The elements of a comma-separated header list, commas inside quoted strings kept (RFC 9110
/// §5.6.1, §5.6.4).
fn split_list(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.60;proto=https`), unquoted.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<IpAddr>().ok())
        })
}

/// The client's address of a request: its TCP peer, or who a trusted proxy says it is. `None`
/// only for a request that did not come over a connection (none in the server).
pub fn client_ip(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(state.proxies.client(peer, headers))
}

/// The client's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(state, &parts.extensions, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn proxies(list: &[&str], header: ProxyHeader) -> TrustedProxies {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        TrustedProxies::parse(&list, header).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_address_that_is_not_a_trusted_proxy_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "fd00::/8"], ProxyHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("203.0.113.7"));
        // From an untrusted peer the header is ignored.
        assert_eq!(p.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        // An IPv4 peer seen through an IPv6 socket is the same peer.
        assert_eq!(p.client(ip("::ffff:10.0.0.1"), &h), ip("203.0.113.7"));
        // Only trusted hops: the left-most one is as far as the chain goes.
        let h = headers("x-forwarded-for", &["10.9.9.9"]);
        assert_eq!(p.client(ip("fd00::1"), &h), ip("10.9.9.9"));
        // Garbage stops the walk at the hop that wrote it.
        let h = headers("x-forwarded-for", &["203.0.113.7, nonsense"]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        // A port after the address, as some proxies write it.
        let h = headers("x-forwarded-for", &["203.0.113.7:5123"]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("203.0.113.7"));
    }

    #[test]
    fn forwarded_elements_name_the_client_in_for_with_ipv6_in_brackets() {
        let p = proxies(&["10.0.0.1"], ProxyHeader::Forwarded);
        let h = headers(
            "forwarded",
            &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1"#],
        );
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        // The X-Forwarded-For a client made up is not read when Forwarded is the header.
        let h = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers("forwarded", &["for=unknown"]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_that_is_not_an_address_or_a_block_is_refused() {
        let e =
            TrustedProxies::parse(&["10.0.0.0/33".to_owned()], ProxyHeader::Forwarded).unwrap_err();
        assert!(e.contains("trusted_proxies"), "{e}");
        assert!(TrustedProxies::parse(&["::1".to_owned()], ProxyHeader::Forwarded).is_ok());
    }
}
