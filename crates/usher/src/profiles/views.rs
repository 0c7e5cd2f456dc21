//! The JSON of profiles, built from their records. The PIN (or its hash)
//! never leaves.

use serde::Serialize;

use crate::domain::{rfc3339, ProfileId};
use crate::store::{AccountProfiles, ProfileRecord, ProfileRef};

/// A profile as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    pub profile_id: ProfileId,
    pub name: String,
    pub locked: bool,
    pub default: bool,
    pub created_at: String,
}

impl From<ProfileRecord> for ProfileView {
    fn from(p: ProfileRecord) -> Self {
        Self {
            profile_id: p.id,
            name: p.name,
            locked: p.pin_hash.is_some(),
            default: p.is_default,
            created_at: rfc3339(p.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileView>,
    pub require_pin_to_add: bool,
}

impl From<AccountProfiles> for ProfileList {
    fn from(p: AccountProfiles) -> Self {
        Self {
            profiles: p.profiles.into_iter().map(Into::into).collect(),
            require_pin_to_add: p.require_pin_to_add,
        }
    }
}

/// `{profile_id, name}`: a profile as devices, streams and picks show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileRefView {
    pub profile_id: ProfileId,
    pub name: String,
}

impl From<ProfileRef> for ProfileRefView {
    fn from(p: ProfileRef) -> Self {
        Self {
            profile_id: p.id,
            name: p.name,
        }
    }
}
