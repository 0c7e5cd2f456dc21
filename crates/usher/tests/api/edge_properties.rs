//! Properties of every parser at the edge, on arbitrary input: JSON bodies,
//! query strings, path ids, cookies and the frames a device sends on its
//! live channel. Whatever comes in, the answer is a success or a 4xx
//! problem+json with a known code, never a 5xx, and never another
//! account's data. Requests go through the router in-process (only the
//! live channel needs a socket); each property runs a fixed number of cases.

use axum::http::Uri;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Number, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use url::form_urlencoded;
use usher_client::{DeviceType, LiveAuth, LiveEvent};

use usher_testkit::properties::{header, refused_politely_or_served, request, PropertyBench};
use usher_testkit::*;

/// Every member name a request body has, so that arbitrary objects reach
/// the checks past the shape too.
const MEMBERS: [&str; 17] = [
    "email",
    "password",
    "plan",
    "device",
    "name",
    "type",
    "model",
    "app_version",
    "refresh_token",
    "include_current",
    "current_password",
    "new_password",
    "sign_out_all_devices",
    "title",
    "profile_id",
    "pin",
    "require_pin_to_add",
];

/// Every endpoint that reads a JSON body: `{device}` is the calling
/// device's session id, `{profile}` one of its account's profiles.
const BODY_ENDPOINTS: [(&str, &str); 13] = [
    ("POST", "/v1/accounts"),
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/refresh"),
    ("POST", "/v1/sessions/current/profile"),
    ("PATCH", "/v1/devices/{device}"),
    ("POST", "/v1/devices/sign-out-all"),
    ("POST", "/v1/account/password"),
    ("POST", "/v1/streams"),
    ("POST", "/v1/profiles"),
    ("PUT", "/v1/profiles/settings"),
    ("PATCH", "/v1/profiles/{profile}"),
    ("PUT", "/v1/profiles/{profile}/pin"),
    ("DELETE", "/v1/profiles/{profile}/pin"),
];

fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&MEMBERS[..]).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

