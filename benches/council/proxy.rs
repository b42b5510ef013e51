//! A counting reverse proxy between the daemon and the sandbox: every API call the daemon
//! makes passes through it and is counted by service (Jira: paths under `/rest/`; GitHub:
//! the rest) and kind (reads: GET/HEAD and Jira's POST searches; writes: everything else). The sandbox only counts
//! Jira writes, so this is where reads and GitHub's calls are seen. URLs in answers
//! (`Link` pagination, `url` fields) are rewritten to the proxy so follow-up calls are
//! counted too. GitHub GraphQL queries count as reads, mutations as writes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Calls seen so far.
#[derive(Debug, Default)]
pub struct Counts {
    github_reads: AtomicU64,
    github_writes: AtomicU64,
    jira_reads: AtomicU64,
    jira_writes: AtomicU64,
}

/// A copy of [`Counts`] at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub github_reads: u64,
    pub github_writes: u64,
    pub jira_reads: u64,
    pub jira_writes: u64,
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Snapshot) -> Snapshot {
        Snapshot {
            github_reads: self.github_reads - earlier.github_reads,
            github_writes: self.github_writes - earlier.github_writes,
            jira_reads: self.jira_reads - earlier.jira_reads,
            jira_writes: self.jira_writes - earlier.jira_writes,
        }
    }

    /// Every call.
    pub fn total(self) -> u64 {
        self.github_reads + self.github_writes + self.jira_reads + self.jira_writes
    }
}

impl Counts {
    /// The counts now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            github_reads: self.github_reads.load(Ordering::SeqCst),
            github_writes: self.github_writes.load(Ordering::SeqCst),
            jira_reads: self.jira_reads.load(Ordering::SeqCst),
            jira_writes: self.jira_writes.load(Ordering::SeqCst),
        }
    }
}

/// One call as the proxy saw it: when it came in and when its answer went out.
#[derive(Debug, Clone)]
pub struct Call {
    pub start: Instant,
    pub end: Instant,
    /// `METHOD /path` (query left out).
    pub what: String,
}

/// Every call seen, in the order their answers went out.
#[derive(Debug, Default)]
pub struct Trace(Mutex<Vec<Call>>);

impl Trace {
    /// The calls that started in `[from, to]`.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<Call> {
        let mut calls: Vec<Call> = self
            .0
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|c| c.start >= from && c.start <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        calls.sort_by_key(|c| c.start);
        calls
    }
}

/// How long at least one call was in flight between `from` and `to` (the union of the
/// calls' spans, clipped to the window).
pub fn busy(calls: &[Call], from: Instant, to: Instant) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    let mut covered = from;
    for c in calls {
        let (s, e) = (c.start.max(covered), c.end.min(to));
        if e > s {
            total += e - s;
            covered = e;
        }
    }
    total
}

struct Proxy {
    upstream: String,
    own: String,
    client: reqwest::Client,
    counts: Arc<Counts>,
    trace: Arc<Trace>,
}

/// A running proxy.
pub struct Running {
    /// `http://ADDR` to give the daemon as its GitHub and Jira base URL.
    pub url: String,
    pub counts: Arc<Counts>,
    /// Each call's span, for where the time of a flow goes.
    pub trace: Arc<Trace>,
}

/// Starts a proxy to `upstream` (the sandbox's base URL) on a free loopback port.
pub async fn start(upstream: &str) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
    let counts = Arc::new(Counts::default());
    let trace = Arc::new(Trace::default());
    let proxy = Arc::new(Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        own: url.clone(),
        client: council_sync::crypto::http_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client"),
        counts: counts.clone(),
        trace: trace.clone(),
    });
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running { url, counts, trace }
}

/// Jira searches sent as POST (`/search/jql`, `/search`, Agile's too) read, they do not write.
fn is_search(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path.starts_with("/rest/") && (path.ends_with("/search") || path.ends_with("/search/jql"))
}

/// A GitHub GraphQL `POST /graphql` whose document is a query (not a mutation) reads: how
/// GitHub Projects' calls are counted once that tracker is wired (GitHub counts query and
/// mutation the same way against its points, but only mutations write).
fn is_graphql_query(path: &str, body: &[u8]) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    if !path.ends_with("/graphql") {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    // The first line that is not blank or a `#` comment opens the operation.
    let first = v["query"]
        .as_str()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    !first.starts_with("mutation")
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "proxy: body too large").into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let jira = path.starts_with("/rest/");
    let write = !matches!(parts.method.as_str(), "GET" | "HEAD")
        && !is_search(path)
        && !is_graphql_query(path, &bytes);
    let counter = match (jira, write) {
        (false, false) => &p.counts.github_reads,
        (false, true) => &p.counts.github_writes,
        (true, false) => &p.counts.jira_reads,
        (true, true) => &p.counts.jira_writes,
    };
    counter.fetch_add(1, Ordering::SeqCst);
    let mut out = p
        .client
        .request(parts.method.clone(), format!("{}{path}", p.upstream));
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    let answer = match out.body(bytes).send().await {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap_or_default();
    let body = match std::str::from_utf8(&body) {
        Ok(text) if text.contains(&p.upstream) => {
            bytes::Bytes::from(text.replace(&p.upstream, &p.own))
        }
        _ => body,
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        let value = match value.to_str() {
            Ok(v) if name == header::LINK && v.contains(&p.upstream) => {
                HeaderValue::from_str(&v.replace(&p.upstream, &p.own))
                    .unwrap_or_else(|_| value.clone())
            }
            _ => value.clone(),
        };
        response.headers_mut().append(name, value);
    }
    if let Ok(mut calls) = p.trace.0.lock() {
        calls.push(Call {
            start,
            end: Instant::now(),
            what: format!(
                "{} {}",
                parts.method,
                path.split('?').next().unwrap_or(path)
            ),
        });
    }
    response
}
