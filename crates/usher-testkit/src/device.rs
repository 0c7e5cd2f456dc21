//! A signed-in device and what it does through the API: play, list, open
//! its live channel, pick and lock profiles.

use serde_json::{json, Value};
use usher_client::{
    ActivityEvent, ActivityQuery, Client, Lease, Method, RawResponse, SessionTokens, SignOutReason,
    StreamStopReason,
};

use crate::{expect_json, ExpectProblem, Live, PASSWORD};

/// A signed-in device: a client carrying its access token, and its tokens.
#[derive(Debug, Clone)]
pub struct TestDevice {
    pub client: Client,
    pub tokens: SessionTokens,
}

impl TestDevice {
    pub fn new(server: &Client, tokens: SessionTokens) -> Self {
        TestDevice {
            client: server.with_token(&tokens.access_token),
            tokens,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.tokens.session_id
    }

    /// The same device talking to another server (after a restart, or
    /// another node of a cluster).
    pub fn on(&self, server: &Client) -> Self {
        TestDevice::new(server, self.tokens.clone())
    }

    /// Starts playing `title`, which must be admitted.
    pub async fn play(&self, title: &str) -> Lease {
        self.client
            .start_stream(title, None)
            .await
            .unwrap_or_else(|e| panic!("{title} should start on {}: {e}", self.session_id()))
    }

    /// Asserts that starting `title` is refused `409 too_many_streams`.
    pub async fn assert_plan_full(&self, title: &str) {
        self.client
            .start_stream(title, None)
            .await
            .expect_problem(409, "too_many_streams");
    }

    /// Stops `stream_id` (this device's or another's), which must succeed.
    pub async fn stop(&self, stream_id: &str) {
        self.client
            .stop_stream(stream_id)
            .await
            .unwrap_or_else(|e| panic!("{stream_id} should stop: {e}"));
    }

    /// Asserts a heartbeat of `stream_id` is refused `410 stream_ended`
    /// with `reason`.
    pub async fn assert_stream_ended(&self, stream_id: &str, reason: StreamStopReason) {
        self.client
            .heartbeat(stream_id)
            .await
            .expect_stream_ended(reason);
    }

    /// Signs `other` out from this device's device list, which must succeed.
    pub async fn sign_out(&self, other: &TestDevice) {
        self.client
            .sign_out_device(other.session_id())
            .await
            .unwrap_or_else(|e| panic!("{} should sign out: {e}", other.session_id()));
    }

    /// The ids of the streams holding the account's slots, sorted.
    pub async fn streams_playing(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .client
            .streams()
            .await
            .expect("the stream list")
            .into_iter()
            .map(|s| s.stream_id)
            .collect();
        ids.sort();
        ids
    }

    /// Opens the live channel and waits for its `hello`.
    pub async fn live(&self) -> Live {
        Live::opened(self.client.live(false).await, self.session_id()).await
    }

    /// Opens the live channel as an account page that watches the device list.
    pub async fn watch_devices(&self) -> Live {
        Live::opened(self.client.live(true).await, self.session_id()).await
    }

    /// Asserts that every call with this device's tokens is refused with `reason`.
    pub async fn assert_signed_out(&self, reason: SignOutReason) {
        self.client.current_session().await.expect_revoked(&reason);
        self.client
            .refresh(&self.tokens.refresh_token)
            .await
            .expect_revoked(&reason);
        self.client.live(false).await.expect_revoked(&reason);
    }

    /// The account's history entries of `kind` (the newest page), as this
    /// device reads them.
    pub async fn history_of(&self, kind: &str) -> Vec<ActivityEvent> {
        let query = ActivityQuery {
            kinds: &[kind],
            ..Default::default()
        };
        let page = self.client.activity(&query).await.expect("the history");
        page.events
    }

    /// The session ids in this device's device list.
    pub async fn device_list(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .client
            .devices()
            .await
            .expect("the device list")
            .into_iter()
            .map(|d| d.session_id)
            .collect();
        ids.sort();
        ids
    }
}

/// Profile calls. The typed client does not model profiles, so these are
/// raw requests; each asserts the answer it expects.
impl TestDevice {
    /// Sends `method path` with an optional JSON body, as this device.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> RawResponse {
        let mut request = self.client.raw(method, path);
        if let Some(body) = body {
            request = request.json(&body).expect("serialisable");
        }
        request.send().await.expect("an answer")
    }

