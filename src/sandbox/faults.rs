//! Fault injection, applied as a layer over every API route (GitHub and Jira).
//!
//! A fault matches requests by method and path regex. The next `times` matches (every match
//! when `times` is omitted) either get an error status (with `Retry-After` when asked) or are
//! *held* before reaching the handler until the fault is released. Held requests let a test
//! kill the daemon mid-call deterministically: `GET /_sandbox/faults/{id}/held` long-polls
//! until a request is being held, and a held request that is never released never reaches
//! its handler, so it has no side effect. Two faults model a write whose outcome the client
//! never learns: `hold_answer` runs the handler (the write happens) and holds the answer
//! (a kill then lands between the request and its answer), `lose_answer` runs the handler
//! and answers an error instead. `skip: N` spares the first N matches, so a seeded schedule
//! can aim at "the Nth request". `/_sandbox/` control routes are never faulted, so
//! a test cannot lock itself out. All waits use one `watch` generation counter: any change
//! to the fault table wakes the waiters, who re-check their condition.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Why a fault could not be created.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// `path_regex` does not compile.
    #[error("path_regex is not a valid regex: {0}")]
    Regex(#[from] regex::Error),
    /// `method` is not an HTTP method.
    #[error("method {0:?} is not an HTTP method")]
    Method(String),
    /// `status` is not an HTTP status.
    #[error("status {0} is not an HTTP status")]
    Status(u16),
    /// Neither `status` nor `hold` nor `lose_answer`: the fault would do nothing.
    #[error("a fault needs a status, hold: true or lose_answer: true")]
    Inert,
    /// More than one of `hold`, `lose_answer`, `hold_answer`: each says what happens to
    /// the request in its own way.
    #[error("hold, hold_answer and lose_answer are exclusive")]
    HoldAndLose,
}

