//! A signed-in simulated device: its client, its state file, and the
//! refresh-once rule every command follows.

use std::future::Future;

use super::state::{DeviceState, StateFile};
use super::Context;
use crate::client::Client;
use crate::error::Error;

/// A device with a saved session, ready to make authenticated calls.
pub(crate) struct DeviceSession {
    file: StateFile,
    state: DeviceState,
    client: Client,
}

impl DeviceSession {
    /// Loads the saved session; fails when this device is not signed in.
    pub fn open(ctx: &Context) -> anyhow::Result<Self> {
        let file = ctx.state_file();
        let state = file.load_signed_in()?;
        let client = Client::new(ctx.server(Some(&state)))?.with_token(&state.access_token);
        Ok(DeviceSession {
            file,
            state,
            client,
        })
    }

    /// The saved session.
    pub fn state(&self) -> &DeviceState {
        &self.state
    }

    /// Runs `op` with the current access token; when the server answers
    /// `401 token_expired`, rotates the tokens once and runs it again.
    pub async fn call<T, F, Fut>(&mut self, op: F) -> anyhow::Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = crate::Result<T>>,
    {
        match op(self.client.clone()).await {
            Err(e) if e.code() == Some("token_expired") => {
                self.refresh().await?;
                Ok(op(self.client.clone()).await?)
            }
            result => Ok(result?),
        }
    }

    /// Changes the saved state with `change`, starting from what is on disk
    /// now so that tokens another process rotated meanwhile are kept (and
    /// adopted). Does nothing when the file is gone or now holds another
    /// session: that device's state is not ours to edit.
    pub fn update_state(&mut self, change: impl FnOnce(&mut DeviceState)) -> anyhow::Result<()> {
        let Some(mut on_disk) = self.file.load()? else {
            return Ok(());
        };
        if on_disk.session_id != self.state.session_id {
            return Ok(());
        }
        change(&mut on_disk);
        self.file.save(&on_disk)?;
        self.adopt(on_disk);
        Ok(())
    }

    /// Deletes the state file: this device's session has ended.
    pub fn forget(self) -> anyhow::Result<()> {
        self.file.remove()
    }

    async fn refresh(&mut self) -> anyhow::Result<()> {
        // A `watch` or `play` and a one-off command may share the state file.
        // If the other one rotated the pair meanwhile, our refresh token is
        // spent and using it again would look like theft to the server: adopt
        // theirs.
        let on_disk = self
            .file
            .load()?
            .filter(|on_disk| on_disk.session_id == self.state.session_id);
        if let Some(on_disk) = on_disk.as_ref() {
            if on_disk.refresh_token != self.state.refresh_token {
                self.adopt(on_disk.clone());
                return Ok(());
            }
        }
        let tokens = self
            .client
            .refresh(&self.state.refresh_token)
            .await
            .map_err(refresh_error)?;
        // Start from the file, so a stream another command recorded or
        // cleared meanwhile is not put back the way we last saw it.
        let mut rotated = on_disk.unwrap_or_else(|| self.state.clone());
        rotated.rotate(tokens);
        self.file.save(&rotated)?;
        self.adopt(rotated);
        Ok(())
    }

    fn adopt(&mut self, state: DeviceState) {
        self.client.set_token(Some(state.access_token.clone()));
        self.state = state;
    }
}

/// Errors of the refresh call pass through untouched, so `session_revoked`
/// still reaches the exit-code mapping.
fn refresh_error(e: Error) -> anyhow::Error {
    anyhow::Error::new(e).context("refreshing the access token")
}
