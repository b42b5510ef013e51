//! The council board: `GET /` on its own listener (`[server.board] listen`, loopback by
//! default), apart from the webhook port that faces GitHub, because it shows issue titles
//! that may be private. Put it behind the company's login with an auth proxy (README "The
//! board").
//!
//! * [`model`]: the columns, lead times, acceptance rate and results, from the store's
//!   snapshot (pure);
//! * [`render`] and [`chart`]: the HTML page and its SVG chart;
//! * [`titles`]: issue titles from GitHub, cached.

pub mod chart;
pub mod model;
pub mod render;
pub mod titles;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::agenda::Cadence;
use crate::config::AgendaConfig;
use crate::store::Store;

pub use model::{Board, BoardInput, build};
pub use titles::Titles;

/// What the board's handler reads.
#[derive(Debug)]
pub struct BoardState {
    /// The store (the truth of stages, history, decisions, stories, results).
    pub store: Store,
    /// Titles from GitHub.
    pub titles: Titles,
    /// `[agenda]`: the council's time zone and the next session.
    pub agenda: AgendaConfig,
}

/// The board's routes: `GET /`.
pub fn router(state: Arc<BoardState>) -> Router {
    Router::new().route("/", get(serve)).with_state(state)
}

/// Renders the board as of `at`, reading the store and (a bounded number of) titles.
///
/// # Errors
/// The store's, when the snapshot cannot be read.
pub async fn page(state: &BoardState, at: Timestamp) -> Result<String, crate::store::StoreError> {
    let concerns = state.store.council_snapshot().await?;
    let keys = concerns
        .iter()
        .map(|c| (c.concern.repo.clone(), c.concern.number))
        .collect();
    let issues = state.titles.get(keys).await;
    let tz = TimeZone::get(&state.agenda.time_zone).unwrap_or(TimeZone::UTC);
    let next_session = Cadence::from_config(&state.agenda)
        .ok()
        .and_then(|c| c.next_after(at).ok())
        .map(|s| s.starts.timestamp());
    Ok(render::page(&build(&BoardInput {
        concerns: &concerns,
        issues: &issues,
        at,
        tz: &tz,
        next_session,
    })))
}

async fn serve(State(state): State<Arc<BoardState>>) -> Response {
    match page(&state, Timestamp::now()).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "board: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests;
