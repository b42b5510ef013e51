//! Editing issues and looking people up: `PUT /issue/{key}`, `PUT /issue/{key}/assignee`,
//! `GET /user`, `GET /user/search`.
//!
//! An edit is validated as a whole and applied only when every field is acceptable, the way
//! Jira answers 400 naming each bad field and changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::create::{read_body, read_labels, ref_value};
use super::render;
use super::state::{Body, State as JiraState};
use crate::config::JiraApiVersion;
use crate::tracker::jira::model::ErrorCollection;

const NO_ISSUE: &str = "Issue does not exist or you do not have permission to see it.";
const NO_USER: &str = "Specified user does not exist or you do not have required permissions";
/// Fields an edit may set.
const EDITABLE: &[&str] = &[
    "summary",
    "description",
    "labels",
    "assignee",
    "fixVersions",
    "versions",
];
/// Longest summary Jira accepts.
const MAX_SUMMARY: usize = 255;

type Sb = State<Arc<JiraSandbox>>;

/// A refusal in Jira's error shape, small enough to travel in a `Result`.
struct Reject(StatusCode, String);

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        reply(self.0, render::errors(&[&self.1]))
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn no_content() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
    )
        .into_response()
}

/// What a valid edit changes.
#[derive(Debug, Default)]
pub(super) struct Edit {
    summary: Option<String>,
    description: Option<Option<Body>>,
    labels: Option<Vec<String>>,
    add_labels: Vec<String>,
    remove_labels: Vec<String>,
    assignee: Option<Option<String>>,
    /// Custom field values to set (`None` clears), by field id.
    custom: Vec<(String, Option<String>)>,
}

/// The person an assignee value names: v3 `{"accountId"}`, v2 `{"name"}` (or `key`);
/// `null` (or a null id) unassigns.
pub(super) fn read_assignee(
    state: &JiraState,
    version: JiraApiVersion,
    v: &Value,
) -> Result<Option<String>, String> {
    let keys: &[&str] = match version {
        JiraApiVersion::V3 => &["accountId"],
        JiraApiVersion::V2 => &["name", "key"],
    };
    if v.is_null() || keys.iter().any(|k| v.get(*k).is_some_and(Value::is_null)) {
        return Ok(None);
    }
    let wanted = ref_value(Some(v), keys).ok_or_else(|| match version {
        JiraApiVersion::V3 => "Specify the assignee by 'accountId'.".to_owned(),
        JiraApiVersion::V2 => "Specify the assignee by 'name'.".to_owned(),
    })?;
    // On Cloud a handle is not an account id; on Data Center an account id is not a name.
    let resolvable = match version {
        JiraApiVersion::V3 => wanted.starts_with(super::people::ACCOUNT_PREFIX),
        JiraApiVersion::V2 => !wanted.starts_with(super::people::ACCOUNT_PREFIX),
    };
    state
        .people
        .resolve(&wanted)
        .filter(|_| resolvable)
        .map(Some)
        .ok_or_else(|| format!("User '{wanted}' does not exist."))
}

/// Validates an edit body (`fields` and, for labels, `update`).
pub(super) fn read_edit(
    state: &JiraState,
    version: JiraApiVersion,
    body: &Value,
) -> Result<Edit, ErrorCollection> {
    let empty = Map::new();
    let fields = body
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let update = body
        .get("update")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut errors = BTreeMap::new();
    let mut edit = Edit::default();
    for name in fields.keys().chain(update.keys()) {
        if !EDITABLE.contains(&name.as_str()) && state.custom_field(name).is_none() {
            errors.insert(
                name.clone(),
                format!(
                    "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                ),
            );
        }
    }
    match fields.get("summary") {
        None => {}
        Some(Value::String(s)) if super::create::java_len(s) > MAX_SUMMARY => {
            errors.insert(
                "summary".into(),
                "Summary must be less than 255 characters.".into(),
            );
        }
        Some(Value::String(s)) if !s.trim().is_empty() => edit.summary = Some(s.clone()),
        Some(_) => {
            errors.insert(
                "summary".into(),
                "You must specify a summary of the issue.".into(),
            );
        }
    }
    if let Some(d) = fields.get("description") {
        match read_body(version, Some(d)) {
            Ok(b) => edit.description = Some(b),
            Err(m) => {
                errors.insert("description".into(), m);
            }
        }
    }
    if fields.contains_key("labels") {
        match read_labels(fields.get("labels")) {
            Ok(l) => edit.labels = Some(l),
            Err(m) => {
                errors.insert("labels".into(), m);
            }
        }
    }
    for op in update
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let label = |k: &str| op.get(k).and_then(Value::as_str).map(str::to_owned);
        match (label("add"), label("remove")) {
            (Some(l), None) if !l.chars().any(char::is_whitespace) => edit.add_labels.push(l),
            (None, Some(l)) => edit.remove_labels.push(l),
            _ => {
                errors.insert(
                    "labels".into(),
                    "Each update needs one 'add' or 'remove' label.".into(),
                );
            }
        }
    }
    for name in ["fixVersions", "versions"] {
        if let Err(m) = super::create::read_versions(fields.get(name)) {
            errors.insert(name.into(), m);
        }
    }
    for (name, value) in fields {
        if let Some(field) = state.custom_field(name) {
            match field.read(value) {
                Ok(v) => edit.custom.push((field.field_id(), v)),
                Err(m) => {
                    errors.insert(name.clone(), m);
                }
            }
        }
    }
    if let Some(a) = fields.get("assignee") {
        match read_assignee(state, version, a) {
            Ok(who) => edit.assignee = Some(who),
            Err(m) => {
                errors.insert("assignee".into(), m);
            }
        }
    }
    if errors.is_empty() {
        Ok(edit)
    } else {
        Err(ErrorCollection {
            error_messages: vec![],
            errors,
        })
    }
}

