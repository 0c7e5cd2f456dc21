//! [`ClientAddress`]: whom a client address stands for when limits count
//! clients (connections per address, sign-in attempts per address).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A client as limits count it: an IPv4 address, or the /64 network of an
/// IPv6 one. An IPv6 host usually has a whole /64 to itself and picks new
/// addresses in it at will, so counting single addresses would give it an
/// unlimited budget; an IPv4-mapped address is the IPv4 client it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(IpAddr);

impl From<IpAddr> for ClientAddress {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(Ipv6Addr::from(network)))
            }
            v4 => Self(v4),
        }
    }
}

impl ClientAddress {
    /// The address itself (IPv4) or its network's first address (IPv6).
    pub fn ip(self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(network) => write!(f, "{network}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> ClientAddress {
        ClientAddress::from(s.parse::<IpAddr>().expect("an address"))
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        assert_eq!(client("2001:db8:1:2::1"), client("2001:db8:1:2:ffff::9"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn an_ipv4_client_is_its_address_however_written() {
        assert_eq!(client("::ffff:81.193.4.5"), client("81.193.4.5"));
        assert_ne!(client("81.193.4.5"), client("81.193.4.6"));
        assert_eq!(client("81.193.4.5").to_string(), "81.193.4.5");
    }
}
