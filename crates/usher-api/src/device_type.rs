//! The kind of device a session belongs to.

use crate::wire_enum::wire_enum;

wire_enum! {
    /// The kind of device a session belongs to, used for icons, alerts and
    /// plan rules. A closed set: the server refuses any other value at
    /// sign-in, so clients read it strictly too.
    pub enum DeviceType, error UnknownDeviceType {
        /// A smart TV or TV app.
        Tv => "tv",
        /// A phone.
        Phone => "phone",
        /// A tablet.
        Tablet => "tablet",
        /// A web browser.
        Browser => "browser",
        /// A games console.
        Console => "console",
        /// A streaming stick or set-top box.
        StreamingStick => "streaming_stick",
        /// A desktop app.
        Desktop => "desktop",
        /// Anything else.
        Other => "other",
    }
}

/// The input was not one of the wire names of [`DeviceType`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device type {0:?} (expected one of: tv, phone, tablet, browser, console, streaming_stick, desktop, other)")]
pub struct UnknownDeviceType(pub String);

impl From<&str> for UnknownDeviceType {
    fn from(s: &str) -> Self {
        UnknownDeviceType(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names_round_trip() {
        for t in DeviceType::ALL {
            assert_eq!(
                serde_json::to_value(t).expect("serializes"),
                json!(t.as_str())
            );
            assert_eq!(
                serde_json::from_value::<DeviceType>(json!(t.as_str())).ok(),
                Some(t)
            );
            assert_eq!(t.as_str().parse::<DeviceType>(), Ok(t));
        }
        assert_eq!(DeviceType::StreamingStick.to_string(), "streaming_stick");
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let err = "smart_fridge".parse::<DeviceType>().expect_err("refused");
        assert_eq!(
            err.to_string(),
            "unknown device type \"smart_fridge\" (expected one of: tv, phone, tablet, browser, console, streaming_stick, desktop, other)"
        );
        // The message lists exactly the known names, in order.
        let names = DeviceType::ALL.map(DeviceType::as_str).join(", ");
        assert!(err
            .to_string()
            .ends_with(&format!("(expected one of: {names})")));
    }
}