    /// `GET /v1/profiles`.
    pub async fn profiles(&self) -> Value {
        let answer = self.call(Method::GET, "/v1/profiles", None).await;
        expect_json(&answer, 200)
    }

    /// The account's profile ids and names, in the listed order.
    pub async fn profile_names(&self) -> Vec<String> {
        self.profiles().await["profiles"]
            .as_array()
            .expect("a profile list")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect()
    }

    /// The default profile's id.
    pub async fn default_profile(&self) -> String {
        let list = self.profiles().await;
        let default = list["profiles"]
            .as_array()
            .expect("a profile list")
            .iter()
            .find(|p| p["default"] == true)
            .expect("a default profile");
        default["profile_id"].as_str().expect("an id").to_owned()
    }

    /// Adds a profile, which must succeed; its id.
    pub async fn add_profile(&self, name: &str) -> String {
        let answer = self
            .call(Method::POST, "/v1/profiles", Some(json!({ "name": name })))
            .await;
        let created = expect_json(&answer, 201);
        assert_eq!(created["name"], name.trim());
        assert_eq!(created["locked"], false);
        created["profile_id"].as_str().expect("an id").to_owned()
    }

    /// `PATCH /v1/profiles/{id}` with a new name.
    pub async fn rename_profile(&self, profile_id: &str, name: &str) -> RawResponse {
        let path = format!("/v1/profiles/{profile_id}");
        self.call(Method::PATCH, &path, Some(json!({ "name": name })))
            .await
    }

    /// `DELETE /v1/profiles/{id}`.
    pub async fn delete_profile(&self, profile_id: &str) -> RawResponse {
        let path = format!("/v1/profiles/{profile_id}");
        self.call(Method::DELETE, &path, None).await
    }

    /// Sets or changes a profile's PIN with the right password.
    pub async fn lock_profile(&self, profile_id: &str, pin: &str) {
        let answer = self.set_pin(profile_id, PASSWORD, pin).await;
        let locked = expect_json(&answer, 200);
        assert_eq!(locked["locked"], true);
    }

    /// `PUT /v1/profiles/{id}/pin`.
    pub async fn set_pin(&self, profile_id: &str, password: &str, pin: &str) -> RawResponse {
        let body = json!({ "password": password, "pin": pin });
        self.call(
            Method::PUT,
            &format!("/v1/profiles/{profile_id}/pin"),
            Some(body),
        )
        .await
    }

    /// `POST /v1/sessions/current/profile`.
    pub async fn pick_profile(&self, profile_id: &str, pin: Option<&str>) -> RawResponse {
        let mut body = json!({ "profile_id": profile_id });
        if let Some(pin) = pin {
            body["pin"] = pin.into();
        }
        self.call(Method::POST, "/v1/sessions/current/profile", Some(body))
            .await
    }

    /// The profile `GET /v1/sessions/current` says this device is on.
    pub async fn current_profile(&self) -> Option<String> {
        self.client
            .current_session()
            .await
            .expect("the current session")
            .profile_id
            .map(std::borrow::Cow::into_owned)
    }
}

/// Sorted session ids, to compare with [`TestDevice::device_list`].
pub fn session_ids(devices: &[&TestDevice]) -> Vec<String> {
    let mut ids: Vec<String> = devices.iter().map(|d| d.session_id().to_owned()).collect();
    ids.sort();
    ids
}

/// Assertions a page test makes about a device.
impl TestDevice {
    /// Asserts the device's tokens still work.
    pub async fn assert_signed_in(&self) {
        if let Err(e) = self.client.current_session().await {
            panic!("{} should still be signed in: {e}", self.session_id());
        }
    }

    /// Puts the device on the (unlocked) profile called `name`; its id.
    pub async fn pick_profile_named(&self, name: &str) -> String {
        let list = self.profiles().await;
        let id = list["profiles"]
            .as_array()
            .expect("profiles")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no profile called {name}: {list}"))["profile_id"]
            .as_str()
            .expect("an id")
            .to_owned();
        expect_json(&self.pick_profile(&id, None).await, 200);
        id
    }
}