/// Any JSON value, nested a few levels, its objects mostly named as
/// request bodies are.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        ".{0,24}".prop_map(Value::String),
        Just(Value::String(PASSWORD.to_owned())),
        Just(Value::String("tv".to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(member_name(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A body as sent: JSON text (mostly an object), or any bytes at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let object = prop::collection::btree_map(member_name(), json_value(), 0..5)
        .prop_map(|members| Value::Object(members.into_iter().collect()));
    prop_oneof![
        3 => object.prop_map(|v| v.to_string().into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

#[test]
fn any_body_to_any_endpoint_is_served_or_refused_politely() {
    let bench = PropertyBench::spawn_with(|_| {});
    let app = &bench.app;
    let ada = bench.block_on(app.account("ada"));
    let profile = bench.block_on(async {
        let tv = ada.sign_in("TV", DeviceType::Tv).await;
        tv.add_profile("Kids").await
    });
    let endpoint = prop::sample::select(&BODY_ENDPOINTS[..]);
    bench.check((endpoint, body()), async |((method, path), body)| {
        // A device of its own: a case may sign everything out.
        let device = ada.sign_in("TV", DeviceType::Tv).await;
        let path = path
            .replace("{device}", device.session_id())
            .replace("{profile}", &profile);
        let bearer = format!("Bearer {}", device.tokens.access_token);
        let headers = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        let answer = app.oneshot(request(method, &path, &headers, body)).await;
        refused_politely_or_served(answer).await.map(|_| ())
    });
}

/// A query string: `name=value` pairs (names mostly the ones read), or
/// anything a URI may carry.
fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => prop::sample::select(&["limit", "before", "kind", "watch"][..]).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    let value = prop_oneof![
        ".{0,24}",
        "-?[0-9]{1,12}",
        "(sign_in|sign_out|stream|alert|devices|,){0,4}",
        "evt_[0-9a-f]{0,34}",
    ];
    let pairs = prop::collection::vec((name, value), 0..4).prop_map(|pairs| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    });
    prop_oneof![
        3 => pairs,
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,40}",
    ]
}

#[test]
fn any_query_string_is_served_or_refused_politely() {
    let bench = PropertyBench::spawn_with(|_| {});
    let app = &bench.app;
    let tv = bench.block_on(app.signed_in("ada"));
    let bearer = format!("Bearer {}", tv.tokens.access_token);
    let path = prop::sample::select(&["/v1/activity", "/v1/live"][..]);
    bench.check((path, query()), async |(path, query)| {
        let uri = format!("{path}?{query}");
        prop_assume!(Uri::try_from(uri.as_str()).is_ok());
        let headers = [("authorization", bearer.as_str())];
        let answer = app
            .oneshot(request("GET", &uri, &headers, Vec::new()))
            .await;
        refused_politely_or_served(answer).await.map(|_| ())
    });
    bench.block_on(tv.assert_signed_in());
}

/// Every route with an id in its path, with a body it would accept.
fn id_routes(password: &str) -> Vec<(&'static str, &'static str, Option<String>)> {
    let rename = Some(json!({ "name": "Renamed" }).to_string());
    vec![
        ("PATCH", "/v1/devices/{id}", rename.clone()),
        ("DELETE", "/v1/devices/{id}", None),
        ("DELETE", "/v1/streams/{id}", None),
        ("POST", "/v1/streams/{id}/heartbeat", None),
        ("PATCH", "/v1/profiles/{id}", rename),
        ("DELETE", "/v1/profiles/{id}", None),
        (
            "PUT",
            "/v1/profiles/{id}/pin",
            Some(json!({ "password": password, "pin": "1234" }).to_string()),
        ),
        (
            "DELETE",
            "/v1/profiles/{id}/pin",
            Some(json!({ "password": password }).to_string()),
        ),
        ("POST", "/v1/alerts/{id}/dismiss", None),
        ("POST", "/v1/alerts/{id}/sign-out-device", None),
    ]
}

#[test]
fn any_id_in_a_path_is_not_found_and_never_reaches_another_account() {
    let bench = PropertyBench::spawn_with(|_| {});
    let app = &bench.app;
    let (ada_tv, grace_tv, grace_ids) = bench.block_on(async {
        let ada_tv = app.signed_in("ada").await;
        let grace_tv = app.signed_in("grace").await;
        let stream = grace_tv.play("Heat").await.stream_id;
        let profile = grace_tv.add_profile("Kids").await;
        let ids = vec![grace_tv.session_id().to_owned(), stream, profile];
        (ada_tv, grace_tv, ids)
    });
    let id = prop_oneof![
        2 => ".{0,32}",
        2 => "(ses|str|prf|evt|acc)_[0-9a-f]{0,34}",
        2 => prop::sample::select(grace_ids.clone()),
    ];
    let routes = id_routes(PASSWORD);
    let bearer = format!("Bearer {}", ada_tv.tokens.access_token);
    bench.check(
        (prop::sample::select(routes), id),
        async |((method, template, body), id)| {
            let encoded: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
            let path = template.replace("{id}", &encoded);
            let headers = [
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
            ];
            let body = body.unwrap_or_default().into_bytes();
            let answer = app.oneshot(request(method, &path, &headers, body)).await;
            let status = refused_politely_or_served(answer).await?;
            prop_assert_eq!(status, 404, "{} {}", method, path);
            Ok(())
        },
    );
    // Grace's device, stream and profile are as they were.
    bench.block_on(async {
        grace_tv.assert_signed_in().await;
        assert_eq!(grace_tv.streams_playing().await.len(), 1);
        assert_eq!(grace_tv.profile_names().await.len(), 2);
        let profiles = grace_tv.profiles().await;
        assert!(
            profiles["profiles"]
                .as_array()
                .expect("a list")
                .iter()
                .all(|p| p["locked"] == false && p["name"] != "Renamed"),
            "{profiles}"
        );
        ada_tv.assert_signed_in().await;
    });
}

/// The account pages a signed-out browser may ask for.
const PAGES: [(&str, &str); 9] = [
    ("GET", "/account"),
    ("GET", "/account/devices"),
    ("GET", "/account/devices/list"),
    ("GET", "/account/streams/list"),
    ("GET", "/account/activity"),
    ("GET", "/account/profiles"),
    ("GET", "/account/password"),
    ("GET", "/account/events"),
    ("POST", "/account/sign-out"),
];

#[test]
fn any_cookie_to_an_account_page_leads_to_sign_in_or_a_refusal() {
    let bench = PropertyBench::spawn_with(|_| {});
    let app = &bench.app;
    let ada = bench.block_on(app.account("ada"));
    let page = bench.block_on(ada.page_session());
    let real = page.cookie.clone();
    let cookie = prop_oneof![
        "[ -~]{0,60}",
        "[ -~]{0,40}".prop_map(|v| format!("__Host-usher_session={v}")),
        ("[ -~]{0,8}", "[ -~]{0,8}").prop_map(move |(a, b)| format!("{a}{real}{b}")),
        "[a-z_]{1,12}=[!-~]{0,20}(; [a-z_]{1,12}=[!-~]{0,20}){0,3}",
    ];
    bench.check(
        (prop::sample::select(&PAGES[..]), cookie),
        async |((method, path), cookie)| {
            let headers = [("cookie", cookie.as_str())];
            let answer = app
                .oneshot(request(method, path, &headers, Vec::new()))
                .await;
            let status = answer.status().as_u16();
            let location = header(&answer, "location");
            let signed_in = cookie.contains(page.cookie.as_str());
            match status {
                303 => prop_assert!(
                    location.starts_with("/account/sign-in") || signed_in,
                    "{} {} → 303 {}",
                    method,
                    path,
                    location
                ),
                200 => prop_assert!(
                    signed_in,
                    "{} {} answered 200 to {:?}",
                    method,
                    path,
                    cookie
                ),
                400..=499 => {}
                _ => prop_assert!(
                    false,
                    "{} {} answered {} to {:?}",
                    method,
                    path,
                    status,
                    cookie
                ),
            }
            Ok(())
        },
    );
}

/// A frame a device might send, and the close code it earns (`None`: it
/// is ignored and the connection goes on).
#[derive(Debug, Clone)]
enum DeviceFrame {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    TooBig(Vec<u8>, bool),
    NotUtf8(Vec<u8>),
}

impl DeviceFrame {
    fn earns(&self) -> Option<u16> {
        match self {
            DeviceFrame::TooBig(..) => Some(1009),
            DeviceFrame::NotUtf8(_) => Some(1007),
            _ => None,
        }
    }

    fn message(self) -> Message {
        match self {
            DeviceFrame::Text(text) => Message::text(text),
            DeviceFrame::Binary(bytes) => Message::binary(bytes),
            DeviceFrame::Ping(bytes) => Message::Ping(bytes.into()),
            DeviceFrame::Pong(bytes) => Message::Pong(bytes.into()),
            DeviceFrame::TooBig(bytes, true) => Message::binary(bytes),
            DeviceFrame::TooBig(bytes, false) => {
                Message::text(String::from_utf8_lossy(&bytes).into_owned())
            }
            DeviceFrame::NotUtf8(bytes) => {
                Message::Frame(Frame::message(bytes, OpCode::Data(Data::Text), true))
            }
        }
    }
}

fn device_frame() -> impl Strategy<Value = DeviceFrame> {
    // Sizes keep clear of the 4 KiB limit: well under it, or over it.
    prop_oneof![
        3 => ".{0,600}".prop_map(DeviceFrame::Text),
        2 => prop::collection::vec(any::<u8>(), 0..2048).prop_map(DeviceFrame::Binary),
        1 => prop::collection::vec(any::<u8>(), 0..125).prop_map(DeviceFrame::Ping),
        1 => prop::collection::vec(any::<u8>(), 0..125).prop_map(DeviceFrame::Pong),
        1 => (prop::collection::vec(b'a'..=b'z', 4200..6000), any::<bool>())
            .prop_map(|(bytes, binary)| DeviceFrame::TooBig(bytes, binary)),
        1 => (".{0,40}", prop::collection::vec(0x80u8..=0xFF, 1..4)).prop_map(|(text, bad)| {
            let mut bytes = text.into_bytes();
            // A lone continuation or lead byte is never UTF-8 at the end.
            bytes.extend(bad);
            bytes.push(0xFF);
            DeviceFrame::NotUtf8(bytes)
        }),
    ]
}

#[test]
fn any_frames_from_a_device_are_ignored_or_close_it_and_nobody_else() {
    let bench = PropertyBench::spawn_with(|_| {});
    let app = &bench.app;
    let (tv, phone) = bench.block_on(async {
        let ada = app.account("ada").await;
        let tv = ada.sign_in("TV", DeviceType::Tv).await;
        let phone = ada.sign_in("Phone", DeviceType::Phone).await;
        (tv, phone)
    });
    let renames = std::cell::Cell::new(0);
    // A well-behaved page of the same account, watching all along.
    // Each case borrows it in turn (cases share the property by reference).
    let bystander = tokio::sync::Mutex::new(bench.block_on(phone.watch_devices()));
    let frames = prop::collection::vec(device_frame(), 1..4);
    bench.check(frames, async |frames| {
        let expected = frames.iter().find_map(DeviceFrame::earns);
        let request = tv
            .client
            .live_request(LiveAuth::Header, true)
            .expect("a request");
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| TestCaseError::fail(format!("the channel opens: {e}")))?;
        let hello = socket.next().await;
        prop_assert!(matches!(hello, Some(Ok(Message::Text(_)))), "{:?}", hello);
        for frame in frames {
            // The server may have closed already: later sends may fail.
            if socket.send(frame.message()).await.is_err() {
                break;
            }
        }
        // A change every watching connection hears of, once.
        renames.set(renames.get() + 1);
        phone
            .client
            .rename_device(phone.session_id(), &format!("Phone {}", renames.get()))
            .await
            .expect("renamed");
        let mut heard = None;
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Text(_) if expected.is_none() => {
                    heard = Some(1000);
                    break;
                }
                Message::Close(frame) => {
                    heard = Some(frame.map_or(1005, |f| f.code.into()));
                    break;
                }
                _ => {}
            }
        }
        prop_assert_eq!(heard, Some(expected.unwrap_or(1000)));
        let _ = socket.close(None).await;
        // The bystander heard of the change, as always.
        let mut bystander = bystander.lock().await;
        loop {
            match bystander.next().await {
                LiveEvent::DevicesChanged => break,
                other => prop_assert!(false, "the bystander got {}", other),
            }
        }
        bystander.expect_nothing_yet();
        Ok(())
    });
}
