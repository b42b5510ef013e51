//! The HTTP server: webhook receivers and health endpoints.
//!
//! Built as a plain `Router` so tests drive it in-process (`tower::ServiceExt::oneshot`) and
//! `serve` runs it with graceful shutdown: on the shutdown signal it stops accepting and
//! lets requests in flight (a delivery waiting for its commit) finish.
//!
//! The request log names the path with the Data Center webhook token replaced (see
//! [`logged_path`]): the token is a credential, and `TraceLayer`'s default span would
//! record the full URI.

mod error;
mod github;
mod jira;

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::config::Scope;
use crate::health::Health;
use crate::store::{InboxWriter, Store};

/// Largest webhook body accepted: GitHub caps deliveries at 25 MB and drops larger ones, so
/// anything bigger is not GitHub; it gets 413 before the signature is even computed. Jira's
/// bodies are far smaller; the same bound applies.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// How long `/readyz` waits for the store before answering 503: inside Kubernetes' default
/// probe timeout (1 s), so a slow store reads as "not ready" rather than as a probe
/// timeout; a store that slow could not take deliveries in time either.
const READY_TIMEOUT: Duration = Duration::from_millis(900);

/// Prefix of the Data Center receiver; what follows it in a path is the token.
const JIRA_TOKEN_PREFIX: &str = "/webhooks/jira/";

/// What the handlers share. `SecretString`'s `Debug` redacts, so logging the state never
/// shows a secret or a token.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// Where accepted deliveries go (committed before the 202).
    pub inbox: InboxWriter,
    /// Key of `X-Hub-Signature-256`.
    pub github_secret: SecretString,
    /// Key of Jira Cloud's `X-Hub-Signature`; `None` turns `POST /webhooks/jira` off (404).
    pub jira_secret: Option<SecretString>,
    /// The Data Center URL token; `None` turns `POST /webhooks/jira/{token}` off (404).
    pub jira_token: Option<SecretString>,
    /// Repositories and Jira projects whose deliveries are stored; others get 202 `ignored`.
    pub scope: Scope,
}

/// The daemon's routes: `POST /webhooks/github`, `POST /webhooks/jira`,
/// `POST /webhooks/jira/{token}`, `GET /healthz`, `GET /readyz`, `GET /status`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/webhooks/github", post(github::receive))
        .route("/webhooks/jira", post(jira::receive_signed))
        .route("/webhooks/jira/{token}", post(jira::receive_with_token))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                tracing::debug_span!(
                    "request",
                    method = %req.method(),
                    path = %logged_path(req.uri().path()),
                )
            }),
        )
        .with_state(Arc::new(state))
}

/// The path as it may appear in a log: the Data Center token (and anything after it)
/// replaced, the query left out (it is never needed to follow a request).
fn logged_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix(JIRA_TOKEN_PREFIX) {
        Some(rest) if !rest.is_empty() => Cow::Owned(format!("{JIRA_TOKEN_PREFIX}<token>")),
        _ => Cow::Borrowed(path),
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Liveness: the process answers HTTP.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: a delivery could be stored now (the inbox writer runs and the database
/// answers). 503 otherwise, so a load balancer sends webhooks to another replica and
/// GitHub/Jira redeliver instead of getting 503s from the receiver itself.
async fn readyz(State(state): State<Arc<ServerState>>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_TIMEOUT, state.inbox.ready()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
        Err(_) => {
            tracing::warn!("not ready: store did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}

/// `GET /status`: the backlog (deliveries to decide, writes to make), so an operator or a
/// test can tell a daemon that is caught up from one that is behind; and, when the daemon
/// put its [`Health`] and [`Store`] in the router (as `Extension`s), whether the engine acts on stored
/// work, each dependency's health (`ok`, `since_ms`, `error`) and the tracker creates parked
/// because an earlier attempt's outcome is still unknown:
///
/// ```json
/// {"pending_deliveries": 3, "pending_writes": 0, "engine": "waiting_for_dependencies",
///  "dependencies": {"github": {"ok": false, "since_ms": 1764464000000,
///                   "error": "GitHub answered 503 …", "checked_ms": 1764464004000}},
///  "parked_creates": 0}
/// ```
async fn status(
    State(state): State<Arc<ServerState>>,
    health: Option<axum::Extension<Arc<Health>>>,
    store: Option<axum::Extension<Store>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let backlog = match state.inbox.backlog().await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "status: store unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
        }
    };
    let mut body = serde_json::json!({"pending_deliveries": backlog.deliveries,
                                      "pending_writes": backlog.writes,
                                      "parked_jobs": backlog.parked});
    if let Some(axum::Extension(health)) = health {
        body["engine"] = serde_json::json!(if health.engine_running() {
            "running"
        } else {
            "waiting_for_dependencies"
        });
        body["dependencies"] = serde_json::json!(health.snapshot());
    }
    if let Some(axum::Extension(store)) = store {
        match store.parked_create_count().await {
            Ok(n) => body["parked_creates"] = serde_json::json!(n),
            Err(e) => tracing::warn!(error = %e, "status: cannot count parked creates"),
        }
    }
    axum::Json(body).into_response()
}

#[cfg(test)]
mod tests;
