//! The wire types of usher's HTTP API v1 and live channel: request and
//! response bodies, live events, the problem+json body and its codes, and the
//! closed vocabularies (device types, reasons, activity kinds).
//!
//! The server renders its answers with these types and `usher-client` reads
//! them, so the two cannot drift (see `docs/api.md` for the contract).
//! Timestamps are RFC 3339 in UTC with milliseconds
//! (`2026-11-21T08:03:26.123Z`, see [`timestamp`]); ids are prefixed strings
//! (`acc_…`, `ses_…`, `str_…`, `prf_…`, `evt_…`).
//!
//! Requests leave out optional members that are `None`, because the server
//! rejects unknown members and treats absent ones as "use the default".
//! Answers write every member, `null` included, as the server does, and
//! read leniently where a newer server might add something.

#![warn(missing_docs)]

mod accounts;
mod activity;
mod alerts;
mod device_type;
mod devices;
mod health;
mod live;
mod problem;
mod profiles;
mod reasons;
#[cfg(feature = "openapi")]
mod schemas;
mod sessions;
mod streams;
pub mod timestamp;
mod wire_enum;

pub use accounts::{Account, AccountCreated, ChangePassword, CreateAccount, Plan};
pub use activity::{
    ActivityEvent, ActivityKind, ActivityPage, ActivityParams, EventDevice, UnknownActivityKind,
};
pub use alerts::{
    Alert, AlertDevice, AlertDeviceSignedOut, AlertList, AlertReason, UnknownAlertReason,
};
pub use device_type::{DeviceType, UnknownDeviceType};
pub use devices::{
    Device, DeviceList, Location, NowStreaming, RenameDevice, SignOutAll, SignedOutCount,
};
pub use health::{Health, Jwk, Jwks, Readiness};
#[cfg(feature = "openapi")]
pub use live::LiveCloseCode;
pub use live::{
    LiveEvent, BEARER_SUBPROTOCOL_PREFIX, CLOSE_GOING_AWAY, CLOSE_REPLACED, CLOSE_SIGNED_OUT,
    CLOSE_TRY_AGAIN_LATER, SUBPROTOCOL,
};
pub use problem::{Problem, ProblemCode, UnknownProblemCode, PROBLEM_CONTENT_TYPE};
pub use profiles::{
    CreateProfile, DeleteProfile, Profile, ProfileList, ProfileRef, ProfileSettings, RemovePin,
    RenameProfile, SetPin, SwitchProfile,
};
pub use reasons::{
    LenientSignOutReason, LenientStreamEndReason, SignOutReason, StreamEndReason,
    UnknownSignOutReason, UnknownStreamEndReason,
};
pub use sessions::{
    CurrentDevice, CurrentSession, DeviceInfo, RefreshRequest, SessionTokens, SignIn,
};
pub use streams::{ActiveStream, Lease, StartStream, StreamDeviceRef, StreamList};

/// For an optional member that may be absent but not `null` (with
/// `#[serde(default)]`, absence never reaches this function).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::Value;

    /// Reads `json` (an answer as the server writes it) and checks that
    /// writing it back gives the same JSON value; returns what was read.
    pub(crate) fn assert_round_trip<T: Serialize + DeserializeOwned>(json: &str) -> T {
        let expected: Value = serde_json::from_str(json).expect("the literal is JSON");
        let read: T = serde_json::from_str(json).expect("reads the server's JSON");
        let written = serde_json::to_value(&read).expect("serializes");
        assert_eq!(written, expected, "written back differently");
        read
    }
}
