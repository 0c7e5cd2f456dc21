//! The decisions between a transaction's statements, shared by both
//! engines: each engine reads and writes, these decide (which profile a start
//! plays on, whether every slot is taken, which ended stream was replaced).
//! Plain functions over store records, no SQL.

use crate::domain::{Plans, ProfileId, StreamEndReason};
use crate::store::{ActiveStream, EndedStream, NewStream, StartOutcome, StreamRecord};

/// How the profile a start plays on is settled.
pub(crate) enum ProfileStep {
    Use(ProfileId),
    /// Another profile than the device's was asked for: it must be the
    /// account's, and unlocked.
    Check(ProfileId),
    Refuse(StartOutcome),
}

/// The profile is judged under the account's lock, never from a node's
/// cache: a profile locked a moment ago admits nothing.
pub(crate) fn profile_step(asked: Option<ProfileId>, current: Option<ProfileId>) -> ProfileStep {
    match (asked, current) {
        (None, None) => ProfileStep::Refuse(StartOutcome::ProfileRequired),
        (None, Some(current)) => ProfileStep::Use(current),
        (Some(asked), Some(current)) if asked == current => ProfileStep::Use(current),
        (Some(asked), _) => ProfileStep::Check(asked),
    }
}

/// Why [`ProfileStep::Check`] refuses, if it does, given whether the asked profile is
/// the account's (`None` when not) and locked.
pub(crate) fn profile_refusal(locked: Option<bool>) -> Option<StartOutcome> {
    match locked {
        None => Some(StartOutcome::UnknownProfile),
        Some(false) => None,
        Some(true) => Some(StartOutcome::PinRequired),
    }
}

/// The refusal when every slot is taken. The device's own stream does not
/// count: the new one replaces it. The same statement that counted lists who
/// holds the slots (a stop takes no account lock, so on PostgreSQL a second
/// statement could miss a stream the count included).
pub(crate) fn refusal(
    new: &NewStream,
    live: Vec<ActiveStream>,
    plans: &Plans,
    plan: &str,
) -> Option<StartOutcome> {
    let limit = plans.limits(plan).max_streams;
    let others = live
        .iter()
        .filter(|s| s.stream.session_id != new.session_id)
        .count();
    (others >= limit as usize).then_some(StartOutcome::Full {
        limit,
        active: live,
    })
}

/// The admitted start, with the streams the start ended (the device's own,
/// replaced, and the account's lapsed ones).
pub(crate) fn started(
    new: &NewStream,
    profile: ProfileId,
    ended: Vec<EndedStream>,
) -> StartOutcome {
    let (replaced, expired): (Vec<_>, Vec<_>) = ended
        .into_iter()
        .partition(|e| e.reason == StreamEndReason::Replaced);
    StartOutcome::Started {
        stream: StreamRecord {
            id: new.id,
            account_id: new.account_id,
            session_id: new.session_id,
            title: new.title.as_str().to_owned(),
            profile_id: Some(profile),
            started_at: new.now,
            lease_expires_at: new.now + new.lease_ms,
            ended: None,
        },
        replaced: replaced.into_iter().next(),
        expired,
    }
}

/// How a stream whose lease lapsed ended.
pub(crate) fn lapsed(stream: &StreamRecord) -> EndedStream {
    EndedStream {
        stream_id: stream.id,
        session_id: stream.session_id,
        account_id: stream.account_id,
        reason: StreamEndReason::LeaseExpired,
    }
}

/// The plan's device cap when it is reached: with `signed_in` devices, one
/// more may not sign in.
pub(crate) fn device_cap_reached(plans: &Plans, plan: &str, signed_in: usize) -> Option<u32> {
    plans
        .limits(plan)
        .max_devices
        .filter(|&limit| signed_in >= limit as usize)
}
