//! Control actions that act as people in Jira (assign, edit, plan and run sprints), and the
//! control endpoints of Jira webhooks and write statistics.
//!
//! Each action runs with the person as actor, so the webhooks it causes name them; actions
//! of several steps (make a sprint, fill it, start it) take the lock once per step, so they
//! produce the same sequence of events as a person clicking through Jira.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::actor::as_actor;
use super::control::respond;
use super::edit::{apply_edit, read_edit};
use super::people::account_id;
use super::render;
use super::sprints::{AgileError, Sprint, SprintChange, SprintState};
use super::state::StoredIssue;
use super::{ControlError, JiraSandbox};
use crate::config::JiraApiVersion;

type Sb = State<Arc<JiraSandbox>>;

impl JiraSandbox {
    /// Assigns an issue to a known person (handle or account id), or unassigns it, as `actor`.
    pub fn assign_as(
        &self,
        key: &str,
        assignee: Option<&str>,
        actor: &str,
    ) -> Result<StoredIssue, ControlError> {
        let issue = as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let idx = state
                .issue_index(key)
                .ok_or_else(|| ControlError::NoIssue(key.to_owned()))?;
            let who = match assignee {
                None => None,
                Some(a) => Some(
                    state
                        .people
                        .resolve(a)
                        .ok_or_else(|| ControlError::NoPerson(a.to_owned()))?,
                ),
            };
            if state.issues[idx].assignee != who {
                let issue = &mut state.issues[idx];
                issue.assignee = who;
                issue.updated = Utc::now();
            }
            Ok::<_, ControlError>(state.issues[idx].clone())
        })?;
        self.changed();
        Ok(issue)
    }

    /// Edits `summary`, `description` (wiki text or an ADF document) and `labels` as `actor`.
    pub fn edit_as(
        &self,
        key: &str,
        fields: &Value,
        actor: &str,
    ) -> Result<StoredIssue, ControlError> {
        // The description's shape says which flavour's rules apply.
        let version = if fields.get("description").is_some_and(Value::is_object) {
            JiraApiVersion::V3
        } else {
            JiraApiVersion::V2
        };
        let issue = as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let idx = state
                .issue_index(key)
                .ok_or_else(|| ControlError::NoIssue(key.to_owned()))?;
            let edit = read_edit(&state, version, &json!({ "fields": fields }))
                .map_err(|e| ControlError::Invalid(e.reason()))?;
            apply_edit(&mut state, idx, edit);
            Ok::<_, ControlError>(state.issues[idx].clone())
        })?;
        self.changed();
        Ok(issue)
    }

    /// Makes a sprint on the project's board as `actor`, moves `issues` into it and, if
    /// asked, starts it. Returns the sprint as it stands at the end.
    pub fn create_sprint_as(
        &self,
        project: &str,
        name: &str,
        issues: &[String],
        start: bool,
        actor: &str,
    ) -> Result<Sprint, ControlError> {
        let sprint = as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let board = state.board_of(project).map(|b| b.id).ok_or_else(|| {
                AgileError::Missing(format!("No project could be found with key '{project}'."))
            })?;
            Ok::<_, ControlError>(state.create_sprint(board, name, None, None, None, Utc::now())?)
        })?;
        self.changed();
        if !issues.is_empty() {
            as_actor(actor, || {
                self.lock().move_to_sprint(sprint.id, issues, Utc::now())
            })?;
            self.changed();
        }
        if start {
            return self.sprint_state_as(sprint.id, SprintState::Active, actor);
        }
        Ok(sprint)
    }

    /// Starts (`Active`) or closes (`Closed`) a sprint as `actor`.
    pub fn sprint_state_as(
        &self,
        id: u64,
        to: SprintState,
        actor: &str,
    ) -> Result<Sprint, ControlError> {
        let change = SprintChange {
            state: Some(to),
            ..SprintChange::default()
        };
        let sprint = as_actor(actor, || self.lock().update_sprint(id, change, Utc::now()))?;
        self.changed();
        Ok(sprint)
    }
}

/// Adds the control routes of this module.
pub fn routes(r: Router<Arc<JiraSandbox>>) -> Router<Arc<JiraSandbox>> {
    r.route("/_sandbox/jira/issues/{key}/assign", post(assign))
        .route("/_sandbox/jira/issues/{key}/edit", post(edit))
        .route("/_sandbox/jira/sprints", post(create_sprint))
        .route("/_sandbox/jira/sprints/{id}/{action}", post(sprint_action))
        .route(
            "/_sandbox/jira/webhooks",
            post(add_webhook).delete(clear_webhooks),
        )
        .route("/_sandbox/jira/webhooks/drop", put(drop_webhooks))
        .route("/_sandbox/jira/deliveries", get(deliveries))
        .route("/_sandbox/jira/stats", get(stats))
}

fn sprint_reply(sb: &JiraSandbox, result: Result<Sprint, ControlError>) -> Response {
    match result {
        Ok(s) => Json(s.json(&sb.hooks.base())).into_response(),
        Err(e) => {
            let status = match e {
                ControlError::NoIssue(_) | ControlError::Agile(AgileError::Missing(_)) => {
                    StatusCode::NOT_FOUND
                }
                _ => StatusCode::BAD_REQUEST,
            };
            (status, Json(render::errors(&[&e.to_string()]))).into_response()
        }
    }
}

