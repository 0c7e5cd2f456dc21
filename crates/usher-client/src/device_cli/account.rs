//! `create-account`, `sign-in` and `whoami`.

use anyhow::Context as _;

use super::session::DeviceSession;
use super::state::DeviceState;
use super::{Context, SignInArgs};
use crate::client::Client;
use crate::types::DeviceInfo;

/// Creates an account (a public sign-up: the default plan) and prints its id.
pub(crate) async fn create_account(
    ctx: &Context,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let saved = ctx.state_file().load().unwrap_or(None);
    let client = Client::new(ctx.server(saved.as_ref()))?;
    let created = client
        .create_account(email, password, None)
        .await
        .context("creating the account")?;
    println!("{}", created.account_id);
    Ok(())
}

/// Signs this device in, saves its tokens and prints the session id.
pub(crate) async fn sign_in(ctx: &Context, args: SignInArgs) -> anyhow::Result<()> {
    let file = ctx.state_file();
    let previous = file.load()?;
    let server = ctx.server(previous.as_ref()).to_owned();
    let client = Client::new(&server)?;

    let mut device = DeviceInfo::new(args.name, args.device_type);
    device.model = args.model;
    device.app_version = args.app_version;
    let tokens = client
        .sign_in(&args.email, &args.password, &device)
        .await
        .context("signing in")?;
    let session_id = tokens.session_id.clone();
    file.save(&DeviceState::new(&server, device.clone(), tokens))?;

    if let Some(previous) = previous.filter(|p| p.session_id != session_id) {
        eprintln!(
            "note: replaced session {} in {}; it stays signed in until signed out from the device list",
            previous.session_id,
            file.path().display()
        );
    }
    eprintln!(
        "signed in as \"{}\" ({}); tokens saved to {}",
        device.name,
        device.device_type,
        file.path().display()
    );
    println!("{session_id}");
    Ok(())
}

/// Prints this device's session as the server sees it.
pub(crate) async fn whoami(ctx: &Context) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let current = session
        .call(|client| async move { client.current_session().await })
        .await?;
    let device = &current.device;
    let mut details = vec![device.device_type.to_string()];
    if let Some(model) = &device.model {
        details.push(format!("model {model}"));
    }
    if let Some(version) = &device.app_version {
        details.push(format!("app {version}"));
    }
    println!("session  {}", current.session_id);
    println!("account  {}", current.account_id);
    println!("device   {} ({})", device.name, details.join(", "));
    println!("profile  {}", current.profile_id.as_deref().unwrap_or("-"));
    println!("server   {}", ctx.server(Some(session.state())));
    Ok(())
}
