//! The start of most page tests: an account with a TV, and a browser
//! signed in to its account pages.

use super::Browser;
use crate::{TestAccount, TestApp, TestDevice};

/// Creates `alex@example.com`, signs in its living-room TV
/// ([`TestAccount::tv`]) and then a browser: `(account, tv, browser)`.
pub async fn tv_and_browser(app: &TestApp) -> (TestAccount, TestDevice, Browser) {
    let account = app.account("alex").await;
    let tv = account.tv().await;
    let browser = Browser::signed_in(app, &account).await;
    (account, tv, browser)
}
