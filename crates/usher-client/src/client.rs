//! The typed HTTP client.

use std::fmt;
use std::net::IpAddr;

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use crate::error::{Error, Result};
use crate::raw::RawRequest;
use crate::types::{
    Account, AccountCreated, ActiveStream, ChangePassword, CreateAccount, CurrentSession, Device,
    DeviceInfo, DeviceList, Lease, RefreshRequest, RenameDevice, SessionTokens, SignIn, SignOutAll,
    SignedOutCount, StartStream, StreamList,
};

/// A client for one usher server, optionally acting as one device session.
///
/// Cloning is cheap (the connection pool is shared). Without a token, calls go
/// out unauthenticated, which is what sign-in needs and what tests of
/// `401 missing_token` want.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    /// Where this client's connections leave from, when not the system's choice.
    local_address: Option<IpAddr>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("local_address", &self.local_address)
            .finish()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://127.0.0.1:8080`, or with a
    /// path prefix such as `https://example.com/usher/`).
    pub fn new(base_url: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("usher-client/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Self::with_http_client(base_url, http)
    }

    /// Like [`Client::new`], with every connection (the HTTP calls and the
    /// live channel alike) leaving from `local`, an address of this machine:
    /// a device on one of several networks, or a test that needs clients at
    /// distinct addresses (any of 127.0.0.0/8 on Linux).
    pub fn from_local_address(base_url: &str, local: IpAddr) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("usher-client/", env!("CARGO_PKG_VERSION")))
            .local_address(local)
            .build()?;
        let mut client = Self::with_http_client(base_url, http)?;
        client.local_address = Some(local);
        Ok(client)
    }

    /// Like [`Client::new`] with a caller-configured `reqwest::Client`
    /// (timeouts, proxies, …).
    pub fn with_http_client(base_url: &str, http: reqwest::Client) -> Result<Self> {
        let mut base =
            Url::parse(base_url).map_err(|e| Error::InvalidUrl(format!("{base_url}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::InvalidUrl(format!(
                "{base_url}: expected an http:// or https:// URL"
            )));
        }
        // A trailing slash makes relative joins keep any path prefix.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(Client {
            http,
            base,
            token: None,
            local_address: None,
        })
    }

    /// A copy of this client that authenticates with `access_token`.
    pub fn with_token(&self, access_token: impl Into<String>) -> Self {
        Client {
            token: Some(access_token.into()),
            ..self.clone()
        }
    }

    /// A copy of this client that sends no `Authorization` header.
    pub fn without_token(&self) -> Self {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// Replaces (or clears) the access token in place.
    pub fn set_token(&mut self, access_token: Option<String>) {
        self.token = access_token;
    }

    /// The access token in use, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The address this client's connections leave from, if it chose one
    /// ([`Client::from_local_address`]).
    pub fn local_address(&self) -> Option<IpAddr> {
        self.local_address
    }

    /// The server's base URL (always ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `POST /v1/accounts`: creates an account on the server's default plan.
    /// A public sign-up that names a `plan` is refused (`403
    /// plan_not_allowed`): plans are the operator's to set.
    pub async fn create_account(
        &self,
        email: &str,
        password: &str,
        plan: Option<&str>,
    ) -> Result<AccountCreated> {
        let body = CreateAccount {
            email: email.to_owned(),
            password: password.to_owned(),
            plan: plan.map(str::to_owned),
        };
        self.send_json(self.request(Method::POST, &["v1", "accounts"]).json(&body))
            .await
    }

    /// `POST /v1/sessions`: signs `device` in and returns its tokens.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device: &DeviceInfo,
    ) -> Result<SessionTokens> {
        self.sign_in_with_proof(email, password, device, None).await
    }

    /// [`sign_in`](Client::sign_in) presenting the `device_proof` an earlier
    /// sign-in of this device returned ([`SessionTokens::device_proof`]), so
    /// that other clients' wrong passwords do not hold it back. Keep the
    /// proof the answer carries for the next sign-in.
    pub async fn sign_in_with_proof(
        &self,
        email: &str,
        password: &str,
        device: &DeviceInfo,
        device_proof: Option<&str>,
    ) -> Result<SessionTokens> {
        let body = SignIn {
            email: email.to_owned(),
            password: password.to_owned(),
            device: device.clone(),
            device_proof: device_proof.map(str::to_owned),
        };
        self.send_json(self.request(Method::POST, &["v1", "sessions"]).json(&body))
            .await
    }

    /// `POST /v1/sessions/refresh`: rotates the token pair. The old refresh
    /// token must not be used again (the server treats reuse as theft).
    pub async fn refresh(&self, refresh_token: &str) -> Result<SessionTokens> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        let request = self.request(Method::POST, &["v1", "sessions", "refresh"]);
        self.send_json(request.json(&body)).await
    }

    /// `GET /v1/sessions/current`: who this token belongs to.
    pub async fn current_session(&self) -> Result<CurrentSession<'static>> {
        self.send_json(self.request(Method::GET, &["v1", "sessions", "current"]))
            .await
    }

    /// `DELETE /v1/sessions/current`: signs this device out.
    pub async fn sign_out_current(&self) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &["v1", "sessions", "current"]))
            .await
    }

    /// `GET /v1/devices`: every signed-in device of the account.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        let list: DeviceList = self
            .send_json(self.request(Method::GET, &["v1", "devices"]))
            .await?;
        Ok(list.devices)
    }

    /// `PATCH /v1/devices/{session_id}`: renames a device.
    pub async fn rename_device(&self, session_id: &str, name: &str) -> Result<Device> {
        let body = RenameDevice {
            name: name.to_owned(),
        };
        let request = self.request(Method::PATCH, &["v1", "devices", session_id]);
        self.send_json(request.json(&body)).await
    }

    /// `DELETE /v1/devices/{session_id}`: signs that device out now.
    pub async fn sign_out_device(&self, session_id: &str) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &["v1", "devices", session_id]))
            .await
    }

    /// `POST /v1/devices/sign-out-all`: signs out every device of the account,
    /// this one too when `include_current`.
    pub async fn sign_out_all(&self, include_current: bool) -> Result<SignedOutCount> {
        let body = SignOutAll { include_current };
        let request = self.request(Method::POST, &["v1", "devices", "sign-out-all"]);
        self.send_json(request.json(&body)).await
    }

    /// `POST /v1/account/password`. `sign_out_all_devices: None` leaves the
    /// choice to the server, whose default signs out every device.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
        sign_out_all_devices: Option<bool>,
    ) -> Result<()> {
        let body = ChangePassword {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
            sign_out_all_devices,
        };
        let request = self.request(Method::POST, &["v1", "account", "password"]);
        self.send_empty(request.json(&body)).await
    }

    /// `GET /v1/account`: plan, limits and usage.
    pub async fn account(&self) -> Result<Account> {
        self.send_json(self.request(Method::GET, &["v1", "account"]))
            .await
    }

    /// `POST /v1/streams`: takes a stream slot for this device, replacing any
    /// stream it already holds. When every slot is taken the error is
    /// `409 too_many_streams`; [`Error::active_streams`] lists who holds them.
    pub async fn start_stream(&self, title: &str, profile_id: Option<&str>) -> Result<Lease> {
        let body = StartStream {
            title: title.to_owned(),
            profile_id: profile_id.map(str::to_owned),
        };
        let request = self.request(Method::POST, &["v1", "streams"]);
        self.send_json(request.json(&body)).await
    }

    /// `POST /v1/streams/{stream_id}/heartbeat`: keeps this device's slot.
    /// Once the stream has ended the error is `410 stream_ended`, with the
    /// reason in [`Error::stream_end_reason`].
    pub async fn heartbeat(&self, stream_id: &str) -> Result<Lease> {
        let request = self.request(Method::POST, &["v1", "streams", stream_id, "heartbeat"]);
        self.send_json(request).await
    }

    /// `DELETE /v1/streams/{stream_id}`: stops this device's stream, or
    /// remotely any stream of the account (that device is told at once).
    /// Stopping a stream that already ended succeeds.
    pub async fn stop_stream(&self, stream_id: &str) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &["v1", "streams", stream_id]))
            .await
    }

    /// `GET /v1/streams`: the account's streams that hold a slot now.
    pub async fn streams(&self) -> Result<Vec<ActiveStream>> {
        let list: StreamList = self
            .send_json(self.request(Method::GET, &["v1", "streams"]))
            .await?;
        Ok(list.streams)
    }

    /// Starts a request with arbitrary method, path, headers and body, for
    /// tests that need to send what the typed methods never would.
    pub fn raw(&self, method: Method, path_and_query: &str) -> RawRequest {
        RawRequest::new(self.clone(), method, path_and_query)
    }

    /// The URL of `segments` under the base URL; each segment is percent-encoded,
    /// so an id can never escape its path position.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` rejected cannot-be-a-base URLs, so this always succeeds.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `path_and_query` resolved against the base URL (a leading `/` stays
    /// under any base path prefix).
    pub(crate) fn join(&self, path_and_query: &str) -> Result<Url> {
        self.base
            .join(path_and_query.trim_start_matches('/'))
            .map_err(|e| Error::InvalidUrl(format!("{path_and_query}: {e}")))
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let request = self.http.request(method, self.endpoint(segments));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T> {
        let response = checked(request.send().await?).await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode { status, source })
    }

    pub(crate) async fn send_empty(&self, request: RequestBuilder) -> Result<()> {
        checked(request.send().await?).await?;
        Ok(())
    }
}

