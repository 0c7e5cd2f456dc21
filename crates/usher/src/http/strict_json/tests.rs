use serde::Deserialize;
use usher_api as api;

use super::*;

/// The detail a refused body gets.
fn refusal<T: DeserializeOwned + fmt::Debug>(body: &str) -> String {
    match from_slice::<T>(body.as_bytes()) {
        Ok(read) => panic!("{body} was read as {read:?}"),
        Err(BodyError::Shape(e)) => e.to_string(),
        Err(BodyError::Malformed(detail)) => format!("malformed: {detail}"),
    }
}

#[test]
fn a_struct_is_an_object_never_a_list() {
    assert_eq!(
        refusal::<api::SignOutAll>("[]"),
        "The body must be an object, not a list."
    );
    assert_eq!(
        refusal::<api::CreateAccount>(r#"["a@example.com", "correct horse"]"#),
        "The body must be an object, not a list."
    );
    assert_eq!(
        refusal::<api::SignIn<String>>(r#"{"email":"a","password":"b","device":["TV","tv"]}"#),
        "`device` must be an object, not a list."
    );
    assert_eq!(
        refusal::<api::SignOutAll>("null"),
        "The body must be an object, not null."
    );
    let read: api::SignOutAll = from_slice(br#"{"include_current":true}"#).expect("an object");
    assert!(read.include_current);
}

#[test]
fn refusals_name_the_member_and_what_it_should_be() {
    assert_eq!(
        refusal::<api::SignOutAll>(r#"{"include_current":"yes"}"#),
        "`include_current` must be true or false, not a string."
    );
    assert_eq!(
        refusal::<api::CreateAccount>(r#"{"email":5,"password":"x"}"#),
        "`email` must be a string, not 5."
    );
    assert_eq!(
        refusal::<api::CreateAccount>(r#"{"email":"a@example.com"}"#),
        "`password` is required."
    );
    assert_eq!(
        refusal::<api::CreateAccount>(r#"{"email":"a","password":"b","admin":true}"#),
        "`admin` is not known (expected `email`, `password` or `plan`)."
    );
    assert_eq!(
        refusal::<api::SignIn<String>>(r#"{"email":"a","password":"b","device":{"name":"TV"}}"#),
        "`device.type` is required."
    );
    assert_eq!(
        refusal::<api::SignIn<String>>(
            r#"{"email":"a","password":"b","device":{"name":"TV","type":"tv","colour":"red"}}"#
        ),
        "`device.colour` is not known (expected `name`, `type`, `model` or `app_version`)."
    );
    assert_eq!(
        refusal::<api::ChangePassword>(
            r#"{"current_password":"a","new_password":"b","sign_out_all_devices":null}"#
        ),
        "`sign_out_all_devices` must be true or false, not null."
    );
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Typed {
    count: Option<u32>,
    kind: Option<api::DeviceType>,
    items: Option<Vec<Typed>>,
}

#[test]
fn numbers_lists_and_enums_are_worded_too() {
    assert_eq!(
        refusal::<Typed>(r#"{"count":5000000000}"#),
        "`count` must be a whole number from 0 to 4294967295, not 5000000000."
    );
    assert_eq!(
        refusal::<Typed>(r#"{"count":1.5}"#),
        "`count` must be a whole number from 0 to 4294967295, not 1.5."
    );
    assert_eq!(
        refusal::<Typed>(r#"{"items":[{}, {"count":-1}]}"#),
        "`items[1].count` must be a whole number from 0 to 4294967295, not -1."
    );
    let kind = refusal::<Typed>(r#"{"kind":"toaster"}"#);
    assert!(
        kind.starts_with("`kind` must be one of `tv`, `phone`"),
        "{kind}"
    );
    assert!(kind.ends_with("not `toaster`."), "{kind}");
}

#[test]
fn a_member_twice_or_nesting_without_end_is_a_bad_shape() {
    assert!(refusal::<api::RenameDevice>(r#"{"name":"a","name":"b"}"#)
        .starts_with("`name` appears twice"),);
    let deep = format!(r#"{{"name":{}{}}}"#, "[".repeat(40), "]".repeat(40));
    let detail = refusal::<api::RenameDevice>(&deep);
    assert!(
        detail.starts_with("The body nests deeper than 32 levels"),
        "{detail}"
    );
}

#[test]
fn text_that_is_not_json_is_malformed() {
    for body in ["{", "", "not json", "{} {}", "{'a': 1}"] {
        let detail = refusal::<api::SignOutAll>(body);
        assert!(
            detail.starts_with("malformed: The request body"),
            "{body:?}: {detail}"
        );
    }
}
