//! The connection caps: one on all connections (a file descriptor each) and
//! one per client address. A slot is held by its connection or request and
//! given back when that ends.

use std::net::IpAddr;
use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::ClientAddress;

pub struct ConnectionLimits {
    all: Arc<Semaphore>,
    per_address: Arc<AddressCounts>,
}

struct AddressCounts {
    max: usize,
    open: DashMap<IpAddr, usize, foldhash::fast::RandomState>,
}

impl ConnectionLimits {
    pub fn new(max_connections: usize, max_per_address: usize) -> Self {
        Self {
            all: Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS))),
            per_address: Arc::new(AddressCounts {
                max: max_per_address,
                open: DashMap::default(),
            }),
        }
    }

    /// One of all the connections, unless every one is taken.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.all).try_acquire_owned().ok()
    }

    /// One of `client`'s connections, unless it holds them all.
    pub fn claim(&self, client: IpAddr) -> Option<AddressSlot> {
        let key = address_key(client);
        let counts = &self.per_address;
        let mut open = counts.open.entry(key).or_insert(0);
        if *open >= counts.max {
            return None;
        }
        *open += 1;
        drop(open);
        Some(AddressSlot {
            counts: Arc::clone(counts),
            key,
        })
    }
}

/// A connection (or forwarded request) counted for its client address.
pub struct AddressSlot {
    counts: Arc<AddressCounts>,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Entry::Occupied(mut open) = self.counts.open.entry(self.key) {
            if *open.get() <= 1 {
                open.remove();
            } else {
                *open.get_mut() -= 1;
            }
        }
    }
}

/// Whom a connection is counted for (see [`ClientAddress`]).
fn address_key(ip: IpAddr) -> IpAddr {
    ClientAddress::from(ip).ip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_it_back() {
        let limits = ConnectionLimits::new(10, 2);
        let first = limits.claim(ip("81.193.4.5")).expect("a slot");
        let _second = limits.claim(ip("::ffff:81.193.4.5")).expect("a slot");
        assert!(limits.claim(ip("81.193.4.5")).is_none());
        assert!(limits.claim(ip("81.193.4.6")).is_some());
        drop(first);
        assert!(limits.claim(ip("81.193.4.5")).is_some());
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        let limits = ConnectionLimits::new(10, 1);
        let _slot = limits.claim(ip("2001:db8:1:2::1")).expect("a slot");
        assert!(limits.claim(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(limits.claim(ip("2001:db8:1:3::1")).is_some());
    }

    #[test]
    fn all_connections_share_one_cap() {
        let limits = ConnectionLimits::new(1, 10);
        let permit = limits.admit().expect("room for one");
        assert!(limits.admit().is_none());
        drop(permit);
        assert!(limits.admit().is_some());
    }
}
