//! `usher keys list | rotate | retire KID | revoke KID`.

use clap::Subcommand;

use super::{explain, StoreArgs};
use crate::auth::keyring::KeyState;
use crate::domain::Millis;
use crate::sessions::keys::{RetireOutcome, RevokeOutcome, SigningKey};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Every signing key: its id, when it was made, its state (current,
    /// retiring, retired, revoked), when it stopped signing and when it is
    /// (or was) dropped from the JWKS.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make a new key current. The current one retires: it signs no more,
    /// and stays published and trusted until every token it signed has
    /// expired. Running nodes sign with the new key within about a second.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Retire the current key now, as `rotate` does (a new key is made
    /// current).
    Retire {
        /// The key's id (`kid`), as `usher keys list` shows it.
        kid: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A compromised key: distrust it at once (dropped from the JWKS and
    /// refused by every node within about a second) and sign out, with
    /// reason `key_revoked`, every session it signed a token for. The
    /// current key is replaced by a new one first.
    Revoke {
        /// The key's id (`kid`), as `usher keys list` shows it.
        kid: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub(super) async fn run(
    command: KeysCommand,
    file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store = match &command {
        KeysCommand::List { store }
        | KeysCommand::Rotate { store }
        | KeysCommand::Retire { store, .. }
        | KeysCommand::Revoke { store, .. } => store,
    };
    let services = crate::app::open_services(&store.config(file)?).await?;
    let sessions = &services.sessions;
    match command {
        KeysCommand::List { .. } => {
            let keys = sessions.signing_keys().await.map_err(explain)?;
            print!("{}", table(&keys));
        }
        KeysCommand::Rotate { .. } => {
            let kid = sessions.rotate_signing_key().await.map_err(explain)?;
            println!("new current signing key {kid}; the previous one is retiring");
        }
        KeysCommand::Retire { kid, .. } => {
            match sessions.retire_signing_key(&kid).await.map_err(explain)? {
                RetireOutcome::Retired {
                    replaced_by,
                    retire_at,
                } => println!(
                    "signing key {kid} is retiring: trusted until {}; new current signing key {replaced_by}",
                    time(retire_at)
                ),
                RetireOutcome::NotCurrent(state) => {
                    anyhow::bail!("signing key {kid} is {}: it signs no more", state.name())
                }
                RetireOutcome::Unknown => anyhow::bail!("no signing key {kid}"),
            }
        }
        KeysCommand::Revoke { kid, .. } => {
            match sessions.revoke_signing_key(&kid).await.map_err(explain)? {
                RevokeOutcome::Revoked {
                    replaced_by,
                    signed_out,
                } => {
                    println!("revoked signing key {kid}; signed out {signed_out} session(s)");
                    if let Some(new) = replaced_by {
                        println!("new current signing key {new}");
                    }
                }
                RevokeOutcome::AlreadyRevoked => {
                    anyhow::bail!("signing key {kid} is revoked already")
                }
                RevokeOutcome::Unknown => anyhow::bail!("no signing key {kid}"),
            }
        }
    }
    Ok(())
}

/// One line per key, under a heading.
fn table(keys: &[SigningKey]) -> String {
    let row = |cells: [&str; 5]| {
        let line = format!(
            "{:<16}  {:<20}  {:<8}  {:<20}  {}",
            cells[0], cells[1], cells[2], cells[3], cells[4]
        );
        format!("{}\n", line.trim_end())
    };
    let mut out = row(["KID", "CREATED", "STATE", "SIGNS UNTIL", "RETIRE AT"]);
    for key in keys {
        let (signs_until, retire_at) = match key.state {
            KeyState::Current => ("-".to_owned(), "-".to_owned()),
            KeyState::Retiring {
                signs_until,
                retire_at,
            }
            | KeyState::Retired {
                signs_until,
                retire_at,
            } => (time(signs_until), time(retire_at)),
            KeyState::Revoked { at, signs_until } => (time(signs_until), time(at)),
        };
        out.push_str(&row([
            &key.kid,
            &time(key.created_at),
            key.state.name(),
            &signs_until,
            &retire_at,
        ]));
    }
    out
}

/// RFC 3339 in UTC, to the second.
fn time(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}
