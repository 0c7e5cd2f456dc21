//! The closed and open vocabularies of the API: device types and reasons.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of device a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceType {
    /// A smart TV or TV app.
    Tv,
    /// A phone.
    Phone,
    /// A tablet.
    Tablet,
    /// A web browser.
    Browser,
    /// A games console.
    Console,
    /// A streaming stick or set-top box.
    StreamingStick,
    /// A desktop app.
    Desktop,
    /// Anything else.
    Other,
}

impl DeviceType {
    /// Every device type, in documentation order.
    pub const ALL: [DeviceType; 8] = [
        DeviceType::Tv,
        DeviceType::Phone,
        DeviceType::Tablet,
        DeviceType::Browser,
        DeviceType::Console,
        DeviceType::StreamingStick,
        DeviceType::Desktop,
        DeviceType::Other,
    ];

    /// The wire name (`"streaming_stick"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Tv => "tv",
            DeviceType::Phone => "phone",
            DeviceType::Tablet => "tablet",
            DeviceType::Browser => "browser",
            DeviceType::Console => "console",
            DeviceType::StreamingStick => "streaming_stick",
            DeviceType::Desktop => "desktop",
            DeviceType::Other => "other",
        }
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input was not one of the wire names of [`DeviceType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device type {0:?} (expected one of: tv, phone, tablet, browser, console, streaming_stick, desktop, other)")]
pub struct UnknownDeviceType(pub String);

impl FromStr for DeviceType {
    type Err = UnknownDeviceType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownDeviceType(s.to_owned()))
    }
}

/// Declares a reason enum whose unknown wire values are kept in `Other`, so a
/// server that adds a reason does not break older clients.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this client does not know yet.
            Other(String),
        }

        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(other) => other,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($wire => $name::$variant,)*
                    _ => $name::Other(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// Why a device session ended.
    SignOutReason {
        /// Signed out from another device.
        Remote => "remote",
        /// "Sign out of all devices".
        AllDevices => "all_devices",
        /// The account password changed.
        PasswordChanged => "password_changed",
        /// A rotated refresh token was reused (treated as theft).
        TokenReused => "token_reused",
        /// Unused for longer than the idle period.
        IdleExpired => "idle_expired",
        /// An operator ended it.
        Admin => "admin",
        /// The device signed itself out.
        SelfSignOut => "self",
    }
}

open_enum! {
    /// Why a stream stopped: the `reason` of a live `stream_stopped` event and
    /// of a `410 stream_ended` answer.
    StreamStopReason {
        /// The device stopped it itself (only seen in `410 stream_ended`: the
        /// device that stopped it needs no live event).
        Stopped => "stopped",
        /// Stopped from another device.
        Remote => "remote",
        /// The device was signed out.
        SignedOut => "signed_out",
        /// Heartbeats stopped arriving.
        LeaseExpired => "lease_expired",
        /// The device started another stream.
        Replaced => "replaced",
        /// The profile it played on was locked, had its PIN changed or was
        /// deleted: pick a profile again.
        ProfileLocked => "profile_locked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn device_type_wire_names() {
        for t in DeviceType::ALL {
            let wire = serde_json::to_value(t).expect("serializes");
            assert_eq!(wire, json!(t.as_str()));
            assert_eq!(t.as_str().parse::<DeviceType>(), Ok(t));
        }
        assert_eq!(
            serde_json::to_value(DeviceType::StreamingStick).expect("serializes"),
            json!("streaming_stick")
        );
        assert!("smart_fridge".parse::<DeviceType>().is_err());
    }

    #[test]
    fn reasons_keep_unknown_values() {
        let known: SignOutReason = serde_json::from_value(json!("all_devices")).expect("parses");
        assert_eq!(known, SignOutReason::AllDevices);
        let unknown: SignOutReason = serde_json::from_value(json!("solar_flare")).expect("parses");
        assert_eq!(unknown, SignOutReason::Other("solar_flare".into()));
        assert_eq!(
            serde_json::to_value(&unknown).expect("serializes"),
            json!("solar_flare")
        );
        assert_eq!(SignOutReason::SelfSignOut.to_string(), "self");
        assert_eq!(
            StreamStopReason::from("lease_expired"),
            StreamStopReason::LeaseExpired
        );
        assert_eq!(StreamStopReason::from("stopped"), StreamStopReason::Stopped);
        assert_eq!(
            StreamStopReason::from("meteor"),
            StreamStopReason::Other("meteor".into())
        );
    }
}
