//! The cast of most tests about several devices: Ada's account with her
//! living-room TV and her phone signed in.

use usher_client::DeviceType;

use crate::{TestAccount, TestApp, TestDevice};

/// `ada@example.com` with two devices signed in, the TV first.
pub struct Household {
    pub ada: TestAccount,
    /// "Living Room TV", a [`DeviceType::Tv`].
    pub tv: TestDevice,
    /// "Ada's phone", a [`DeviceType::Phone`].
    pub phone: TestDevice,
}

impl Household {
    async fn signed_in(ada: TestAccount) -> Self {
        let tv = ada.sign_in("Living Room TV", DeviceType::Tv).await;
        let phone = ada.sign_in("Ada's phone", DeviceType::Phone).await;
        Household { ada, tv, phone }
    }
}

impl TestApp {
    /// Ada's household on the default plan.
    pub async fn household(&self) -> Household {
        Household::signed_in(self.account("ada").await).await
    }

    /// Ada's household on `plan`.
    pub async fn household_on(&self, plan: &str) -> Household {
        Household::signed_in(self.account_on("ada", plan).await).await
    }
}
