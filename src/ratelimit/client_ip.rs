//! The client IP a limit keys on: the socket peer, unless the peer is a trusted proxy, in
//! which case X-Forwarded-For (or Forwarded) is walked from the right, skipping trusted hops.
//! A client can never pick its own key; malformed values fall back to the peer.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

const MAX_HEADER_BYTES: usize = 4096;
const MAX_HOPS: usize = 32;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// IPv4-mapped IPv6 addresses are their IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One hop as written in a header: `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80`, `::1`,
/// `"[::1]:80"` (Forwarded quoting). Anything else (`unknown`, obfuscated ids) is None.
pub fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok()))
        {
            return None;
        }
        return inside
            .parse::<Ipv6Addr>()
            .ok()
            .map(|v6| canonical(IpAddr::V6(v6)));
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The hops named by the forwarding headers, left to right; None when a value is malformed.
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut hops = Vec::new();
    let xff: Vec<_> = headers.get_all("x-forwarded-for").collect();
    if !xff.is_empty() {
        for value in xff {
            if value.len() > MAX_HEADER_BYTES {
                return None;
            }
            for part in value.to_str().ok()?.split(',') {
                hops.push(parse_hop(part)?);
            }
        }
    } else {
        for value in headers.get_all("forwarded") {
            if value.len() > MAX_HEADER_BYTES {
                return None;
            }
            for element in value.to_str().ok()?.split(',') {
                let for_value = element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                    .map(|(_, v)| v)?;
                hops.push(parse_hop(for_value)?);
            }
        }
    }
    (hops.len() <= MAX_HOPS).then_some(hops)
}

/// The address of the client as far as trusted proxies vouch for it.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(peer, proxies) {
        return peer;
    }
    let Some(chain) = forwarded_chain(headers) else {
        return peer;
    };
    let mut candidate = peer;
    for hop in chain.iter().rev() {
        candidate = *hop;
        if !trusted(*hop, proxies) {
            return *hop;
        }
    }
    candidate
}

/// The subject a limit keys on: the IPv4 address, or the IPv6 /64.
pub fn ip_subject(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let h = headers(&[("x-forwarded-for", b"1.1.1.1")]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &h, &proxies()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        let h = headers(&[("x-forwarded-for", b"6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &proxies()),
            ip("198.51.100.7")
        );
        let h = headers(&[(
            "forwarded",
            b"for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
        )]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies()), ip("2001:db8::7"));
    }

    #[test]
    fn garbage_falls_back_to_the_peer() {
        for bad in [
            b"unknown".as_slice(),
            b"1.2.3.4:99999",
            b"[::1",
            b"not an ip",
            b"\xff\xfe",
            &[b'1'; 5000],
        ] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies()), ip("10.0.0.2"));
        }
        let h = headers(&[("x-forwarded-for", b"1.2.3.4:8080")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies()), ip("1.2.3.4"));
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_mapped_v4_is_v4() {
        assert_eq!(ip_subject(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(ip_subject(ip("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
        assert_eq!(ip_subject(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(canonical(ip("::ffff:10.0.0.2")), ip("10.0.0.2"));
    }
}