/// `POST /_sandbox/faults` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Only requests with this method (any when absent).
    pub method: Option<String>,
    /// Regex matched against the request path (without the query).
    pub path_regex: String,
    /// Status answered instead of calling the handler.
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status`.
    pub retry_after: Option<u64>,
    /// With `status`: GitHub's spent primary limit, `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` this many seconds from now (as GitHub answers a spent limit).
    #[serde(default)]
    pub ratelimit_reset_in: Option<u64>,
    /// How many matching requests are affected; every one when absent.
    pub times: Option<u32>,
    /// Hold matching requests until released.
    #[serde(default)]
    pub hold: bool,
    /// Let the request reach its handler (the write happens), then answer `status`
    /// (default 502) instead of the handler's answer: a lost answer, as when a proxy or the
    /// connection fails after the server acted.
    #[serde(default)]
    pub lose_answer: bool,
    /// Let this many matching requests through untouched before the fault applies: "the
    /// Nth request" of a seeded schedule.
    pub skip: Option<u32>,
    /// Let the request reach its handler (the write happens), then hold its answer until
    /// released: a client killed meanwhile never learns the outcome of a write that did
    /// happen (a crash between the request and its answer).
    #[serde(default)]
    pub hold_answer: bool,
}

/// A fault as the control API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FaultView {
    /// Id used in `/_sandbox/faults/{id}`.
    pub id: u64,
    /// What it was created with.
    pub spec: FaultSpec,
    /// Requests it has affected so far.
    pub hits: u32,
    /// Requests being held right now.
    pub held: u32,
    /// Whether `release` was called (held requests went on; later ones are not held).
    pub released: bool,
}

struct Fault {
    spec: FaultSpec,
    /// Matching requests let through because of `skip`.
    skipped: u32,
    regex: Regex,
    method: Option<Method>,
    hits: u32,
    held: u32,
    released: bool,
}

impl Fault {
    fn view(&self, id: u64) -> FaultView {
        FaultView {
            id,
            spec: self.spec.clone(),
            hits: self.hits,
            held: self.held,
            released: self.released,
        }
    }
    fn spent(&self) -> bool {
        self.spec.times.is_some_and(|t| self.hits >= t)
    }
}

/// What the layer does with one request.
enum Verdict {
    Pass,
    Fail {
        status: StatusCode,
        retry_after: Option<u64>,
        reset_in: Option<u64>,
    },
    Hold(u64),
    HoldAnswer(u64),
    LoseAnswer(StatusCode),
}

/// The fault table.
pub struct Faults {
    table: Mutex<Table>,
    generation: watch::Sender<u64>,
    /// Every API request that reached the layer (faulted or not).
    pub requests: super::requests::RequestLog,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    faults: BTreeMap<u64, Fault>,
    closed: bool,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            table: Mutex::new(Table::default()),
            generation: watch::channel(0).0,
            requests: super::requests::RequestLog::default(),
        }
    }
}

impl Faults {
    fn with<T>(&self, f: impl FnOnce(&mut Table) -> T) -> T {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut table)
    }

    fn changed(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Adds a fault; returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        let regex = Regex::new(&spec.path_regex)?;
        let method = match &spec.method {
            Some(m) => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| FaultError::Method(m.clone()))?,
            ),
            None => None,
        };
        if let Some(s) = spec.status {
            StatusCode::from_u16(s).map_err(|_| FaultError::Status(s))?;
        } else if !spec.hold && !spec.lose_answer && !spec.hold_answer {
            return Err(FaultError::Inert);
        }
        if [spec.hold, spec.lose_answer, spec.hold_answer]
            .iter()
            .filter(|b| **b)
            .count()
            > 1
        {
            return Err(FaultError::HoldAndLose);
        }
        let id = self.with(|t| {
            t.next_id += 1;
            let id = t.next_id;
            t.faults.insert(
                id,
                Fault {
                    spec,
                    skipped: 0,
                    regex,
                    method,
                    hits: 0,
                    held: 0,
                    released: false,
                },
            );
            id
        });
        self.changed();
        Ok(id)
    }

    /// The fault's state, if it exists.
    pub fn get(&self, id: u64) -> Option<FaultView> {
        self.with(|t| t.faults.get(&id).map(|f| f.view(id)))
    }

    /// Every fault.
    pub fn list(&self) -> Vec<FaultView> {
        self.with(|t| t.faults.iter().map(|(id, f)| f.view(*id)).collect())
    }

    /// Removes a fault; requests it holds go on to their handlers.
    pub fn remove(&self, id: u64) -> bool {
        let removed = self.with(|t| t.faults.remove(&id).is_some());
        self.changed();
        removed
    }

    /// Lets the requests the fault holds go on, and stops holding new ones.
    pub fn release(&self, id: u64) -> Option<FaultView> {
        let view = self.with(|t| {
            t.faults.get_mut(&id).map(|f| {
                f.released = true;
                f.view(id)
            })
        });
        self.changed();
        view
    }

    /// Stops the sandbox's held requests without calling their handlers (shutdown).
    pub fn close(&self) {
        self.with(|t| t.closed = true);
        self.changed();
    }

    /// Waits until the fault holds a request, or `timeout`; `None` if there is no such fault.
    pub async fn wait_held(&self, id: u64, timeout: Duration) -> Option<FaultView> {
        let mut rx = self.generation.subscribe();
        let check = |_: &u64| self.with(|t| t.faults.get(&id).is_none_or(|f| f.held > 0));
        let _ = tokio::time::timeout(timeout, rx.wait_for(check)).await;
        self.get(id)
    }

    fn verdict(&self, method: &Method, path: &str) -> Verdict {
        let verdict = self.with(|t| {
            for (id, f) in t.faults.iter_mut() {
                let method_ok = f.method.as_ref().is_none_or(|m| m == method);
                let holds = f.spec.hold || f.spec.hold_answer;
                if !method_ok || f.spent() || !f.regex.is_match(path) || (holds && f.released) {
                    continue;
                }
                if f.skipped < f.spec.skip.unwrap_or(0) {
                    f.skipped += 1;
                    continue;
                }
                f.hits += 1;
                if f.spec.lose_answer {
                    let status = f
                        .spec
                        .status
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .unwrap_or(StatusCode::BAD_GATEWAY);
                    return Verdict::LoseAnswer(status);
                }
                if f.spec.hold {
                    f.held += 1;
                    return Verdict::Hold(*id);
                }
                if f.spec.hold_answer {
                    return Verdict::HoldAnswer(*id);
                }
                let status = f
                    .spec
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return Verdict::Fail {
                    status,
                    retry_after: f.spec.retry_after,
                    reset_in: f.spec.ratelimit_reset_in,
                };
            }
            Verdict::Pass
        });
        if !matches!(verdict, Verdict::Pass) {
            self.changed();
        }
        verdict
    }

    /// Waits until the fault is released or removed (`true`) or the sandbox closes (`false`).
    async fn hold(&self, id: u64) -> bool {
        let _guard = HeldGuard { faults: self, id };
        let mut rx = self.generation.subscribe();
        let state =
            |_: &u64| self.with(|t| t.closed || t.faults.get(&id).is_none_or(|f| f.released));
        if rx.wait_for(state).await.is_err() {
            return false;
        }
        !self.with(|t| t.closed)
    }
}

/// Counts a held request down when it stops waiting, also when its client went away.
struct HeldGuard<'a> {
    faults: &'a Faults,
    id: u64,
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        self.faults.with(|t| {
            if let Some(f) = t.faults.get_mut(&self.id) {
                f.held = f.held.saturating_sub(1);
            }
        });
        self.faults.changed();
    }
}

/// The layer: `axum::middleware::from_fn_with_state(faults, faults::layer)`.
pub async fn layer(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_sandbox/") {
        return next.run(req).await;
    }
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or(path.as_str(), |p| p.as_str());
    faults.requests.record(req.method(), path_and_query);
    match faults.verdict(req.method(), &path) {
        Verdict::Pass => next.run(req).await,
        Verdict::Fail {
            status,
            retry_after,
            reset_in,
        } => {
            let mut resp = error_response(&path, status, retry_after);
            if let Some(secs) = reset_in {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let h = resp.headers_mut();
                h.insert("x-ratelimit-remaining", HeaderValue::from(0u64));
                h.insert("x-ratelimit-reset", HeaderValue::from(now + secs));
            }
            resp
        }
        Verdict::HoldAnswer(id) => {
            let answer = next.run(req).await;
            faults.with(|t| {
                if let Some(f) = t.faults.get_mut(&id) {
                    f.held += 1;
                }
            });
            faults.changed();
            if faults.hold(id).await {
                answer
            } else {
                error_response(&path, StatusCode::SERVICE_UNAVAILABLE, None)
            }
        }
        Verdict::LoseAnswer(status) => {
            let done = next.run(req).await;
            tracing::debug!(%path, served = done.status().as_u16(), "sandbox fault: answer lost");
            error_response(&path, status, None)
        }
        Verdict::Hold(id) => {
            if faults.hold(id).await {
                next.run(req).await
            } else {
                error_response(&path, StatusCode::SERVICE_UNAVAILABLE, None)
            }
        }
    }
}

/// The error body each service would send: Jira's for `/rest/`, GitHub's otherwise.
fn error_response(path: &str, status: StatusCode, retry_after: Option<u64>) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = if path.starts_with("/rest/") {
        serde_json::json!({ "errorMessages": [format!("{reason} (sandbox fault)")], "errors": {} })
    } else {
        serde_json::json!({
            "message": if status == StatusCode::TOO_MANY_REQUESTS {
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.".to_string()
            } else {
                format!("{reason} (sandbox fault)")
            },
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        })
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str) -> FaultSpec {
        FaultSpec {
            method: None,
            path_regex: path.into(),
            status: Some(503),
            retry_after: None,
            ratelimit_reset_in: None,
            times: Some(1),
            hold: false,
            lose_answer: false,
            skip: None,
            hold_answer: false,
        }
    }

    #[test]
    fn skip_lets_the_first_matches_through_and_lose_answer_is_its_own_verdict() {
        let f = Faults::default();
        let id = f
            .add(FaultSpec {
                status: None,
                lose_answer: true,
                skip: Some(2),
                ..spec("^/rest/")
            })
            .expect("valid");
        for _ in 0..2 {
            assert!(matches!(f.verdict(&Method::POST, "/rest/x"), Verdict::Pass));
        }
        assert!(matches!(
            f.verdict(&Method::POST, "/rest/x"),
            Verdict::LoseAnswer(StatusCode::BAD_GATEWAY)
        ));
        assert!(
            matches!(f.verdict(&Method::POST, "/rest/x"), Verdict::Pass),
            "times: 1"
        );
        assert_eq!(f.get(id).map(|v| v.hits), Some(1));
        assert!(matches!(
            f.add(FaultSpec {
                hold: true,
                lose_answer: true,
                ..spec("x")
            }),
            Err(FaultError::HoldAndLose)
        ));
    }

    #[test]
    fn counts_times_and_matches_method() {
        let f = Faults::default();
        let id = f
            .add(FaultSpec {
                method: Some("post".into()),
                ..spec("^/repos/")
            })
            .expect("valid");
        assert!(matches!(
            f.verdict(&Method::GET, "/repos/a/b"),
            Verdict::Pass
        ));
        assert!(matches!(
            f.verdict(&Method::POST, "/repos/a/b"),
            Verdict::Fail { .. }
        ));
        assert!(matches!(
            f.verdict(&Method::POST, "/repos/a/b"),
            Verdict::Pass
        ));
        assert_eq!(f.get(id).map(|v| v.hits), Some(1));
    }

    #[test]
    fn rejects_bad_specs() {
        let f = Faults::default();
        assert!(matches!(f.add(spec("(")), Err(FaultError::Regex(_))));
        assert!(matches!(
            f.add(FaultSpec {
                status: None,
                ..spec("x")
            }),
            Err(FaultError::Inert)
        ));
        assert!(matches!(
            f.add(FaultSpec {
                status: Some(1000),
                ..spec("x")
            }),
            Err(FaultError::Status(1000))
        ));
    }
}
