//! Bodies of `/v1/sessions…`: signing a device in, refreshing its tokens,
//! and asking who it is.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::DeviceType;

/// The device description sent at sign-in.
///
/// `T` is how `type` is read: a client writes a [`DeviceType`]; the server
/// reads `DeviceInfo<String>`, so an unknown type is answered
/// `422 invalid_device` like every other flaw in the description, rather
/// than as a malformed body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "The device description sent at sign-in. An unknown `type` is answered `422 invalid_device`."
    )
)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo<T = DeviceType> {
    /// Display name, e.g. "Living Room TV": at most 64 characters as sent,
    /// not empty once trimmed, no control characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: T,
    /// Hardware model, e.g. "Bravia XR": at most 64 characters as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub model: Option<String>,
    /// Version of the player app: at most 32 characters as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 32))]
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
}

impl<T> DeviceInfo<T> {
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

/// `POST /v1/sessions` body; `T` as in [`DeviceInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "`POST /v1/sessions` body."))]
#[serde(deny_unknown_fields)]
pub struct SignIn<T = DeviceType> {
    /// Account email (at most 254 characters as sent; a longer one is
    /// answered as a wrong email is, `401 invalid_credentials`).
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// Account password.
    pub password: String,
    /// The device signing in.
    // Named without its type argument in the document (`DeviceInfo`).
    #[cfg_attr(feature = "openapi", schema(value_type = DeviceInfo))]
    pub device: DeviceInfo<T>,
    /// The `device_proof` this device was given at an earlier sign-in to
    /// this account, if it has one: other clients' wrong passwords do not
    /// hold it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_proof: Option<String>,
}

/// `POST /v1/sessions/refresh` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The current refresh token.
    pub refresh_token: String,
}

/// Tokens of a device session: the answer to sign-in (`201`) and to refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionTokens {
    /// The device session (`ses_…`).
    pub session_id: String,
    /// Short-lived bearer token.
    pub access_token: String,
    /// Always `"Bearer"`.
    #[serde(default = "bearer")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, schema_with = crate::schemas::bearer)
    )]
    pub token_type: String,
    /// Lifetime of `access_token` in seconds.
    pub expires_in: u64,
    /// Rotating refresh token; each one may be used once.
    pub refresh_token: String,
    /// At sign-in only: proof of this sign-in, to keep (it lasts a year)
    /// and send as `device_proof` at the next sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub device_proof: Option<String>,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

/// `GET /v1/sessions/current` answer.
///
/// Its text borrows (`Cow`), because this is the answer other services poll
/// hardest: the server writes it from its cache without copying. A reader
/// gets owned text (`CurrentSession<'static>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "`GET /v1/sessions/current` answer.")
)]
pub struct CurrentSession<'a> {
    /// This device session.
    pub session_id: Cow<'a, str>,
    /// The account it belongs to.
    pub account_id: Cow<'a, str>,
    /// The device as it signed in (or was renamed).
    pub device: CurrentDevice<'a>,
    /// The profile in use; `null` when none was picked.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub profile_id: Option<Cow<'a, str>>,
}

/// The device of `GET /v1/sessions/current`. Unlike [`DeviceInfo`] (a
/// request, which leaves absent members out), the answer writes `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "The device of `GET /v1/sessions/current`; absent parts are `null`.")
)]
pub struct CurrentDevice<'a> {
    /// Display name.
    pub name: Cow<'a, str>,
    /// Kind of device.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// Hardware model.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub model: Option<Cow<'a, str>>,
    /// Version of the player app.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub app_version: Option<Cow<'a, str>>,
}

impl From<CurrentDevice<'_>> for DeviceInfo {
    fn from(d: CurrentDevice<'_>) -> Self {
        DeviceInfo {
            name: d.name.into_owned(),
            device_type: d.device_type,
            model: d.model.map(Cow::into_owned),
            app_version: d.app_version.map(Cow::into_owned),
        }
    }
}

