//! The client's address as a trusted proxy reports it: `X-Forwarded-For` or
//! RFC 7239 `Forwarded`.
//!
//! Each proxy appends the address it received the request from, so the list
//! is read from the right: entries naming trusted proxies are skipped and the
//! first other one is the client. Entries left of it were written by the
//! client or by proxies usher does not know, and are never believed. A list
//! usher cannot read (an invalid address, `unknown`, an obfuscated
//! identifier, a missing `for=`) names no one, and the peer is the client.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::http::HeaderMap;

use crate::geo::{ForwardedHeader, Geo, TrustedProxies};

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const FORWARDED: &str = "forwarded";

/// The client of a request from `peer`: the peer itself, or, when it is a
/// trusted proxy, the client its forwarding header names (the peer when the
/// header names no one). Without trusted proxies no header is read.
pub fn client_address(geo: &Geo, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    if !geo.trusts(peer) {
        return peer;
    }
    client_ip(headers, geo.forwarded_header(), geo.trusted_proxies()).unwrap_or(peer)
}

/// The client's address according to `which` header of a request that came
/// from a trusted proxy; `None` when the header is absent or unreadable.
pub fn client_ip(
    headers: &HeaderMap,
    which: ForwardedHeader,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let name = match which {
        ForwardedHeader::XForwardedFor => X_FORWARDED_FOR,
        ForwardedHeader::Forwarded => FORWARDED,
    };
    let mut hops: Vec<Cow<'_, str>> = Vec::new();
    // Repeated header lines form one list, in order.
    for line in headers.get_all(name) {
        let line = line.to_str().ok()?;
        match which {
            ForwardedHeader::XForwardedFor => hops.extend(
                line.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(Cow::Borrowed),
            ),
            ForwardedHeader::Forwarded => {
                for element in split_outside_quotes(line, ',') {
                    if element.trim().is_empty() {
                        continue;
                    }
                    // An element without `for=` hides who the client was.
                    hops.push(for_parameter(element).unwrap_or(Cow::Borrowed("")));
                }
            }
        }
    }
    let mut nearest_trusted = None;
    for hop in hops.iter().rev() {
        let ip = node_address(hop)?;
        if !trusted.contains(ip) {
            return Some(ip);
        }
        nearest_trusted = Some(ip);
    }
    // Every hop is a trusted proxy: the first of them is where the request began.
    nearest_trusted
}

/// Splits at `separator` where it is not inside a quoted string.
fn split_outside_quotes(value: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// The value of an element's `for` parameter, unquoted.
fn for_parameter(element: &str) -> Option<Cow<'_, str>> {
    split_outside_quotes(element, ';')
        .into_iter()
        .find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("for")
                .then(|| unquote(value.trim()))
        })
}

/// A token as is; a quoted string without its quotes and escapes.
fn unquote(value: &str) -> Cow<'_, str> {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) if inner.contains('\\') => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or(c)
                } else {
                    c
                });
            }
            Cow::Owned(out)
        }
        Some(inner) => Cow::Borrowed(inner),
        None => Cow::Borrowed(value),
    }
}

