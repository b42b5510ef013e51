//! `POST /_sandbox/jira/issues/bulk`: a control route that creates many issues in one
//! request, each exactly as `POST /rest/api/{2,3}/issue` would (the same validation, keys,
//! webhook events), optionally with remote links as `POST /issue/{key}/remotelink` makes
//! them. It lets a bench seed what a backfill of 10,000 concerns leaves in Jira (an epic and
//! stories per concern, with the daemon's labels) in seconds instead of hours; Jira's own
//! `/issue/bulk` takes at most 50 issues and no links.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::StoredRemoteLink;
use super::{JiraSandbox, actor, render};
use crate::config::JiraApiVersion;

/// Most issues one request may create: 10,000 concerns with two stories each, with room.
pub const MAX_SEED: usize = 50_000;

/// A remote link of one element (the `POST /issue/{key}/remotelink` body's fields used).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedLink {
    global_id: Option<String>,
    object: SeedLinkObject,
    relationship: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SeedLinkObject {
    url: String,
    title: String,
}

/// One element: a create body (`{"fields": {...}}`, read as the REST API of `apiVersion`
/// reads it) and its remote links.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedIssue {
    fields: Value,
    #[serde(default)]
    remote_links: Vec<SeedLink>,
}

/// Body of the route.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Seed {
    /// Who creates them (the reporter and creator, and the webhook events' user).
    #[serde(rename = "as")]
    actor: String,
    /// 2 (Data Center fields: Epic Link, Epic Name, wiki text) or 3 (Cloud; the default).
    #[serde(default = "v3")]
    api_version: u8,
    issue_updates: Vec<SeedIssue>,
}

fn v3() -> u8 {
    3
}

/// `POST /_sandbox/jira/issues/bulk {as, apiVersion, issueUpdates: [{fields, remoteLinks}]}`:
/// creates the elements in order under one lock (so a later element may name an earlier
/// one's key as its parent only in a later request: keys are answered, not guessed).
/// Answers `201 {"issues": [{"id", "key", "updated"}]}` with `updated` in ms since the
/// epoch; `400` with the first refused element's `elementErrors` and
/// `failedElementNumber` (the elements before it stay created, as with Jira's bulk create),
/// or when there are none or more than [`MAX_SEED`].
pub async fn create_many(State(sb): State<Arc<JiraSandbox>>, bytes: Bytes) -> Response {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, Json(render::errors(&[m]))).into_response();
    let seed: Seed = match serde_json::from_slice(&bytes) {
        Ok(s) => s,
        Err(e) => return bad(&format!("Unreadable seed body: {e}")),
    };
    let version = match seed.api_version {
        2 => JiraApiVersion::V2,
        3 => JiraApiVersion::V3,
        n => return bad(&format!("apiVersion must be 2 or 3, not {n}")),
    };
    let n = seed.issue_updates.len();
    if n == 0 || n > MAX_SEED {
        return bad(&format!(
            "issueUpdates must hold 1 to {MAX_SEED} issues, not {n}"
        ));
    }
    let created = actor::as_actor(&seed.actor, || {
        let mut state = sb.lock();
        state.people.register(&seed.actor);
        let now = Utc::now();
        let mut out = Vec::with_capacity(n);
        for (at, element) in seed.issue_updates.iter().enumerate() {
            let body = json!({ "fields": element.fields });
            let idx = match super::create::create_issue(
                &mut state,
                version,
                &body,
                &seed.actor,
                now,
            ) {
                Ok(i) => i,
                Err(errors) => {
                    return Err(json!({
                        "errorMessages": [format!("element {at} was refused; the {} before it were created", out.len())],
                        "elementErrors": errors,
                        "failedElementNumber": at,
                    }));
                }
            };
            for link in &element.remote_links {
                let id = state.next_id();
                state.issues[idx].remote_links.push(StoredRemoteLink {
                    id,
                    global_id: link.global_id.clone(),
                    url: link.object.url.clone(),
                    title: link.object.title.clone(),
                    relationship: link.relationship.clone(),
                    application: None,
                });
            }
            let issue = &state.issues[idx];
            out.push(json!({
                "id": issue.id.to_string(),
                "key": issue.key,
                "updated": issue.updated.timestamp_millis(),
            }));
        }
        Ok(out)
    });
    sb.changed();
    match created {
        Ok(issues) => (StatusCode::CREATED, Json(json!({ "issues": issues }))).into_response(),
        Err(body) => (StatusCode::BAD_REQUEST, Json(body)).into_response(),
    }
}
