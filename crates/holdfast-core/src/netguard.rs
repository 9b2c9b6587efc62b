//! Which addresses outbound requests may reach: the pure half of the SSRF guard (the HTTP half,
//! which applies it after DNS resolution and on every redirect, is `holdfast_app::outbound`).
//!
//! A URL a workspace user saves (a webhook endpoint) must not become a way to reach this
//! machine, the private network behind it or the cloud metadata service. So every address is
//! judged here before a connection is made: loopback, private, link-local, metadata and the
//! other special-purpose ranges are refused unless the operator's allowlist (`outbound_allow`)
//! contains the address. IPv6 forms that carry an IPv4 address are judged by that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Blocked {
    #[error("a loopback address")]
    Loopback,
    #[error("a private-network address")]
    Private,
    #[error("a link-local address")]
    LinkLocal,
    #[error("a cloud metadata address")]
    CloudMetadata,
    #[error("a carrier-grade NAT address")]
    CarrierGradeNat,
    #[error("an unspecified address")]
    Unspecified,
    #[error("a multicast address")]
    Multicast,
    #[error("the broadcast address")]
    Broadcast,
    #[error("a documentation address")]
    Documentation,
    #[error("a benchmarking address")]
    Benchmarking,
    #[error("a reserved address")]
    Reserved,
}

impl Blocked {
    /// A stable lower-case name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Blocked::Loopback => "loopback",
            Blocked::Private => "private",
            Blocked::LinkLocal => "link_local",
            Blocked::CloudMetadata => "cloud_metadata",
            Blocked::CarrierGradeNat => "carrier_grade_nat",
            Blocked::Unspecified => "unspecified",
            Blocked::Multicast => "multicast",
            Blocked::Broadcast => "broadcast",
            Blocked::Documentation => "documentation",
            Blocked::Benchmarking => "benchmarking",
            Blocked::Reserved => "reserved",
        }
    }
}

/// One CIDR block; `bits` keeps the address left-aligned in its family's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4 { bits: u32, prefix: u8 },
    V6 { bits: u128, prefix: u8 },
}

impl Net {
    fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Net::V4 { bits, prefix }, IpAddr::V4(a)) => in_v4(a, bits, prefix),
            (Net::V6 { bits, prefix }, IpAddr::V6(a)) => in_v6(a, bits, prefix),
            _ => false,
        }
    }
}

/// The addresses the operator lets outbound requests reach although `check` would refuse them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    nets: Vec<Net>,
}

impl Allowlist {
    /// Parses `outbound_allow` entries: addresses (`127.0.0.1`, `::1`) or CIDR blocks
    /// (`10.0.0.0/8`, `fd00::/8`). The error names the first bad entry.
    pub fn parse(entries: &[String]) -> Result<Allowlist, String> {
        let nets = entries
            .iter()
            .map(|entry| parse_net(entry.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Allowlist { nets })
    }

    /// Adds one address (a /32 or /128 block).
    pub fn allow(&mut self, ip: IpAddr) {
        self.nets.push(match ip {
            IpAddr::V4(a) => Net::V4 {
                bits: a.to_bits(),
                prefix: 32,
            },
            IpAddr::V6(a) => Net::V6 {
                bits: a.to_bits(),
                prefix: 128,
            },
        });
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether an entry covers `ip`; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the same
    /// socket as its IPv4 address, so IPv4 entries cover it too.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(a) => a.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.nets
            .iter()
            .any(|n| n.contains(ip) || mapped.is_some_and(|m| n.contains(m)))
    }
}

fn parse_net(entry: &str) -> Result<Net, String> {
    let bad = || {
        format!(
            "'{entry}' is not an IP address or CIDR block (expected e.g. 127.0.0.1, 10.0.0.0/8, ::1 or fd00::/8)"
        )
    };
    let (addr, prefix) = match entry.split_once('/') {
        None => (entry, None),
        Some((addr, len)) => {
            // u8::from_str would take "+8"; only plain digits are a prefix length.
            if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            (addr, Some(len.parse::<u8>().map_err(|_| bad())?))
        }
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let net = match ip {
        IpAddr::V4(a) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return Err(format!("'{entry}': an IPv4 prefix length is at most 32"));
            }
            Net::V4 {
                bits: a.to_bits(),
                prefix,
            }
        }
        IpAddr::V6(a) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return Err(format!("'{entry}': an IPv6 prefix length is at most 128"));
            }
            Net::V6 {
                bits: a.to_bits(),
                prefix,
            }
        }
    };
    // `10.0.0.1/8` is more likely a typo than a wish for 10.0.0.0/8: say so rather than guess.
    let (host_bits_set, network) = match net {
        Net::V4 { bits, prefix } => {
            let masked = bits & mask32(prefix);
            (
                masked != bits,
                format!("{}/{prefix}", Ipv4Addr::from_bits(masked)),
            )
        }
        Net::V6 { bits, prefix } => {
            let masked = bits & mask128(prefix);
            (
                masked != bits,
                format!("{}/{prefix}", Ipv6Addr::from_bits(masked)),
            )
        }
    };
    if host_bits_set {
        return Err(format!(
            "'{entry}' has bits set after the prefix length; did you mean {network}?"
        ));
    }
    Ok(net)
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn in_v4(a: Ipv4Addr, net: u32, prefix: u8) -> bool {
    a.to_bits() & mask32(prefix) == net & mask32(prefix)
}

