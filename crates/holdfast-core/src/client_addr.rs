//! Which address a request comes from: the one decision every rate limit, log line, audit
//! record, session record and consent-log entry uses. Threat note: docs/design/guards.md
//! ("Client addresses behind a reverse proxy").
//!
//! Without `trusted_proxies` the client is the TCP peer, whatever the request's headers say:
//! `X-Forwarded-For` is a header anyone can send. Behind a reverse proxy the peer is the proxy,
//! so the operator names it; only then are `Forwarded` (RFC 7239) or `X-Forwarded-For`, and
//! `X-Forwarded-Proto`, read (with both, they must name the same client: a proxy that writes one
//! passes the other through from the client). Each proxy appends the address it received
//! the request from, so the list is read from the right and the client is the right-most
//! address that is not itself a trusted proxy: everything left of it was written by the client
//! and proves nothing. A header a trusted proxy sent that cannot be read (or that names the
//! client `unknown`) gives the peer, never a guess.

use crate::netguard::Allowlist;
use std::fmt;
use std::net::IpAddr;

/// The reverse proxies whose forwarding headers are believed (`trusted_proxies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Allowlist);

impl TrustedProxies {
    /// Parses addresses or CIDR blocks, as `outbound_allow` does; the error names the first
    /// bad entry.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        Allowlist::parse(entries).map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(ip)
    }
}

/// The scheme the client used, as a trusted proxy reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Http,
    Https,
}

/// Where a request came from. Computed once per request at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// `None` unless a trusted proxy said which scheme the client used (Holdfast itself
    /// serves plain HTTP).
    pub proto: Option<Proto>,
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip.fmt(f)
    }
}

/// The forwarding headers of one request, each as its header lines in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forwarding<'a> {
    pub forwarded: &'a [&'a str],
    pub x_forwarded_for: &'a [&'a str],
    pub x_forwarded_proto: &'a [&'a str],
}

/// The client address of a request whose TCP peer is `peer`.
pub fn client_addr(peer: IpAddr, headers: Forwarding<'_>, trusted: &TrustedProxies) -> ClientAddr {
    let peer = peer.to_canonical();
    let direct = ClientAddr {
        ip: peer,
        proto: None,
    };
    if trusted.is_empty() || !trusted.contains(peer) {
        return direct;
    }
    let has = |lines: &[&str]| lines.iter().any(|l| !l.trim().is_empty());
    let by_forwarded = has(headers.forwarded).then(|| {
        let hops = parse_forwarded(&headers.forwarded.join(","))?;
        let i = pick(&hops, |h| h.node, trusted)?;
        let Node::Ip(ip) = hops[i].node else {
            return None;
        };
        let proto = hops[i]
            .proto
            .or_else(|| forwarded_proto(headers.x_forwarded_proto, None));
        Some(ClientAddr { ip, proto })
    });
    let by_x_forwarded_for = has(headers.x_forwarded_for).then(|| {
        let nodes = split_list(&headers.x_forwarded_for.join(","))
            .map(|entry| parse_node(entry, true))
            .collect::<Option<Vec<Node>>>()?;
        let i = pick(&nodes, |n| *n, trusted)?;
        let Node::Ip(ip) = nodes[i] else {
            return None;
        };
        let proto = forwarded_proto(headers.x_forwarded_proto, Some((i, nodes.len())));
        Some(ClientAddr { ip, proto })
    });
    // A proxy usually writes one of the two headers and passes the other through as the client
    // sent it: with both present, neither is believed unless they name the same client, so a
    // client cannot choose its address by sending the header its proxy does not write.
    match (by_forwarded, by_x_forwarded_for) {
        (Some(Some(f)), Some(Some(x))) if f.ip == x.ip => return f,
        (Some(_), Some(_)) => return direct,
        (Some(one), None) | (None, Some(one)) => return one.unwrap_or(direct),
        (None, None) => {}
    }
    ClientAddr {
        ip: peer,
        proto: forwarded_proto(headers.x_forwarded_proto, None),
    }
}

/// The index of the client in a left-to-right chain of hops: the right-most one that is not a
/// trusted proxy, or the left-most when all are. `None` for an empty chain; an `unknown` hop
/// where the walk stops is returned as is (and gives the peer).
fn pick<T>(hops: &[T], node: impl Fn(&T) -> Node, trusted: &TrustedProxies) -> Option<usize> {
    for (i, hop) in hops.iter().enumerate().rev() {
        match node(hop) {
            Node::Ip(ip) if trusted.contains(ip) => continue,
            _ => return Some(i),
        }
    }
    if hops.is_empty() { None } else { Some(0) }
}

