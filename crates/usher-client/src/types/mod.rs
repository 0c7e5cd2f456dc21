//! Request and response bodies of usher's HTTP API v1 (see `docs/api.md`),
//! defined once in `usher-api` and re-exported here under the names this
//! crate has always used.

pub use usher_api::{
    Account, AccountCreated, ActiveStream, ChangePassword, CreateAccount, CurrentDevice,
    CurrentSession, Device, DeviceInfo, DeviceList, DeviceType, Lease, Location, NowStreaming,
    Plan, ProfileRef, RefreshRequest, RenameDevice, SessionTokens, SignIn, SignOutAll,
    SignedOutCount, StartStream, StreamDeviceRef, StreamList, UnknownDeviceType,
};

/// Why a device session ended, as a client reads it: an unknown reason is
/// kept in `Other`.
pub use usher_api::LenientSignOutReason as SignOutReason;
/// Why a stream stopped, as a client reads it: an unknown reason is kept in
/// `Other`.
pub use usher_api::LenientStreamEndReason as StreamStopReason;
