//! The control API (no auth): set up projects, inspect the full state, act as a person.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::sprints::AgileError;
use super::{ControlError, JiraSandbox, render};

type Sb = State<Arc<JiraSandbox>>;

/// Body of `POST /_sandbox/jira/projects`.
#[derive(Debug, Deserialize)]
pub struct NewProject {
    key: String,
    name: Option<String>,
    #[serde(default)]
    components: Vec<String>,
    /// Fields to take off the project's create screen (e.g. `["reporter"]`).
    #[serde(default)]
    hidden_fields: Vec<String>,
    /// Transition ids to take out of the project's workflow (e.g. `["51"]`: nothing
    /// reaches In Review).
    #[serde(default)]
    removed_transitions: Vec<String>,
}

/// `POST /_sandbox/jira/projects`: adds a project (or components to an existing one).
pub async fn add_project(State(sb): Sb, Json(p): Json<NewProject>) -> Response {
    let valid_key = p.key.len() >= 2
        && p.key.starts_with(|c: char| c.is_ascii_uppercase())
        && p.key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid_key {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorMessages": [], "errors": {"projectKey": "Project keys must start with an uppercase letter, followed by one or more uppercase alphanumeric characters."}})),
        )
            .into_response();
    }
    let components: Vec<&str> = p.components.iter().map(String::as_str).collect();
    sb.add_project(&p.key, p.name.as_deref().unwrap_or(&p.key), &components);
    let project = {
        let mut state = sb.lock();
        if let Some(project) = state.projects.get_mut(&p.key) {
            project.hidden_fields.extend(p.hidden_fields);
            project.removed_transitions.extend(p.removed_transitions);
        }
        state.project(&p.key).cloned()
    };
    sb.changed();
    (StatusCode::CREATED, Json(json!(project))).into_response()
}

/// `?jql=` of the issue listing.
#[derive(Debug, Default, Deserialize)]
pub struct JqlQuery {
    #[serde(default)]
    jql: String,
}

/// `GET /_sandbox/jira/issues?jql=...`: full issues (labels, parent, links, comments).
pub async fn list_issues(State(sb): Sb, Query(q): Query<JqlQuery>) -> Response {
    match sb.issues(&q.jql) {
        Ok(issues) => Json(json!(issues)).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(render::errors(&[&e.0]))).into_response(),
    }
}

/// Body of the transition action.
#[derive(Debug, Deserialize)]
pub struct TransitionAs {
    to: String,
    #[serde(rename = "as")]
    actor: String,
}

/// `POST /_sandbox/jira/issues/{key}/transition` `{to, as}`.
pub async fn transition(
    State(sb): Sb,
    Path(key): Path<String>,
    Json(t): Json<TransitionAs>,
) -> Response {
    respond(sb.transition_as(&key, &t.to, &t.actor))
}

/// Body of the comment action.
#[derive(Debug, Deserialize)]
pub struct CommentAs {
    body: String,
    #[serde(rename = "as")]
    actor: String,
}

/// `POST /_sandbox/jira/issues/{key}/comment` `{body, as}`.
pub async fn comment(State(sb): Sb, Path(key): Path<String>, Json(c): Json<CommentAs>) -> Response {
    respond(sb.comment_as(&key, &c.body, &c.actor))
}

pub(super) fn respond(result: Result<super::state::StoredIssue, ControlError>) -> Response {
    match result {
        Ok(issue) => Json(json!(issue)).into_response(),
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

/// Body of `PUT /_sandbox/jira/users/{name}/time-zone` (and its answer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeZoneBody {
    /// IANA name, as Jira's `timeZone` (`America/New_York`).
    #[serde(rename = "timeZone")]
    time_zone: String,
}

/// `PUT /_sandbox/jira/users/{name}/time-zone {"timeZone": "America/New_York"}`: the
/// person's profile time zone, which `GET /myself` shows and in which their JQL dates are
/// read. 400 for a name the time zone database does not know.
pub async fn set_time_zone(
    State(sb): Sb,
    Path(name): Path<String>,
    Json(body): Json<TimeZoneBody>,
) -> Response {
    let set = sb.lock().people.set_time_zone(&name, &body.time_zone);
    match set {
        Ok(()) => Json(json!({"name": name, "timeZone": body.time_zone})).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(render::errors(&[&e]))).into_response(),
    }
}

/// Body of `PUT /_sandbox/jira/search-lag` (and its answer).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchLag {
    /// Milliseconds between a change of an issue and search seeing it (0: no lag).
    ms: u64,
}

/// `GET /_sandbox/jira/search-lag`: `{"ms": N}`.
pub async fn get_search_lag(State(sb): Sb) -> Response {
    Json(json!({"ms": sb.search_lag().as_millis() as u64})).into_response()
}

/// `PUT /_sandbox/jira/search-lag {"ms": N}`: searches (`/search/jql`, v2 `/search`) see
/// each change N ms after it happened, as Jira Cloud's index does (see `index`).
pub async fn set_search_lag(State(sb): Sb, Json(lag): Json<SearchLag>) -> Response {
    sb.set_search_lag(std::time::Duration::from_millis(lag.ms));
    Json(json!({"ms": lag.ms})).into_response()
}