/// `X-Forwarded-Proto`: with as many values as `X-Forwarded-For` has entries, the one beside
/// the client's entry; otherwise the right-most (written by the nearest proxy). Anything but
/// `http`/`https` says nothing.
fn forwarded_proto(lines: &[&str], client: Option<(usize, usize)>) -> Option<Proto> {
    let joined = lines.join(",");
    let values: Vec<&str> = split_list(&joined).collect();
    let value = match client {
        Some((i, n)) if values.len() == n => values.get(i),
        _ => values.last(),
    }?;
    parse_proto(value)
}

fn parse_proto(value: &str) -> Option<Proto> {
    if value.eq_ignore_ascii_case("https") {
        Some(Proto::Https)
    } else if value.eq_ignore_ascii_case("http") {
        Some(Proto::Http)
    } else {
        None
    }
}

/// Comma-separated list entries, trimmed; empty entries (`a,,b`) are skipped as HTTP allows.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|e| !e.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Ip(IpAddr),
    /// `unknown` or an obfuscated identifier (`_hidden`): a hop that does not say.
    Unknown,
}

/// A node: `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`, `[2001:db8::1]:443`, `unknown`,
/// `_obfuscated`; with `bare_v6`, also an unbracketed IPv6 address (as X-Forwarded-For has).
fn parse_node(text: &str, bare_v6: bool) -> Option<Node> {
    if text.eq_ignore_ascii_case("unknown") || text.starts_with('_') {
        return obfuscated(text).then_some(Node::Unknown);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let ip: std::net::Ipv6Addr = addr.parse().ok()?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(valid_port)) {
            return None;
        }
        return Some(Node::Ip(IpAddr::V6(ip).to_canonical()));
    }
    if bare_v6 && let Ok(ip) = text.parse::<std::net::Ipv6Addr>() {
        return Some(Node::Ip(IpAddr::V6(ip).to_canonical()));
    }
    let (addr, port) = match text.split_once(':') {
        Some((addr, port)) => (addr, Some(port)),
        None => (text, None),
    };
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    if port.is_some_and(|p| !valid_port(p)) {
        return None;
    }
    Some(Node::Ip(IpAddr::V4(ip)))
}

