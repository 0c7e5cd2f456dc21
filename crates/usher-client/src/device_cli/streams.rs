//! `streams` and `stop`: the account's streams, and giving one back; and
//! how a full plan is shown when `play` is refused.

use std::fmt;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Local, Utc};

use super::output::{ago, table};
use super::session::DeviceSession;
use super::Context;
use crate::error::Error;
use crate::types::ActiveStream;

/// Prints the account's active streams as a table.
pub(crate) async fn list(ctx: &Context) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let streams = session
        .call(|client| async move { client.streams().await })
        .await?;
    if streams.is_empty() {
        println!("no active streams");
        return Ok(());
    }
    let this_device = session.state().session_id.as_str();
    print!("{}", streams_table(&streams, this_device, Utc::now()));
    Ok(())
}

/// Stops `stream_id` (any stream of the account: a remote stop), or this
/// device's own stream as recorded by a running `play` when `None`.
pub(crate) async fn stop(ctx: &Context, stream_id: Option<String>) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let held = session.state().stream.clone();
    let id = match stream_id {
        Some(id) => id,
        None => {
            let held = held.as_ref().ok_or_else(|| {
                anyhow!(
                    "this device is not playing anything (no stream recorded in {}); \
                     name one: `usher device stop <STREAM_ID>` (see `usher device streams`)",
                    ctx.state_path.display()
                )
            })?;
            held.stream_id.clone()
        }
    };
    let target = id.clone();
    session
        .call(|client| {
            let id = target.clone();
            async move { client.stop_stream(&id).await }
        })
        .await
        .with_context(|| format!("stopping {id}"))?;
    session.update_state(|state| {
        if state.stream.as_ref().is_some_and(|s| s.stream_id == id) {
            state.stream = None;
        }
    })?;
    match held.filter(|h| h.stream_id == id) {
        Some(own) => {
            println!("stopped {:?} ({id}) on this device", own.title);
            // The server tells only other devices' streams live; the device's
            // own `play` learns from the `410` of its next heartbeat.
            eprintln!("note: a `usher device play` holding it exits at its next heartbeat");
        }
        None => println!("stopped {id}"),
    }
    Ok(())
}

/// One row per stream; `this_device` (a session id) is marked.
pub(crate) fn streams_table(
    streams: &[ActiveStream],
    this_device: &str,
    now: DateTime<Utc>,
) -> String {
    let rows: Vec<Vec<String>> = streams
        .iter()
        .map(|s| {
            let profile = s
                .profile
                .as_ref()
                .and_then(|p| p.name.clone().or_else(|| p.profile_id.clone()));
            vec![
                s.stream_id.clone(),
                s.device.name.clone(),
                s.device.device_type.to_string(),
                s.title.clone(),
                profile.unwrap_or_else(|| "-".to_owned()),
                format!(
                    "{} ({})",
                    s.started_at.with_timezone(&Local).format("%H:%M:%S"),
                    ago(s.started_at, now)
                ),
                if s.device.session_id == this_device {
                    "(this device)"
                } else {
                    ""
                }
                .to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "STREAM", "DEVICE", "TYPE", "TITLE", "PROFILE", "STARTED", "",
        ],
        &rows,
    )
}

/// Why `play` could not start: every slot is taken, listed so that one can
/// be stopped. Other refusals pass through with context.
pub(crate) fn refusal(err: anyhow::Error, this_device: &str) -> anyhow::Error {
    let full = err
        .chain()
        .filter_map(|cause| cause.downcast_ref::<Error>())
        .find_map(|e| Some((e.problem()?.limit(), e.active_streams()?)));
    match full {
        Some((limit, active)) => TooManyStreams {
            limit,
            active,
            this_device: this_device.to_owned(),
        }
        .into(),
        None => err.context("starting the stream"),
    }
}

/// `409 too_many_streams`, told as who is watching what.
#[derive(Debug)]
pub(crate) struct TooManyStreams {
    limit: Option<u32>,
    active: Vec<ActiveStream>,
    this_device: String,
}

impl std::error::Error for TooManyStreams {}

impl fmt::Display for TooManyStreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = self.limit.unwrap_or(self.active.len() as u32);
        let plural = if limit == 1 { "" } else { "s" };
        write!(
            f,
            "too many streams: this plan allows {limit} stream{plural} at a time, and "
        )?;
        if self.active.is_empty() {
            return f.write_str("all are in use");
        }
        writeln!(f, "these hold them:")?;
        f.write_str(&streams_table(&self.active, &self.this_device, Utc::now()))?;
        write!(
            f,
            "to watch here, stop one: usher device stop {}",
            self.active[0].stream_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_cli::signed_out_reason;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> anyhow::Error {
        anyhow::Error::new(Error::from_answer(
            status,
            &HeaderMap::new(),
            body.as_bytes(),
        ))
    }

    #[test]
    fn a_full_plan_lists_who_is_watching_and_how_to_stop_it() {
        let err = answer(
            409,
            r#"{"title":"Too many streams","code":"too_many_streams","limit":1,
                "active":[{"stream_id":"str_1","device":{"session_id":"ses_1","name":"Living Room TV","type":"tv"},
                           "title":"Dune","profile":null,"started_at":"2026-11-21T08:03:26Z"}]}"#,
        );
        let text = format!("{:#}", refusal(err, "ses_2"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "too many streams: this plan allows 1 stream at a time, and these hold them:"
        );
        assert!(lines[1].starts_with("STREAM"), "{text}");
        assert!(lines[2].starts_with("str_1"), "{text}");
        assert!(
            lines[2].contains("Living Room TV  tv    Dune   -"),
            "{text}"
        );
        assert_eq!(lines[3], "to watch here, stop one: usher device stop str_1");
    }

    #[test]
    fn other_refusals_pass_through() {
        let err = answer(422, r#"{"title":"Invalid title","code":"invalid_title"}"#);
        let err = refusal(err, "ses_2");
        assert_eq!(
            format!("{err:#}"),
            "starting the stream: Invalid title (invalid_title)"
        );
        // The exit-code mapping still sees a revoked session underneath.
        let err = refusal(
            answer(401, r#"{"code":"session_revoked","reason":"remote"}"#),
            "ses_2",
        );
        assert_eq!(signed_out_reason(&err).as_deref(), Some("remote"));
    }

    #[test]
    fn table_shows_who_watches_what() {
        let now = Utc::now();
        let streams: Vec<ActiveStream> = serde_json::from_value(json!([
            {"stream_id": "str_1", "device": {"session_id": "ses_1", "name": "Living Room TV", "type": "tv"},
             "title": "Dune", "profile": null, "started_at": now - chrono::Duration::minutes(5)},
            {"stream_id": "str_2", "device": {"session_id": "ses_2", "name": "Phone", "type": "phone"},
             "title": "Arrival", "profile": {"profile_id": "pro_1", "name": "Kids"}, "started_at": now}
        ]))
        .expect("parses");
        let text = streams_table(&streams, "ses_2", now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STREAM  DEVICE"), "{text}");
        assert!(
            lines[1].contains("Living Room TV  tv") && lines[1].contains("Dune"),
            "{text}"
        );
        assert!(
            lines[1].contains("(5m ago)") && !lines[1].contains("this device"),
            "{text}"
        );
        assert!(
            lines[2].contains("Kids") && lines[2].ends_with("(this device)"),
            "{text}"
        );
    }
}
