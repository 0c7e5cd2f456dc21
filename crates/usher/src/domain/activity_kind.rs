//! The kinds of events in an account's activity history.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    SignIn,
    SignInFailed,
    SignedOut,
    StreamStarted,
    StreamStopped,
    StreamRefused,
    PasswordChanged,
    DeviceRenamed,
    ProfileCreated,
    ProfileRenamed,
    ProfileDeleted,
    ProfilePinSet,
    ProfilePinRemoved,
    PasswordCheckFailed,
    Alert,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 15] = [
        ActivityKind::SignIn,
        ActivityKind::SignInFailed,
        ActivityKind::SignedOut,
        ActivityKind::StreamStarted,
        ActivityKind::StreamStopped,
        ActivityKind::StreamRefused,
        ActivityKind::PasswordChanged,
        ActivityKind::DeviceRenamed,
        ActivityKind::ProfileCreated,
        ActivityKind::ProfileRenamed,
        ActivityKind::ProfileDeleted,
        ActivityKind::ProfilePinSet,
        ActivityKind::ProfilePinRemoved,
        ActivityKind::PasswordCheckFailed,
        ActivityKind::Alert,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::SignIn => "sign_in",
            ActivityKind::SignInFailed => "sign_in_failed",
            ActivityKind::SignedOut => "signed_out",
            ActivityKind::StreamStarted => "stream_started",
            ActivityKind::StreamStopped => "stream_stopped",
            ActivityKind::StreamRefused => "stream_refused",
            ActivityKind::PasswordChanged => "password_changed",
            ActivityKind::DeviceRenamed => "device_renamed",
            ActivityKind::ProfileCreated => "profile_created",
            ActivityKind::ProfileRenamed => "profile_renamed",
            ActivityKind::ProfileDeleted => "profile_deleted",
            ActivityKind::ProfilePinSet => "profile_pin_set",
            ActivityKind::ProfilePinRemoved => "profile_pin_removed",
            ActivityKind::PasswordCheckFailed => "password_check_failed",
            ActivityKind::Alert => "alert",
        }
    }
}

/// The name is not an activity kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown activity kind {0:?}")]
pub struct UnknownActivityKind(pub String);

impl std::str::FromStr for ActivityKind {
    type Err = UnknownActivityKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownActivityKind(s.chars().take(40).collect()))
    }
}
