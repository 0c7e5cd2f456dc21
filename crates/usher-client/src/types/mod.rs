//! Request and response bodies of usher's HTTP API v1 (see `docs/api.md`).
//!
//! Requests omit optional members that are `None`, because the server rejects
//! unknown members and treats absent ones as "use the default". Responses
//! ignore members they do not know, so a newer server stays readable.

mod kinds;
mod streams;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use kinds::{DeviceType, SignOutReason, StreamStopReason, UnknownDeviceType};
pub use streams::{ActiveStream, Lease, StartStream, StreamDeviceRef, StreamList};

/// `POST /v1/accounts` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccount {
    /// Sign-in email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Plan name; the server's default plan when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// `POST /v1/accounts` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCreated {
    /// The new account's id (`acc_…`).
    pub account_id: String,
}

/// The device description sent at sign-in and returned by `GET /v1/sessions/current`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Display name, e.g. "Living Room TV".
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// Hardware model, e.g. "Bravia XR".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Version of the player app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

impl DeviceInfo {
    /// A device with a name and type and no model or app version.
    pub fn new(name: impl Into<String>, device_type: DeviceType) -> Self {
        DeviceInfo {
            name: name.into(),
            device_type,
            model: None,
            app_version: None,
        }
    }

    /// Sets the hardware model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the app version.
    pub fn app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = Some(version.into());
        self
    }
}

/// `POST /v1/sessions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    /// Account email.
    pub email: String,
    /// Account password.
    pub password: String,
    /// The device signing in.
    pub device: DeviceInfo,
}

/// `POST /v1/sessions/refresh` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The current refresh token.
    pub refresh_token: String,
}

/// Tokens of a device session: the answer to sign-in and to refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTokens {
    /// The device session (`ses_…`).
    pub session_id: String,
    /// Short-lived bearer token.
    pub access_token: String,
    /// Always `"Bearer"`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Lifetime of `access_token` in seconds.
    pub expires_in: u64,
    /// Rotating refresh token; each one may be used once.
    pub refresh_token: String,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

/// `GET /v1/sessions/current` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentSession {
    /// This device session.
    pub session_id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// The device as it signed in (or was renamed).
    pub device: DeviceInfo,
    /// The profile in use, if one was picked.
    #[serde(default)]
    pub profile_id: Option<String>,
}

/// One signed-in device, as listed by `GET /v1/devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Its session id (`ses_…`).
    pub session_id: String,
    /// Display name.
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// Hardware model.
    #[serde(default)]
    pub model: Option<String>,
    /// Player app version.
    #[serde(default)]
    pub app_version: Option<String>,
    /// When it signed in.
    pub signed_in_at: DateTime<Utc>,
    /// Its last authenticated call.
    pub last_active_at: DateTime<Utc>,
    /// Last IP address seen.
    #[serde(default)]
    pub ip: Option<String>,
    /// Approximate location of `ip`, when known.
    #[serde(default)]
    pub location: Option<Location>,
    /// What it is playing now.
    #[serde(default)]
    pub streaming: Option<NowStreaming>,
    /// The profile it is on.
    #[serde(default)]
    pub profile: Option<ProfileRef>,
    /// True for the device making the call.
    #[serde(default)]
    pub current: bool,
}

/// Approximate location from the IP database; any part may be unknown.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Location {
    /// City name.
    #[serde(default)]
    pub city: Option<String>,
    /// Region (state, province).
    #[serde(default)]
    pub region: Option<String>,
    /// Country name.
    #[serde(default)]
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    #[serde(default)]
    pub country_code: Option<String>,
    /// A private or loopback address: the label is "local network".
    #[serde(default)]
    pub local: bool,
    /// The server's text for it ("Lisbon, Lisbon, Portugal", "local network").
    #[serde(default)]
    pub label: Option<String>,
    /// Members this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Display for Location {
    /// The server's label, or "City, Region, Country" with the unknown parts left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(label) = self.label.as_deref().filter(|l| !l.is_empty()) {
            return f.write_str(label);
        }
        let parts: Vec<&str> = [&self.city, &self.region, &self.country]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.is_empty())
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The stream a device is playing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NowStreaming {
    /// The stream (`str_…`).
    #[serde(default)]
    pub stream_id: Option<String>,
    /// What is playing.
    #[serde(default)]
    pub title: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// Members this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A profile as referenced from a device or stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProfileRef {
    /// The profile (`prf_…`).
    #[serde(default)]
    pub profile_id: Option<String>,
    /// Its display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Members this client does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /v1/devices` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceList {
    /// Every signed-in device of the account.
    pub devices: Vec<Device>,
}

/// `PATCH /v1/devices/{session_id}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameDevice {
    /// The new display name.
    pub name: String,
}

/// `POST /v1/devices/sign-out-all` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOutAll {
    /// Also sign out the calling device.
    pub include_current: bool,
}

/// `POST /v1/devices/sign-out-all` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutCount {
    /// How many device sessions ended.
    pub signed_out: u64,
}

/// `POST /v1/account/password` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
    /// Sign out every device, this one included; the server defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_out_all_devices: Option<bool>,
}

/// `GET /v1/account` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account (`acc_…`).
    pub account_id: String,
    /// Sign-in email.
    pub email: String,
    /// Plan and its limits.
    pub plan: Plan,
    /// Stream slots held now.
    pub streams_in_use: u32,
    /// Device sessions signed in now.
    pub devices_signed_in: u32,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// A subscription plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Plan name (`basic`, `standard`, `premium`, …).
    pub name: String,
    /// Concurrent streams allowed.
    pub max_streams: u32,
    /// Cap on signed-in devices; `None` when unlimited.
    #[serde(default)]
    pub max_devices: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_in_body_omits_absent_optionals() {
        let body = SignIn {
            email: "a@example.com".into(),
            password: "pw".into(),
            device: DeviceInfo::new("TV", DeviceType::Tv).model("X1"),
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"email":"a@example.com","password":"pw","device":{"name":"TV","type":"tv","model":"X1"}})
        );
    }

    #[test]
    fn device_with_nulls_and_unknown_members() {
        let device: Device = serde_json::from_value(json!({
            "session_id": "ses_1", "name": "Phone", "type": "phone", "model": null,
            "app_version": null, "signed_in_at": "2026-11-21T08:03:26.123Z",
            "last_active_at": "2026-11-21T08:04:00Z", "ip": "203.0.113.9",
            "location": {"city": "Lyon", "country": "FR"}, "streaming": null,
            "profile": null, "current": true, "future_member": 1
        }))
        .expect("parses");
        assert!(device.current);
        assert_eq!(device.device_type, DeviceType::Phone);
        assert_eq!(device.location.expect("location").to_string(), "Lyon, FR");
    }

    #[test]
    fn location_label_wins() {
        let location: Location = serde_json::from_value(json!({
            "city": null, "region": null, "country": null, "country_code": null,
            "local": true, "label": "local network"
        }))
        .expect("parses");
        assert!(location.local);
        assert_eq!(location.to_string(), "local network");
    }

    #[test]
    fn account_with_unlimited_devices() {
        let account: Account = serde_json::from_value(json!({
            "account_id": "acc_1", "email": "a@example.com",
            "plan": {"name": "standard", "max_streams": 2, "max_devices": null},
            "streams_in_use": 0, "devices_signed_in": 1,
            "created_at": "2026-11-21T08:03:26Z"
        }))
        .expect("parses");
        assert_eq!(account.plan.max_devices, None);
        assert_eq!(account.plan.max_streams, 2);
    }
}
