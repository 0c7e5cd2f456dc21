//! The account pages without a browser: a signed-in page session (its
//! cookie), and its server-sent event stream read as raw text.

use reqwest::redirect::Policy;
use reqwest::Response;

use crate::browser::{PRESESSION_COOKIE, SESSION_COOKIE};
use crate::{TestAccount, PATIENCE};

/// A browser's session on the account pages, held as its cookie.
#[derive(Debug, Clone)]
pub struct PageSession {
    base: String,
    http: reqwest::Client,
    /// Sent with every request (a proxy's `X-Forwarded-For`, say).
    headers: Vec<(String, String)>,
    /// `__Host-usher_session=…`, ready for a `Cookie` header.
    pub cookie: String,
}

impl TestAccount {
    /// Signs in through the sign-in form as a browser would, without one.
    pub async fn page_session(&self) -> PageSession {
        self.page_session_with(&[]).await
    }

    /// Signs in as [`TestAccount::page_session`] does, sending `headers`
    /// with the sign-in and every later request.
    pub async fn page_session_with(&self, headers: &[(&str, &str)]) -> PageSession {
        let base = self.base_url().trim_end_matches('/').to_owned();
        // The session cookie comes with the 303: no redirects followed.
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("an HTTP client");
        // As a browser: the form first, for its pre-session cookie and the
        // token bound to it.
        let mut form = http.get(format!("{base}/account/sign-in"));
        for (name, value) in headers {
            form = form.header(*name, *value);
        }
        let form = form.send().await.expect("the sign-in form is answered");
        let presession = set_cookie(&form, PRESESSION_COOKIE).expect("a pre-session cookie");
        let page = form.text().await.expect("the sign-in form");
        let csrf = form_csrf(&page).expect("the form's csrf token");
        let mut sign_in = http.post(format!("{base}/account/sign-in"));
        for (name, value) in headers {
            sign_in = sign_in.header(*name, *value);
        }
        let signed_in = sign_in
            .header("Cookie", presession)
            .form(&[
                ("email", self.email.as_str()),
                ("password", self.password.as_str()),
                ("csrf", csrf.as_str()),
            ])
            .send()
            .await
            .expect("the sign-in is answered");
        assert_eq!(signed_in.status(), 303, "signed in");
        let cookie = set_cookie(&signed_in, SESSION_COOKIE).expect("a session cookie");
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        PageSession {
            base,
            http,
            headers,
            cookie,
        }
    }
}

/// `name=value` of the cookie `name` that `response` sets, ready for a
/// `Cookie` header.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// The value of the first `csrf` field of a page's form.
pub fn form_csrf(page: &str) -> Option<String> {
    let field = page.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = page[field..].find('"')?;
    Some(page[field..field + end].to_owned())
}

impl PageSession {
    /// `GET path` as this signed-in browser; redirects are not followed.
    pub async fn get(&self, path: &str) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
            .header("Cookie", &self.cookie)
            .send()
            .await
            .expect("answered")
    }

    /// Opens `/account/events`, as an open account page does.
    pub async fn events(&self) -> EventStream {
        let response = self.get("/account/events").await;
        assert_eq!(response.status(), 200, "the event stream opens");
        let content_type = response.headers()["content-type"].to_str().expect("text");
        assert_eq!(content_type, "text/event-stream");
        EventStream {
            response,
            buffer: String::new(),
        }
    }
}

/// An open `/account/events` stream.
pub struct EventStream {
    response: Response,
    buffer: String,
}

impl EventStream {
    /// The next event as `(event, data)`; `None` once the server ended the
    /// stream. Keep-alive comments are skipped.
    pub async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(name))
                        .map(|value| value.trim_start().to_owned())
                };
                if let (Some(event), Some(data)) = (field("event:"), field("data:")) {
                    return Some((event, data));
                }
                continue;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no server-sent event within {PATIENCE:?}"))
                .expect("the event stream reads");
            self.buffer
                .push_str(std::str::from_utf8(&chunk?).expect("UTF-8 events"));
        }
    }

    /// Awaits the next event, asserting it is `event`; its data.
    pub async fn expect(&mut self, event: &str) -> String {
        match self.next().await {
            Some((got, data)) if got == event => data,
            other => panic!("expected event {event}, got {other:?}"),
        }
    }

    /// Asserts the server ends the stream with no further event.
    pub async fn expect_end(&mut self) {
        if let Some(event) = self.next().await {
            panic!("expected the stream to end, got {event:?}");
        }
    }
}
