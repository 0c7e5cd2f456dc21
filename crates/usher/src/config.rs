//! Layered configuration: compiled-in defaults, then a TOML file, then
//! `USHER_`-prefixed environment variables, then command-line flags.
//! Validated once at start-up.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::geo::{ForwardedHeader, LocationConfig};
pub use crate::http::settings::HttpConfig;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::domain::{Plan, PlanName, Plans};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Address of the Prometheus metrics listener (`GET /metrics`); `None`
    /// (the default) records and serves no metrics. Keep it off the public
    /// network: it has no authentication.
    pub metrics_listen: Option<SocketAddr>,
    /// Directory for the embedded SQLite database.
    pub data_dir: PathBuf,
    /// `sqlite://…` to use another file; `None` means `<data_dir>/usher.db`.
    pub database_url: Option<String>,
    /// `nats://host:4222` to use NATS as the event bus (cluster mode);
    /// `None` means the in-process bus of a single node.
    pub nats_url: Option<String>,
    /// NATS subject carrying usher's events (one per deployment).
    pub nats_subject: String,
    /// Issuer (`iss`) of access tokens.
    pub issuer: String,
    pub accounts: AccountConfig,
    pub tokens: TokenConfig,
    /// Encrypts the token-signing keys at rest: base64 of 32 bytes, normally
    /// given as `USHER_KEY_ENCRYPTION_KEY` (or see `keys.encryption_key_file`).
    pub key_encryption_key: Option<Secret>,
    pub keys: KeyConfig,
    pub sessions: SessionConfig,
    pub password_hashing: HashingConfig,
    pub throttle: ThrottleConfig,
    pub live: LiveConfig,
    pub streams: StreamConfig,
    pub web: WebConfig,
    pub locations: LocationConfig,
    pub activity: ActivityConfig,
    pub alerts: AlertConfig,
    pub profiles: ProfileConfig,
    /// Timeouts and connection caps against slow and abusive clients.
    pub http: HttpConfig,
    /// The plan new accounts get when they do not name one.
    pub default_plan: PlanName,
    pub plans: BTreeMap<String, Plan>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
}

/// Public sign-up (`POST /v1/accounts`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Whether anyone may create an account; when false only the operator
    /// can (`usher account create`), and sign-ups get `403 sign_up_disabled`.
    pub public_sign_up: bool,
    /// Sign-up attempts per client address (IPv6: per /64) in a burst, then
    /// one per `sign_up_period_secs`. Every attempt counts, taken email or not.
    pub sign_up_burst: u32,
    pub sign_up_period_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: u64,
}

/// Token-signing keys at rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// A file holding the key-encryption key (base64 of 32 bytes), instead
    /// of `USHER_KEY_ENCRYPTION_KEY`.
    pub encryption_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// A session unused this long is signed out (`idle_expired`).
    pub idle_timeout_secs: u64,
    /// How often idle sessions are swept.
    pub idle_sweep_interval_ms: u64,
    /// How often last-seen times and addresses are written in one batch.
    /// (`activity_flush_interval_ms` is its former name.)
    #[serde(alias = "activity_flush_interval_ms")]
    pub last_seen_flush_interval_ms: u64,
    /// A node that cannot show it has seen every revocation up to this many
    /// seconds ago refuses session checks (`stale_node`) and reports not
    /// ready. 0 turns the guard off (not for production).
    pub max_staleness_secs: u64,
}

impl SessionConfig {
    /// The staleness bound, or `None` when the guard is off.
    pub fn max_staleness(&self) -> Option<std::time::Duration> {
        (self.max_staleness_secs > 0)
            .then(|| std::time::Duration::from_secs(self.max_staleness_secs))
    }
}

/// Argon2id cost. Defaults are OWASP's recommendation (m=19 MiB, t=2, p=1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Threads that hash; 0 means one per core.
    pub threads: usize,
    /// Hash requests that may wait; beyond this sign-ins get 503.
    pub queue: usize,
}

