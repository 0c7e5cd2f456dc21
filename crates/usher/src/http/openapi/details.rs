//! The shape of an activity event's `detail`, which the wire type leaves an
//! object (a reader keeps whatever a server sent): each kind's schema is
//! derived from the record the server writes it from
//! ([`crate::domain::ActivityDetail`]), and `ActivityEvent` ties each `kind`
//! to its detail.

use std::borrow::Cow;

use serde_json::{json, Value};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::{Modify, ToSchema};

use crate::domain::{self as d, ActivityKind};

/// Puts the detail schemas (and those they use) into the components.
pub struct DetailSchemas;

impl Modify for DetailSchemas {
    fn modify(&self, openapi: &mut OpenApi) {
        fn with<T: ToSchema>(all: &mut Vec<(String, RefOr<Schema>)>) {
            all.push((T::name().into_owned(), T::schema()));
            T::schemas(all);
        }
        let mut all = Vec::new();
        with::<d::SignInDetail>(&mut all);
        with::<d::SignInFailedDetail>(&mut all);
        with::<d::SignedOutDetail>(&mut all);
        with::<d::StreamStartedDetail>(&mut all);
        with::<d::StreamStoppedDetail>(&mut all);
        with::<d::StreamRefusedDetail>(&mut all);
        with::<d::PasswordChangedDetail>(&mut all);
        with::<d::DeviceRenamedDetail>(&mut all);
        with::<d::ProfileDetail>(&mut all);
        with::<d::ProfilePinSetDetail>(&mut all);
        with::<d::PasswordCheckFailedDetail>(&mut all);
        with::<d::AlertDetail>(&mut all);
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in all {
            components.schemas.entry(name).or_insert(schema);
        }
    }
}

/// The schema of a kind's detail: one arm per kind, so a new kind cannot
/// be left out.
fn detail_of(kind: ActivityKind) -> Cow<'static, str> {
    use ActivityKind as K;
    match kind {
        K::SignIn => d::SignInDetail::name(),
        K::SignInFailed => d::SignInFailedDetail::name(),
        K::SignedOut => d::SignedOutDetail::name(),
        K::StreamStarted => d::StreamStartedDetail::name(),
        K::StreamStopped => d::StreamStoppedDetail::name(),
        K::StreamRefused => d::StreamRefusedDetail::name(),
        K::PasswordChanged => d::PasswordChangedDetail::name(),
        K::DeviceRenamed => d::DeviceRenamedDetail::name(),
        K::ProfileCreated | K::ProfileRenamed | K::ProfileDeleted | K::ProfilePinRemoved => {
            d::ProfileDetail::name()
        }
        K::ProfilePinSet => d::ProfilePinSetDetail::name(),
        K::PasswordCheckFailed => d::PasswordCheckFailedDetail::name(),
        K::Alert => d::AlertDetail::name(),
    }
}

/// `ActivityEvent` with `detail` one of the detail schemas, and the one of
/// its `kind` (an `if`/`then` per kind, as the problems' members are).
pub fn add_details(mut document: Value) -> Value {
    let Some(event) = document.pointer_mut("/components/schemas/ActivityEvent") else {
        return document;
    };
    let reference = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut names: Vec<Cow<'static, str>> = Vec::new();
    for name in ActivityKind::ALL.into_iter().map(detail_of) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let description = event["properties"]["detail"]["description"].clone();
    event["properties"]["detail"] = json!({
        "description": description,
        "anyOf": names.iter().map(|name| reference(name)).collect::<Vec<_>>(),
    });
    let rules: Vec<Value> = ActivityKind::ALL
        .into_iter()
        .map(|kind| {
            json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
                "then": { "properties": { "detail": reference(&detail_of(kind)) } },
            })
        })
        .collect();
    event["allOf"] = Value::Array(rules);
    document
}
