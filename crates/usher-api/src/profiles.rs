//! Bodies of `/v1/profiles…` and of picking a profile
//! (`POST /v1/sessions/current/profile`). A PIN is four digits, as text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timestamp;

/// A profile as the API shows it; the PIN never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// The profile (`prf_…`).
    pub profile_id: String,
    /// Its display name.
    pub name: String,
    /// Whether a PIN locks it.
    pub locked: bool,
    /// The account's default profile (cannot be deleted).
    pub default: bool,
    /// When it was created.
    #[serde(with = "timestamp::millis")]
    pub created_at: DateTime<Utc>,
}

/// `GET /v1/profiles` answer, and the answer to `PUT /v1/profiles/settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileList {
    /// Every profile of the account, the default first.
    pub profiles: Vec<Profile>,
    /// Adding a profile needs the default profile's PIN.
    pub require_pin_to_add: bool,
}

/// `{profile_id, name}`: a profile as devices and streams show it, and the
/// answer to `POST /v1/sessions/current/profile`. Read leniently: the server
/// always writes both members.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileRef {
    /// The profile (`prf_…`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub profile_id: Option<String>,
    /// Its display name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub name: Option<String>,
    /// Members this crate does not model.
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub extra: Map<String, Value>,
}

/// `POST /v1/profiles` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProfile {
    /// Display name: at most 50 characters as sent, not empty once trimmed,
    /// no control characters (`422 invalid_profile_name`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 50))]
    pub name: String,
    /// The default profile's PIN, when the account requires it to add profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}$"))]
    pub pin: Option<String>,
}

/// `PATCH /v1/profiles/{profile_id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RenameProfile {
    /// The new display name, as for a new profile.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 50))]
    pub name: String,
    /// The profile's PIN, when it is locked (or send `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}$"))]
    pub pin: Option<String>,
    /// The account password, instead of the PIN of a locked profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `DELETE /v1/profiles/{profile_id}` body: none for an unlocked profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeleteProfile {
    /// The profile's PIN, when it is locked (or send `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}$"))]
    pub pin: Option<String>,
    /// The account password, instead of the PIN of a locked profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `PUT /v1/profiles/{profile_id}/pin` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPin {
    /// The account password, to confirm.
    pub password: String,
    /// The new four-digit PIN.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}$"))]
    pub pin: String,
}

/// `DELETE /v1/profiles/{profile_id}/pin` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RemovePin {
    /// The account password, to confirm.
    pub password: String,
}

/// `PUT /v1/profiles/settings` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// The account password, to confirm.
    pub password: String,
    /// Require the default profile's PIN to add profiles.
    pub require_pin_to_add: bool,
}

/// `POST /v1/sessions/current/profile` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SwitchProfile {
    /// The profile to use (`prf_…`).
    pub profile_id: String,
    /// Its PIN, when it is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = r"^[0-9]{4}$"))]
    pub pin: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    #[test]
    fn profile_list_as_the_server_writes_it() {
        let list: ProfileList = assert_round_trip(
            r#"{"profiles":[{"profile_id":"prf_01a2306b70d475a6a598da4943adebb7","name":"ada",
                "locked":false,"default":true,"created_at":"2026-12-01T07:04:37.320Z"}],
                "require_pin_to_add":false}"#,
        );
        assert!(list.profiles[0].default);
    }

    #[test]
    fn created_profile_and_pick_as_the_server_writes_them() {
        let kids: Profile = assert_round_trip(
            r#"{"profile_id":"prf_01a2306b94067585b535f78b18453561","name":"Kids","locked":false,
                "default":false,"created_at":"2026-12-01T07:04:46.342Z"}"#,
        );
        let picked: ProfileRef = assert_round_trip(
            r#"{"profile_id":"prf_01a2306b94067585b535f78b18453561","name":"Kids"}"#,
        );
        assert_eq!(picked.profile_id.as_deref(), Some(kids.profile_id.as_str()));
    }

    #[test]
    fn requests_leave_out_absent_pins() {
        let body = SwitchProfile {
            profile_id: "prf_1".into(),
            pin: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            serde_json::json!({"profile_id": "prf_1"})
        );
        assert_round_trip::<CreateProfile>(r#"{"name":"Kids","pin":"1234"}"#);
        assert_round_trip::<SetPin>(r#"{"password":"pw","pin":"1234"}"#);
        assert_round_trip::<RemovePin>(r#"{"password":"pw"}"#);
        assert_round_trip::<ProfileSettings>(r#"{"password":"pw","require_pin_to_add":true}"#);
        assert_round_trip::<RenameProfile>(r#"{"name":"Teens"}"#);
        assert_round_trip::<RenameProfile>(r#"{"name":"Teens","pin":"1234"}"#);
        assert_round_trip::<DeleteProfile>(r#"{"password":"pw"}"#);
        assert_round_trip::<DeleteProfile>(r#"{}"#);
    }
}
