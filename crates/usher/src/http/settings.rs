//! The `[http]` settings: how long a client may take over a request and how
//! many connections it may hold, so that a few slow or abusive clients cannot
//! starve everyone else.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// File descriptors kept free when the connection cap is derived from the
/// open-file limit: the store's pool, the bus, the location database, log
/// files, webhook deliveries and the connections being refused.
const RESERVED_FILES: u64 = 256;

/// The connection cap when the open-file limit cannot be read.
const FALLBACK_MAX_CONNECTIONS: usize = 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// A client must have sent a request's headers this long after the
    /// server began waiting for them, or it is disconnected. hyper's timer
    /// starts on a new connection and again after each answer on a
    /// kept-alive one, so it also bounds the wait between requests.
    pub header_read_timeout_ms: u64,
    /// A kept-alive connection that has not brought a new request this long
    /// after its last answer is closed. At most `header_read_timeout_ms`,
    /// which bounds that wait too.
    pub keep_alive_idle_ms: u64,
    /// A request, its body included, must be answered within this long, or
    /// it gets `408 request_timeout`. The live channel and the account
    /// page's event stream are exempt: they are meant to stay open.
    pub request_timeout_ms: u64,
    /// Connections open at once; the next one is answered `503 overloaded`
    /// and closed. `None`: the open-file limit less a reserve, so the
    /// server refuses politely before it runs out of file descriptors.
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address (an IPv6 client:
    /// its /64 network); the next one is answered `429
    /// too_many_connections` and closed. Trusted proxies are not capped by
    /// their own connections: each request they forward counts for the
    /// client it names while it is answered (a live channel or event
    /// stream: while it stays open).
    pub max_connections_per_address: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: 10_000,
            keep_alive_idle_ms: 5_000,
            request_timeout_ms: 30_000,
            max_connections: None,
            // Generous: a household, an office or a carrier-grade NAT
            // shares one address among many devices and browser tabs.
            max_connections_per_address: 256,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> Result<(), String> {
        const TEN_MINUTES_MS: u64 = 600_000;
        if !(1..=TEN_MINUTES_MS).contains(&self.header_read_timeout_ms)
            || !(1..=TEN_MINUTES_MS).contains(&self.request_timeout_ms)
        {
            return Err(
                "http.header_read_timeout_ms and http.request_timeout_ms must be between 1 ms and 10 minutes"
                    .into(),
            );
        }
        if self.keep_alive_idle_ms == 0 || self.keep_alive_idle_ms > self.header_read_timeout_ms {
            return Err(
                "http.keep_alive_idle_ms must be between 1 ms and http.header_read_timeout_ms, \
                        whose timer also runs while a kept-alive connection waits"
                    .into(),
            );
        }
        if self.max_connections == Some(0) || self.max_connections_per_address == 0 {
            return Err(
                "http.max_connections and http.max_connections_per_address must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn keep_alive_idle(&self) -> Duration {
        Duration::from_millis(self.keep_alive_idle_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The cap on all connections: the configured one, or what the
    /// open-file limit leaves after a reserve (at least half of it).
    pub fn max_connections(&self, open_file_limit: Option<u64>) -> usize {
        match (self.max_connections, open_file_limit) {
            (Some(configured), _) => configured,
            (None, Some(limit)) => {
                let usable = limit.saturating_sub(RESERVED_FILES).max(limit / 2).max(1);
                usize::try_from(usable).unwrap_or(usize::MAX)
            }
            (None, None) => FALLBACK_MAX_CONNECTIONS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_cap_leaves_files_for_everything_else() {
        let http = HttpConfig::default();
        assert_eq!(http.max_connections(Some(1024)), 768);
        assert_eq!(http.max_connections(Some(262_144)), 261_888);
        assert_eq!(http.max_connections(Some(300)), 150);
        assert_eq!(http.max_connections(None), FALLBACK_MAX_CONNECTIONS);
        let configured = HttpConfig {
            max_connections: Some(10),
            ..HttpConfig::default()
        };
        assert_eq!(configured.max_connections(Some(1024)), 10);
    }

    #[test]
    fn the_idle_wait_cannot_outlast_the_header_timer() {
        let http = HttpConfig {
            keep_alive_idle_ms: 20_000,
            ..HttpConfig::default()
        };
        assert!(http.validate().is_err());
        assert!(HttpConfig::default().validate().is_ok());
    }
}
