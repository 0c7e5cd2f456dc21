//! Request bodies read strictly, with refusals worded for people.
//!
//! serde_json reads a struct from an array as well as from an object (`[]`
//! is a valid `SignOutAll`), lets a member appear twice in a value, and its
//! messages name Rust types (`expected struct SignOutAll`, `u32`). So a body
//! is read in two steps: the bytes into a JSON value ([`parse`]: no member
//! twice, at most [`MAX_DEPTH`] levels), then that value into the request
//! type by [`Strict`], a deserializer that gives structs and maps nothing but
//! objects and says what it expected in words, at the member's path
//! (`device.type must be a string, not 5.`).

use std::fmt::{self, Display};

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, Expected, MapAccess, SeqAccess,
    Unexpected, Visitor,
};
use serde_json::error::Category;
use serde_json::{Map, Value};

/// Deeper than any body usher takes, and below serde_json's own limit
/// (128), whose error would read as malformed JSON rather than a bad shape.
pub const MAX_DEPTH: usize = 32;

/// Why a body was refused.
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON at all (`400 malformed_json`); the detail for people.
    Malformed(String),
    /// JSON, but not what the endpoint takes (`422 invalid_body`).
    Shape(ShapeError),
}

/// Reads a request body into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let value = parse(bytes)?;
    from_value(&value).map_err(BodyError::Shape)
}

/// Reads an already parsed value into `T`, objects only where `T` has
/// structs or maps.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ShapeError> {
    T::deserialize(Strict(value))
}

/// The bytes as one JSON value, with no member twice and nesting bounded.
fn parse(bytes: &[u8]) -> Result<Value, BodyError> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    Bounded(MAX_DEPTH)
        .deserialize(&mut reader)
        .and_then(|value| reader.end().map(|()| value))
        .map_err(|e| match e.classify() {
            // Only `Bounded` judges data at this step.
            Category::Data => BodyError::Shape(ShapeError::message(e.to_string())),
            Category::Eof => {
                BodyError::Malformed("The request body ends before its JSON does.".into())
            }
            Category::Syntax | Category::Io => {
                BodyError::Malformed(format!("The request body is not valid JSON: {e}."))
            }
        })
}

/// A JSON value at most `.0` levels deep, whose objects name each member once.
#[derive(Clone, Copy)]
struct Bounded(usize);

