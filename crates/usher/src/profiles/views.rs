//! The JSON of profiles: the `usher_api` types, built from their records.
//! The PIN (or its hash) never leaves.

use usher_api as api;

use crate::http::wire::timestamp;
use crate::store::{AccountProfiles, ProfileRecord, ProfileRef};

impl From<ProfileRecord> for api::Profile {
    fn from(p: ProfileRecord) -> Self {
        api::Profile {
            profile_id: p.id.to_string(),
            name: p.name,
            locked: p.pin_hash.is_some(),
            default: p.is_default,
            created_at: timestamp(p.created_at),
        }
    }
}

impl From<AccountProfiles> for api::ProfileList {
    fn from(p: AccountProfiles) -> Self {
        api::ProfileList {
            profiles: p.profiles.into_iter().map(Into::into).collect(),
            require_pin_to_add: p.require_pin_to_add,
        }
    }
}

/// `{profile_id, name}`: a profile as devices, streams and picks show it.
impl From<ProfileRef> for api::ProfileRef {
    fn from(p: ProfileRef) -> Self {
        api::ProfileRef {
            profile_id: Some(p.id.to_string()),
            name: Some(p.name),
            extra: Default::default(),
        }
    }
}
