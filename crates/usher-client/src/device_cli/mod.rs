//! `usher device …`: a simulated player device that signs in, keeps its live
//! connection and prints what happens to it.
//!
//! The binary embeds [`DeviceArgs`] as a subcommand and calls
//! [`run_and_report`] (or [`run`], then [`report`] and [`exit_code`]).

mod account;
mod devices;
mod output;
mod play;
mod retry;
mod session;
mod state;
mod streams;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::error::Error;
use crate::types::DeviceType;
use state::{DeviceState, StateFile};

/// Server used when neither `--server`, `USHER_SERVER` nor the state file names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Exit status when the device's session has been revoked.
pub const EXIT_SIGNED_OUT: u8 = 3;

/// Options and subcommand of `usher device`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// usher server URL [default: the server recorded in the state file, else http://127.0.0.1:8080]
    #[arg(long, global = true, env = "USHER_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// File where this device keeps its session and tokens (created private, 0600)
    #[arg(
        long,
        global = true,
        env = "USHER_DEVICE_STATE",
        value_name = "FILE",
        default_value = "usher-device.json"
    )]
    pub state: PathBuf,

    /// What the device should do.
    #[command(subcommand)]
    pub command: DeviceCommand,
}

/// The device's actions.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create an account on the server's default plan (a convenience for
    /// trying usher out; the operator changes plans); prints its id
    CreateAccount {
        /// Account email
        #[arg(long)]
        email: String,
        /// Account password
        #[arg(long, env = "USHER_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Sign this device in and save its tokens; prints the session id
    SignIn(SignInArgs),
    /// Hold the live connection and print each event as it arrives
    Watch {
        /// Also receive `devices_changed` events
        #[arg(long)]
        devices: bool,
    },
    /// List the account's signed-in devices
    Devices,
    /// Sign a device out now (this device when no id is given)
    SignOut {
        /// Session id of the device to sign out (`ses_…`)
        session_id: Option<String>,
    },
    /// Sign out of all devices; prints how many were signed out
    SignOutAll {
        /// Sign out this device too
        #[arg(long)]
        include_current: bool,
    },
    /// Show this device's session
    Whoami,
    /// Start a stream and keep it (heartbeats, live stops) until it is
    /// stopped, this device is signed out, or Ctrl-C gives it back
    Play {
        /// What is being played
        title: String,
        /// Profile watching (`prf_…`)
        #[arg(long = "profile", value_name = "ID")]
        profile: Option<String>,
    },
    /// Stop a stream: any of the account's (a remote stop), or this device's
    /// own when no id is given
    Stop {
        /// The stream to stop (`str_…`)
        stream_id: Option<String>,
    },
    /// List the account's active streams
    Streams,
}

/// `usher device sign-in` options.
#[derive(Debug, Args)]
pub struct SignInArgs {
    /// Account email
    #[arg(long)]
    pub email: String,
    /// Account password
    #[arg(long, env = "USHER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Device name shown in the device list
    #[arg(long)]
    pub name: String,
    /// Device type: tv, phone, tablet, browser, console, streaming_stick, desktop, other
    #[arg(long = "type", value_name = "TYPE")]
    pub device_type: DeviceType,
    /// Hardware model
    #[arg(long)]
    pub model: Option<String>,
    /// Player app version
    #[arg(long)]
    pub app_version: Option<String>,
}

/// Where the device's server and state live, as the options say.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    server: Option<String>,
    state_path: PathBuf,
}

impl Context {
    fn state_file(&self) -> StateFile {
        StateFile::new(&self.state_path)
    }

    /// `--server`/`USHER_SERVER`, else the server the device signed in to,
    /// else [`DEFAULT_SERVER`].
    fn server<'a>(&'a self, state: Option<&'a DeviceState>) -> &'a str {
        self.server
            .as_deref()
            .or(state.map(|s| s.server.as_str()))
            .unwrap_or(DEFAULT_SERVER)
    }
}

/// Runs one `usher device` command.
///
/// A revoked session comes back as an error for which [`exit_code`] gives
/// [`EXIT_SIGNED_OUT`], also when `play` learns it live; `watch` returns `Ok`
/// after a live `signed_out`, since watching for it is its purpose.
pub async fn run(args: DeviceArgs) -> anyhow::Result<()> {
    let ctx = Context {
        server: args.server,
        state_path: args.state,
    };
    match args.command {
        DeviceCommand::CreateAccount { email, password } => {
            account::create_account(&ctx, &email, &password).await
        }
        DeviceCommand::SignIn(sign_in) => account::sign_in(&ctx, sign_in).await,
        DeviceCommand::Whoami => account::whoami(&ctx).await,
        DeviceCommand::Watch { devices } => watch::watch(&ctx, devices).await,
        DeviceCommand::Devices => devices::list(&ctx).await,
        DeviceCommand::SignOut { session_id } => devices::sign_out(&ctx, session_id).await,
        DeviceCommand::SignOutAll { include_current } => {
            devices::sign_out_all(&ctx, include_current).await
        }
        DeviceCommand::Play { title, profile } => {
            play::play(&ctx, &title, profile.as_deref()).await
        }
        DeviceCommand::Stop { stream_id } => streams::stop(&ctx, stream_id).await,
        DeviceCommand::Streams => streams::list(&ctx).await,
    }
}

/// Runs the command, prints any error for a person to read, and returns the
/// process exit status: 0, 1 for errors, [`EXIT_SIGNED_OUT`] when signed out.
pub async fn run_and_report(args: DeviceArgs) -> ExitCode {
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            exit_code(&err)
        }
    }
}

