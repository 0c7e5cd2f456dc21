//! The problem+json answers of every operation, written into the document
//! in one place: each handler lists the codes of its own rules in the
//! `x-problems` extension of its `#[utoipa::path]`, and the codes every
//! operation of a kind can give (bad bodies, missing tokens, a busy or
//! stale node) are added here from what the operation is: whether it takes
//! a body, a query, a path id, a token. Codes are grouped under their one
//! status ([`ProblemCode::status`]), each group an enum of `code` a client
//! generator and a schema checker can use.

use serde_json::{json, Map, Value};
use usher_api::ProblemCode;

/// The extension in which a handler lists its own problem codes; it is
/// taken out of the finished document.
pub const PROBLEMS_EXTENSION: &str = "x-problems";

/// Every operation: the connection layer answers before the route.
const EVERY_OPERATION: [ProblemCode; 3] = [
    ProblemCode::RequestTimeout,
    ProblemCode::TooManyConnections,
    ProblemCode::Overloaded,
];
/// Operations under `/v1`: they reach the store.
const API_OPERATION: [ProblemCode; 1] = [ProblemCode::Unavailable];
/// Operations with a request body.
const WITH_BODY: [ProblemCode; 4] = [
    ProblemCode::MalformedJson,
    ProblemCode::PayloadTooLarge,
    ProblemCode::UnsupportedMediaType,
    ProblemCode::InvalidBody,
];
/// Operations with a query.
const WITH_QUERY: [ProblemCode; 1] = [ProblemCode::InvalidQuery];
/// Operations with an id in the path: a malformed or another account's id.
const WITH_PATH_ID: [ProblemCode; 1] = [ProblemCode::NotFound];
/// Operations that check the device's session.
const AUTHENTICATED: [ProblemCode; 5] = [
    ProblemCode::MissingToken,
    ProblemCode::InvalidToken,
    ProblemCode::TokenExpired,
    ProblemCode::SessionRevoked,
    ProblemCode::StaleNode,
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
const PROBLEM_SCHEMA: &str = "#/components/schemas/Problem";

/// `document` (an OpenAPI document as JSON) with the problem answers of
/// every operation added and the `x-problems` extensions taken out.
pub fn add_problems(mut document: Value) -> Value {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return document;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                let codes = codes_of(path, operation);
                add_answers(operation, &codes);
            }
        }
    }
    document
}