fn in_v6(a: Ipv6Addr, net: u128, prefix: u8) -> bool {
    a.to_bits() & mask128(prefix) == net & mask128(prefix)
}

/// `Ok` when outbound requests may reach `ip`: a public unicast address, or one the allowlist
/// contains. Otherwise the class that refuses it.
pub fn check(ip: IpAddr, allow: &Allowlist) -> Result<(), Blocked> {
    if allow.contains(ip) {
        return Ok(());
    }
    match classify(ip) {
        Some(class) => Err(class),
        None => Ok(()),
    }
}

/// The special-purpose class of `ip`, or `None` for a public unicast address.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// IANA IPv4 special-purpose registry, most specific first (metadata before link-local).
const V4_RULES: &[(u32, u8, Blocked)] = &[
    // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean …
    (v4(169, 254, 169, 254), 32, Blocked::CloudMetadata),
    // Alibaba Cloud.
    (v4(100, 100, 100, 200), 32, Blocked::CloudMetadata),
    // Azure's WireServer: a public-range address that only answers from inside Azure.
    (v4(168, 63, 129, 16), 32, Blocked::CloudMetadata),
    (v4(0, 0, 0, 0), 8, Blocked::Unspecified),
    (v4(10, 0, 0, 0), 8, Blocked::Private),
    (v4(100, 64, 0, 0), 10, Blocked::CarrierGradeNat),
    (v4(127, 0, 0, 0), 8, Blocked::Loopback),
    (v4(169, 254, 0, 0), 16, Blocked::LinkLocal),
    (v4(172, 16, 0, 0), 12, Blocked::Private),
    // IETF protocol assignments (DS-Lite, NAT64 discovery …).
    (v4(192, 0, 0, 0), 24, Blocked::Reserved),
    (v4(192, 0, 2, 0), 24, Blocked::Documentation),
    // Deprecated 6to4 relay anycast.
    (v4(192, 88, 99, 0), 24, Blocked::Reserved),
    (v4(192, 168, 0, 0), 16, Blocked::Private),
    (v4(198, 18, 0, 0), 15, Blocked::Benchmarking),
    (v4(198, 51, 100, 0), 24, Blocked::Documentation),
    (v4(203, 0, 113, 0), 24, Blocked::Documentation),
    (v4(224, 0, 0, 0), 4, Blocked::Multicast),
    (v4(255, 255, 255, 255), 32, Blocked::Broadcast),
    (v4(240, 0, 0, 0), 4, Blocked::Reserved),
];

fn classify_v4(a: Ipv4Addr) -> Option<Blocked> {
    V4_RULES
        .iter()
        .find(|(net, prefix, _)| in_v4(a, *net, *prefix))
        .map(|(_, _, class)| *class)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let mut bits = 0u128;
    let mut i = 0;
    while i < 8 {
        bits = (bits << 16) | segments[i] as u128;
        i += 1;
    }
    bits
}

/// IANA IPv6 special-purpose registry, most specific first. Forms embedding an IPv4 address are
/// handled before these, in `classify_v6`.
const V6_RULES: &[(u128, u8, Blocked)] = &[
    // AWS instance metadata over IPv6 (inside fc00::/7, so before it).
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]),
        128,
        Blocked::CloudMetadata,
    ),
    // Discard-only (RFC 6666).
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, Blocked::Reserved),
    // Local-use NAT64 (RFC 8215): translates into a private network.
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, Blocked::Private),
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0]), 48, Blocked::Benchmarking),
    // IETF protocol assignments, including Teredo (2001::/32, an IPv4 tunnel) and ORCHID.
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, Blocked::Reserved),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        Blocked::Documentation,
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        Blocked::Documentation,
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, Blocked::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, Blocked::LinkLocal),
    // Deprecated site-local, still routed as private by some networks.
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, Blocked::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, Blocked::Multicast),
];

fn classify_v6(a: Ipv6Addr) -> Option<Blocked> {
    if a.is_unspecified() {
        return Some(Blocked::Unspecified);
    }
    if a.is_loopback() {
        return Some(Blocked::Loopback);
    }
    if let Some(embedded) = embedded_v4(a) {
        return classify_v4(embedded);
    }
    if let Some(class) = V6_RULES
        .iter()
        .find(|(net, prefix, _)| in_v6(a, *net, *prefix))
        .map(|(_, _, class)| *class)
    {
        return Some(class);
    }
    // Only 2000::/3 is allocated for global unicast; anything else is not a public host.
    if !in_v6(a, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return Some(Blocked::Reserved);
    }
    None
}