/// Brute-force protection on sign-in and password re-entry (the rules are
/// in `auth::throttle`). A client is a device proof or a signed-in session
/// when it carries one, else its address (IPv6: its /64). Each limit is a
/// burst, then one more per period; all are per node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Attempts (right or wrong) per client address, for any accounts:
    /// this many in a burst, then one per `address_period_ms`. (`ip_burst`
    /// and `ip_period_ms` are their former names.)
    pub address_burst: u32,
    pub address_period_ms: u64,
    /// Wrong passwords one client may enter for one account before that
    /// client (only) must wait.
    pub client_failure_burst: u32,
    pub client_failure_period_secs: u64,
    /// Wrong passwords for one account from clients without a device proof,
    /// across all their addresses; beyond it only clients with a proof may try.
    pub account_failure_burst: u32,
    pub account_failure_period_secs: u64,
    /// Wrong passwords on this node for all accounts; beyond it only
    /// clients with a proof may try, and it is logged.
    pub global_failure_burst: u32,
    pub global_failure_period_ms: u64,
    /// How long the proof of a successful sign-in handed to a device lasts.
    pub device_proof_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// Seconds between pings on each live connection.
    pub ping_interval_secs: u64,
    /// Live connections (live channels and account-page event streams) one
    /// session may hold on a node; a newer one replaces the oldest. Bounds
    /// what a stolen token can hold open.
    pub max_per_session: usize,
    /// The same across every session of one account.
    pub max_per_account: usize,
}

/// The account pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` (sent over HTTPS only). Browsers
    /// treat http://localhost and http://127.0.0.1 as secure, so this stays
    /// on for local use too; turn it off only behind a plain-HTTP proxy
    /// on another host name during development. Off, the cookies lose
    /// their `__Host-` prefix too (browsers refuse it without `Secure`).
    pub secure_cookies: bool,
}

/// The account's activity history.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// Events older than this are pruned.
    pub retention_days: u32,
}

/// New-country and new-device-type alerts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// Where alerts are POSTed; `None` means alerts show in the activity
    /// history and on the account page only.
    pub webhook_url: Option<String>,
    /// Key of the HMAC-SHA256 signature header (a secret: never logged).
    pub webhook_secret: Option<Secret>,
    /// Wrong passwords re-entered on an account's signed-in devices that
    /// raise an alert: the alert comes when this many are entered in a burst
    /// (one forgiven per `wrong_passwords_period_secs`), once per burst.
    pub wrong_passwords_burst: u32,
    pub wrong_passwords_period_secs: u64,
    /// Delivery attempts before an alert is given up (kept, marked failed).
    pub webhook_max_attempts: u32,
    /// Per-attempt timeout.
    pub webhook_timeout_ms: u64,
    /// Wait before the first retry; each later one doubles it (up to an hour).
    pub webhook_retry_base_ms: u64,
}

/// A configured secret: its `Debug` form never shows the value.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Profiles and their PIN locks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Wrong PINs for one profile entered on one device (its session)
    /// in a burst, then one per `pin_period_secs`.
    pub pin_burst: u32,
    pub pin_period_secs: u64,
    /// Wrong PINs for one profile from all addresses; beyond it the profile
    /// takes no PIN until one is forgiven.
    pub pin_profile_burst: u32,
    pub pin_profile_period_secs: u64,
}

