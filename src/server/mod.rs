//! The HTTP server: webhook receivers and health endpoints.
//!
//! Built as a plain `Router` so tests drive it in-process (`tower::ServiceExt::oneshot`) and
//! `serve` runs it with graceful shutdown: on the shutdown signal it stops accepting and
//! lets requests in flight (a delivery waiting for its commit) finish.

mod error;
mod github;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::store::InboxWriter;

/// Largest webhook body accepted: GitHub caps deliveries at 25 MB and drops larger ones, so
/// anything bigger is not GitHub; it gets 413 before the signature is even computed.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ServerState {
    /// Where accepted deliveries go (committed before the 202).
    pub inbox: InboxWriter,
    /// Key of `X-Hub-Signature-256`; `SecretString`'s `Debug` redacts it, so it never
    /// reaches a log.
    pub github_secret: SecretString,
}

/// The daemon's routes: `POST /webhooks/github`, `GET /healthz`.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/webhooks/github", post(github::receive))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
        .layer(TraceLayer::new_for_http())
        .with_state(Arc::new(state))
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

#[cfg(test)]
mod tests;