impl From<DeviceInfo> for CurrentDevice<'static> {
    fn from(d: DeviceInfo) -> Self {
        CurrentDevice {
            name: d.name.into(),
            device_type: d.device_type,
            model: d.model.map(Cow::Owned),
            app_version: d.app_version.map(Cow::Owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;
    use serde_json::json;

    #[test]
    fn sign_in_body_leaves_out_absent_optionals() {
        let body = SignIn {
            email: "a@example.com".into(),
            password: "pw".into(),
            device: DeviceInfo::new("TV", DeviceType::Tv).model("X1"),
            device_proof: None,
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"email":"a@example.com","password":"pw","device":{"name":"TV","type":"tv","model":"X1"}})
        );
    }

    #[test]
    fn the_server_reads_the_device_type_as_text_and_refuses_unknown_members() {
        let body: SignIn<String> =
            serde_json::from_value(json!({"email":"a@example.com","password":"pw",
            "device":{"name":"Fridge","type":"smart_fridge","model":null}}))
            .expect("an unknown type is still a body");
        assert_eq!(body.device.device_type, "smart_fridge");
        assert_eq!(body.device.model, None);
        for extra in [
            json!({"email":"a","password":"p","device":{"name":"TV","type":"tv"},"remember":true}),
            json!({"email":"a","password":"p","device":{"name":"TV","type":"tv","colour":"red"}}),
        ] {
            assert!(serde_json::from_value::<SignIn<String>>(extra).is_err());
        }
        assert!(serde_json::from_value::<SignIn<String>>(
            json!({"email":"a","password":"p","device":{"name":"TV","type":7}})
        )
        .is_err());
    }

    #[test]
    fn tokens_as_the_server_writes_them() {
        let tokens: SessionTokens = assert_round_trip(
            r#"{"session_id":"ses_01a2306b795f73798b0866615a984cf0","access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.e30.x0jg3Z",
                "token_type":"Bearer","expires_in":900,"refresh_token":"urt_KiO44RLfqXwOeB-YqLV0-U4aRLKMf_LvOrP0F4a7yks"}"#,
        );
        assert_eq!(tokens.expires_in, 900);
        assert_eq!(tokens.device_proof, None, "a refresh hands out no proof");
        let signed_in: SessionTokens = assert_round_trip(
            r#"{"session_id":"ses_1","access_token":"at","token_type":"Bearer","expires_in":900,
                "refresh_token":"urt_1","device_proof":"udp_R0kq3gYp0KqVhYyW9pP2c4m4z1vI3cQe5o7bH8sD2fA"}"#,
        );
        assert!(signed_in
            .device_proof
            .is_some_and(|p| p.starts_with("udp_")));
    }

    #[test]
    fn a_sign_in_may_present_the_proof_of_an_earlier_one() {
        let body: SignIn<String> = serde_json::from_value(json!({"email":"a@example.com",
            "password":"pw","device":{"name":"TV","type":"tv"},"device_proof":"udp_x"}))
        .expect("a sign-in with a proof");
        assert_eq!(body.device_proof.as_deref(), Some("udp_x"));
    }

    #[test]
    fn current_session_as_the_server_writes_it() {
        let current: CurrentSession<'static> = assert_round_trip(
            r#"{"session_id":"ses_01a2306b795f73798b0866615a984cf0","account_id":"acc_01a2306b70c87588801c56c3bcbc87e5",
                "device":{"name":"Living Room TV","type":"tv","model":"Bravia XR","app_version":null},
                "profile_id":"prf_01a2306b70d475a6a598da4943adebb7"}"#,
        );
        assert_eq!(current.device.device_type, DeviceType::Tv);
        assert_eq!(current.device.app_version, None);
        let unpicked: CurrentSession<'static> = assert_round_trip(
            r#"{"session_id":"ses_1","account_id":"acc_1",
                "device":{"name":"Phone","type":"phone","model":null,"app_version":"4.2"},"profile_id":null}"#,
        );
        assert_eq!(unpicked.profile_id, None);
    }
}
