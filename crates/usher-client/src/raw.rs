//! The escape hatch: requests the typed methods would never send, answers
//! returned as they came.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Serialize;

use crate::client::{to_json_bytes, Client};
use crate::error::{Error, Problem, Result};

/// A request under construction; see [`Client::raw`].
///
/// It carries the client's bearer token unless [`RawRequest::no_auth`] is
/// called or an `Authorization` header is set explicitly.
#[must_use = "a RawRequest does nothing until `send` is awaited"]
#[derive(Debug)]
pub struct RawRequest {
    client: Client,
    method: Method,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
    auth: bool,
}

impl RawRequest {
    pub(crate) fn new(client: Client, method: Method, path_and_query: &str) -> Self {
        RawRequest {
            client,
            method,
            path_and_query: path_and_query.to_owned(),
            headers: Vec::new(),
            body: None,
            auth: true,
        }
    }

    /// Sets the body verbatim with its `Content-Type`.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }

    /// Sets a JSON body given as text (which need not be valid JSON).
    pub fn json_text(self, json: impl Into<String>) -> Self {
        self.body("application/json", json.into())
    }

    /// Sets a JSON body from any serializable value.
    pub fn json(self, value: &impl Serialize) -> Result<Self> {
        let bytes = to_json_bytes(value)?;
        Ok(self.body("application/json", bytes))
    }

    /// Adds a header; invalid names or values fail at [`RawRequest::send`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends no bearer token.
    pub fn no_auth(mut self) -> Self {
        self.auth = false;
        self
    }

    /// Sends the request and returns whatever came back, error statuses included.
    pub async fn send(self) -> Result<RawResponse> {
        let url = self.client.join(&self.path_and_query)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::InvalidRequest(format!("header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Error::InvalidRequest(format!("header {name}: {e}")))?;
            headers.append(name, value);
        }
        if self.auth && !headers.contains_key(AUTHORIZATION) {
            if let Some(token) = self.client.token() {
                let value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|e| Error::InvalidRequest(format!("token: {e}")))?;
                headers.insert(AUTHORIZATION, value);
            }
        }
        let mut request = self.client.http().request(self.method, url);
        if let Some((content_type, body)) = self.body {
            if !headers.contains_key(CONTENT_TYPE) {
                let value = HeaderValue::from_str(&content_type)
                    .map_err(|e| Error::InvalidRequest(format!("content type: {e}")))?;
                headers.insert(CONTENT_TYPE, value);
            }
            request = request.body(body);
        }
        let response = request.headers(headers).send().await?;
        Ok(RawResponse {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.bytes().await?.to_vec(),
        })
    }
}

/// An answer exactly as received.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status (compares with `u16`: `response.status == 422`).
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `Content-Type` without parameters, e.g. `application/problem+json`.
    pub fn content_type(&self) -> Option<&str> {
        self.header(CONTENT_TYPE.as_str())
            .and_then(|ct| ct.split(';').next())
            .map(str::trim)
    }

    /// The body as a problem document, if it is one.
    pub fn problem(&self) -> Option<Problem> {
        crate::error::problem_from_answer(self.status.as_u16(), &self.headers, &self.body)
    }

    /// `Ok(self)` for a success status, else the error a typed call would give.
    pub fn error_for_status(self) -> Result<Self> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(Error::from_answer(
                self.status.as_u16(),
                &self.headers,
                &self.body,
            ))
        }
    }
}
