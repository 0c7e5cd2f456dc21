//! [`AppState`]: what every handler can reach.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::SharedBus;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::geo::Geo;
use crate::services::Services;
use crate::store::SharedStore;

/// What every handler can reach. Cloned for every request, so it is one
/// `Arc` (cloning a `CancellationToken` itself takes a lock).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub services: Services,
    pub config: Config,
    /// Locations and trusted proxies, for the client's address.
    pub geo: Arc<Geo>,
    /// For readiness only; handlers reach storage through the services.
    pub store: SharedStore,
    /// For readiness only.
    pub bus: SharedBus,
    /// For pages that say how long ago something happened.
    pub clock: SharedClock,
    /// Cancelled when the server shuts down; live connections close on it.
    pub shutdown: CancellationToken,
    /// Live-connection tasks, so shutdown can wait for them to close.
    pub tracker: TaskTracker,
}

impl AppState {
    pub fn new(
        services: Services,
        config: Config,
        geo: Arc<Geo>,
        store: SharedStore,
        bus: SharedBus,
        clock: SharedClock,
    ) -> Self {
        AppState(Arc::new(Shared {
            services,
            config,
            geo,
            store,
            bus,
            clock,
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        }))
    }

    /// The node's time now.
    pub fn now(&self) -> crate::domain::Millis {
        self.clock.now()
    }

    pub fn sessions(&self) -> &crate::sessions::Sessions {
        &self.services.sessions
    }

    pub fn devices(&self) -> &crate::devices::Devices {
        &self.services.devices
    }

    pub fn streams(&self) -> &crate::streams::Streams {
        &self.services.streams
    }

    pub fn profiles(&self) -> &crate::profiles::Profiles {
        &self.services.profiles
    }

    pub fn activity(&self) -> &crate::activity::Activity {
        &self.services.activity
    }

    pub fn alerts(&self) -> &crate::alerts::Alerts {
        &self.services.alerts
    }

    pub fn accounts(&self) -> &crate::accounts::Accounts {
        &self.services.accounts
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
