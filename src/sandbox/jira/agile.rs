//! The Jira Software (agile) REST API, `/rest/agile/1.0/`: boards, sprints, and moving
//! issues into sprints. Shapes follow the software operations in `jira.json` (whose GET
//! responses have no schema, see SOURCES.md) and what Jira Cloud returns.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::render::{self, FieldSel};
use super::sprints::{AgileError, Board, SprintChange, SprintState};
use super::state::State as JiraState;
use crate::config::JiraApiVersion;

/// Default and largest page of agile listings (Jira's defaults).
const PAGE: usize = 50;

type Sb = State<Arc<JiraSandbox>>;

/// Adds the agile routes.
pub fn routes(r: Router<Arc<JiraSandbox>>) -> Router<Arc<JiraSandbox>> {
    let p = |s: &str| format!("/rest/agile/1.0{s}");
    r.route(&p("/board"), get(list_boards))
        .route(&p("/board/{id}"), get(get_board))
        .route(&p("/board/{id}/sprint"), get(board_sprints))
        .route(&p("/sprint"), post(create_sprint))
        .route(&p("/sprint/{id}"), get(get_sprint).post(update_sprint))
        .route(
            &p("/sprint/{id}/issue"),
            get(sprint_issues).post(move_issues),
        )
}

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

fn agile_error(e: &AgileError) -> Response {
    let status = match e {
        AgileError::Missing(_) => StatusCode::NOT_FOUND,
        AgileError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    reply(status, render::errors(&[&e.to_string()]))
}

fn body_json(bytes: &Bytes) -> Result<Value, Reject> {
    serde_json::from_slice(bytes).map_err(|e| {
        Reject(
            StatusCode::BAD_REQUEST,
            format!("Unexpected character in the request body: {e}"),
        )
    })
}

fn board_json(state: &JiraState, base: &str, b: &Board) -> Value {
    let project = state.project(&b.project);
    json!({
        "id": b.id,
        "self": format!("{base}/rest/agile/1.0/board/{}", b.id),
        "name": b.name,
        "type": "scrum",
        "location": {
            "projectId": project.map(|p| p.id),
            "projectKey": b.project,
            "projectName": project.map(|p| p.name.clone()),
            "projectTypeKey": "software",
            "displayName": format!("{} ({})", project.map_or(b.project.as_str(), |p| p.name.as_str()), b.project),
            "name": project.map(|p| p.name.clone()),
        },
    })
}

/// A page of agile values (`startAt`, `maxResults`, `total`, `isLast`, `values`).
fn page(values: Vec<Value>, start: usize, max: usize) -> Value {
    let total = values.len();
    let max = max.clamp(1, PAGE);
    let page: Vec<Value> = values.into_iter().skip(start).take(max).collect();
    json!({
        "maxResults": max,
        "startAt": start,
        "total": total,
        "isLast": start + page.len() >= total,
        "values": page,
    })
}

/// Paging and filters of agile listings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    project_key_or_id: Option<String>,
    state: Option<String>,
    start_at: Option<usize>,
    max_results: Option<usize>,
}

/// `GET /board?projectKeyOrId=`.
pub async fn list_boards(State(sb): Sb, c: Caller, Query(q): Query<ListQuery>) -> Response {
    let state = sb.lock();
    let wanted = q
        .project_key_or_id
        .as_deref()
        .map(|k| state.project(k).map(|p| p.key.clone()));
    if let Some(None) = wanted {
        return reply(
            StatusCode::BAD_REQUEST,
            render::errors(&["The requested project does not exist."]),
        );
    }
    let boards: Vec<Value> = state
        .boards
        .values()
        .filter(|b| {
            wanted
                .as_ref()
                .is_none_or(|k| k.as_deref() == Some(&b.project))
        })
        .map(|b| board_json(&state, &c.base, b))
        .collect();
    reply(
        StatusCode::OK,
        page(
            boards,
            q.start_at.unwrap_or(0),
            q.max_results.unwrap_or(PAGE),
        ),
    )
}

fn parse_id(raw: &str, what: &str) -> Result<u64, Reject> {
    raw.parse().map_err(|_| {
        Reject(
            StatusCode::BAD_REQUEST,
            format!("The {what} id '{raw}' is not a number."),
        )
    })
}

/// `GET /board/{id}`.
pub async fn get_board(State(sb): Sb, c: Caller, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id, "board") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let state = sb.lock();
    match state.boards.get(&id) {
        Some(b) => reply(StatusCode::OK, board_json(&state, &c.base, b)),
        None => agile_error(&AgileError::Missing(format!(
            "Board with id {id} does not exist or you do not have permission to see it."
        ))),
    }
}