/// Body of the assign action; `assignee: null` unassigns.
#[derive(Debug, Deserialize)]
pub struct AssignAs {
    #[serde(rename = "as")]
    actor: String,
    assignee: Option<String>,
}

/// `POST /_sandbox/jira/issues/{key}/assign {as, assignee}`.
pub async fn assign(State(sb): Sb, Path(key): Path<String>, Json(b): Json<AssignAs>) -> Response {
    respond(sb.assign_as(&key, b.assignee.as_deref(), &b.actor))
}

/// Body of the edit action.
#[derive(Debug, Deserialize)]
pub struct EditAs {
    #[serde(rename = "as")]
    actor: String,
    fields: Value,
}

/// `POST /_sandbox/jira/issues/{key}/edit {as, fields}`.
pub async fn edit(State(sb): Sb, Path(key): Path<String>, Json(b): Json<EditAs>) -> Response {
    respond(sb.edit_as(&key, &b.fields, &b.actor))
}

/// Body of the sprint action.
#[derive(Debug, Deserialize)]
pub struct SprintAs {
    project: String,
    name: String,
    #[serde(default)]
    issues: Vec<String>,
    #[serde(default)]
    start: bool,
    #[serde(rename = "as")]
    actor: String,
}

/// `POST /_sandbox/jira/sprints {project, name, issues, start, as}`.
pub async fn create_sprint(State(sb): Sb, Json(b): Json<SprintAs>) -> Response {
    let result = sb.create_sprint_as(&b.project, &b.name, &b.issues, b.start, &b.actor);
    sprint_reply(&sb, result)
}

/// Body naming the actor only.
#[derive(Debug, Deserialize)]
pub struct ActorOnly {
    #[serde(rename = "as")]
    actor: String,
}

/// `POST /_sandbox/jira/sprints/{id}/start|close {as}`.
pub async fn sprint_action(
    State(sb): Sb,
    Path((id, action)): Path<(u64, String)>,
    Json(b): Json<ActorOnly>,
) -> Response {
    let to = match action.as_str() {
        "start" => SprintState::Active,
        "close" => SprintState::Closed,
        other => {
            let msg = format!("Unknown sprint action '{other}'; use start or close.");
            return (StatusCode::NOT_FOUND, Json(render::errors(&[&msg]))).into_response();
        }
    };
    let result = sb.sprint_state_as(id, to, &b.actor);
    sprint_reply(&sb, result)
}

/// Body of `POST /_sandbox/jira/webhooks`.
#[derive(Debug, Deserialize)]
pub struct NewWebhook {
    url: String,
    secret: Option<String>,
    /// `3` (Cloud: people by `accountId`) or `2` (Data Center: by `name`/`key`), as the
    /// daemon's `jira.api_version`; the sandbox's flavour when absent.
    api_version: Option<JiraApiVersion>,
}

/// `POST /_sandbox/jira/webhooks {url, secret?, api_version?}`: adds a target (each gets
/// every event, shaped as the flavour's Jira sends it).
pub async fn add_webhook(State(sb): Sb, Json(b): Json<NewWebhook>) -> Response {
    if url::Url::parse(&b.url).is_err() {
        let msg = format!("'{}' is not a URL.", b.url);
        return (StatusCode::BAD_REQUEST, Json(render::errors(&[&msg]))).into_response();
    }
    sb.hooks.add_target(
        b.url.clone(),
        b.secret.map(SecretString::from),
        b.api_version,
    );
    (StatusCode::CREATED, Json(json!({"url": b.url}))).into_response()
}

/// `DELETE /_sandbox/jira/webhooks`: removes every target.
pub async fn clear_webhooks(State(sb): Sb) -> Response {
    sb.hooks.clear_targets();
    StatusCode::NO_CONTENT.into_response()
}

/// Body of the drop switch.
#[derive(Debug, Deserialize)]
pub struct DropSwitch {
    drop: bool,
}

/// `PUT /_sandbox/jira/webhooks/drop {drop}`.
pub async fn drop_webhooks(State(sb): Sb, Json(b): Json<DropSwitch>) -> Response {
    sb.hooks.set_drop(b.drop);
    Json(json!({"drop": b.drop})).into_response()
}

/// `?min=N&timeout_ms=T` of the delivery log.
#[derive(Debug, Default, Deserialize)]
pub struct LogWait {
    min: Option<u64>,
    timeout_ms: Option<u64>,
}

/// Longest wait of a delivery-log long-poll.
const MAX_LOG_WAIT: Duration = Duration::from_secs(60);

/// `GET /_sandbox/jira/deliveries[?min=N&timeout_ms=T]`: every delivery with its payload,
/// oldest first; with `min`, first waits (long-poll) until that many were logged.
pub async fn deliveries(State(sb): Sb, Query(q): Query<LogWait>) -> Response {
    if let Some(min) = q.min {
        let wait = Duration::from_millis(q.timeout_ms.unwrap_or(10_000)).min(MAX_LOG_WAIT);
        sb.hooks.wait_logged(min, wait).await;
    }
    Json(json!(sb.hooks.log())).into_response()
}

/// `GET /_sandbox/jira/stats`: REST write requests per account (`accountId`) and per handle.
pub async fn stats(State(sb): Sb) -> Response {
    let by_name = sb.writes_by();
    let writes: serde_json::Map<String, Value> = by_name
        .iter()
        .map(|(n, c)| (account_id(n), json!(c)))
        .collect();
    Json(json!({"writes": writes, "writesByName": by_name})).into_response()
}
