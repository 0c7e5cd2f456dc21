//! [`Usher`]: the domain's one handle. Its operations are grouped by resource
//! in `accounts::service`, `sessions::service` and `devices::service`; none of
//! them knows about HTTP.

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::passwords::PasswordHasher;
use crate::auth::throttle::SignInThrottle;
use crate::auth::tokens::TokenService;
use crate::bus::{Event, SharedBus};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::live::LiveRegistry;
use crate::sessions::cache::SessionCache;
use crate::store::{Revocation, RevokedSession, SharedStore};

pub struct Usher {
    pub config: Config,
    /// Plan limits, resolved once from the configuration.
    pub plans: crate::domain::Plans,
    pub store: SharedStore,
    pub bus: SharedBus,
    pub clock: SharedClock,
    pub tokens: TokenService,
    pub hasher: PasswordHasher,
    pub throttle: SignInThrottle,
    /// Wrong-PIN limits per profile.
    pub pin_throttle: crate::profiles::throttle::PinThrottle,
    pub sessions: SessionCache,
    pub live: Arc<LiveRegistry>,
    pub geo: crate::geo::Geo,
    pub activity: crate::activity::log::ActivityLog,
    /// Wakes the webhook worker when an alert is queued for delivery.
    pub webhook_wakeup: tokio::sync::Notify,
}

/// Who caused a change: a signed-in device (from an address), or usher
/// itself (idle expiry, theft detection) when `session` is `None`.
#[derive(Clone, Copy, Default)]
pub struct Actor<'a> {
    pub session: Option<&'a crate::sessions::cache::CachedSession>,
    pub ip: Option<IpAddr>,
}

impl<'a> Actor<'a> {
    pub fn device(session: &'a crate::sessions::cache::CachedSession, ip: Option<IpAddr>) -> Self {
        Self {
            session: Some(session),
            ip,
        }
    }

    /// usher itself, on its own or on a request from `ip`.
    pub fn usher(ip: Option<IpAddr>) -> Self {
        Self { session: None, ip }
    }
}

pub type SharedUsher = Arc<Usher>;

impl Usher {
    /// Opens the configured store with an in-process bus (for operator commands).
    pub async fn open(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let store = crate::store::open(&config.database_url()).await?;
        let bus: SharedBus = Arc::new(crate::bus::local::LocalBus::new());
        Self::new(config, store, bus, clock).await
    }

    pub async fn new(
        config: Config,
        store: SharedStore,
        bus: SharedBus,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        // First: a missing or damaged location database stops start-up early.
        let geo = crate::geo::Geo::open(&config.locations)?;
        let tokens = TokenService::load(
            Arc::clone(&store),
            config.issuer.clone(),
            config.tokens.access_ttl_secs,
            clock.now(),
        )
        .await?;
        Ok(Self {
            hasher: PasswordHasher::start(&config.password_hashing)?,
            throttle: SignInThrottle::new(&config.throttle, Arc::clone(&clock)),
            pin_throttle: crate::profiles::throttle::PinThrottle::new(
                &config.profiles,
                Arc::clone(&clock),
            ),
            tokens,
            sessions: SessionCache::new(activity_resolution(&config)),
            plans: config.plans(),
            live: Arc::default(),
            geo,
            activity: crate::activity::log::ActivityLog::start(Arc::clone(&store)),
            webhook_wakeup: tokio::sync::Notify::new(),
            config,
            store,
            bus,
            clock,
        })
    }

    /// Applies committed revocations on this node, tells every node, and
    /// records them in the accounts' histories as caused by `by`.
    ///
    /// The local cache is updated before this returns, so the caller's answer
    /// is only sent once this node refuses the sessions. Publishing failures
    /// are logged, not returned: the revocation is durable, and other nodes
    /// catch up from the store's revocation log.
    pub async fn announce_revocations(&self, revoked: &[RevokedSession], by: Actor<'_>) {
        for r in revoked {
            self.sessions.mark_revoked(
                r.session_id,
                Revocation {
                    reason: r.reason,
                    at: r.at,
                },
            );
        }
        for r in revoked {
            if let Some(stream_id) = r.ended_stream {
                self.publish(Event::StreamStopped {
                    stream_id,
                    session_id: r.session_id,
                    account_id: r.account_id,
                    reason: crate::domain::StreamEndReason::SignedOut,
                })
                .await;
            }
            self.publish(Event::SessionRevoked {
                seq: r.seq,
                session_id: r.session_id,
                account_id: r.account_id,
                reason: r.reason,
                at: r.at,
            })
            .await;
        }
        let mut accounts: Vec<_> = revoked.iter().map(|r| r.account_id).collect();
        accounts.sort();
        accounts.dedup();
        for account_id in accounts {
            self.publish(Event::DevicesChanged { account_id }).await;
        }
        self.record_sign_outs(revoked, by).await;
    }

    pub async fn publish(&self, event: Event) {
        if let Err(e) = self.bus.publish(event).await {
            tracing::warn!(error = %e, "event bus publish failed; other nodes will catch up from the store");
        }
    }
}

/// How stale a stored last-active time may be: a minute, or a hundredth of
/// the idle timeout when that is shorter, so idle expiry stays accurate.
fn activity_resolution(config: &Config) -> crate::domain::Millis {
    let idle_ms = config.sessions.idle_timeout_secs.saturating_mul(10) as i64;
    idle_ms.clamp(1, 60_000)
}
