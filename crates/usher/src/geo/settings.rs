//! The `locations` settings: where the location database is and which
//! proxies' forwarding headers are believed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Approximate locations of client addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    /// A MaxMind-format (`.mmdb`) city or country database; `None` means
    /// locations are not shown (private addresses still read "local network").
    pub database: Option<PathBuf>,
    /// Peers (addresses or CIDR networks) whose `X-Forwarded-For` /
    /// `Forwarded` headers are believed. Empty: the peer is the client.
    pub trusted_proxies: Vec<String>,
    /// The header the trusted proxies write the client's address in. Only
    /// that one is read: a proxy passes the other one on from the client
    /// unchanged, so believing both would let a client choose its address.
    pub forwarded_header: ForwardedHeader,
}

/// Where trusted proxies name the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for="[2001:db8::1]:443"`.
    #[serde(rename = "forwarded")]
    Forwarded,
}
