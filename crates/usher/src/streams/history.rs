//! Stream starts, stops and refusals in the account's activity history.

use crate::activity::{ActivityDevice, NewActivity};
use crate::domain::{
    ActivityDetail, SessionId, StreamRefusal, StreamRefusedDetail, StreamStartedDetail,
    StreamStoppedDetail,
};
use crate::sessions::cache::{CachedSession, Lookup};
use crate::store::{EndedStream, StreamRecord};
use crate::streams::Streams;

impl Streams {
    pub(crate) async fn record_stream_started(
        &self,
        session: &CachedSession,
        stream: &StreamRecord,
    ) {
        let detail = ActivityDetail::StreamStarted(StreamStartedDetail {
            stream_id: stream.id,
            title: stream.title.clone(),
            profile_id: stream.profile_id,
        });
        let event = NewActivity::by(session, session.last_ip(), detail);
        self.activity.record(event).await;
    }

    pub(crate) async fn record_stream_refused(
        &self,
        session: &CachedSession,
        title: &str,
        limit: u32,
    ) {
        let detail = ActivityDetail::StreamRefused(StreamRefusedDetail {
            title: title.to_owned(),
            reason: StreamRefusal::TooManyStreams,
            limit,
        });
        let event = NewActivity::by(session, session.last_ip(), detail);
        self.activity.record(event).await;
    }

    /// Records ended streams; `by` is the device that ended them, if one did.
    pub async fn record_ended(&self, ended: &[EndedStream], by: Option<&CachedSession>) {
        let mut events = Vec::with_capacity(ended.len());
        for e in ended {
            let player = self.stream_device(e.session_id, by).await;
            let by_other = by.filter(|b| b.id != e.session_id).map(ActivityDevice::of);
            let ip = by.and_then(|b| b.last_ip());
            events.push(NewActivity {
                account_id: e.account_id,
                device: player,
                ip,
                detail: ActivityDetail::StreamStopped(StreamStoppedDetail {
                    stream_id: e.stream_id,
                    reason: e.reason,
                    by: Some(by_other),
                }),
            });
        }
        self.activity.record_all(events).await;
    }

    /// The device of a session, from memory when this node has it.
    async fn stream_device(
        &self,
        id: SessionId,
        known: Option<&CachedSession>,
    ) -> Option<ActivityDevice> {
        if let Some(s) = known.filter(|s| s.id == id) {
            return Some(ActivityDevice::of(s));
        }
        if let Lookup::Active(s) = self.sessions.lookup(id) {
            return Some(ActivityDevice::of(&s));
        }
        match self.store.session(id).await {
            Ok(Some(record)) => Some(ActivityDevice {
                session_id: Some(id),
                name: record.device.name.as_str().to_owned(),
                kind: record.device.kind,
            }),
            _ => None,
        }
    }
}
