//! [`AlertBody`]: an alert as the webhook receives it and the store keeps it
//! (JSON text). A stored body this version cannot read exactly is
//! kept as it is, so an alert written by another version still shows.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{AccountId, AlertReason, DeviceType, EventId, Millis, SessionId};

/// An alert's body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AlertBody {
    Raised(AlertMessage),
    /// A stored body of another shape: shown exactly as stored.
    Unreadable(serde_json::Value),
}

/// What an alert is about: its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    /// A sign-in from a new country or a new kind of device.
    SignInAlert,
    /// Several wrong passwords entered on an account's signed-in devices.
    WrongPasswordAlert,
}

/// An alert: what it is about, and the device it names (the one that
/// signed in, or the one the last wrong password was entered on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    #[serde(rename = "type")]
    pub kind: AlertType,
    /// The id of the alert's activity event.
    pub alert_id: EventId,
    pub account_id: AccountId,
    #[serde(with = "rfc3339_millis")]
    pub at: Millis,
    pub reasons: Vec<AlertReason>,
    pub device: AlertDevice,
    pub ip: Option<IpAddr>,
    /// The address's location when it signed in, as the history stores it.
    pub location: Option<serde_json::Value>,
}

/// The device an alert names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDevice {
    pub session_id: SessionId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DeviceType,
    pub model: Option<String>,
}

impl AlertBody {
    /// Reads a stored body: typed only when the typed form writes back
    /// exactly what was stored.
    pub fn read(json: serde_json::Value) -> Self {
        match AlertMessage::deserialize(&json) {
            Ok(alert) if Self::Raised(alert.clone()).to_json() == json => Self::Raised(alert),
            _ => Self::Unreadable(json),
        }
    }

    /// The body as the webhook receives it and the API shows its parts.
    pub fn to_json(&self) -> serde_json::Value {
        // Plain data with string keys: serializing it cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Milliseconds on the wire as an RFC 3339 timestamp with milliseconds.
mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::{rfc3339, Millis};

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.timestamp_millis())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_alert_body_reads_back_typed_and_writes_the_same_json() {
        let stored = json!({
            "type": "sign_in_alert",
            "alert_id": "evt_0190b5a4c3e07c4aa1a2b3c4d5e6f70b",
            "account_id": "acc_0190b5a4c3e07c4aa1a2b3c4d5e6f70c",
            "at": "2024-07-01T12:34:56.789Z",
            "reasons": ["new_country"],
            "device": { "session_id": "ses_0190b5a4c3e07c4aa1a2b3c4d5e6f708", "name": "Phone", "type": "phone", "model": null },
            "ip": "203.0.113.7",
            "location": { "city": "Lisbon", "region": null, "country": "Portugal",
                          "country_code": "PT", "local": false, "label": "Lisbon, Portugal" },
        });
        let body = AlertBody::read(stored.clone());
        assert!(matches!(body, AlertBody::Raised(_)), "not read typed");
        assert_eq!(body.to_json(), stored);
        assert_eq!(body.to_json().to_string(), stored.to_string());

        let mut wrong_passwords = stored.clone();
        wrong_passwords["type"] = json!("wrong_password_alert");
        wrong_passwords["reasons"] = json!(["wrong_passwords"]);
        let body = AlertBody::read(wrong_passwords.clone());
        assert!(
            matches!(body, AlertBody::Raised(ref a) if a.kind == AlertType::WrongPasswordAlert)
        );
        assert_eq!(body.to_json(), wrong_passwords);

        let other = json!({ "type": "new_kind_of_alert", "reasons": ["x"] });
        let body = AlertBody::read(other.clone());
        assert!(matches!(body, AlertBody::Unreadable(_)));
        assert_eq!(body.to_json(), other);
    }
}
