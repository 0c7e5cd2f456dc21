//! Bodies of `/v1/accounts` and `/v1/account…`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::timestamp;

/// `POST /v1/accounts` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// Sign-in email address: at most 254 characters as sent, and as
    /// normalised (`422 invalid_email`).
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// Password: at least 10 characters, at most 256 bytes (so at most 256
    /// characters; fewer where they take more than a byte), not easily
    /// guessed (`422 weak_password`).
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 256))]
    pub password: String,
    /// Plan name; the server's default plan when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// `POST /v1/accounts` answer (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountCreated {
    /// The new account's id (`acc_…`).
    pub account_id: String,
}

/// `GET /v1/account` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[serde(with = "timestamp::millis")]
    pub created_at: DateTime<Utc>,
}

/// A subscription plan, as `GET /v1/account` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Plan name (`basic`, `standard`, `premium`, …).
    pub name: String,
    /// Concurrent streams allowed.
    pub max_streams: u32,
    /// Cap on signed-in devices; `null` when unlimited.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub max_devices: Option<u32>,
}

/// `POST /v1/account/password` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password, as for a sign-up.
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 256))]
    pub new_password: String,
    /// Sign out every device, this one included; the server defaults to
    /// `true` when absent (it refuses `null`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::present"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = bool))]
    pub sign_out_all_devices: Option<bool>,
}

impl ChangePassword {
    /// Whether every device is signed out: `true` unless the body says `false`.
    pub fn signs_out_all_devices(&self) -> bool {
        self.sign_out_all_devices.unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    #[test]
    fn account_as_the_server_writes_it() {
        let account: Account = assert_round_trip(
            r#"{"account_id":"acc_01a2306b70c87588801c56c3bcbc87e5","email":"ada@example.com",
                "plan":{"name":"standard","max_streams":2,"max_devices":null},"streams_in_use":1,
                "devices_signed_in":2,"created_at":"2026-12-01T07:04:37.320Z"}"#,
        );
        assert_eq!(account.plan.max_devices, None);
        assert_eq!(account.plan.max_streams, 2);
        let capped: Plan =
            assert_round_trip(r#"{"name":"family","max_streams":4,"max_devices":6}"#);
        assert_eq!(capped.max_devices, Some(6));
    }

    #[test]
    fn account_created_as_the_server_writes_it() {
        let created: AccountCreated =
            assert_round_trip(r#"{"account_id":"acc_01a2306b70c87588801c56c3bcbc87e5"}"#);
        assert!(created.account_id.starts_with("acc_"));
    }

    #[test]
    fn sign_out_all_devices_defaults_to_true_and_refuses_null() {
        let read = |json: &str| serde_json::from_str::<ChangePassword>(json);
        let absent = read(r#"{"current_password":"a","new_password":"b"}"#).expect("parses");
        assert!(absent.signs_out_all_devices());
        let kept =
            read(r#"{"current_password":"a","new_password":"b","sign_out_all_devices":false}"#)
                .expect("parses");
        assert!(!kept.signs_out_all_devices());
        assert!(
            read(r#"{"current_password":"a","new_password":"b","sign_out_all_devices":null}"#)
                .is_err()
        );
        assert!(read(r#"{"current_password":"a","new_password":"b","other":1}"#).is_err());
    }

    #[test]
    fn requests_leave_out_absent_optionals() {
        let body = CreateAccount {
            email: "a@example.com".into(),
            password: "pw".into(),
            plan: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            serde_json::json!({"email": "a@example.com", "password": "pw"})
        );
        let body = ChangePassword {
            current_password: "a".into(),
            new_password: "b".into(),
            sign_out_all_devices: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            serde_json::json!({"current_password": "a", "new_password": "b"})
        );
    }
}