/// The IPv4 address inside IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible (`::/96`),
/// NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses: each ends up at that IPv4 host.
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = a.to_bits();
    let low32 = Ipv4Addr::from_bits(bits as u32);
    if in_v6(a, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96)
        || in_v6(a, 0, 96)
        || in_v6(a, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
    {
        return Some(low32);
    }
    if in_v6(a, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn allow(entries: &[&str]) -> Allowlist {
        Allowlist::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn class(s: &str) -> Option<Blocked> {
        check(ip(s), &Allowlist::default()).err()
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::200e",
        ] {
            assert_eq!(class(a), None, "{a}");
        }
    }

    #[test]
    fn ipv4_special_ranges_are_refused_by_class() {
        use Blocked::*;
        for (a, expected) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("168.63.129.16", CloudMetadata),
            ("100.64.0.1", CarrierGradeNat),
            ("100.127.255.255", CarrierGradeNat),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("192.0.0.8", Reserved),
            ("192.88.99.1", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
        ] {
            assert_eq!(class(a), Some(expected), "{a}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_refused_by_class() {
        use Blocked::*;
        for (a, expected) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fec0::1", Private),
            ("64:ff9b:1::a00:1", Private),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("100::1", Reserved),
            ("2001::1", Reserved),
            ("2001:10::1", Reserved),
            ("4000::1", Reserved),
            ("5f00::1", Reserved),
            ("1::1", Reserved),
        ] {
            assert_eq!(class(a), Some(expected), "{a}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4_address() {
        use Blocked::*;
        for (a, expected) in [
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:169.254.169.254", Some(CloudMetadata)),
            ("::ffff:10.0.0.1", Some(Private)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::127.0.0.1", Some(Loopback)),
            ("::10.1.2.3", Some(Private)),
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(CloudMetadata)),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:a00:1::1", Some(Private)),
            ("2002:a9fe:a9fe::", Some(CloudMetadata)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::8.8.8.8", None),
            ("2002:808:808::1", None),
        ] {
            assert_eq!(class(a), expected, "{a}");
        }
    }

    #[test]
    fn the_allowlist_overrides_only_what_it_contains() {
        let list = allow(&["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
        for a in [
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "10.255.255.255",
            "::1",
            "fd00::1",
            "fdff::1",
        ] {
            assert_eq!(check(ip(a), &list), Ok(()), "{a}");
        }
        // Public addresses need no entry.
        assert_eq!(check(ip("11.0.0.1"), &list), Ok(()));
        for (a, expected) in [
            ("127.0.0.2", Blocked::Loopback),
            ("192.168.0.1", Blocked::Private),
            ("169.254.169.254", Blocked::CloudMetadata),
            ("::ffff:127.0.0.2", Blocked::Loopback),
            ("fc00::1", Blocked::Private),
            ("fe80::1", Blocked::LinkLocal),
        ] {
            assert_eq!(check(ip(a), &list), Err(expected), "{a}");
        }
        let mut one = Allowlist::default();
        assert!(one.is_empty());
        one.allow(ip("127.0.0.1"));
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert!(!one.contains(ip("::1")));
    }

    #[test]
    fn allowlist_blocks_of_every_width_match_by_prefix() {
        let list = allow(&["0.0.0.0/0"]);
        assert!(list.contains(ip("10.0.0.1")) && !list.contains(ip("::1")));
        let list = allow(&["::/0"]);
        assert!(list.contains(ip("fe80::1")) && !list.contains(ip("127.0.0.1")));
        let list = allow(&["172.16.0.0/12", " 192.168.10.0/24 "]);
        assert!(list.contains(ip("172.31.0.1")));
        assert!(!list.contains(ip("172.32.0.1")));
        assert!(list.contains(ip("192.168.10.200")));
        assert!(!list.contains(ip("192.168.11.1")));
        let list = allow(&["fe80::/10"]);
        assert!(list.contains(ip("febf:ffff::1")) && !list.contains(ip("fec0::1")));
    }

    #[test]
    fn bad_allowlist_entries_are_named_with_the_expected_form() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/8/8",
            "010.0.0.1",
            "10.0.0",
            "[::1]",
            "10.0.0.1/8",
            "fd00::1/8",
        ] {
            let e = Allowlist::parse(&["127.0.0.1".to_owned(), bad.to_owned()]).unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{bad}: {e}");
        }
        let e = Allowlist::parse(&["nope".to_owned()]).unwrap_err();
        assert!(e.contains("10.0.0.0/8"), "{e}");
        let e = Allowlist::parse(&["10.0.0.1/8".to_owned()]).unwrap_err();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        assert!(Allowlist::parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn classes_have_stable_names_and_readable_text() {
        assert_eq!(Blocked::CloudMetadata.name(), "cloud_metadata");
        assert_eq!(Blocked::Loopback.to_string(), "a loopback address");
    }
}
