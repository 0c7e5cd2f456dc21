//! Sign-outs (and the streams they ended) in the history, with who caused them.

use super::{Activity, ActivityDevice, NewActivity};
use crate::domain::{
    ActivityDetail, SignOutCause, SignedOutDetail, StreamEndReason, StreamStoppedDetail,
};
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
                device: device.clone(),
                ip,
                detail: ActivityDetail::SignedOut(SignedOutDetail {
                    reason: r.reason,
                    cause: SignOutCause::of(r.reason),
                    by: cause_by.cloned(),
                }),
            });
            if let Some(stream_id) = r.ended_stream {
                events.push(NewActivity {
                    account_id: r.account_id,
                    device,
                    ip,
                    // No `by`: the sign-out entry above names the cause.
                    detail: ActivityDetail::StreamStopped(StreamStoppedDetail {
                        stream_id,
                        reason: StreamEndReason::SignedOut,
                        by: None,
                    }),
                });
            }
        }
        self.record_all(events).await;
    }
}