/// Stream leases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// How often a playing device is asked to heartbeat.
    pub heartbeat_interval_secs: u64,
    /// How long a slot is held after the last heartbeat.
    pub lease_secs: u64,
    /// How often lapsed leases are tidied and their devices told.
    pub reap_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        let plan = |max_streams| Plan {
            max_streams,
            max_devices: None,
        };
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            metrics_listen: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            nats_url: None,
            nats_subject: "usher.events".into(),
            issuer: "usher".into(),
            accounts: AccountConfig {
                public_sign_up: true,
                // A household signs up once; a shared address (an office, a
                // carrier's NAT) still gets twelve an hour.
                sign_up_burst: 10,
                sign_up_period_secs: 300,
            },
            tokens: TokenConfig {
                access_ttl_secs: 15 * 60,
            },
            key_encryption_key: None,
            keys: KeyConfig::default(),
            sessions: SessionConfig {
                idle_timeout_secs: 90 * 24 * 3600,
                idle_sweep_interval_ms: 60_000,
                last_seen_flush_interval_ms: 5_000,
                max_staleness_secs: 5,
            },
            password_hashing: HashingConfig {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
                threads: 0,
                queue: 1024,
            },
            throttle: ThrottleConfig {
                address_burst: 30,
                address_period_ms: 2_000,
                // 10 an hour: a household's typos, not an attacker's list.
                client_failure_burst: 10,
                client_failure_period_secs: 360,
                // About 100 an hour: more than one address can spend.
                account_failure_burst: 100,
                account_failure_period_secs: 36,
                // 5000, then about 80 a second.
                global_failure_burst: 5_000,
                global_failure_period_ms: 12,
                device_proof_days: 365,
            },
            live: LiveConfig {
                ping_interval_secs: 30,
                // A device needs one; a browser a few, one per open account tab.
                max_per_session: 5,
                // A household's devices and tabs, with room to spare.
                max_per_account: 50,
            },
            web: WebConfig {
                secure_cookies: true,
            },
            streams: StreamConfig {
                heartbeat_interval_secs: 20,
                lease_secs: 60,
                reap_interval_ms: 5_000,
            },
            locations: LocationConfig {
                database: None,
                trusted_proxies: Vec::new(),
                forwarded_header: ForwardedHeader::XForwardedFor,
            },
            activity: ActivityConfig {
                retention_days: 365,
            },
            alerts: AlertConfig {
                webhook_url: None,
                webhook_secret: None,
                // The fifth in quick succession (one forgiven per 3 minutes).
                wrong_passwords_burst: 5,
                wrong_passwords_period_secs: 180,
                webhook_max_attempts: 12,
                webhook_timeout_ms: 5_000,
                webhook_retry_base_ms: 1_000,
            },
            profiles: ProfileConfig {
                pin_burst: 5,
                pin_period_secs: 300,
                // Twice the rate one address gets: one cannot spend it.
                pin_profile_burst: 20,
                pin_profile_period_secs: 120,
            },
            http: HttpConfig::default(),
            default_plan: PlanName("basic".into()),
            plans: BTreeMap::from([
                ("basic".into(), plan(1)),
                ("standard".into(), plan(2)),
                ("premium".into(), plan(4)),
            ]),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Settings given on the command line; each one, when present, wins.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Whether `USHER_<key>` names a setting: its first segment is a top-level
/// field of [`Config`]. Other `USHER_` variables (the binary's own
/// `USHER_CONFIG` and `USHER_LOG`, the device simulator's `USHER_SERVER`, a
/// test harness's) are not settings and are left alone; a misspelt nested key
/// (`USHER_SESSIONS__IDLE_TIMEOUT`) is still rejected as unknown.
fn is_setting(key: &str, settings: &[String]) -> bool {
    let top = key.split("__").next().unwrap_or(key);
    settings.iter().any(|s| s.eq_ignore_ascii_case(top))
}

/// Settings renamed since an earlier version, `(table, old, new)`: the old
/// names keep working in files and in `USHER_` variables. (A serde alias
/// alone would not do: the compiled-in defaults already carry the new name,
/// so a merged old name would be a duplicate field.)
const RENAMED: [(&str, &str, &str); 3] = [
    (
        "sessions",
        "activity_flush_interval_ms",
        "last_seen_flush_interval_ms",
    ),
    ("throttle", "ip_burst", "address_burst"),
    ("throttle", "ip_period_ms", "address_period_ms"),
];

/// The current name of a dotted key given by its old name.
fn renamed_key(key: &str) -> Option<String> {
    RENAMED.iter().find_map(|(table, old, new)| {
        let (t, k) = key.split_once('.')?;
        (t.eq_ignore_ascii_case(table) && k.eq_ignore_ascii_case(old))
            .then(|| format!("{table}.{new}"))
    })
}

