//! Sign-outs (and the streams they ended) in the history, with who caused them.

use super::{Activity, ActivityDevice, ActivityKind, NewActivity};
use crate::sessions::Actor;

impl Activity {
    /// Records sign-outs (and the streams they ended) with who caused them.
    pub async fn record_sign_outs(&self, revoked: &[crate::store::RevokedSession], by: Actor<'_>) {
        let by_device = by.session.map(ActivityDevice::of);
        let mut events = Vec::new();
        for r in revoked {
            let device = r.device.as_ref().map(|d| ActivityDevice {
                session_id: Some(r.session_id),
                name: d.name.clone(),
                kind: d.kind,
            });
            let ip = by.ip.or(r.device.as_ref().and_then(|d| d.last_ip));
            let cause_by = by_device
                .as_ref()
                .filter(|d| d.session_id != Some(r.session_id));
            events.push(NewActivity {
                account_id: r.account_id,
                kind: ActivityKind::SignedOut,
                device: device.clone(),
                ip,
                detail: serde_json::json!({
                    "reason": r.reason.as_str(),
                    "cause": sign_out_cause(r.reason),
                    "by": cause_by.map(ActivityDevice::as_json),
                }),
            });
            if let Some(stream_id) = r.ended_stream {
                events.push(NewActivity {
                    account_id: r.account_id,
                    kind: ActivityKind::StreamStopped,
                    device,
                    ip,
                    detail: serde_json::json!({ "stream_id": stream_id, "reason": "signed_out" }),
                });
            }
        }
        self.record_all(events).await;
    }
}

/// Who, in words, caused a sign-out with this reason.
fn sign_out_cause(reason: crate::domain::SignOutReason) -> &'static str {
    use crate::domain::SignOutReason as R;
    match reason {
        R::SelfSignOut => "this_device",
        R::Remote => "another_device",
        R::AllDevices => "sign_out_all",
        R::PasswordChanged => "password_change",
        R::TokenReused => "token_reuse",
        R::IdleExpired => "idle_expiry",
        R::Admin => "operator",
    }
}
