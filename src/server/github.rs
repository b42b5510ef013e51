//! `POST /webhooks/github`: verify → decode → store → answer.
//!
//! The answer comes only after the delivery is committed to the inbox, so a 202 means it
//! survives a crash; the engine processes it from there. Events we ignore are answered 202
//! without being stored, and so are deliveries about repositories outside the watched
//! [`Scope`](crate::config::Scope). Redeliveries (same `X-GitHub-Delivery`) are stored once.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{ApiError, ServerState};
use crate::github::webhook::{GithubEvent, Routed, decode_routed, signature};
use crate::store::{NewDelivery, Source, Submitted};

/// GitHub's signature header (HMAC-SHA256 of the body).
const SIGNATURE: &str = "x-hub-signature-256";
/// The event name (`issues`, `issue_comment`, `ping`, …).
const EVENT: &str = "x-github-event";
/// Unique per delivery, the same on a redelivery: the inbox's deduplication key.
const DELIVERY: &str = "x-github-delivery";

pub(super) async fn receive(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    signature::verify(
        state.github_secret.expose_secret().as_bytes(),
        &body,
        header(&headers, SIGNATURE),
    )?;
    let event = header(&headers, EVENT)
        .ok_or_else(|| ApiError::BadRequest("missing X-GitHub-Event header".into()))?;
    // One parse of the body for the event, its action and its repository.
    let Routed {
        event: decoded,
        repo: payload_repo,
    } = decode_routed(event, &body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let action = decoded.action_name().map(str::to_owned);
    let repo = match &decoded {
        GithubEvent::Issues(e) => Some(e.repo.as_str()),
        GithubEvent::IssueComment(c) => Some(c.repo.as_str()),
        GithubEvent::Ignored { .. } => None,
    };
    // With GitHub Projects as the tracker, stories changing (`issues` of a team
    // repository), `sub_issues` and `projects_v2_item` are the tracker's webhooks: stored
    // as tracker deliveries, which the tracker turns into cues. `issues.*` names its
    // repository even when the council ignores the action (`Ignored` carries none): the
    // decoding names it beside the event.
    let payload_repo = payload_repo.filter(|_| repo.is_some() || event == "issues");
    let for_tracker = state.scope.tracker_reads(event, payload_repo.as_deref());
    let source = match repo {
        // A concern repository that is also a team repository: the engine hands the
        // delivery to the tracker as well (`Engine::process_github`).
        Some(r) if state.scope.watches_repo(r) => Source::Github,
        _ if for_tracker => Source::Tracker,
        Some(r) => {
            // An organisation-wide hook or an App on every repository sends deliveries
            // about repositories we do not watch: answered, never stored or acted on.
            tracing::debug!(
                event,
                action = action.as_deref(),
                repo = r,
                "webhook ignored: repository not watched"
            );
            crate::metrics::count_ignored("github", "scope");
            return Ok(answer("ignored"));
        }
        None => {
            tracing::debug!(event, action = action.as_deref(), "webhook ignored");
            crate::metrics::count_ignored("github", "event");
            return Ok(answer("ignored"));
        }
    };
    let delivery_id = header(&headers, DELIVERY)
        .ok_or_else(|| ApiError::BadRequest("missing X-GitHub-Delivery header".into()))?;
    // What the engine's round needs to place it among its runs, from this parse: stored
    // beside the body so the engine does not decode it again unless it acts on it.
    let routing = match source {
        Source::Github => crate::engine::coalesce::routing_of(&decoded),
        Source::Tracker => None,
    };
    let submitted = state
        .inbox
        .submit_routed(
            NewDelivery {
                source,
                delivery_id: delivery_id.to_owned(),
                event: event.to_owned(),
                action: action.clone(),
                payload: body,
            },
            routing,
        )
        .await
        .map_err(ApiError::Unavailable)?;
    let status = match submitted {
        Submitted::Inserted { .. } => "queued",
        Submitted::Duplicate => "duplicate",
    };
    tracing::info!(
        delivery = delivery_id,
        event,
        action = action.as_deref(),
        status,
        "webhook stored"
    );
    Ok(answer(status))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    // A header that is not visible ASCII counts as absent.
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn answer(status: &'static str) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({ "status": status })))
}
