//! `/account`: the overview (plan, devices, the streams playing now, open
//! alerts), its live-refresh stream list, and stopping a stream.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::auth::{Browser, CheckedForm, PageId};
use super::forms::{redirect_or_error, CsrfOnly};
use super::layout::{ago, error_page, render, Frame, Notice};
use crate::domain::{Millis, StreamId};
use crate::http::state::AppState;
use crate::store::ActiveStream;

/// An active stream as the overview shows it.
pub struct StreamRow {
    pub stream_id: StreamId,
    pub title: String,
    pub device_name: String,
    pub started: String,
}

impl StreamRow {
    pub fn new(stream: ActiveStream, now: Millis) -> Self {
        StreamRow {
            stream_id: stream.stream.id,
            title: stream.stream.title,
            device_name: stream.device_name,
            started: ago(stream.stream.started_at, now),
        }
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub frame: Frame,
    pub email: String,
    pub plan: String,
    pub max_streams: u32,
    pub devices_signed_in: u32,
    pub streams: Vec<StreamRow>,
    pub alerts: Vec<super::alerts::AlertBanner>,
}

pub async fn page(
    State(state): State<AppState>,
    browser: Browser,
    Query(notice): Query<Notice>,
) -> Response {
    let account = match state.accounts().overview(browser.session.account_id).await {
        Ok(account) => account,
        Err(e) => return error_page(e),
    };
    let streams = stream_rows(&state, account.active_streams);
    let alerts = super::alerts::banners(&state, &browser).await;
    render(
        StatusCode::OK,
        &OverviewPage {
            frame: Frame::page(browser.csrf, "overview", notice.text()),
            email: account.account.email.to_string(),
            plan: account.account.plan.0,
            max_streams: account.limits.max_streams,
            devices_signed_in: account.devices_signed_in,
            streams,
            alerts,
        },
    )
}

fn stream_rows(state: &AppState, streams: Vec<ActiveStream>) -> Vec<StreamRow> {
    let now = state.now();
    streams
        .into_iter()
        .map(|s| StreamRow::new(s, now))
        .collect()
}

#[derive(Template)]
#[template(path = "streams_list.html")]
pub struct StreamsFragment {
    pub frame: Frame,
    pub streams: Vec<StreamRow>,
    pub max_streams: u32,
}

/// The overview's stream list alone, for live refresh.
pub async fn streams(State(state): State<AppState>, browser: Browser) -> Response {
    match state.accounts().overview(browser.session.account_id).await {
        Ok(account) => render(
            StatusCode::OK,
            &StreamsFragment {
                frame: Frame::fragment(browser.csrf),
                max_streams: account.limits.max_streams,
                streams: stream_rows(&state, account.active_streams),
            },
        ),
        Err(e) => error_page(e),
    }
}

pub async fn stop_stream(
    State(state): State<AppState>,
    PageId(id): PageId<StreamId>,
    CheckedForm { browser, .. }: CheckedForm<CsrfOnly>,
) -> Response {
    let stopped = state.streams().stop(&browser.session, id).await;
    redirect_or_error(stopped, "/account?notice=stream_stopped")
}
