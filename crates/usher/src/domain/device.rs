//! What a device says about itself when it signs in.

/// The kind of device, used for icons, alerts and plan rules: the wire type,
/// so the server and its clients spell it the same way.
pub use usher_api::DeviceType;

/// A device name as the owner sees it in the device list: 1 to 64 characters,
/// no control characters, surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName(String);

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDeviceField(pub &'static str);

impl DeviceName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidDeviceField> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidDeviceField("the device name must not be empty"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidDeviceField(
                "the device name must be at most 64 characters",
            ));
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

/// Validates an optional free-text descriptor (model, app version).
fn optional_label(
    raw: Option<&str>,
    max: usize,
    err: &'static str,
) -> Result<Option<String>, InvalidDeviceField> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(InvalidDeviceField(err))
        }
        Some(s) => Ok(Some(s.to_owned())),
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
    pub fn parse(
        name: &str,
        kind: DeviceType,
        model: Option<&str>,
        app_version: Option<&str>,
    ) -> Result<Self, InvalidDeviceField> {
        Ok(Self {
            name: DeviceName::parse(name)?,
            kind,
            model: optional_label(model, 64, "the device model must be at most 64 characters")?,
            app_version: optional_label(
                app_version,
                32,
                "the app version must be at most 32 characters",
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
        assert!(DeviceName::parse("bad\nname").is_err());
    }
}