fn obfuscated(text: &str) -> bool {
    text.eq_ignore_ascii_case("unknown")
        || (text.len() > 1
            && text[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
}

/// A port number, or an obfuscated port (`_abc`).
fn valid_port(p: &str) -> bool {
    (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
        || (p.starts_with('_') && obfuscated(p))
}

struct Hop {
    node: Node,
    proto: Option<Proto>,
}

/// `Forwarded` (RFC 7239): elements separated by `,`, pairs by `;`, values a token or a quoted
/// string. `None` when any element cannot be read or names no `for`.
fn parse_forwarded(text: &str) -> Option<Vec<Hop>> {
    let mut hops = Vec::new();
    for element in split_outside_quotes(text, ',')? {
        if element.trim().is_empty() {
            continue;
        }
        let mut node = None;
        let mut proto = None;
        for pair in split_outside_quotes(element, ';')? {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return None;
            }
            let value = unquote(value.trim())?;
            if name.eq_ignore_ascii_case("for") {
                if node.is_some() {
                    return None;
                }
                node = Some(parse_node(&value, false)?);
            } else if name.eq_ignore_ascii_case("proto") {
                proto = Some(parse_proto(&value)?);
            }
        }
        hops.push(Hop { node: node?, proto });
    }
    (!hops.is_empty()).then_some(hops)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits at `sep` outside quoted strings; `None` for an unterminated quote.
fn split_outside_quotes(text: &str, sep: char) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    if quoted {
        return None;
    }
    parts.push(&text[start..]);
    Some(parts)
}

/// A token as is, or a quoted string without its quotes and escapes.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return (!value.is_empty()
            && value
                .bytes()
                .all(|b| is_tchar(b) || matches!(b, b':' | b'[' | b']')))
        .then(|| value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The client address for a peer, with headers given as (name, value) lines.
    fn addr(peer: &str, list: &TrustedProxies, lines: &[(&str, &str)]) -> ClientAddr {
        let of = |name: &str| -> Vec<&str> {
            lines
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect()
        };
        let (f, x, p) = (
            of("forwarded"),
            of("x-forwarded-for"),
            of("x-forwarded-proto"),
        );
        client_addr(
            ip(peer),
            Forwarding {
                forwarded: &f,
                x_forwarded_for: &x,
                x_forwarded_proto: &p,
            },
            list,
        )
    }

    fn client(peer: &str, list: &TrustedProxies, lines: &[(&str, &str)]) -> String {
        addr(peer, list, lines).ip.to_string()
    }

    const XFF: &str = "x-forwarded-for";
    const FWD: &str = "forwarded";
    const XFP: &str = "x-forwarded-proto";

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        for lines in [
            vec![(XFF, "203.0.113.7")],
            vec![(FWD, "for=203.0.113.7;proto=https")],
            vec![(XFP, "https")],
        ] {
            let a = addr("127.0.0.1", &none, &lines);
            assert_eq!(a.ip, ip("127.0.0.1"), "{lines:?}");
            assert_eq!(a.proto, None, "{lines:?}");
        }
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_an_address_or_a_scheme() {
        let list = trusted(&["10.0.0.0/8"]);
        let a = addr(
            "198.51.100.9",
            &list,
            &[
                (XFF, "203.0.113.7"),
                (FWD, "for=203.0.113.8"),
                (XFP, "https"),
            ],
        );
        assert_eq!(a.ip, ip("198.51.100.9"));
        assert_eq!(a.proto, None);
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let list = trusted(&["127.0.0.1/32"]);
        assert_eq!(client("127.0.0.1", &list, &[]), "127.0.0.1");
        assert_eq!(client("127.0.0.1", &list, &[(XFF, " ")]), "127.0.0.1");
    }

    #[test]
    fn x_forwarded_for_gives_the_right_most_untrusted_address() {
        let list = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let cases = [
            ("203.0.113.7", "203.0.113.7"),
            // The client wrote the left part itself: only the proxy's append counts.
            ("1.1.1.1, 203.0.113.7", "203.0.113.7"),
            ("1.1.1.1,203.0.113.7, 10.0.0.5", "203.0.113.7"),
            ("203.0.113.7, 10.1.1.1, 10.2.2.2", "203.0.113.7"),
            // Every hop a trusted proxy: the left-most is as far as anyone can see.
            ("10.0.0.9, 10.0.0.8", "10.0.0.9"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("203.0.113.7:51000", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("203.0.113.7,,", "203.0.113.7"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                client("127.0.0.1", &list, &[(XFF, header)]),
                expected,
                "{header}"
            );
        }
        // Several header lines form one list, in order.
        assert_eq!(
            client(
                "127.0.0.1",
                &list,
                &[(XFF, "203.0.113.7"), (XFF, "10.0.0.1")]
            ),
            "203.0.113.7"
        );
    }

    #[test]
    fn a_malformed_x_forwarded_for_gives_the_peer() {
        let list = trusted(&["127.0.0.1"]);
        for header in [
            "not-an-address",
            "203.0.113.7, bogus",
            "203.0.113.256",
            "203.0.113.7:port",
            "203.0.113.7:123456",
            "[2001:db8::1",
            "[203.0.113.7]",
            "unknown",
            "_hidden",
            "203.0.113.7 198.51.100.1",
        ] {
            let a = addr("127.0.0.1", &list, &[(XFF, header)]);
            assert_eq!(a.ip, ip("127.0.0.1"), "{header}");
        }
    }

    #[test]
    fn forwarded_gives_the_right_most_untrusted_for() {
        let list = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let cases = [
            ("for=203.0.113.7", "203.0.113.7"),
            ("For=203.0.113.7", "203.0.113.7"),
            ("for=\"203.0.113.7:4711\"", "203.0.113.7"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[::1]:80\"", "::1"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("for=192.0.2.43, for=198.51.100.17", "198.51.100.17"),
            (
                "for=192.0.2.43, for=198.51.100.17;by=10.0.0.1, for=10.0.0.2",
                "198.51.100.17",
            ),
            ("for=10.0.0.3, for=10.0.0.2", "10.0.0.3"),
            ("by=10.0.0.1;for=192.0.2.1;host=\"a;b,c\"", "192.0.2.1"),
            ("for=192.0.2.1;host=\"quoted \\\" escape\"", "192.0.2.1"),
            (" for = 192.0.2.1 ", "192.0.2.1"),
        ];
        for (header, expected) in cases {
            assert_eq!(
                client("127.0.0.1", &list, &[(FWD, header)]),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn with_both_headers_they_must_name_the_same_client() {
        let list = trusted(&["127.0.0.1"]);
        // A proxy that writes X-Forwarded-For passes the client's own Forwarded through (and
        // the other way round): a disagreement gives the peer, never the client's choice.
        assert_eq!(
            client(
                "127.0.0.1",
                &list,
                &[(XFF, "198.51.100.1"), (FWD, "for=192.0.2.1")]
            ),
            "127.0.0.1"
        );
        assert_eq!(
            client(
                "127.0.0.1",
                &list,
                &[(FWD, "for=192.0.2.1"), (XFF, "203.0.113.5, 198.51.100.1")]
            ),
            "127.0.0.1"
        );
        assert_eq!(
            client(
                "127.0.0.1",
                &list,
                &[(XFF, "198.51.100.1"), (FWD, "for=not-an-ip")]
            ),
            "127.0.0.1"
        );
        // A proxy that writes both names the same client in each.
        let a = addr(
            "127.0.0.1",
            &list,
            &[
                (XFF, "203.0.113.5, 192.0.2.1"),
                (FWD, "for=192.0.2.1;proto=https"),
            ],
        );
        assert_eq!(a.ip, ip("192.0.2.1"));
        assert_eq!(a.proto, Some(Proto::Https));
    }

    #[test]
    fn a_malformed_forwarded_gives_the_peer() {
        let list = trusted(&["127.0.0.1"]);
        for header in [
            "for=not-an-ip",
            "for=\"[2001:db8::1]",
            "for=[2001:db8::1",
            "for=\"[2001:db8::1]x\"",
            "for",
            "=192.0.2.1",
            "proto=https",
            "for=192.0.2.1;for=192.0.2.2",
            "for=192.0.2.1, by=10.0.0.1",
            "for=192.0.2.1;proto=gopher",
            "for=\"192.0.2.1",
            "for=192.0.2.1 198.51.100.1",
            "f r=192.0.2.1",
            // The nearest hop does not say who its client was.
            "for=192.0.2.1, for=unknown",
            "for=192.0.2.1, for=_hidden",
        ] {
            let a = addr("127.0.0.1", &list, &[(FWD, header)]);
            assert_eq!(a.ip, ip("127.0.0.1"), "{header}");
            assert_eq!(a.proto, None, "{header}");
        }
    }

    #[test]
    fn an_unknown_hop_left_of_the_client_does_not_matter() {
        let list = trusted(&["127.0.0.1"]);
        assert_eq!(
            client("127.0.0.1", &list, &[(FWD, "for=unknown, for=192.0.2.9")]),
            "192.0.2.9"
        );
    }

    #[test]
    fn the_scheme_comes_from_a_trusted_proxy_only() {
        let list = trusted(&["127.0.0.1", "10.0.0.0/8"]);
        let proto = |lines: &[(&str, &str)]| addr("127.0.0.1", &list, lines).proto;
        assert_eq!(proto(&[(XFP, "https")]), Some(Proto::Https));
        assert_eq!(proto(&[(XFP, "HTTP")]), Some(Proto::Http));
        assert_eq!(proto(&[(XFP, "gopher")]), None);
        assert_eq!(proto(&[]), None);
        assert_eq!(
            proto(&[(XFF, "203.0.113.7"), (XFP, "https")]),
            Some(Proto::Https)
        );
        // Aligned lists: the scheme beside the client's entry.
        assert_eq!(
            proto(&[(XFF, "203.0.113.7, 10.0.0.2"), (XFP, "https, http")]),
            Some(Proto::Https)
        );
        // Not aligned: the nearest proxy's word.
        assert_eq!(
            proto(&[(XFF, "1.1.1.1, 203.0.113.7"), (XFP, "https")]),
            Some(Proto::Https)
        );
        assert_eq!(
            proto(&[(FWD, "for=192.0.2.1;proto=https")]),
            Some(Proto::Https)
        );
        assert_eq!(
            proto(&[(FWD, "for=192.0.2.1;proto=http, for=10.0.0.2;proto=https")]),
            Some(Proto::Http)
        );
        assert_eq!(
            proto(&[(FWD, "for=192.0.2.1"), (XFP, "https")]),
            Some(Proto::Https)
        );
    }

    #[test]
    fn an_ipv4_mapped_peer_is_judged_and_reported_as_ipv4() {
        let list = trusted(&["127.0.0.1/32"]);
        let a = addr("::ffff:127.0.0.1", &list, &[(XFF, "203.0.113.7")]);
        assert_eq!(a.ip, ip("203.0.113.7"));
        let a = addr("::ffff:198.51.100.2", &list, &[(XFF, "203.0.113.7")]);
        assert_eq!(a.ip, ip("198.51.100.2"));
    }

    #[test]
    fn ipv6_proxies_and_clients() {
        let list = trusted(&["fd00::/8"]);
        assert_eq!(
            client("fd00::1", &list, &[(XFF, "2001:db8::7, fd00::2")]),
            "2001:db8::7"
        );
        assert_eq!(client("fc00::1", &list, &[(XFF, "2001:db8::7")]), "fc00::1");
    }

    #[test]
    fn trusted_proxies_parse_like_outbound_allow() {
        assert!(TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).is_ok());
        let e = TrustedProxies::parse(&["proxy.local".into()]).unwrap_err();
        assert!(e.contains("'proxy.local'"), "{e}");
        assert!(TrustedProxies::parse(&["10.0.0.1/8".into()]).is_err());
    }
}