/// An address from a node: `192.0.2.1`, `192.0.2.1:443`, `[2001:db8::1]`,
/// `[2001:db8::1]:443`, or a bare `2001:db8::1`. `unknown`, obfuscated
/// identifiers (`_hidden`) and anything else are not addresses.
fn node_address(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    let ip = if let Some(rest) = node.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        if !(after.is_empty() || port(after.strip_prefix(':')?)) {
            return None;
        }
        IpAddr::V6(host.parse::<Ipv6Addr>().ok()?)
    } else if let Ok(ip) = node.parse::<IpAddr>() {
        ip
    } else {
        let (host, p) = node.split_once(':')?;
        if !port(p) {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

/// A port number, or an obfuscated port (`_abc`) as RFC 7239 allows.
fn port(p: &str) -> bool {
    p.parse::<u16>().is_ok() || (p.starts_with('_') && p.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).expect("valid")
    }

    fn client(which: ForwardedHeader, lines: &[&str]) -> Option<String> {
        let name = match which {
            ForwardedHeader::XForwardedFor => X_FORWARDED_FOR,
            ForwardedHeader::Forwarded => FORWARDED,
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(name, HeaderValue::from_str(line).expect("a header value"));
        }
        client_ip(&headers, which, &trusted()).map(|ip| ip.to_string())
    }

    fn xff(lines: &[&str]) -> Option<String> {
        client(ForwardedHeader::XForwardedFor, lines)
    }

    fn forwarded(lines: &[&str]) -> Option<String> {
        client(ForwardedHeader::Forwarded, lines)
    }

    fn some(ip: &str) -> Option<String> {
        Some(ip.to_owned())
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right_past_trusted_proxies() {
        assert_eq!(xff(&["81.193.4.5"]), some("81.193.4.5"));
        assert_eq!(xff(&["81.193.4.5, 10.0.0.7"]), some("81.193.4.5"));
        // The client wrote the leftmost entry itself: not believed.
        assert_eq!(xff(&["6.6.6.6, 81.193.4.5, 10.0.0.7"]), some("81.193.4.5"));
        // Repeated lines are one list.
        assert_eq!(
            xff(&["6.6.6.6", "81.193.4.5", "10.0.0.7"]),
            some("81.193.4.5")
        );
        // Only trusted proxies: the first one is where the request began.
        assert_eq!(xff(&["10.0.0.9, 10.0.0.7"]), some("10.0.0.9"));
        assert_eq!(xff(&["2a02:8100::1"]), some("2a02:8100::1"));
        assert_eq!(xff(&["[2a02:8100::1]:443"]), some("2a02:8100::1"));
        assert_eq!(xff(&["81.193.4.5:51234"]), some("81.193.4.5"));
        assert_eq!(xff(&["::ffff:81.193.4.5"]), some("81.193.4.5"));
        assert_eq!(xff(&[" 81.193.4.5 ,, "]), some("81.193.4.5"));
        assert_eq!(xff(&[]), None);
    }

    #[test]
    fn unreadable_x_forwarded_for_names_no_one() {
        for bad in [
            "not-an-ip",
            "81.193.4.5, 999.1.1.1",
            "81.193.4.5, unknown",
            "81.193.4.5:port",
            "[81.193.4.5]",
            "fe80::1%eth0",
            "",
        ] {
            assert_eq!(xff(&[bad]), None, "{bad:?}");
        }
        // Garbage left of the client is never looked at.
        assert_eq!(xff(&["garbage, 81.193.4.5"]), some("81.193.4.5"));
    }

    #[test]
    fn forwarded_nodes_in_every_form() {
        assert_eq!(forwarded(&["for=81.193.4.5"]), some("81.193.4.5"));
        assert_eq!(forwarded(&["For=\"81.193.4.5:4711\""]), some("81.193.4.5"));
        assert_eq!(
            forwarded(&["for=\"[2001:db8::1]:443\""]),
            some("2001:db8::1")
        );
        assert_eq!(forwarded(&["for=\"[2001:db8::1]\""]), some("2001:db8::1"));
        assert_eq!(
            forwarded(&["for=\"[2001:db8::1]:_port\";proto=https;by=10.0.0.7"]),
            some("2001:db8::1")
        );
        assert_eq!(
            forwarded(&["proto=https; for=81.193.4.5 ;host=\"a;b,c\""]),
            some("81.193.4.5")
        );
        assert_eq!(
            forwarded(&["for=6.6.6.6, for=81.193.4.5", "for=10.0.0.7;by=127.0.0.1"]),
            some("81.193.4.5")
        );
        assert_eq!(forwarded(&["for=\"\\81.193.4.5\""]), some("81.193.4.5"));
    }

    #[test]
    fn unknown_obfuscated_or_missing_forwarded_nodes_name_no_one() {
        for bad in [
            "for=unknown",
            "for=_hidden",
            "for=\"_gazonk\"",
            "proto=https",
            "for=\"[2001:db8::1\"",
            "for=2001:db8::1]:443",
            "for=81.193.4.5, for=unknown",
            "for=81.193.4.5, by=10.0.0.7",
            "for=\"81.193.4.5",
            "for=",
        ] {
            assert_eq!(forwarded(&[bad]), None, "{bad:?}");
        }
    }

    /// Properties on arbitrary and on generated well-formed headers.
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn headers(name: &'static str, lines: &[Vec<u8>]) -> HeaderMap {
            let mut headers = HeaderMap::new();
            for line in lines {
                if let Ok(value) = HeaderValue::from_bytes(line) {
                    headers.append(name, value);
                }
            }
            headers
        }

        /// Whether `ip` is written somewhere in `lines`: a run of characters
        /// between separators that reads as it (a v4 address with a port, too).
        fn mentioned(lines: &[Vec<u8>], ip: IpAddr) -> bool {
            let text: String = lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).replace('\\', ""))
                .collect::<Vec<_>>()
                .join(",");
            text.split(|c: char| ",;=\"[] \t".contains(c)).any(|piece| {
                let read = piece.parse::<IpAddr>().ok().or_else(|| {
                    let (host, _port) = piece.rsplit_once(':')?;
                    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
                });
                read.map(|r| r.to_canonical()) == Some(ip)
            })
        }

        /// Header lines: any bytes, any printable text, or text made of what
        /// addresses and `Forwarded` are made of.
        fn lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
            let line = prop_oneof![
                prop::collection::vec(any::<u8>(), 0..48),
                "[ -~]{0,60}".prop_map(String::into_bytes),
                "([0-9a-fA-F:.]{1,12}|[\\[\\],; =\"_\\\\]|for|For|by|unknown){0,12}"
                    .prop_map(String::into_bytes),
            ];
            prop::collection::vec(line, 0..4)
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 256,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn any_header_yields_no_one_or_an_address_it_names(lines in lines()) {
                for (which, name) in [
                    (ForwardedHeader::XForwardedFor, X_FORWARDED_FOR),
                    (ForwardedHeader::Forwarded, FORWARDED),
                ] {
                    if let Some(ip) = client_ip(&headers(name, &lines), which, &trusted()) {
                        prop_assert!(mentioned(&lines, ip), "{:?} from {:?}", ip, lines);
                    }
                }
            }

            #[test]
            fn a_well_formed_list_names_its_rightmost_untrusted_hop(hops in hops(), split in any::<prop::sample::Index>()) {
                let trusted = trusted();
                let canonical: Vec<IpAddr> = hops.iter().map(|h| h.ip.to_canonical()).collect();
                let expected = canonical
                    .iter()
                    .rev()
                    .find(|ip| !trusted.contains(**ip))
                    .or(canonical.first())
                    .copied();
                for (which, name) in [
                    (ForwardedHeader::XForwardedFor, X_FORWARDED_FOR),
                    (ForwardedHeader::Forwarded, FORWARDED),
                ] {
                    let elements: Vec<String> = hops.iter().map(|h| h.written(which)).collect();
                    // The list may come as two header lines.
                    let at = split.index(elements.len() + 1);
                    let lines: Vec<Vec<u8>> = [&elements[..at], &elements[at..]]
                        .iter()
                        .filter(|part| !part.is_empty())
                        .map(|part| part.join(" , ").into_bytes())
                        .collect();
                    let got = client_ip(&headers(name, &lines), which, &trusted);
                    prop_assert_eq!(got, expected, "{:?}", lines);
                }
            }
        }

        /// One proxy hop, and how it is written.
        #[derive(Debug, Clone)]
        struct Hop {
            ip: IpAddr,
            port: Option<u16>,
            bracketed: bool,
            quoted: bool,
            proto_first: bool,
            upper: bool,
        }

        impl Hop {
            fn written(&self, which: ForwardedHeader) -> String {
                let address = match (self.ip, self.port) {
                    (IpAddr::V4(v4), None) => v4.to_string(),
                    (IpAddr::V4(v4), Some(port)) => format!("{v4}:{port}"),
                    (IpAddr::V6(v6), None) if !self.bracketed => v6.to_string(),
                    (IpAddr::V6(v6), None) => format!("[{v6}]"),
                    (IpAddr::V6(v6), Some(port)) => format!("[{v6}]:{port}"),
                };
                match which {
                    ForwardedHeader::XForwardedFor => address,
                    ForwardedHeader::Forwarded => {
                        // A port or an IPv6 address needs a quoted string.
                        let needs_quotes = self.port.is_some() || self.ip.is_ipv6();
                        let value = if needs_quotes || self.quoted {
                            format!("\"{address}\"")
                        } else {
                            address
                        };
                        let key = if self.upper { "For" } else { "for" };
                        if self.proto_first {
                            format!("proto=https;{key}={value};by=10.0.0.1")
                        } else {
                            format!("{key}={value}")
                        }
                    }
                }
            }
        }

        fn hops() -> impl Strategy<Value = Vec<Hop>> {
            let ip = prop_oneof![
                any::<IpAddr>(),
                any::<u16>().prop_map(|n| IpAddr::from([10, 0, (n >> 8) as u8, n as u8])),
                Just(IpAddr::from([127, 0, 0, 1])),
            ];
            let hop = (ip, any::<Option<u16>>(), any::<[bool; 4]>()).prop_map(
                |(ip, port, [bracketed, quoted, proto_first, upper])| Hop {
                    ip,
                    // A bare IPv6 address cannot carry a port.
                    port: port.filter(|_| ip.is_ipv4() || bracketed),
                    bracketed,
                    quoted,
                    proto_first,
                    upper,
                },
            );
            prop::collection::vec(hop, 1..6)
        }
    }
}
