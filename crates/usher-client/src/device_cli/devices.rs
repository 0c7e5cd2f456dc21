//! `devices`, `sign-out` and `sign-out-all`.

use chrono::Utc;

use super::output::{ago, table};
use super::session::DeviceSession;
use super::Context;
use crate::types::Device;

/// Prints the account's signed-in devices as a table.
pub(crate) async fn list(ctx: &Context) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let devices = session
        .call(|client| async move { client.devices().await })
        .await?;
    if devices.is_empty() {
        println!("no signed-in devices");
        return Ok(());
    }
    print!("{}", devices_table(&devices, Utc::now()));
    Ok(())
}

fn devices_table(devices: &[Device], now: chrono::DateTime<Utc>) -> String {
    let dash = || "-".to_owned();
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            let location = d.location.as_ref().map(ToString::to_string);
            vec![
                d.session_id.clone(),
                d.name.clone(),
                d.device_type.to_string(),
                d.model.clone().unwrap_or_else(dash),
                ago(d.last_active_at, now),
                d.ip.clone().unwrap_or_else(dash),
                location.filter(|l| !l.is_empty()).unwrap_or_else(dash),
                playing(d),
                if d.current { "(this device)" } else { "" }.to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "SESSION",
            "NAME",
            "TYPE",
            "MODEL",
            "LAST ACTIVE",
            "IP",
            "LOCATION",
            "PLAYING",
            "",
        ],
        &rows,
    )
}

/// What the device is streaming, as the PLAYING column shows it.
fn playing(device: &Device) -> String {
    match &device.streaming {
        None => "-".to_owned(),
        Some(now) => match (&now.title, &now.stream_id) {
            (Some(title), Some(id)) => format!("{title:?} ({id})"),
            (Some(title), None) => format!("{title:?}"),
            (None, Some(id)) => id.clone(),
            (None, None) => "(a stream)".to_owned(),
        },
    }
}

/// Signs out `session_id`, or this device when `None` (which also deletes
/// the state file, as does naming this device's own id).
pub(crate) async fn sign_out(ctx: &Context, session_id: Option<String>) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let own_id = session.state().session_id.clone();
    match session_id.filter(|id| *id != own_id) {
        Some(id) => {
            let target = id.clone();
            session
                .call(|client| {
                    let id = target.clone();
                    async move { client.sign_out_device(&id).await }
                })
                .await?;
            println!("signed out {id}");
        }
        None => {
            session
                .call(|client| async move { client.sign_out_current().await })
                .await?;
            session.forget()?;
            println!("this device is signed out ({own_id})");
        }
    }
    Ok(())
}

/// Signs out every device (this one too with `include_current`).
pub(crate) async fn sign_out_all(ctx: &Context, include_current: bool) -> anyhow::Result<()> {
    let mut session = DeviceSession::open(ctx)?;
    let count = session
        .call(|client| async move { client.sign_out_all(include_current).await })
        .await?;
    let plural = if count.signed_out == 1 { "" } else { "s" };
    if include_current {
        session.forget()?;
        println!(
            "signed out {} device{plural}, this one included",
            count.signed_out
        );
    } else {
        println!("signed out {} device{plural}", count.signed_out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_marks_this_device_and_fills_gaps() {
        let now = Utc::now();
        let devices: Vec<Device> = serde_json::from_value(json!([
            {"session_id": "ses_1", "name": "Living Room TV", "type": "tv", "model": "X1",
             "app_version": null, "signed_in_at": now, "last_active_at": now,
             "ip": "203.0.113.9", "location": {"city": "Lyon", "country": "FR"},
             "streaming": {"stream_id": "str_1", "title": "Dune", "started_at": now},
             "profile": null, "current": true},
            {"session_id": "ses_2", "name": "Phone", "type": "phone", "model": null,
             "app_version": null, "signed_in_at": now, "last_active_at": now - chrono::Duration::minutes(5),
             "ip": null, "location": null, "streaming": null, "profile": null, "current": false}
        ]))
        .expect("parses");
        let text = devices_table(&devices, now);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SESSION  NAME"));
        assert!(lines[1].contains("Lyon, FR") && lines[1].ends_with("(this device)"));
        assert!(lines[1].contains("\"Dune\" (str_1)"), "{text}");
        assert!(lines[2].contains("5m ago") && lines[2].ends_with('-'));
    }
}
