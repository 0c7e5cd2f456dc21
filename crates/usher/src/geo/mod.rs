//! Where clients are: approximate locations of their addresses, from an
//! offline MaxMind-format database, and which peers' forwarding headers name
//! the client's address.

mod countries;
mod proxies;
mod record;
mod settings;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

pub use proxies::TrustedProxies;
pub use settings::{ForwardedHeader, LocationConfig};

use record::Record;

/// What pages show for a private, loopback or link-local address.
pub const LOCAL_NETWORK: &str = "local network";

/// Where an address is, as precisely as the database knows.
///
/// Serialized with its [`label`](Location::label), the text pages show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Location {
    pub city: Option<String>,
    /// The first-level subdivision (state, province, region).
    pub region: Option<String>,
    /// The country's English name.
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: Option<String>,
    /// A private, loopback or link-local address: shown as "local network".
    #[serde(default)]
    pub local: bool,
}

impl Location {
    /// An address of the local network.
    pub fn local() -> Self {
        Location {
            local: true,
            ..Location::default()
        }
    }

    /// "City, Region, Country" with the unknown parts left out, or
    /// "local network".
    pub fn label(&self) -> String {
        if self.local {
            return LOCAL_NETWORK.to_owned();
        }
        let country = self.country.as_ref().or(self.country_code.as_ref());
        [self.city.as_ref(), self.region.as_ref(), country]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Location", 6)?;
        out.serialize_field("city", &self.city)?;
        out.serialize_field("region", &self.region)?;
        out.serialize_field("country", &self.country)?;
        out.serialize_field("country_code", &self.country_code)?;
        out.serialize_field("local", &self.local)?;
        out.serialize_field("label", &self.label())?;
        out.end()
    }
}

impl From<Record> for Location {
    fn from(r: Record) -> Self {
        Location {
            city: r.city,
            region: r.region,
            country: r.country,
            country_code: r.country_code,
            local: false,
        }
    }
}

/// Why the configured locations cannot be used; start-up stops on it.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error(
        "location database {0} does not exist (locations.database): \
         fetch one with scripts/fetch-geoip.sh, or leave the setting out to run without locations"
    )]
    Missing(PathBuf),
    #[error("location database {0} cannot be read (locations.database): {1}")]
    Unreadable(PathBuf, std::io::Error),
    #[error(
        "location database {0} is not a valid MaxMind-format (.mmdb) file \
         (locations.database): {1}"
    )]
    Corrupt(PathBuf, String),
    #[error("{0}")]
    Proxies(String),
}

/// Looks addresses up, and knows which peers are trusted proxies.
#[derive(Debug, Default)]
pub struct Geo {
    database: Option<Database>,
    proxies: TrustedProxies,
    forwarded_header: ForwardedHeader,
}

impl Geo {
    /// Opens the configured database (if any) and parses the trusted proxies.
    pub fn open(config: &LocationConfig) -> Result<Self, GeoError> {
        Ok(Geo {
            database: config.database.as_deref().map(Database::open).transpose()?,
            proxies: TrustedProxies::parse(&config.trusted_proxies).map_err(GeoError::Proxies)?,
            forwarded_header: config.forwarded_header,
        })
    }

    /// The location of `ip`, when known. Local-network addresses are known
    /// without a database.
    pub fn locate(&self, ip: IpAddr) -> Option<Location> {
        let ip = ip.to_canonical();
        if is_local(ip) {
            return Some(Location::local());
        }
        self.database.as_ref()?.lookup(ip).map(Location::from)
    }

    /// Whether `peer`'s forwarding headers are believed. Cheap when no proxy
    /// is configured: the per-request session check asks this.
    #[inline]
    pub fn trusts(&self, peer: IpAddr) -> bool {
        !self.proxies.is_empty() && self.proxies.contains(peer)
    }

    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// The header trusted proxies name the client in.
    pub fn forwarded_header(&self) -> ForwardedHeader {
        self.forwarded_header
    }

    /// Whether a database is loaded.
    pub fn has_database(&self) -> bool {
        self.database.is_some()
    }
}

/// Addresses that never leave a local network (RFC 1918, loopback,
/// link-local, CGNAT's shared space, IPv6 unique-local and site-local, the
/// unspecified address): no database places them.
pub fn is_local(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || (first & 0xffc0) == 0xfec0
        }
    }
}

/// An open database file, held in memory (lookups never touch the disk).
struct Database {
    reader: maxminddb::Reader<Vec<u8>>,
    path: PathBuf,
    /// A damaged record is logged once, not on every lookup.
    warned: AtomicBool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("type", &self.reader.metadata().database_type)
            .finish()
    }
}

/// Addresses looked up at start-up: a file whose tree or records are damaged
/// fails here rather than on the first sign-in.
const PROBES: [&str; 4] = ["1.1.1.1", "8.8.8.8", "81.193.0.1", "2001:4860:4860::8888"];

impl Database {
    fn open(path: &Path) -> Result<Self, GeoError> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GeoError::Missing(path.to_owned()),
            _ => GeoError::Unreadable(path.to_owned(), e),
        })?;
        let corrupt = |e: &dyn std::fmt::Display| GeoError::Corrupt(path.to_owned(), e.to_string());
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| corrupt(&e))?;
        for probe in PROBES {
            let ip: IpAddr = probe.parse().expect("a valid probe address");
            if ip.is_ipv6() && reader.metadata().ip_version == 4 {
                continue;
            }
            let found = reader.lookup(ip).map_err(|e| corrupt(&e))?;
            found.decode::<Record>().map_err(|e| corrupt(&e))?;
        }
        tracing::info!(
            path = %path.display(),
            kind = %reader.metadata().database_type,
            "location database loaded"
        );
        Ok(Database {
            reader,
            path: path.to_owned(),
            warned: AtomicBool::new(false),
        })
    }

    fn lookup(&self, ip: IpAddr) -> Option<Record> {
        // An IPv4-only file has no IPv6 addresses: not an error worth logging.
        if ip.is_ipv6() && self.reader.metadata().ip_version == 4 {
            return None;
        }
        let found = self
            .reader
            .lookup(ip)
            .and_then(|found| found.decode::<Record>());
        match found {
            Ok(record) => record.and_then(Record::into_known),
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(path = %self.path.display(), error = %e, "location database record unreadable");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
