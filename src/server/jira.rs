//! `POST /webhooks/jira` (Jira Cloud, HMAC-signed) and `POST /webhooks/jira/{token}` (Jira
//! Data Center, which cannot sign: a long random token in the URL instead).
//!
//! Same contract as the GitHub receiver: authenticate → decode → store → answer 202 only
//! after the commit. Jira retries on 5xx for about 30 minutes, so a store failure answers
//! 503; a redelivery carries the same `X-Atlassian-Webhook-Identifier` and is stored once.
//! Events the sync does not act on are answered 202 and not stored.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, ServerState};
use crate::github::webhook::signature::{self, SHA256_PREFIX};
use crate::store::{NewDelivery, Source, Submitted};
use crate::tracker::jira::webhook::decode;

/// Jira Cloud's signature header for admin webhooks with a secret (WebSub style; not the
/// `-256` header GitHub uses).
const SIGNATURE: &str = "x-hub-signature";
/// Unique per delivery and stable across Jira's retries: the inbox's deduplication key.
const IDENTIFIER: &str = "x-atlassian-webhook-identifier";
/// Present on retries, with the retry count; logged only.
const RETRY: &str = "x-atlassian-webhook-retry";

/// Jira Cloud: the body must carry `X-Hub-Signature: sha256=<hex>` under our secret.
pub(super) async fn receive_signed(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let secret = state.jira_secret.as_ref().ok_or(ApiError::NotConfigured)?;
    signature::verify_prefixed(
        SHA256_PREFIX,
        secret.expose_secret().as_bytes(),
        &body,
        header(&headers, SIGNATURE),
    )?;
    accept(&state, &headers, body).await
}

/// Jira Data Center: the path's last segment must be our token.
pub(super) async fn receive_with_token(
    State(state): State<Arc<ServerState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let expected = state.jira_token.as_ref().ok_or(ApiError::NotConfigured)?;
    if !tokens_match(expected.expose_secret(), &token) {
        return Err(ApiError::BadToken);
    }
    accept(&state, &headers, body).await
}

/// Constant-time token comparison. Both sides are hashed first so that the comparison
/// takes the same time whatever the given token's length (`ct_eq` on slices returns early
/// on a length mismatch, which would leak the real token's length).
fn tokens_match(expected: &str, given: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let given = Sha256::digest(given.as_bytes());
    expected.ct_eq(&given).into()
}

/// Everything after authentication: decode, drop what the sync ignores, store the rest.
async fn accept(
    state: &ServerState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let event = decode(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !event.is_relevant() {
        tracing::debug!(event = %event.webhook_event, "jira webhook ignored");
        crate::metrics::count_ignored("tracker", "event");
        return Ok(answer("ignored"));
    }
    // Admin webhooks fire for every project (unless filtered by JQL in Jira's settings).
    if event.outside(|p| state.scope.watches_jira_project(p)) {
        tracing::debug!(event = %event.webhook_event, project = event.project_key.as_deref(), "jira webhook ignored: project not configured");
        crate::metrics::count_ignored("tracker", "scope");
        return Ok(answer("ignored"));
    }
    let delivery_id = header(headers, IDENTIFIER).ok_or_else(|| {
        ApiError::BadRequest("missing X-Atlassian-Webhook-Identifier header".into())
    })?;
    let submitted = state
        .inbox
        .submit(NewDelivery {
            source: Source::Tracker,
            delivery_id: delivery_id.to_owned(),
            event: event.webhook_event.clone(),
            action: None,
            payload: body,
        })
        .await
        .map_err(ApiError::Unavailable)?;
    let status = match submitted {
        Submitted::Inserted { .. } => "queued",
        Submitted::Duplicate => "duplicate",
    };
    tracing::info!(
        delivery = delivery_id,
        event = %event.webhook_event,
        issue = event.issue_key.as_deref(),
        sprint = event.sprint_id,
        retry = header(headers, RETRY),
        status,
        "jira webhook stored"
    );
    Ok(answer(status))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    // A header that is not visible ASCII counts as absent.
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
}

fn answer(status: &'static str) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({ "status": status })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match("0123456789abcdef", "0123456789abcdef"));
        assert!(!tokens_match("0123456789abcdef", "0123456789abcdeF"));
        assert!(!tokens_match("0123456789abcdef", "0123456789abcde"));
        assert!(!tokens_match("0123456789abcdef", "0123456789abcdef0"));
        assert!(!tokens_match("0123456789abcdef", ""));
    }
}