/// `GET /board/{id}/sprint?state=future,active`.
pub async fn board_sprints(
    State(sb): Sb,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let id = match parse_id(&id, "board") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let mut states = Vec::new();
    for s in q.state.iter().flat_map(|s| s.split(',')) {
        match SprintState::parse(s) {
            Some(st) => states.push(st),
            None => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    render::errors(&[&format!(
                        "Sprint state '{s}' is not one of future, active, closed."
                    )]),
                );
            }
        }
    }
    let state = sb.lock();
    if !state.boards.contains_key(&id) {
        return agile_error(&AgileError::Missing(format!(
            "Board with id {id} does not exist or you do not have permission to see it."
        )));
    }
    let sprints: Vec<Value> = state
        .sprints
        .values()
        .filter(|s| s.origin_board_id == id)
        .filter(|s| states.is_empty() || states.contains(&s.state))
        .map(|s| s.json(&c.base))
        .collect();
    reply(
        StatusCode::OK,
        page(
            sprints,
            q.start_at.unwrap_or(0),
            q.max_results.unwrap_or(PAGE),
        ),
    )
}

fn date(v: &Value, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| format!("{field}: '{s}' is not an ISO 8601 date-time.")),
        Some(_) => Err(format!("{field}: must be a date-time string.")),
    }
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// A sprint change from a request body (`POST /sprint/{id}`, partial).
fn read_change(v: &Value) -> Result<SprintChange, String> {
    let state = match text(v, "state") {
        None => None,
        Some(s) => Some(
            SprintState::parse(&s)
                .ok_or_else(|| format!("state: '{s}' is not one of future, active, closed."))?,
        ),
    };
    Ok(SprintChange {
        name: text(v, "name"),
        state,
        goal: text(v, "goal"),
        start_date: date(v, "startDate")?,
        end_date: date(v, "endDate")?,
    })
}

/// `POST /sprint {name, originBoardId, startDate?, endDate?, goal?}`: 201 with the sprint.
pub async fn create_sprint(State(sb): Sb, c: Caller, bytes: Bytes) -> Response {
    let body = match body_json(&bytes) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let Some(board) = body.get("originBoardId").and_then(Value::as_u64) else {
        return agile_error(&AgileError::Invalid(
            "originBoardId: The board id is required.".into(),
        ));
    };
    let (start, end) = match (date(&body, "startDate"), date(&body, "endDate")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => return agile_error(&AgileError::Invalid(m)),
    };
    let created = {
        let mut state = sb.lock();
        state.create_sprint(
            board,
            &text(&body, "name").unwrap_or_default(),
            text(&body, "goal"),
            start,
            end,
            Utc::now(),
        )
    };
    match created {
        Ok(s) => {
            sb.changed();
            reply(StatusCode::CREATED, s.json(&c.base))
        }
        Err(e) => agile_error(&e),
    }
}

/// `GET /sprint/{id}`.
pub async fn get_sprint(State(sb): Sb, c: Caller, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id, "sprint") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    match sb.lock().sprints.get(&id) {
        Some(s) => reply(StatusCode::OK, s.json(&c.base)),
        None => agile_error(&AgileError::Missing(format!(
            "Sprint with id {id} does not exist."
        ))),
    }
}

/// `POST /sprint/{id}`: partial update; `{"state": "active"}` starts, `"closed"` closes.
pub async fn update_sprint(
    State(sb): Sb,
    c: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let id = match parse_id(&id, "sprint") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let change = match body_json(&bytes).map(|b| read_change(&b)) {
        Ok(Ok(change)) => change,
        Ok(Err(m)) => return agile_error(&AgileError::Invalid(m)),
        Err(r) => return r.into_response(),
    };
    let updated = sb.lock().update_sprint(id, change, Utc::now());
    match updated {
        Ok(s) => {
            sb.changed();
            reply(StatusCode::OK, s.json(&c.base))
        }
        Err(e) => agile_error(&e),
    }
}

/// `POST /sprint/{id}/issue {issues: [keys]}`: 204.
pub async fn move_issues(
    State(sb): Sb,
    Path(id): Path<String>,
    _c: Caller,
    bytes: Bytes,
) -> Response {
    let id = match parse_id(&id, "sprint") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let body = match body_json(&bytes) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let Some(keys) = body.get("issues").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    }) else {
        return agile_error(&AgileError::Invalid(
            "issues: A list of issue keys is required.".into(),
        ));
    };
    let moved = sb.lock().move_to_sprint(id, &keys, Utc::now());
    match moved {
        Ok(()) => {
            sb.changed();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => agile_error(&e),
    }
}

/// `GET /sprint/{id}/issue`: the issues in a sprint (REST v2 representation).
pub async fn sprint_issues(
    State(sb): Sb,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let id = match parse_id(&id, "sprint") {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let state = sb.lock();
    if !state.sprints.contains_key(&id) {
        return agile_error(&AgileError::Missing(format!(
            "Sprint with id {id} does not exist."
        )));
    }
    let start = q.start_at.unwrap_or(0);
    let max = q.max_results.unwrap_or(PAGE).clamp(1, PAGE);
    let hits: Vec<_> = state
        .issues
        .iter()
        .filter(|i| i.sprints.contains(&id))
        .collect();
    let issues: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| render::issue(&state, &c.base, JiraApiVersion::V2, i, &FieldSel::All))
        .collect();
    reply(
        StatusCode::OK,
        json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": issues}),
    )
}
