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

/// The configured plans, with the fallback used for an account whose plan
/// was removed from configuration.
#[derive(Debug, Clone)]
pub struct Plans {
    plans: std::collections::BTreeMap<String, Plan>,
    fallback: Plan,
}

impl Plans {
    pub fn new(plans: std::collections::BTreeMap<String, Plan>, default: &PlanName) -> Self {
        let fallback = plans.get(default.as_str()).cloned().unwrap_or(Plan {
            max_streams: 1,
            max_devices: None,
        });
        Self { plans, fallback }
    }

    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.plans.get(name)
    }

    /// The limits that apply to an account on plan `name`.
    pub fn limits(&self, name: &str) -> &Plan {
        self.plans.get(name).unwrap_or(&self.fallback)
    }
}
