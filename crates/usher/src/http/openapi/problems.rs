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
    let own = operation
        .remove(PROBLEMS_EXTENSION)
        .and_then(|listed| serde_json::from_value::<Vec<ProblemCode>>(listed).ok())
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
                json!({ "schema": {
                    "allOf": [
                        { "$ref": PROBLEM_SCHEMA },
                        { "type": "object", "properties": { "code": { "enum": of_status } } },
                    ]
                }}),
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