/// Prints `err` on stderr: `signed out: <reason>` for a revoked session,
/// otherwise `error: ` and the chain of causes (a problem shows its title,
/// code and detail).
pub fn report(err: &anyhow::Error) {
    match signed_out_reason(err) {
        Some(reason) => eprintln!("signed out: {reason}"),
        None => eprintln!("error: {err:#}"),
    }
}

/// The exit status for `err`.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if signed_out_reason(err).is_some() {
        ExitCode::from(EXIT_SIGNED_OUT)
    } else {
        ExitCode::FAILURE
    }
}

/// This device was signed out while it was playing: the live channel said so.
#[derive(Debug, thiserror::Error)]
#[error("this device was signed out ({0})")]
pub(crate) struct SignedOut(pub String);

/// The sign-out reason when `err` says this device's session is over.
fn signed_out_reason(err: &anyhow::Error) -> Option<String> {
    if let Some(SignedOut(reason)) = err.chain().find_map(|c| c.downcast_ref::<SignedOut>()) {
        return Some(reason.clone());
    }
    let problem = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<Error>()?.problem())?;
    match problem.code.as_str() {
        "session_revoked" => Some(problem.reason.clone().unwrap_or_else(|| "unknown".into())),
        // Reuse of a rotated refresh token revokes the session as stolen.
        "refresh_token_reused" => Some("token_reused".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use reqwest::header::HeaderMap;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        device: DeviceArgs,
    }

    fn parse(args: &[&str]) -> Result<DeviceArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("device").chain(args.iter().copied())).map(|c| c.device)
    }

    #[test]
    fn parses_sign_in() {
        let args = parse(&[
            "sign-in",
            "--email",
            "a@example.com",
            "--password",
            "pw",
            "--name",
            "Living Room TV",
            "--type",
            "streaming_stick",
            "--server",
            "http://x:1",
        ])
        .expect("parses");
        assert_eq!(args.server.as_deref(), Some("http://x:1"));
        let DeviceCommand::SignIn(sign_in) = args.command else {
            panic!("not sign-in");
        };
        assert_eq!(sign_in.device_type, DeviceType::StreamingStick);
        assert_eq!(sign_in.name, "Living Room TV");
    }

    #[test]
    fn rejects_unknown_device_type() {
        let err = parse(&[
            "sign-in",
            "--email",
            "e",
            "--password",
            "p",
            "--name",
            "n",
            "--type",
            "fridge",
        ])
        .expect_err("bad type");
        assert!(err.to_string().contains("unknown device type"));
    }

    #[test]
    fn sign_out_id_is_optional() {
        let args = parse(&["sign-out"]).expect("parses");
        assert!(matches!(
            args.command,
            DeviceCommand::SignOut { session_id: None }
        ));
        let args = parse(&["--state", "/tmp/x.json", "sign-out", "ses_1"]).expect("parses");
        assert_eq!(args.state, PathBuf::from("/tmp/x.json"));
        assert!(
            matches!(args.command, DeviceCommand::SignOut { session_id: Some(ref id) } if id == "ses_1")
        );
    }

    #[test]
    fn parses_play_stop_and_streams() {
        let args = parse(&["play", "Dune: Part Two", "--profile", "pro_1"]).expect("parses");
        assert!(matches!(
            args.command,
            DeviceCommand::Play { ref title, profile: Some(ref p) } if title == "Dune: Part Two" && p == "pro_1"
        ));
        assert!(parse(&["play"]).is_err(), "a title is required");
        assert!(matches!(
            parse(&["stop"]).expect("parses").command,
            DeviceCommand::Stop { stream_id: None }
        ));
        assert!(matches!(
            parse(&["stop", "str_1"]).expect("parses").command,
            DeviceCommand::Stop { stream_id: Some(ref id) } if id == "str_1"
        ));
        assert!(matches!(
            parse(&["streams"]).expect("parses").command,
            DeviceCommand::Streams
        ));
    }

    #[test]
    fn live_sign_out_while_playing_maps_to_exit_3() {
        let err = anyhow::Error::new(SignedOut("all_devices".into()));
        assert_eq!(signed_out_reason(&err).as_deref(), Some("all_devices"));
        assert_eq!(exit_code(&err), ExitCode::from(EXIT_SIGNED_OUT));
    }

    fn api_error(body: &str) -> anyhow::Error {
        anyhow::Error::new(Error::from_answer(401, &HeaderMap::new(), body.as_bytes()))
            .context("listing devices")
    }

    #[test]
    fn revoked_session_maps_to_exit_3() {
        let err = api_error(r#"{"title":"Signed out","code":"session_revoked","reason":"remote"}"#);
        assert_eq!(signed_out_reason(&err).as_deref(), Some("remote"));
        assert_eq!(exit_code(&err), ExitCode::from(EXIT_SIGNED_OUT));

        let err = api_error(r#"{"title":"Reused","code":"refresh_token_reused"}"#);
        assert_eq!(signed_out_reason(&err).as_deref(), Some("token_reused"));

        let err = api_error(r#"{"title":"Bad token","code":"invalid_token"}"#);
        assert_eq!(signed_out_reason(&err), None);
        assert_eq!(exit_code(&err), ExitCode::FAILURE);
        assert_eq!(
            format!("{err:#}"),
            "listing devices: Bad token (invalid_token)"
        );
    }
}
