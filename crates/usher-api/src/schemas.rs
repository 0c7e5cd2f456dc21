//! Schemas of members that are text to a reader but one of a few fixed
//! values as the server writes them (`token_type`, a JWK's constants): the
//! document says which, while readers keep reading text.

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

fn one_of(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}

pub fn bearer() -> RefOr<Schema> {
    one_of(&["Bearer"])
}

pub fn ok() -> RefOr<Schema> {
    one_of(&["ok"])
}

pub fn readiness() -> RefOr<Schema> {
    one_of(&["ready", "not_ready"])
}

pub fn okp() -> RefOr<Schema> {
    one_of(&["OKP"])
}

pub fn ed25519() -> RefOr<Schema> {
    one_of(&["Ed25519"])
}

pub fn eddsa() -> RefOr<Schema> {
    one_of(&["EdDSA"])
}

pub fn sig() -> RefOr<Schema> {
    one_of(&["sig"])
}
