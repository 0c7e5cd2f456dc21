//! An account whose password the test knows, and how its devices sign in.

use usher::domain::PlanName;
use usher::services::Services;
use usher_client::{Client, DeviceInfo, DeviceType, Method, RawResponse, SessionTokens};

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
    /// Signs `name@example.com` up with [`PASSWORD`] through `client`'s server.
    pub async fn create(client: &Client, name: &str) -> Self {
        let email = format!("{name}@example.com");
        let created = client
            .create_account(&email, PASSWORD, None)
            .await
            .expect("the account is created");
        TestAccount {
            id: created.account_id,
            email,
            password: PASSWORD.to_owned(),
            client: client.without_token(),
        }
    }

    /// `name@example.com`, account `id`, with [`PASSWORD`], created by other
    /// means (the operator's `usher account create`) on `client`'s server.
    pub fn created_elsewhere(client: &Client, name: &str, id: &str) -> Self {
        TestAccount {
            id: id.to_owned(),
            email: format!("{name}@example.com"),
            password: PASSWORD.to_owned(),
            client: client.without_token(),
        }
    }

    /// Moves the account to `plan` as the operator does (`usher account
    /// set-plan`), through `services` of its server.
    pub(crate) async fn move_to_plan(&self, services: &Services, plan: &str) {
        let id = self.id.parse().expect("an account id");
        services
            .accounts
            .set_plan(id, PlanName(plan.to_owned()))
            .await
            .expect("the plan is changed");
    }

    /// The same account on another server (after a restart, or another
    /// node of a cluster).
    pub fn on(&self, server: &Client) -> Self {
        TestAccount {
            client: server.without_token(),
            ..self.clone()
        }
    }

    /// The server's address, `http://127.0.0.1:PORT/`.
    pub(crate) fn base_url(&self) -> String {
        self.client.base_url().to_string()
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

    /// A phone's sign-in with `password` from `address`, as forwarded by a
    /// trusted proxy (a server that trusts the test client's 127.0.0.1),
    /// presenting `device_proof` if given; the answer as it came.
    pub async fn sign_in_from(
        &self,
        address: &str,
        password: &str,
        device_proof: Option<&str>,
    ) -> RawResponse {
        sign_in_from(&self.client, &self.email, password, address, device_proof).await
    }

    /// A TV called `name` signed in with one forwarding `header`, as a
    /// trusted proxy sends it; the sign-in must succeed.
    pub async fn tv_forwarded(&self, name: &str, header: (&str, &str)) -> TestDevice {
        let body = serde_json::json!({
            "email": self.email,
            "password": self.password,
            "device": {"name": name, "type": "tv"},
        });
        let answer = forwarded_sign_in(&self.client, header, &body).await;
        TestDevice::new(&self.client, signed_in(&answer))
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

/// A phone's sign-in to `email` with `password` from `address`, as
/// forwarded by a trusted proxy (a server that trusts the test client's
/// 127.0.0.1), presenting `device_proof` if given; the answer as it came.
pub async fn sign_in_from(
    client: &Client,
    email: &str,
    password: &str,
    address: &str,
    device_proof: Option<&str>,
) -> RawResponse {
    let mut body = serde_json::json!({
        "email": email,
        "password": password,
        "device": DeviceInfo::new("Phone", DeviceType::Phone),
    });
    if let Some(proof) = device_proof {
        body["device_proof"] = proof.into();
    }
    forwarded_sign_in(client, ("x-forwarded-for", address), &body).await
}

/// `POST /v1/sessions` with `body` and one forwarding `header`, as a proxy
/// sends it; the answer as it came.
pub async fn forwarded_sign_in(
    client: &Client,
    header: (&str, &str),
    body: &serde_json::Value,
) -> RawResponse {
    client
        .raw(Method::POST, "/v1/sessions")
        .no_auth()
        .header(header.0, header.1)
        .json(body)
        .expect("a JSON body")
        .send()
        .await
        .expect("the sign-in is answered")
}

/// The tokens of a sign-in answer that must be a success.
#[track_caller]
pub fn signed_in(answer: &RawResponse) -> SessionTokens {
    assert_eq!(answer.status, 201, "signed in: {}", answer.text());
    serde_json::from_slice(&answer.body).expect("tokens")
}