/// A provider whose renamed settings are read under their current names.
struct RenamedKeys<P>(P);

impl<P: figment::Provider> figment::Provider for RenamedKeys<P> {
    fn metadata(&self) -> figment::Metadata {
        self.0.metadata()
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut data = self.0.data()?;
        for dict in data.values_mut() {
            for (table, old, new) in RENAMED {
                if let Some(figment::value::Value::Dict(_, table)) = dict.get_mut(table) {
                    if let Some(value) = table.remove(old) {
                        table.entry(new.to_owned()).or_insert(value);
                    }
                }
            }
        }
        Ok(data)
    }
}

const DAY_MS: u64 = 24 * 3600 * 1000;

impl Config {
    /// Loads the layers in order and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(RenamedKeys(Toml::file(path)));
        }
        let settings: Vec<String> = match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let config: Config = figment
            // `USHER_SESSIONS__IDLE_TIMEOUT_SECS` sets `sessions.idle_timeout_secs`.
            .merge(
                Env::prefixed("USHER_")
                    .filter(move |key| is_setting(key.as_str(), &settings))
                    .split("__")
                    .map(|key| match renamed_key(key.as_str()) {
                        Some(current) => current.into(),
                        None => key.into(),
                    }),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if !self.plans.contains_key(self.default_plan.as_str()) {
            return bad("default_plan names a plan that is not in [plans]");
        }
        if self
            .plans
            .values()
            .any(|p| p.max_streams == 0 || p.max_devices == Some(0))
        {
            return bad("a plan's max_streams and max_devices must be at least 1");
        }
        if self.tokens.access_ttl_secs == 0 || self.sessions.idle_timeout_secs == 0 {
            return bad("token and idle lifetimes must be positive");
        }
        if self.password_hashing.memory_kib < 8 * self.password_hashing.parallelism.max(1)
            || self.password_hashing.iterations == 0
        {
            return bad("password_hashing parameters are out of range");
        }
        self.validate_throttles()?;
        if self.accounts.sign_up_burst == 0 || self.accounts.sign_up_period_secs == 0 {
            return bad(
                "accounts.sign_up_burst and accounts.sign_up_period_secs must be at least 1",
            );
        }
        if self.streams.heartbeat_interval_secs == 0
            || self.streams.lease_secs <= self.streams.heartbeat_interval_secs
        {
            return bad("streams.lease_secs must be longer than streams.heartbeat_interval_secs");
        }
        let intervals_ms = [
            self.sessions.idle_sweep_interval_ms,
            self.sessions.last_seen_flush_interval_ms,
            self.streams.reap_interval_ms,
            self.streams.heartbeat_interval_secs.saturating_mul(1000),
            self.live.ping_interval_secs.saturating_mul(1000),
        ];
        if intervals_ms.iter().any(|&ms| ms == 0 || ms > DAY_MS) {
            return bad(
                "sweep, flush, reap, heartbeat and ping intervals must be between 1 ms and a day",
            );
        }
        let live = &self.live;
        if live.max_per_session == 0
            || live.max_per_account < live.max_per_session
            || live.max_per_account > 100_000
        {
            return bad("live.max_per_session must be at least 1 and live.max_per_account between it and 100000");
        }
        self.validate_alerts()?;
        self.http.validate().map_err(ConfigError::Invalid)?;
        crate::geo::TrustedProxies::parse(&self.locations.trusted_proxies)
            .map_err(ConfigError::Invalid)?;
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes must be at least 1024");
        }
        if self
            .metrics_listen
            .is_some_and(|m| m.port() != 0 && m == self.listen)
        {
            return bad("metrics_listen must be another address than listen: the metrics are never served on the public listener");
        }
        Ok(())
    }

    fn validate_throttles(&self) -> Result<(), ConfigError> {
        let (t, p, a) = (&self.throttle, &self.profiles, &self.alerts);
        let bursts = [
            t.address_burst,
            t.client_failure_burst,
            t.account_failure_burst,
            t.global_failure_burst,
            p.pin_burst,
            p.pin_profile_burst,
            a.wrong_passwords_burst,
        ];
        let periods_ms = [
            t.address_period_ms,
            t.client_failure_period_secs.saturating_mul(1000),
            t.account_failure_period_secs.saturating_mul(1000),
            t.global_failure_period_ms,
            p.pin_period_secs.saturating_mul(1000),
            p.pin_profile_period_secs.saturating_mul(1000),
            a.wrong_passwords_period_secs.saturating_mul(1000),
        ];
        if bursts.contains(&0) || periods_ms.iter().any(|&ms| ms == 0 || ms > DAY_MS) {
            return Err(ConfigError::Invalid(
                "throttle, PIN and wrong-password alert bursts must be at least 1 and their periods between 1 ms and a day".into(),
            ));
        }
        if !(1..=3_650).contains(&t.device_proof_days) {
            return Err(ConfigError::Invalid(
                "throttle.device_proof_days must be between 1 and 3650".into(),
            ));
        }
        Ok(())
    }

    fn validate_alerts(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        let alerts = &self.alerts;
        if let Some(url) = &alerts.webhook_url {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => return bad("alerts.webhook_url must be an http:// or https:// URL"),
            }
            if alerts
                .webhook_secret
                .as_ref()
                .is_none_or(|s| s.0.len() < 16)
            {
                return bad("alerts.webhook_secret (at least 16 characters) is required with alerts.webhook_url");
            }
        }
        if alerts.webhook_max_attempts == 0
            || !(1..=60_000).contains(&alerts.webhook_timeout_ms)
            || !(1..=3_600_000).contains(&alerts.webhook_retry_base_ms)
        {
            return bad("alerts: webhook_max_attempts must be at least 1, webhook_timeout_ms 1 to 60000 and webhook_retry_base_ms 1 to 3600000");
        }
        if self.activity.retention_days == 0 || self.activity.retention_days > 36_500 {
            return bad("activity.retention_days must be between 1 and 36500");
        }
        Ok(())
    }

    pub fn plan(&self, name: &PlanName) -> Option<&Plan> {
        self.plans.get(name.as_str())
    }

    pub fn plans(&self) -> Plans {
        Plans::new(self.plans.clone(), &self.default_plan)
    }

    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.tokens.access_ttl_secs)
    }

    /// The SQLite URL in use.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("usher.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_may_still_use_the_former_name_of_a_setting() {
        let old = "[sessions]\nactivity_flush_interval_ms = 1234\n[throttle]\nip_burst = 7\n";
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(RenamedKeys(Toml::string(old)))
            .extract()
            .expect("the former name is read");
        assert_eq!(config.sessions.last_seen_flush_interval_ms, 1234);
        assert_eq!(config.throttle.address_burst, 7);
    }

    #[test]
    fn the_removed_per_account_attempt_limit_is_refused_not_ignored() {
        let old = "[throttle]\naccount_burst = 10\n";
        let loaded: Result<Config, _> = Figment::from(Serialized::defaults(Config::default()))
            .merge(RenamedKeys(Toml::string(old)))
            .extract();
        assert!(loaded.is_err(), "account_burst counted successes: gone");
    }

    #[test]
    fn metrics_are_never_served_on_the_public_listener() {
        let mut config = Config::default();
        config.metrics_listen = Some(config.listen);
        assert!(config.validate().is_err());
        config.metrics_listen = Some("127.0.0.1:9091".parse().expect("an address"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn a_variable_may_still_use_the_former_name_of_a_setting() {
        assert_eq!(
            renamed_key("SESSIONS.ACTIVITY_FLUSH_INTERVAL_MS").as_deref(),
            Some("sessions.last_seen_flush_interval_ms")
        );
        assert_eq!(
            renamed_key("THROTTLE.IP_BURST").as_deref(),
            Some("throttle.address_burst")
        );
        assert_eq!(renamed_key("sessions.idle_timeout_secs"), None);
    }
}
