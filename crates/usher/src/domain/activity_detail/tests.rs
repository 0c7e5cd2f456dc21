//! History rows in the shapes stored so far read back typed and write back
//! the same JSON; other shapes are kept as stored.

use serde_json::json;

use super::*;
use crate::domain::SessionId;

const SESSION: &str = "ses_0190b5a4c3e07c4aa1a2b3c4d5e6f708";
const STREAM: &str = "str_0190b5a4c3e07c4aa1a2b3c4d5e6f709";
const PROFILE: &str = "prf_0190b5a4c3e07c4aa1a2b3c4d5e6f70a";

fn by() -> serde_json::Value {
    json!({ "session_id": SESSION, "name": "Living room TV", "type": "tv" })
}

/// Today's stored detail of every kind, as the services wrote it.
fn stored_shapes() -> Vec<(ActivityKind, serde_json::Value)> {
    use ActivityKind as K;
    vec![
        (K::SignIn, json!({ "via": "app" })),
        (K::SignIn, json!({ "via": "browser" })),
        (K::SignInFailed, json!({ "reason": "wrong_password" })),
        (K::SignInFailed, json!({ "reason": "device_limit_reached" })),
        (
            K::SignedOut,
            json!({ "reason": "remote", "cause": "another_device", "by": by() }),
        ),
        (
            K::SignedOut,
            json!({ "reason": "self", "cause": "this_device", "by": null }),
        ),
        (
            K::StreamStarted,
            json!({ "stream_id": STREAM, "title": "Dune", "profile_id": PROFILE }),
        ),
        (
            K::StreamStarted,
            json!({ "stream_id": STREAM, "title": "Dune", "profile_id": null }),
        ),
        (
            K::StreamStopped,
            json!({ "stream_id": STREAM, "reason": "remote", "by": by() }),
        ),
        (
            K::StreamStopped,
            json!({ "stream_id": STREAM, "reason": "lease_expired", "by": null }),
        ),
        // Ended by a sign-out: no `by` member at all.
        (
            K::StreamStopped,
            json!({ "stream_id": STREAM, "reason": "signed_out" }),
        ),
        (
            K::StreamRefused,
            json!({ "title": "Dune", "reason": "too_many_streams", "limit": 2 }),
        ),
        (K::PasswordChanged, json!({ "signed_out": 3 })),
        (
            K::DeviceRenamed,
            json!({ "from": "TV", "to": "Living room TV", "by": by() }),
        ),
        (
            K::DeviceRenamed,
            json!({ "from": "TV", "to": "Living room TV", "by": null }),
        ),
        (
            K::ProfileCreated,
            json!({ "profile_id": PROFILE, "name": "Kids" }),
        ),
        (
            K::ProfileRenamed,
            json!({ "profile_id": PROFILE, "name": "Kids" }),
        ),
        (
            K::ProfileDeleted,
            json!({ "profile_id": PROFILE, "name": "Kids" }),
        ),
        (
            K::ProfilePinSet,
            json!({ "profile_id": PROFILE, "name": "Kids", "changed": false }),
        ),
        (
            K::ProfilePinRemoved,
            json!({ "profile_id": PROFILE, "name": "Kids" }),
        ),
        (
            K::Alert,
            json!({ "reasons": ["new_country", "new_device_type"], "country": "PT" }),
        ),
        (
            K::Alert,
            json!({ "reasons": ["new_device_type"], "country": null }),
        ),
        (
            K::Alert,
            json!({ "reasons": ["wrong_passwords"], "country": null }),
        ),
        (
            K::PasswordCheckFailed,
            json!({ "during": "password_change" }),
        ),
        (K::PasswordCheckFailed, json!({ "during": "pin_set" })),
        (K::PasswordCheckFailed, json!({ "during": "pin_removal" })),
        (
            K::PasswordCheckFailed,
            json!({ "during": "profile_settings" }),
        ),
    ]
}

#[test]
fn every_kind_reads_back_typed_and_writes_the_same_json() {
    let shapes = stored_shapes();
    for kind in ActivityKind::ALL {
        assert!(
            shapes.iter().any(|(k, _)| *k == kind),
            "no shape for {kind:?}"
        );
    }
    for (kind, stored) in shapes {
        let detail = ActivityDetail::read(kind, stored.clone());
        assert!(
            !matches!(detail, ActivityDetail::Unreadable { .. }),
            "{kind:?} {stored} was not read typed"
        );
        assert_eq!(detail.kind(), kind);
        assert_eq!(detail.to_json(), stored);
        // The text the engines store is the text stored before.
        assert_eq!(detail.to_json().to_string(), stored.to_string());
    }
}

#[test]
fn null_and_absent_by_stay_apart() {
    let absent = json!({ "stream_id": STREAM, "reason": "signed_out" });
    let null = json!({ "stream_id": STREAM, "reason": "signed_out", "by": null });
    let ActivityDetail::StreamStopped(a) =
        ActivityDetail::read(ActivityKind::StreamStopped, absent)
    else {
        panic!("not typed");
    };
    let ActivityDetail::StreamStopped(n) = ActivityDetail::read(ActivityKind::StreamStopped, null)
    else {
        panic!("not typed");
    };
    assert_eq!(a.by, None);
    assert_eq!(n.by, Some(None));
}

#[test]
fn typed_details_build_what_the_services_wrote() {
    let detail = ActivityDetail::SignedOut(SignedOutDetail {
        reason: SignOutReason::Remote,
        cause: SignOutCause::of(SignOutReason::Remote),
        by: Some(ActivityDevice {
            session_id: Some(SESSION.parse::<SessionId>().unwrap()),
            name: "Living room TV".into(),
            kind: crate::domain::DeviceType::Tv,
        }),
    });
    assert_eq!(
        detail.to_json(),
        json!({ "reason": "remote", "cause": "another_device", "by": by() })
    );
}

#[test]
fn other_shapes_are_kept_as_stored() {
    use ActivityKind as K;
    let cases = [
        // An older or newer spelling, a member more, a member less, not an object.
        (K::SignIn, json!({ "via": "tv_code" })),
        (K::SignIn, json!({ "via": "app", "code": "1234" })),
        (
            K::StreamStarted,
            json!({ "stream_id": STREAM, "title": "Dune" }),
        ),
        (K::PasswordChanged, json!({})),
        (K::Alert, json!("new_country")),
    ];
    for (kind, stored) in cases {
        let detail = ActivityDetail::read(kind, stored.clone());
        assert!(
            matches!(detail, ActivityDetail::Unreadable { .. }),
            "{kind:?} {stored} was read typed"
        );
        assert_eq!(detail.kind(), kind);
        assert_eq!(detail.to_json(), stored);
    }
}
