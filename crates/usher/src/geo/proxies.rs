//! The peers whose forwarding headers are believed.

use std::net::IpAddr;

use ipnet::IpNet;

/// Addresses and networks of trusted proxies, parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `locations.trusted_proxies`: each entry an address
    /// (`10.0.0.7`, `::1`) or a CIDR network (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "locations.trusted_proxies: {entry:?} is neither an IP address \
                             nor a CIDR network (like 10.0.0.0/8)"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of them. An IPv4-mapped IPv6 address (from a
    /// dual-stack listener) matches as the IPv4 address it is.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str]) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn addresses_and_networks() {
        let trusted = proxies(&["127.0.0.1", "10.1.2.3/16", " fd00::/8 "]).expect("valid");
        assert!(trusted.contains(ip("127.0.0.1")));
        assert!(!trusted.contains(ip("127.0.0.2")));
        assert!(trusted.contains(ip("10.1.200.9")));
        assert!(!trusted.contains(ip("10.2.0.1")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(trusted.contains(ip("::ffff:127.0.0.1")));
        assert!(!trusted.contains(ip("2001:db8::1")));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["10.0.0.0/33", "proxy.internal", "", "10.0.0.256"] {
            let error = proxies(&["127.0.0.1", bad]).expect_err(bad);
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }
}
