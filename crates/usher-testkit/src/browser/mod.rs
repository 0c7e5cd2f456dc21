//! A headless Chromium driven over WebDriver, and the few things a test does
//! with a page: visit, wait for, read, fill, click. A wait looks again each
//! time the page changes, with [`PATIENCE`] as its failure guard; a timeout
//! reports where the browser was, what the page said and what its console
//! logged.

mod chromedriver;
mod forms;
mod tv_and_browser;
mod webdriver;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::{Capabilities, WindowHandle};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

pub use chromedriver::chromium;
use chromedriver::Chromedriver;
pub use tv_and_browser::tv_and_browser;
use webdriver::{is_stale, present, tail, BrowserLog, PAGE_CHANGE};

use crate::{TestAccount, TestApp, PATIENCE};

/// The name of the account pages' session cookie (`__Host-`: tests keep
/// `web.secure_cookies` on, and browsers take Secure cookies from
/// http://127.0.0.1).
pub const SESSION_COOKIE: &str = "__Host-usher_session";
/// The name of the sign-in form's pre-session cookie.
pub const PRESESSION_COOKIE: &str = "__Host-usher_presession";

/// The CSS selector of the devices page's row for `session_id`.
pub fn device_row(session_id: &str) -> String {
    format!(r#"ul#devices li.device[data-session-id="{session_id}"]"#)
}

/// The window a browser opens with.
#[derive(Debug, Clone, Copy)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

impl Viewport {
    pub const LAPTOP: Viewport = Viewport {
        width: 1280,
        height: 900,
    };
    pub const PHONE: Viewport = Viewport {
        width: 390,
        height: 844,
    };
}

/// One browser with a fresh profile, pointed at one server. Dropping it kills
/// the browser; [`Browser::close`] ends the session politely first.
pub struct Browser {
    client: Client,
    base_url: String,
    // Field order matters: the driver is killed before its profile is removed.
    driver: Chromedriver,
    _profile: TempDir,
}

impl Browser {
    /// Opens a laptop-sized browser on `app`.
    pub async fn open(app: &TestApp) -> Self {
        Self::launch(app, Viewport::LAPTOP, &[]).await
    }

    /// Opens a laptop-sized browser on `app` and signs `account` in through
    /// the sign-in form; it shows the devices page.
    pub async fn signed_in(app: &TestApp, account: &TestAccount) -> Self {
        let browser = Self::open(app).await;
        browser.sign_in(account).await;
        browser
    }

    /// Opens a browser for screenshots: `viewport`-sized, without the
    /// desktop scrollbar a phone would not show.
    pub async fn open_for_screenshots(app: &TestApp, viewport: Viewport) -> Self {
        Self::launch(app, viewport, &["--hide-scrollbars"]).await
    }

    async fn launch(app: &TestApp, viewport: Viewport, extra_args: &[&str]) -> Self {
        let chromium = chromium();
        let driver = Chromedriver::start().await;
        let profile = tempfile::tempdir().expect("a fresh browser profile");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        .into_iter()
        .chain(extra_args.iter().copied())
        .map(str::to_owned)
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push(format!(
            "--window-size={},{}",
            viewport.width, viewport.height
        ));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            // Kept for failure reports (see `Browser::console`).
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities as Capabilities)
            .connect(driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start {}: {e}\nchromedriver said:\n{}",
                    chromium.display(),
                    driver.log()
                )
            });
        Browser {
            client,
            base_url: app.base_url(),
            driver,
            _profile: profile,
        }
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn webdriver(&self) -> &Client {
        &self.client
    }

    /// Ends the browser session, then chromedriver (on drop).
    pub async fn close(self) {
        // A browser that will not close is killed with chromedriver anyway.
        let _ = self.client.close().await;
    }

    /// Navigates to `path` on the server and waits for the page to load.
    pub async fn visit(&self, path: &str) {
        let url = format!("{}{path}", self.base_url);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot load {url}: {e}"));
    }

    /// Opens `path` in a new tab of this browser (same cookies) and makes
    /// it the one commands go to; that tab.
    pub async fn open_tab(&self, path: &str) -> WindowHandle {
        let tab = self.client.new_window(true).await.expect("a new tab");
        self.switch_to(tab.handle.clone()).await;
        self.visit(path).await;
        tab.handle
    }

    /// Sends later commands to the tab `tab`.
    pub async fn switch_to(&self, tab: WindowHandle) {
        self.client
            .switch_to_window(tab)
            .await
            .expect("the tab is there");
    }

    /// The tab commands go to now.
    pub async fn tab(&self) -> WindowHandle {
        self.client.window().await.expect("the current tab")
    }

    /// The path and query of the page shown now (`/account/devices?notice=…`).
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page's path (without query) is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        self.until(&format!("the browser is on {path}"), async |client| {
            Ok((client.current_url().await?.path() == path).then_some(()))
        })
        .await;
    }

    /// Waits until an element matching `css` is on the page.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.until(&format!("{css} is shown"), async |client| {
            present(client.find(Locator::Css(css)).await)
        })
        .await
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        self.until(&format!("{css} is gone"), async |client| {
            Ok(client
                .find_all(Locator::Css(css))
                .await?
                .is_empty()
                .then_some(()))
        })
        .await;
    }

    /// Waits until the text of the first element matching `css` satisfies
    /// `wanted`, and returns it.
    pub async fn wait_for_text(
        &self,
        css: &str,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        self.until(&format!("{css} shows {what}"), async |client| {
            let Some(element) = present(client.find(Locator::Css(css)).await)? else {
                return Ok(None);
            };
            match element.text().await {
                Ok(text) if wanted(&text) => Ok(Some(text)),
                Ok(_) => Ok(None),
                // Replaced by a live refresh between finding and reading.
                Err(e) if is_stale(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Waits until the page's live stream is connected.
    pub async fn wait_live(&self) {
        self.wait_for(r#"body[data-live="on"]"#).await;
    }

    /// The text of the first element matching `css`, which must be there.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of {css}: {e}"))
    }

    /// Whether an element matches `css` now.
    pub async fn has(&self, css: &str) -> bool {
        self.count(css).await > 0
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("a query of the page")
            .len()
    }

    /// The first element matching `css`, which must be there.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("{css} is not on the page ({e})\n{}", self.report().await),
        }
    }

    /// Replaces the value of the input matching `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("the input can be cleared");
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        if let Err(e) = element.click().await {
            panic!("cannot click {css}: {e}\n{}", self.report().await);
        }
    }

    /// Chooses the option labelled `label` in the select matching `css`.
    pub async fn select(&self, css: &str, label: &str) {
        if let Err(e) = self.find(css).await.select_by_label(label).await {
            panic!(
                "cannot choose {label:?} in {css}: {e}\n{}",
                self.report().await
            );
        }
    }

    /// Sets the checkbox matching `css` to `checked` by clicking it.
    pub async fn set_checkbox(&self, css: &str, checked: bool) {
        if self.is_checked(css).await != checked {
            self.click(css).await;
        }
        assert_eq!(self.is_checked(css).await, checked, "{css} checked");
    }

    /// Whether the checkbox matching `css` is checked.
    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css)
            .await
            .is_selected()
            .await
            .expect("a checkbox's state")
    }

    /// The value of attribute `name` of the element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .attr(name)
            .await
            .expect("an attribute")
            .unwrap_or_else(|| panic!("{css} has no {name}"))
    }

    /// Sets a marker on the page's `window`; [`Browser::same_document`] tells
    /// whether it is still there, i.e. whether the page was not reloaded.
    pub async fn mark_document(&self) {
        self.client
            .execute("window.usherTestMarker = true;", vec![])
            .await
            .expect("the marker is set");
    }

    /// Whether the page is still the one [`Browser::mark_document`] marked.
    pub async fn same_document(&self) -> bool {
        self.client
            .execute("return window.usherTestMarker === true;", vec![])
            .await
            .expect("the marker can be read")
            == Value::Bool(true)
    }

    /// Submits a form with `fields` to `action` from the page, as a second
    /// click on an old copy of a form would: the browser's own POST, cookie
    /// and all. Returns once the answer has replaced the page.
    pub async fn post_form(&self, action: &str, fields: &[(&str, &str)]) {
        let old_page = self.find("html").await;
        let fields: Value = fields
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect();
        self.client
            .execute(
                "const [action, fields] = arguments;
                 const form = document.createElement('form');
                 form.method = 'post';
                 form.action = action;
                 for (const [name, value] of fields) {
                     const input = document.createElement('input');
                     input.type = 'hidden';
                     input.name = name;
                     input.value = value;
                     form.appendChild(input);
                 }
                 document.body.appendChild(form);
                 form.submit();",
                vec![json!(action), fields],
            )
            .await
            .expect("the form is submitted");
        self.until(
            &format!("the answer to POST {action} is shown"),
            async |_| match old_page.tag_name().await {
                Ok(_) => Ok(None),
                Err(e) if is_stale(&e) => Ok(Some(())),
                Err(e) => Err(e),
            },
        )
        .await;
    }

    /// The value of the session cookie, which must be set.
    pub async fn session_cookie(&self) -> String {
        self.client
            .get_named_cookie(SESSION_COOKIE)
            .await
            .unwrap_or_else(|e| panic!("the browser has no {SESSION_COOKIE} cookie: {e}"))
            .value()
            .to_owned()
    }

    /// Resizes the window so that the page's viewport is `viewport`: the
    /// window size includes the browser's (invisible, in headless mode) frame.
    pub async fn fit_viewport(&self, viewport: Viewport) {
        let inner = self.inner_size().await;
        let (outer_width, outer_height) = self
            .client
            .get_window_size()
            .await
            .expect("the window size");
        let width = viewport.width + (outer_width as u32).saturating_sub(inner.0);
        let height = viewport.height + (outer_height as u32).saturating_sub(inner.1);
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window is resized");
        let now = self.inner_size().await;
        assert_eq!(
            now,
            (viewport.width, viewport.height),
            "the viewport after resizing the window to {width}x{height}"
        );
    }

    async fn inner_size(&self) -> (u32, u32) {
        let size = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("the viewport size");
        let dimension = |i: usize| size[i].as_u64().expect("a dimension") as u32;
        (dimension(0), dimension(1))
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("a screenshot")
    }

    /// Signs in through the sign-in form and waits for the devices page.
    pub async fn sign_in(&self, account: &TestAccount) {
        self.visit("/account/sign-in").await;
        self.submit_sign_in(&account.email, &account.password).await;
        self.wait_for_path("/account/devices").await;
        self.wait_for("ul#devices").await;
    }

    /// Fills in and submits the sign-in form on the page shown.
    pub async fn submit_sign_in(&self, email: &str, password: &str) {
        self.fill("form#sign-in-form input[name=email]", email)
            .await;
        self.fill("form#sign-in-form input[name=password]", password)
            .await;
        self.click("form#sign-in-form button[type=submit]").await;
    }

    /// Probes until `probe` yields a value, looking again whenever the page
    /// changes; fails the test after [`PATIENCE`] with a report of the page.
    async fn until<T>(
        &self,
        what: &str,
        mut probe: impl AsyncFnMut(&Client) -> Result<Option<T>, CmdError>,
    ) -> T {
        let probing = async {
            loop {
                match probe(&self.client).await {
                    Ok(Some(value)) => return Ok(value),
                    Ok(None) => {}
                    // The page changed under the probe; look again.
                    Err(e) if is_stale(&e) => {}
                    Err(e) => return Err(e),
                }
                self.page_changes().await;
            }
        };
        match tokio::time::timeout(PATIENCE, probing).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("waiting until {what}: {e}\n{}", self.report().await),
            Err(_) => panic!(
                "waited {PATIENCE:?} in vain until {what}\n{}",
                self.report().await
            ),
        }
    }

    /// Returns once the page has changed (see `webdriver::PAGE_CHANGE`).
    async fn page_changes(&self) {
        // An error means the page went away mid-script: a change too.
        let _ = self.client.execute_async(PAGE_CHANGE, vec![]).await;
    }

    /// Where the browser is and what it shows, for failure messages.
    pub async fn report(&self) -> String {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(unknown: {e})"),
        };
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let text: String = text.chars().take(2_000).collect();
        let console = self.console().await;
        format!(
            "browser at {url}\n--- page text ---\n{text}\n--- console ---\n{console}\n--- chromedriver ---\n{}",
            tail(&self.driver.log(), 2_000)
        )
    }

    /// The browser console's messages since the last call.
    pub async fn console(&self) -> String {
        match self.client.issue_cmd(BrowserLog).await {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|entry| format!("{} {}", entry["level"], entry["message"]))
                .collect::<Vec<_>>()
                .join("\n"),
            Ok(other) => other.to_string(),
            Err(e) => format!("(no console log: {e})"),
        }
    }
}