/// Passes a success answer through and turns any other into an [`Error`].
async fn checked(response: Response) -> Result<Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    Err(Error::from_answer(status, &headers, &body))
}

/// Serializes `value` for a raw request body.
pub(crate) fn to_json_bytes(value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::InvalidRequest(format!("body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_base_prefix_and_encode_ids() {
        let client = Client::new("https://example.com/usher").expect("valid url");
        assert_eq!(
            client.endpoint(&["v1", "devices", "ses_1/../x?y"]).as_str(),
            "https://example.com/usher/v1/devices/ses_1%2F..%2Fx%3Fy"
        );
        assert_eq!(
            client.join("/v1/activity?limit=5").expect("joins").as_str(),
            "https://example.com/usher/v1/activity?limit=5"
        );
        let root = Client::new("http://127.0.0.1:8080").expect("valid url");
        assert_eq!(
            root.endpoint(&["v1", "sessions"]).as_str(),
            "http://127.0.0.1:8080/v1/sessions"
        );
    }

    #[test]
    fn rejects_non_http_urls() {
        for bad in ["ftp://example.com", "not a url", "mailto:a@example.com"] {
            assert!(
                matches!(Client::new(bad), Err(Error::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_redacts_token() {
        let client = Client::new("http://localhost")
            .expect("valid url")
            .with_token("secret-token");
        assert!(!format!("{client:?}").contains("secret-token"));
        assert_eq!(client.token(), Some("secret-token"));
        assert_eq!(client.without_token().token(), None);
    }
}
