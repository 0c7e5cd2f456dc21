//! The state file where a simulated device keeps its session and tokens.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};

use crate::types::{DeviceInfo, SessionTokens};

/// What a signed-in device remembers between commands.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeviceState {
    /// The server it signed in to.
    pub server: String,
    /// Its device session.
    pub session_id: String,
    /// Current access token.
    pub access_token: String,
    /// Current refresh token (single use).
    pub refresh_token: String,
    /// How it described itself at sign-in.
    pub device: DeviceInfo,
    /// The stream a running `play` holds, so `stop` without an id knows
    /// which one is this device's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<HeldStream>,
}

/// A stream this device is playing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldStream {
    /// The stream (`str_…`).
    pub stream_id: String,
    /// What is playing.
    pub title: String,
}

impl DeviceState {
    /// State for a fresh sign-in.
    pub fn new(server: &str, device: DeviceInfo, tokens: SessionTokens) -> Self {
        DeviceState {
            server: server.to_owned(),
            session_id: tokens.session_id,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            device,
            stream: None,
        }
    }

    /// Takes a rotated token pair.
    pub fn rotate(&mut self, tokens: SessionTokens) {
        self.access_token = tokens.access_token;
        self.refresh_token = tokens.refresh_token;
    }
}

impl fmt::Debug for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceState")
            .field("server", &self.server)
            .field("session_id", &self.session_id)
            .field("device", &self.device)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// The state file's location and its load/save rules.
#[derive(Debug, Clone)]
pub(crate) struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state; `None` when the file does not exist.
    pub fn load(&self) -> anyhow::Result<Option<DeviceState>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", self.path.display()));
            }
        };
        let state = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a usher device state file", self.path.display()))?;
        Ok(Some(state))
    }

    /// The saved state, or an error telling the user to sign in first.
    pub fn load_signed_in(&self) -> anyhow::Result<DeviceState> {
        self.load()?.ok_or_else(|| {
            anyhow!(
                "this device is not signed in (no state file at {}); run `usher device sign-in` first",
                self.path.display()
            )
        })
    }

    /// Replaces the file atomically: a reader sees the old or the new pair,
    /// never half of one. The file is private (0600) since it holds tokens.
    pub fn save(&self, state: &DeviceState) -> anyhow::Result<()> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let write = || -> io::Result<()> {
            // tempfile creates the file with mode 0600 on Unix.
            let mut tmp = tempfile::Builder::new()
                .prefix(".usher-device-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            serde_json::to_writer_pretty(&mut tmp, state)?;
            tmp.write_all(b"\n")?;
            tmp.as_file().sync_all()?;
            tmp.persist(&self.path).map_err(|e| e.error)?;
            Ok(())
        };
        write().with_context(|| format!("saving {}", self.path.display()))
    }

    /// Deletes the file; a file already gone is fine.
    pub fn remove(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DeviceType;

    fn state(access: &str) -> DeviceState {
        DeviceState::new(
            "http://127.0.0.1:8080/",
            DeviceInfo::new("Living Room TV", DeviceType::Tv).model("X1"),
            SessionTokens {
                session_id: "ses_1".into(),
                access_token: access.into(),
                token_type: "Bearer".into(),
                expires_in: 900,
                refresh_token: "rt_1".into(),
                device_proof: None,
            },
        )
    }

    #[test]
    fn round_trip_and_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(dir.path().join("device.json"));
        assert_eq!(file.load().expect("loads"), None);
        assert!(file.load_signed_in().is_err());

        file.save(&state("at_1")).expect("saves");
        assert_eq!(file.load().expect("loads"), Some(state("at_1")));

        let mut rotated = state("at_1");
        rotated.rotate(SessionTokens {
            session_id: "ses_1".into(),
            access_token: "at_2".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: "rt_2".into(),
            device_proof: None,
        });
        file.save(&rotated).expect("saves");
        let loaded = file.load_signed_in().expect("loads");
        assert_eq!(loaded.access_token, "at_2");
        assert_eq!(loaded.refresh_token, "rt_2");

        // Only the state file remains: no temp files left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["device.json"]);

        file.remove().expect("removes");
        file.remove().expect("removing twice is fine");
        assert_eq!(file.load().expect("loads"), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("device.json");
        std::fs::write(&path, "{}").expect("writes");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");

        StateFile::new(&path).save(&state("at_1")).expect("saves");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn held_stream_is_saved_and_files_without_it_still_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = StateFile::new(dir.path().join("device.json"));
        let mut playing = state("at_1");
        playing.stream = Some(HeldStream {
            stream_id: "str_1".into(),
            title: "Dune".into(),
        });
        file.save(&playing).expect("saves");
        assert_eq!(file.load().expect("loads"), Some(playing));

        // Written before streams existed: no `stream` member at all.
        file.save(&state("at_1")).expect("saves");
        let text = std::fs::read_to_string(file.path()).expect("reads");
        assert!(!text.contains("stream"), "{text}");
        assert_eq!(file.load_signed_in().expect("loads").stream, None);
    }

    #[test]
    fn corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("device.json");
        std::fs::write(&path, "not json").expect("writes");
        let err = StateFile::new(&path).load().expect_err("corrupt");
        assert!(err.to_string().contains("not a usher device state file"));
    }

    #[test]
    fn debug_hides_tokens() {
        let shown = format!("{:?}", state("secret-access"));
        assert!(!shown.contains("secret-access") && !shown.contains("rt_1"));
    }
}
