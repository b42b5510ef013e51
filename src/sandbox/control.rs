//! Sandbox-wide control routes: the change feed long-poll, the webhook target, the delivery
//! log and drop switch, and fault injection.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::faults::{FaultSpec, Faults};
use super::feed::ChangeFeed;
use super::webhooks::Deliveries;

/// Longest long-poll a caller may ask for; keeps shutdown prompt and sockets from idling out.
const MAX_POLL: Duration = Duration::from_secs(60);
/// Long-poll used when the caller gives no `timeout_ms`.
const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// What the control routes act on.
#[derive(Debug, Clone)]
pub struct ControlState {
    /// The change counter.
    pub feed: ChangeFeed,
    /// The webhook deliveries.
    pub deliveries: Deliveries,
    /// The fault table.
    pub faults: Arc<Faults>,
}

type Ctl = State<ControlState>;

/// The routes.
pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/_sandbox/changes", get(changes))
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/webhooks", post(set_webhook))
        .route("/_sandbox/webhooks/drop", put(set_drop))
        .route("/_sandbox/faults", post(add_fault).get(list_faults))
        .route("/_sandbox/faults/{id}", get(get_fault).delete(delete_fault))
        .route("/_sandbox/faults/{id}/release", post(release_fault))
        .route("/_sandbox/faults/{id}/held", get(held))
        .route("/_sandbox/requests", get(requests))
        .with_state(state)
}

fn bad(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "message": msg.to_string() })),
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "message": "Not Found" })),
    )
        .into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| Box::new(bad(e)))
}

#[derive(Deserialize)]
struct Poll {
    after: Option<u64>,
    timeout_ms: Option<u64>,
}

fn poll_timeout(ms: Option<u64>) -> Duration {
    ms.map(Duration::from_millis)
        .unwrap_or(DEFAULT_POLL)
        .min(MAX_POLL)
}

async fn changes(State(s): Ctl, Query(p): Query<Poll>) -> Response {
    let version = match p.after {
        Some(after) => s.feed.wait_after(after, poll_timeout(p.timeout_ms)).await,
        None => s.feed.version(),
    };
    axum::Json(json!({ "version": version })).into_response()
}

async fn deliveries(State(s): Ctl) -> Response {
    axum::Json(s.deliveries.log()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    url: Option<String>,
    secret: Option<String>,
}

async fn set_webhook(State(s): Ctl, body: Bytes) -> Response {
    let t: Target = match parse(&body) {
        Ok(t) => t,
        Err(resp) => return *resp,
    };
    if let Some(u) = &t.url
        && url::Url::parse(u).is_err()
    {
        return bad(format!("url {u:?} is not a URL"));
    }
    let has_secret = t.secret.is_some();
    s.deliveries
        .set_target(t.url.clone(), t.secret.map(SecretString::from));
    axum::Json(json!({ "url": t.url, "secret_set": has_secret })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Drop {
    drop: bool,
}

async fn set_drop(State(s): Ctl, body: Bytes) -> Response {
    match parse::<Drop>(&body) {
        Ok(d) => {
            s.deliveries.set_drop(d.drop);
            axum::Json(json!({ "drop": d.drop })).into_response()
        }
        Err(resp) => *resp,
    }
}

async fn add_fault(State(s): Ctl, body: Bytes) -> Response {
    let spec: FaultSpec = match parse(&body) {
        Ok(spec) => spec,
        Err(resp) => return *resp,
    };
    match s.faults.add(spec) {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response(),
        Err(err) => bad(err),
    }
}

async fn list_faults(State(s): Ctl) -> Response {
    axum::Json(s.faults.list()).into_response()
}

async fn get_fault(State(s): Ctl, Path(id): Path<u64>) -> Response {
    s.faults
        .get(id)
        .map(|v| axum::Json(v).into_response())
        .unwrap_or_else(not_found)
}

async fn delete_fault(State(s): Ctl, Path(id): Path<u64>) -> Response {
    if s.faults.remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    }
}

async fn release_fault(State(s): Ctl, Path(id): Path<u64>) -> Response {
    s.faults
        .release(id)
        .map(|v| axum::Json(v).into_response())
        .unwrap_or_else(not_found)
}

#[derive(Deserialize)]
struct HeldPoll {
    timeout_ms: Option<u64>,
}

async fn held(State(s): Ctl, Path(id): Path<u64>, Query(p): Query<HeldPoll>) -> Response {
    match s.faults.wait_held(id, poll_timeout(p.timeout_ms)).await {
        Some(v) => axum::Json(v).into_response(),
        None => not_found(),
    }
}

#[derive(Debug, Deserialize)]
struct RequestsQuery {
    after: Option<u64>,
}

/// `GET /_sandbox/requests?after=SEQ`: the counters since the start (`total`,
/// `github_reads`, `github_writes`, `jira_reads`, `jira_writes`) and the API requests served
/// after `SEQ` (`seq`, `method`, `path` with its query, `service`), oldest first.
async fn requests(State(s): Ctl, Query(q): Query<RequestsQuery>) -> Response {
    let (counts, listed) = s.faults.requests.since(q.after.unwrap_or(0));
    axum::Json(json!({ "counts": counts, "requests": listed })).into_response()
}
