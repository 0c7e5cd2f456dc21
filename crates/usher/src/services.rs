//! [`Services`]: one handle on each service, for the edges (HTTP, pages,
//! operator commands, tests). Built by `app.rs`.

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::activity::Activity;
use crate::alerts::Alerts;
use crate::devices::Devices;
use crate::live::LiveRegistry;
use crate::profiles::Profiles;
use crate::sessions::Sessions;
use crate::streams::Streams;

/// Every service of a node. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub sessions: Arc<Sessions>,
    pub devices: Arc<Devices>,
    pub streams: Arc<Streams>,
    pub profiles: Arc<Profiles>,
    pub activity: Arc<Activity>,
    pub alerts: Arc<Alerts>,
    pub accounts: Arc<Accounts>,
    /// The devices connected to this node.
    pub live: Arc<LiveRegistry>,
}