impl Bounded {
    fn inside<E: de::Error>(self) -> Result<Self, E> {
        match self.0.checked_sub(1) {
            Some(depth) => Ok(Bounded(depth)),
            None => Err(E::custom(format_args!(
                "the body nests deeper than {MAX_DEPTH} levels"
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is never null.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inside = self.inside()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inside)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inside = self.inside()?;
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                return Err(de::Error::custom(format_args!("`{name}` appears twice")));
            }
            let value = map.next_value_seed(inside)?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

/// A body of the wrong shape: where, and what is wrong there.
#[derive(Debug)]
pub struct ShapeError {
    /// The member's path, innermost first (errors gain their parents as
    /// they come back up).
    path: Vec<Step>,
    problem: Problem,
}

#[derive(Debug)]
enum Step {
    Member(String),
    Item(usize),
}

#[derive(Debug)]
enum Problem {
    /// Follows the member's path: "is required".
    Predicate(String),
    /// Stands on its own, after the path if there is one.
    Message(String),
}

impl ShapeError {
    fn predicate(text: impl Display) -> Self {
        ShapeError {
            path: Vec::new(),
            problem: Problem::Predicate(text.to_string()),
        }
    }

    fn message(text: impl Display) -> Self {
        ShapeError {
            path: Vec::new(),
            problem: Problem::Message(text.to_string()),
        }
    }

    fn within(mut self, step: Step) -> Self {
        self.path.push(step);
        self
    }

    /// `device.type`, `devices[2].name`; empty for the body itself.
    fn path(&self) -> String {
        let mut path = String::new();
        for step in self.path.iter().rev() {
            match step {
                Step::Member(name) if path.is_empty() => path.push_str(name),
                Step::Member(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                Step::Item(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }
}

impl Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let path = self.path();
        match (&self.problem, path.is_empty()) {
            (Problem::Predicate(p), true) => write!(f, "The body {p}."),
            (Problem::Predicate(p), false) => write!(f, "`{path}` {p}."),
            (Problem::Message(m), true) => write!(f, "{}.", capitalised(m.trim_end_matches('.'))),
            (Problem::Message(m), false) => write!(f, "`{path}`: {}.", m.trim_end_matches('.')),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: Display>(msg: T) -> Self {
        ShapeError::message(msg)
    }

    fn invalid_type(found: Unexpected, expected: &dyn Expected) -> Self {
        ShapeError::predicate(format_args!(
            "must be {}, not {}",
            in_words(expected),
            unexpected(found)
        ))
    }

    fn invalid_value(found: Unexpected, expected: &dyn Expected) -> Self {
        Self::invalid_type(found, expected)
    }

    fn invalid_length(len: usize, expected: &dyn Expected) -> Self {
        ShapeError::predicate(format_args!(
            "must have {}, not {len} items",
            in_words(expected)
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        ShapeError::predicate(format_args!(
            "must be {}, not `{variant}`",
            one_of(expected)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let known = match expected {
            [] => "nothing is expected there".to_owned(),
            names => format!("expected {}", all_of(names)),
        };
        ShapeError::predicate(format_args!("is not known ({known})"))
            .within(Step::Member(field.to_owned()))
    }

    fn missing_field(field: &'static str) -> Self {
        ShapeError::predicate("is required").within(Step::Member(field.to_owned()))
    }
}

/// What a visitor expected, in words: serde names Rust types
/// (`struct SignOutAll`, `u32`), which mean nothing to the sender.
fn in_words(expected: &dyn Expected) -> String {
    let text = expected.to_string();
    let words = match text.as_str() {
        "a boolean" => "true or false",
        "a string" | "a borrowed string" => "a string",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a character" | "char" => "a single character",
        "unit" => "null",
        "option" => "a value or null",
        t if t.starts_with("struct ") || t.contains("map") => "an object",
        t if t.starts_with("tuple") || t.contains("sequence") => "a list",
        t if t.starts_with("enum ") || t.contains("variant") => "one of the allowed values",
        _ => return text,
    };
    words.to_owned()
}

/// What was found instead, as the sender wrote it.
fn unexpected(found: Unexpected) -> String {
    match found {
        Unexpected::Bool(b) => format!("`{b}`"),
        Unexpected::Unsigned(n) => n.to_string(),
        Unexpected::Signed(n) => n.to_string(),
        Unexpected::Float(n) => n.to_string(),
        Unexpected::Char(_) | Unexpected::Str(_) | Unexpected::Bytes(_) => "a string".into(),
        Unexpected::Unit | Unexpected::Option => "null".into(),
        Unexpected::Seq => "a list".into(),
        Unexpected::Map => "an object".into(),
        other => other.to_string(),
    }
}

/// What a value is, as [`unexpected`] says it.
fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn quoted(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("`{n}`")).collect()
}

/// "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
fn one_of(names: &[&str]) -> String {
    match quoted(names).as_slice() {
        [] => "nothing".into(),
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        many => format!("one of {}", many.join(", ")),
    }
}

/// "`a`", "`a` or `b`", "`a`, `b` or `c`".
fn all_of(names: &[&str]) -> String {
    match quoted(names).as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A JSON value read as serde asks, objects only for structs and maps.
#[derive(Clone, Copy)]
struct Strict<'a>(&'a Value);

impl Strict<'_> {
    fn mismatch(self, expected: &str) -> ShapeError {
        ShapeError::predicate(format_args!("must be {expected}, not {}", kind_of(self.0)))
    }
}

/// `deserialize_$int`: the number if it fits, else a refusal naming the range.
macro_rules! whole_numbers {
    ($($method:ident => $visit:ident: $int:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            let fits = match self.0 {
                Value::Number(n) => n
                    .as_i64()
                    .and_then(|n| <$int>::try_from(n).ok())
                    .or_else(|| n.as_u64().and_then(|n| <$int>::try_from(n).ok())),
                _ => None,
            };
            match fits {
                Some(n) => visitor.$visit(n),
                None => Err(self.mismatch(&format!(
                    "a whole number from {} to {}",
                    <$int>::MIN,
                    <$int>::MAX
                ))),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, f) => visitor.visit_f64(f.unwrap_or_default()),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            Value::Object(members) => visitor.visit_map(Members::new(members)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.mismatch("true or false")),
        }
    }

    whole_numbers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0.as_f64() {
            Some(n) => visitor.visit_f64(n),
            None => Err(self.mismatch("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let mut chars = self.0.as_str().unwrap_or_default().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(self.mismatch("a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::String(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.mismatch("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            _ => self.deserialize_str(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.mismatch("null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            _ => Err(self.mismatch("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::Object(members) => visitor.visit_map(Members::new(members)),
            _ => Err(self.mismatch("an object")),
        }
    }

    /// The point of this deserializer: a struct is an object, never a list.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
            Value::Object(members) if members.len() == 1 => {
                visitor.visit_enum(MapAccessDeserializer::new(Members::new(members)))
            }
            _ => Err(self.mismatch(&one_of(variants))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        visitor.visit_unit()
    }
}

/// A list's items, each read strictly; an error names its index.
struct Items<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Value>>,
}

impl<'a> Items<'a> {
    fn new(items: &'a [Value]) -> Self {
        Items {
            items: items.iter().enumerate(),
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        let Some((i, item)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(Strict(item))
            .map(Some)
            .map_err(|e| e.within(Step::Item(i)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// An object's members, each value read strictly; an error names its member.
struct Members<'a> {
    members: serde_json::map::Iter<'a>,
    value: Option<(&'a str, &'a Value)>,
}

impl<'a> Members<'a> {
    fn new(members: &'a Map<String, Value>) -> Self {
        Members {
            members: members.iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Members<'de> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        self.value = Some((name, value));
        seed.deserialize(BorrowedStrDeserializer::new(name))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        let (name, value) = self
            .value
            .take()
            .ok_or_else(|| ShapeError::message("a member's value was read before its name"))?;
        seed.deserialize(Strict(value))
            .map_err(|e| e.within(Step::Member(name.to_owned())))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

#[cfg(test)]
mod tests;