/// Applies a validated edit; touches `updated` only when something changed.
pub(super) fn apply_edit(state: &mut JiraState, idx: usize, edit: Edit) {
    let issue = &mut state.issues[idx];
    let before = (
        issue.summary.clone(),
        issue.description.clone(),
        issue.labels.clone(),
        issue.assignee.clone(),
        issue.custom.clone(),
    );
    if let Some(s) = edit.summary {
        issue.summary = s;
    }
    if let Some(d) = edit.description {
        issue.description = d;
    }
    if let Some(l) = edit.labels {
        issue.labels = l;
    }
    for l in edit.add_labels {
        if !issue.labels.contains(&l) {
            issue.labels.push(l);
        }
    }
    issue.labels.retain(|l| !edit.remove_labels.contains(l));
    if let Some(a) = edit.assignee {
        issue.assignee = a;
    }
    for (id, value) in edit.custom {
        match value {
            Some(v) => issue.custom.insert(id, v),
            None => issue.custom.remove(&id),
        };
    }
    let after = (
        issue.summary.clone(),
        issue.description.clone(),
        issue.labels.clone(),
        issue.assignee.clone(),
        issue.custom.clone(),
    );
    if before != after {
        issue.updated = Utc::now();
    }
}

fn parse(bytes: &Bytes) -> Result<Value, Reject> {
    serde_json::from_slice(bytes).map_err(|e| {
        Reject(
            StatusCode::BAD_REQUEST,
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

/// `PUT /issue/{key}`: summary, description, labels (set, or add/remove), assignee; 204.
pub async fn edit_issue(
    State(sb): Sb,
    c: Caller,
    Path(key): Path<String>,
    bytes: Bytes,
) -> Response {
    let body = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    {
        let mut state = sb.lock();
        let Some(idx) = state.issue_index(&key) else {
            return reply(StatusCode::NOT_FOUND, render::errors(&[NO_ISSUE]));
        };
        match read_edit(&state, c.version, &body) {
            Ok(edit) => apply_edit(&mut state, idx, edit),
            Err(errors) => return reply(StatusCode::BAD_REQUEST, json!(errors)),
        }
    }
    sb.changed();
    no_content()
}

/// `PUT /issue/{key}/assignee`: v3 `{"accountId"}`, v2 `{"name"}`, null unassigns; 204.
pub async fn assign(State(sb): Sb, c: Caller, Path(key): Path<String>, bytes: Bytes) -> Response {
    let body = match parse(&bytes) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    {
        let mut state = sb.lock();
        let Some(idx) = state.issue_index(&key) else {
            return reply(StatusCode::NOT_FOUND, render::errors(&[NO_ISSUE]));
        };
        let who = match read_assignee(&state, c.version, &body) {
            Ok(who) => who,
            Err(m) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"errorMessages": [], "errors": {"assignee": m}}),
                );
            }
        };
        if state.issues[idx].assignee != who {
            let issue = &mut state.issues[idx];
            issue.assignee = who;
            issue.updated = Utc::now();
        }
    }
    sb.changed();
    no_content()
}

/// `?accountId=` (v3), `?username=` / `?key=` (v2), `?query=` (search).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserQuery {
    account_id: Option<String>,
    username: Option<String>,
    key: Option<String>,
    query: Option<String>,
}

/// `GET /user`: one person by account id (v3) or user name (v2).
pub async fn get_user(State(sb): Sb, c: Caller, Query(q): Query<UserQuery>) -> Response {
    let wanted = match c.version {
        JiraApiVersion::V3 => q.account_id,
        JiraApiVersion::V2 => q.username.or(q.key),
    };
    let Some(wanted) = wanted else {
        let param = match c.version {
            JiraApiVersion::V3 => "accountId",
            JiraApiVersion::V2 => "username",
        };
        return reply(
            StatusCode::BAD_REQUEST,
            render::errors(&[&format!(
                "The '{param}' query parameter needs to be provided."
            )]),
        );
    };
    let found = sb.lock().people.resolve(&wanted);
    match found {
        Some(name) => reply(StatusCode::OK, render::user(&c.base, c.version, &name)),
        None => reply(StatusCode::NOT_FOUND, render::errors(&[NO_USER])),
    }
}

/// `GET /user/search?query=` (v3) / `?username=` (v2): people matching a text.
pub async fn search_users(State(sb): Sb, c: Caller, Query(q): Query<UserQuery>) -> Response {
    let text = match c.version {
        JiraApiVersion::V3 => q.query,
        JiraApiVersion::V2 => q.username.or(q.query),
    }
    .unwrap_or_default();
    let names = sb.lock().people.search(&text);
    let users: Vec<Value> = names
        .iter()
        .map(|n| render::user(&c.base, c.version, n))
        .collect();
    reply(StatusCode::OK, Value::Array(users))
}
