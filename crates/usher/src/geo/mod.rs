//! Approximate locations of client addresses, from an offline MaxMind-format
//! database. (Scaffold: the database reader comes with the locations work.)

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Where an address is, as precisely as the database knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
    /// A private, loopback or link-local address: shown as "local network".
    pub local: bool,
}

/// Looks addresses up.
#[derive(Debug, Default)]
pub struct Geo {}

impl Geo {
    /// The location of `ip`, when known.
    pub fn locate(&self, ip: IpAddr) -> Option<Location> {
        let _ = ip;
        None
    }
}
