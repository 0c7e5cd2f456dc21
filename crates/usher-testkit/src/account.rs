//! An account whose password the test knows, and how its devices sign in.

use usher_client::{Client, DeviceInfo, DeviceType, SessionTokens};

use crate::{ExpectProblem, TestDevice, PASSWORD};

/// An account whose password the test knows.
#[derive(Debug, Clone)]
pub struct TestAccount {
    pub id: String,
    pub email: String,
    pub password: String,
    client: Client,
}

impl TestAccount {
    /// Creates `name@example.com` with [`PASSWORD`] through `client`'s server.
    pub async fn create(client: &Client, name: &str, plan: Option<&str>) -> Self {
        let email = format!("{name}@example.com");
        let created = client
            .create_account(&email, PASSWORD, plan)
            .await
            .expect("the account is created");
        TestAccount {
            id: created.account_id,
            email,
            password: PASSWORD.to_owned(),
            client: client.without_token(),
        }
    }

    /// The same account on another server (after a restart, or another
    /// node of a cluster).
    pub fn on(&self, server: &Client) -> Self {
        TestAccount {
            client: server.without_token(),
            ..self.clone()
        }
    }

    /// Signs a device in, with a model so the device list has one to show.
    pub async fn sign_in(&self, name: &str, kind: DeviceType) -> TestDevice {
        self.sign_in_model(name, kind, &format!("{name} model"))
            .await
    }

    /// Signs a device of `model` in, for pages that show the model.
    pub async fn sign_in_model(&self, name: &str, kind: DeviceType, model: &str) -> TestDevice {
        self.sign_in_device(&DeviceInfo::new(name, kind).model(model))
            .await
    }

    /// Signs a browser in through the sign-in form, sending `headers` too;
    /// its session cookie as a `Cookie` header value (`usher_session=…`).
    pub async fn browser_session_cookie(&self, headers: &[(&str, &str)]) -> String {
        // No redirects followed: the session cookie comes with the 303.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let url = self
            .client
            .base_url()
            .join("/account/sign-in")
            .expect("a URL");
        // The sign-in form echoes its CSRF cookie (double submit).
        let mut request = http.post(url).header("Cookie", "usher_csrf=token-1");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let signed_in = request
            .form(&[
                ("email", self.email.as_str()),
                ("password", self.password.as_str()),
                ("csrf", "token-1"),
            ])
            .send()
            .await
            .expect("answered");
        assert_eq!(signed_in.status(), 303, "the browser signs in");
        signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|c| c.to_str().ok())
            .find(|c| c.starts_with("usher_session="))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned()
    }

    pub async fn sign_in_device(&self, device: &DeviceInfo) -> TestDevice {
        let tokens = self
            .client
            .sign_in(&self.email, &self.password, device)
            .await
            .expect("the device signs in");
        TestDevice::new(&self.client, tokens)
    }

    /// Signs a TV in, as the living-room TV of most page tests.
    pub async fn tv(&self) -> TestDevice {
        self.sign_in_model("Living Room TV", DeviceType::Tv, "Bravia XR")
            .await
    }

    /// Signs a phone in.
    pub async fn phone(&self) -> TestDevice {
        self.sign_in_model("Alex's phone", DeviceType::Phone, "Pixel 8")
            .await
    }

    /// Signs a device in with another password (after a change).
    pub async fn sign_in_with_password(&self, name: &str, password: &str) -> TestDevice {
        let tokens = self
            .client
            .sign_in(
                &self.email,
                password,
                &DeviceInfo::new(name, DeviceType::Phone),
            )
            .await
            .expect("the device signs in with the new password");
        TestDevice::new(&self.client, tokens)
    }

    /// A phone's sign-in with `password`, for tests that expect a refusal.
    pub async fn try_sign_in(&self, password: &str) -> usher_client::Result<SessionTokens> {
        let phone = DeviceInfo::new("Phone", DeviceType::Phone);
        self.client.sign_in(&self.email, password, &phone).await
    }

    /// Asserts a sign-in with `password` is refused `401 invalid_credentials`.
    pub async fn assert_password_refused(&self, password: &str) {
        self.try_sign_in(password)
            .await
            .expect_problem(401, "invalid_credentials");
    }

    /// Asserts a sign-in with `password` succeeds.
    pub async fn assert_password_works(&self, password: &str) {
        if let Err(e) = self.try_sign_in(password).await {
            panic!("{} should sign in with {password:?}: {e}", self.email);
        }
    }
}
