//! What a device says about itself when it signs in.

/// The kind of device, used for icons, alerts and plan rules: the wire type,
/// so the server and its clients spell it the same way.
pub use usher_api::DeviceType;

/// A device name as the owner sees it in the device list: at most 64
/// characters as sent (the API document's `maxLength`, which counts them
/// before anything is trimmed), not empty once surrounding whitespace is
/// trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDeviceField(pub &'static str);

impl DeviceName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidDeviceField> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(InvalidDeviceField(
                "the device name must be at most 64 characters",
            ));
        }
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidDeviceField("the device name must not be empty"));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidDeviceField(
                "the device name must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates an optional free-text descriptor (model, app version): at
/// most `max` characters as sent, trimmed, nothing when empty.
fn optional_label(
    raw: Option<&str>,
    max: usize,
    err: &'static str,
) -> Result<Option<String>, InvalidDeviceField> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.chars().count() > max {
        return Err(InvalidDeviceField(err));
    }
    match raw.trim() {
        "" => Ok(None),
        s if s.chars().any(char::is_control) => Err(InvalidDeviceField(err)),
        s => Ok(Some(s.to_owned())),
    }
}

/// Everything a device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: DeviceName,
    pub kind: DeviceType,
    pub model: Option<String>,
    pub app_version: Option<String>,
}

impl DeviceInfo {
    pub const MAX_MODEL_CHARS: usize = 64;
    pub const MAX_APP_VERSION_CHARS: usize = 32;

    pub fn parse(
        name: &str,
        kind: DeviceType,
        model: Option<&str>,
        app_version: Option<&str>,
    ) -> Result<Self, InvalidDeviceField> {
        Ok(Self {
            name: DeviceName::parse(name)?,
            kind,
            model: optional_label(
                model,
                Self::MAX_MODEL_CHARS,
                "the device model must be at most 64 characters, without control characters",
            )?,
            app_version: optional_label(
                app_version,
                Self::MAX_APP_VERSION_CHARS,
                "the app version must be at most 32 characters, without control characters",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_trimmed_and_bounded() {
        assert_eq!(
            DeviceName::parse("  Living Room TV ").unwrap().as_str(),
            "Living Room TV"
        );
        assert!(DeviceName::parse("   ").is_err());
        assert!(DeviceName::parse(&"x".repeat(65)).is_err());
        assert!(
            DeviceName::parse(&"é".repeat(64)).is_ok(),
            "characters, not bytes"
        );
        assert!(DeviceName::parse("bad\nname").is_err());
    }

    #[test]
    fn limits_count_the_characters_as_sent() {
        // 64 characters once trimmed, 66 as sent: the document's maxLength
        // is what counts, so a client that checks it is never surprised.
        let padded = format!(" {} ", "x".repeat(64));
        assert!(DeviceName::parse(&padded).is_err());
        assert!(DeviceName::parse(&format!(" {} ", "x".repeat(62))).is_ok());
        let model = format!("{}  ", "m".repeat(63));
        assert!(DeviceInfo::parse("TV", DeviceType::Tv, Some(&model), None).is_err());
        let info = DeviceInfo::parse("TV", DeviceType::Tv, Some(" X1 "), Some("  ")).unwrap();
        assert_eq!(
            (info.model.as_deref(), info.app_version),
            (Some("X1"), None)
        );
    }
}
