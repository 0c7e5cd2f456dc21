//! Subscription plans: how many streams at once, how many signed-in devices.

use serde::{Deserialize, Serialize};

/// A plan's name as configured (`basic`, `standard`, `premium`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanName(pub String);

impl PlanName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plan's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Concurrent streams allowed.
    pub max_streams: u32,
    /// Optional cap on signed-in devices; `None` means no cap.
    #[serde(default)]
    pub max_devices: Option<u32>,
}