/// The operation's own codes, then those of its kind; each once.
fn codes_of(path: &str, operation: &mut Map<String, Value>) -> Vec<ProblemCode> {
    // A list that does not read is a mistake in a handler's attribute: it
    // stops the document (and so the server) from being built, rather than
    // leaving the operation's own problems out unnoticed.
    let own = operation
        .remove(PROBLEMS_EXTENSION)
        .map(|listed| {
            serde_json::from_value::<Vec<ProblemCode>>(listed.clone()).unwrap_or_else(|e| {
                panic!("{path}: `{PROBLEMS_EXTENSION}` must list problem codes, not {listed}: {e}")
            })
        })
        .unwrap_or_default();
    let parameter_in = |place: &str| {
        operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let mut codes = own;
    let kinds: [(bool, &[ProblemCode]); 6] = [
        (operation.contains_key("security"), &AUTHENTICATED),
        (operation.contains_key("requestBody"), &WITH_BODY),
        (parameter_in("query"), &WITH_QUERY),
        (parameter_in("path"), &WITH_PATH_ID),
        (path.starts_with("/v1/"), &API_OPERATION),
        (true, &EVERY_OPERATION),
    ];
    for (applies, kind) in kinds {
        if applies {
            codes.extend_from_slice(kind);
        }
    }
    let mut seen = Vec::with_capacity(codes.len());
    codes.retain(|code| {
        let first = !seen.contains(code);
        seen.push(*code);
        first
    });
    codes
}

/// One response per status, its `code` an enum of the codes listed for it.
fn add_answers(operation: &mut Map<String, Value>, codes: &[ProblemCode]) {
    let mut statuses: Vec<u16> = codes.iter().map(|c| c.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else { return };
    for status in statuses {
        let of_status: Vec<&str> = codes
            .iter()
            .filter(|c| c.status() == status)
            .map(|c| c.as_str())
            .collect();
        let listed = of_status
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let response = responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": "" }));
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        // A response that already has a body of its own (`/readyz`'s 503)
        // gets the problem beside it.
        let shared = response
            .get("content")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.is_empty());
        let description = response
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let description = if description.is_empty() {
            format!("A problem: {listed}.")
        } else {
            format!("{description} Or a problem: {listed}.")
        };
        response.insert("description".into(), description.into());
        let content = response
            .entry("content")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(content) = content {
            content.insert(
                usher_api::PROBLEM_CONTENT_TYPE.into(),
                json!({ "schema": problem_schema(codes, status) }),
            );
        }
        if let Some((name, header)) = header_of(status, !shared) {
            let headers = response
                .entry("headers")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            if let Some(headers) = headers {
                headers.insert(name.into(), header);
            }
        }
    }
}

/// The problem of one status: its `code` one of those listed for it, and
/// the members some of them add, required with their code (an `if`/`then`
/// per code, so a reader that ignores those still sees the members typed).
fn problem_schema(codes: &[ProblemCode], status: u16) -> Value {
    let of_status: Vec<ProblemCode> = codes
        .iter()
        .copied()
        .filter(|c| c.status() == status)
        .collect();
    // Each member with the shapes its codes give it (one, unless two codes
    // of the status disagree: then any of them).
    let mut members: Vec<(&str, Vec<Value>)> = Vec::new();
    let mut rules = Vec::new();
    for code in &of_status {
        let of_code = members_of(*code);
        if of_code.is_empty() {
            continue;
        }
        let mut then = Map::new();
        let mut required = Vec::new();
        for (name, schema) in of_code {
            required.push(name);
            // The status-level entry gives the member's type; a code's
            // narrowing (`token_reused` of all the reasons) stays in its rule.
            let mut shape = schema.clone();
            if let Some(shape) = shape.as_object_mut() {
                shape.remove("const");
            }
            match members.iter_mut().find(|(n, _)| *n == name) {
                Some((_, shapes)) if !shapes.contains(&shape) => shapes.push(shape),
                Some(_) => {}
                None => members.push((name, vec![shape])),
            }
            then.insert(name.into(), schema);
        }
        rules.push(json!({
            "if": { "properties": { "code": { "const": code.as_str() } }, "required": ["code"] },
            "then": { "properties": then, "required": required },
        }));
    }
    let mut properties = Map::new();
    properties.insert(
        "code".into(),
        json!({ "enum": of_status.iter().map(|c| c.as_str()).collect::<Vec<_>>() }),
    );
    for (name, mut schemas) in members {
        let schema = if schemas.len() == 1 {
            schemas.remove(0)
        } else {
            json!({ "anyOf": schemas })
        };
        properties.insert(name.into(), schema);
    }
    let mut extra = json!({ "type": "object", "properties": properties });
    if !rules.is_empty() {
        extra["allOf"] = Value::Array(rules);
    }
    json!({ "allOf": [{ "$ref": PROBLEM_SCHEMA }, extra] })
}

/// The members a code adds to the problem, as `docs/api.md` lists them and
/// `http/error.rs` writes them.
fn members_of(code: ProblemCode) -> Vec<(&'static str, Value)> {
    use ProblemCode as C;
    let limit = json!({
        "type": "integer", "minimum": 0,
        "description": "The limit reached: the plan's streams at once (`too_many_streams`), the \
            plan's signed-in devices (`device_limit_reached`), the account's profiles \
            (`profile_limit_reached`).",
    });
    let retry_after = json!({
        "type": "integer", "minimum": 1,
        "description": "Seconds to wait, as in `Retry-After`.",
    });
    let reason = |schema: &str| json!({ "$ref": format!("#/components/schemas/{schema}") });
    match code {
        C::TooManyStreams => vec![
            ("limit", limit.clone()),
            (
                "active",
                json!({
                    "type": "array",
                    "items": { "$ref": "#/components/schemas/ActiveStream" },
                    "description": "The streams that hold the slots: who is watching what.",
                }),
            ),
        ],
        C::DeviceLimitReached => vec![
            ("limit", limit.clone()),
            (
                "devices",
                json!({
                    "type": "array",
                    "items": { "$ref": "#/components/schemas/Device" },
                    "description": "The signed-in devices, as the device list shows them.",
                }),
            ),
        ],
        C::ProfileLimitReached => vec![("limit", limit)],
        C::SessionRevoked => vec![("reason", reason("SignOutReason"))],
        C::RefreshTokenReused => {
            let mut reused = reason("SignOutReason");
            reused["const"] = usher_api::SignOutReason::TokenReused.as_str().into();
            vec![("reason", reused)]
        }
        C::StreamEnded => vec![("reason", reason("StreamEndReason"))],
        C::TooManyAttempts
        | C::TooManyConnections
        | C::Overloaded
        | C::Unavailable
        | C::StaleNode => {
            vec![("retry_after", retry_after)]
        }
        _ => Vec::new(),
    }
}

/// `Retry-After` on every 429 and 503 problem, `WWW-Authenticate` on every
/// 401; required where every answer of the status is a problem.
fn header_of(status: u16, required: bool) -> Option<(&'static str, Value)> {
    match status {
        429 | 503 => Some((
            "Retry-After",
            json!({
                "description": "Seconds to wait before trying again (also `retry_after` in the problem).",
                "required": required,
                "schema": { "type": "integer", "minimum": 1 },
            }),
        )),
        401 => Some((
            "WWW-Authenticate",
            json!({
                "description": "Always `Bearer`.",
                "required": required,
                "schema": { "type": "string", "enum": ["Bearer"] },
            }),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_by_status_with_the_generic_ones() {
        let document = add_problems(json!({ "paths": { "/v1/things/{id}": { "patch": {
            "x-problems": ["email_taken", "weak_password"],
            "security": [{ "bearer": [] }],
            "parameters": [{ "name": "id", "in": "path" }],
            "requestBody": {},
            "responses": { "200": { "description": "Done." } },
        }}}}));
        let operation = &document["paths"]["/v1/things/{id}"]["patch"];
        assert!(operation.get(PROBLEMS_EXTENSION).is_none());
        let codes = |status: &str| {
            operation["responses"][status]["content"][usher_api::PROBLEM_CONTENT_TYPE]["schema"]
                ["allOf"][1]["properties"]["code"]["enum"]
                .clone()
        };
        assert_eq!(codes("409"), json!(["email_taken"]));
        assert_eq!(
            codes("422"),
            json!(["weak_password", "invalid_body"]),
            "own codes first"
        );
        assert_eq!(
            codes("401"),
            json!([
                "missing_token",
                "invalid_token",
                "token_expired",
                "session_revoked"
            ])
        );
        assert_eq!(codes("404"), json!(["not_found"]));
        assert_eq!(
            codes("503"),
            json!(["stale_node", "unavailable", "overloaded"])
        );
        let retry = &operation["responses"]["429"]["headers"]["Retry-After"];
        assert_eq!(retry["required"], true);
        assert_eq!(operation["responses"]["200"]["description"], "Done.");
    }

    #[test]
    fn members_a_code_adds_are_typed_and_required_with_that_code() {
        let document = add_problems(json!({ "paths": { "/v1/streams": { "post": {
            "x-problems": ["too_many_streams", "profile_limit_reached", "email_taken"],
            "security": [{ "bearer": [] }],
            "responses": {},
        }}}}));
        let schema = &document["paths"]["/v1/streams"]["post"]["responses"]["409"]["content"]
            [usher_api::PROBLEM_CONTENT_TYPE]["schema"]["allOf"][1];
        assert_eq!(schema["properties"]["limit"]["type"], "integer");
        assert_eq!(
            schema["properties"]["active"]["items"]["$ref"],
            "#/components/schemas/ActiveStream"
        );
        let rules = schema["allOf"]
            .as_array()
            .expect("one rule per code with members");
        assert_eq!(rules.len(), 2, "email_taken adds nothing: {rules:?}");
        assert_eq!(
            rules[0]["if"]["properties"]["code"]["const"],
            "too_many_streams"
        );
        assert_eq!(rules[0]["then"]["required"], json!(["limit", "active"]));
        assert_eq!(rules[1]["then"]["required"], json!(["limit"]));
        let unauthorized = &document["paths"]["/v1/streams"]["post"]["responses"]["401"]["content"]
            [usher_api::PROBLEM_CONTENT_TYPE]["schema"]["allOf"][1];
        assert_eq!(
            unauthorized["allOf"][0]["then"]["properties"]["reason"]["$ref"],
            "#/components/schemas/SignOutReason"
        );
        let throttled = &document["paths"]["/v1/streams"]["post"]["responses"]["503"]["content"]
            [usher_api::PROBLEM_CONTENT_TYPE]["schema"]["allOf"][1];
        let with_retry = throttled["allOf"].as_array().expect("rules");
        assert_eq!(with_retry.len(), 3, "stale_node, unavailable, overloaded");
    }

    #[test]
    #[should_panic(expected = "must list problem codes")]
    fn a_list_that_does_not_read_stops_the_document() {
        add_problems(json!({ "paths": { "/v1/things": { "get": {
            "x-problems": ["email_taken", "no_such_code"],
            "responses": {},
        }}}}));
    }

    #[test]
    fn a_response_with_its_own_body_keeps_it_and_its_header_is_optional() {
        let document = add_problems(json!({ "paths": { "/readyz": { "get": {
            "responses": { "503": {
                "description": "Not ready.",
                "content": { "application/json": { "schema": {} } },
            }},
        }}}}));
        let answer = &document["paths"]["/readyz"]["get"]["responses"]["503"];
        assert!(answer["content"]["application/json"].is_object());
        assert!(answer["content"][usher_api::PROBLEM_CONTENT_TYPE].is_object());
        assert_eq!(answer["headers"]["Retry-After"]["required"], false);
        assert_eq!(
            answer["description"],
            "Not ready. Or a problem: `overloaded`."
        );
    }
}
