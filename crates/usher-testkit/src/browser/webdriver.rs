//! What the harness asks of WebDriver beyond fantoccini's calls: telling a
//! missing or replaced element from a failure, waiting for a page change,
//! and reading the browser console.

use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::json;

/// Resolves on the page's next DOM change, or at once when the page is
/// replaced (the script dies with it). The page's own short backstop covers a
/// change that landed between a probe and this observer.
pub(super) const PAGE_CHANGE: &str = "const done = arguments[arguments.length - 1];
    const observer = new MutationObserver(() => { observer.disconnect(); done(); });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    setTimeout(() => { observer.disconnect(); done(); }, 100);";

/// `Some(element)` when found, `None` when not (yet) there.
pub(super) fn present(found: Result<Element, CmdError>) -> Result<Option<Element>, CmdError> {
    match found {
        Ok(element) => Ok(Some(element)),
        Err(CmdError::Standard(e)) if e.error == ErrorStatus::NoSuchElement => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn is_stale(error: &CmdError) -> bool {
    matches!(error, CmdError::Standard(e) if e.error == ErrorStatus::StaleElementReference)
}

pub(super) fn tail(text: &str, chars: usize) -> String {
    let skip = text.chars().count().saturating_sub(chars);
    text.chars().skip(skip).collect()
}

/// chromedriver's log endpoint (not in the W3C protocol): the browser
/// console, which shows script and Content-Security-Policy errors.
#[derive(Debug)]
pub(super) struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}
