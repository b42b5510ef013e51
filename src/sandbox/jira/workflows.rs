//! The workflow reads `doctor` uses to prove that every configured status is reachable,
//! answered in Jira Cloud's shapes (in `jira.json`, also under `/rest/api/2/`):
//!
//! * `GET /workflowscheme/project?projectId=…` (`getWorkflowSchemeProjectAssociations`):
//!   the project's workflow scheme, whose `defaultWorkflow` every issue type uses here;
//! * `GET /workflow/search?workflowName=…&expand=transitions,statuses` (`getWorkflowsPaginated`):
//!   the workflow's statuses and transitions (`from`/`to` are status ids; a global transition
//!   has no `from`; the `initial` one gives the status a new issue starts in).
//!
//! Each project has a workflow of its own, named after it: the sandbox's software workflow
//! ([`TRANSITIONS`]) without the transitions the project's `removed_transitions` take out,
//! which is how a test makes a status unreachable. Both reads need a Jira administrator
//! (Cloud: "Administer Jira"), so they answer 403 when `PUT /_sandbox/jira/admin` says
//! callers are not. Jira Data Center has neither route; `doctor` then says what to check by
//! hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::render;
use super::state::{Project, Status, TRANSITIONS};

type Sb = State<Arc<JiraSandbox>>;

/// Id of the transition that creates an issue (Jira numbers it 1).
const CREATE_TRANSITION: &str = "1";

/// The name of `project`'s workflow (Jira Software names a new project's workflow so).
pub fn workflow_name(project: &Project) -> String {
    format!("Software workflow for project {}", project.key)
}

/// Routes of both API versions.
pub fn routes(mut r: Router<Arc<JiraSandbox>>) -> Router<Arc<JiraSandbox>> {
    for n in [2, 3] {
        r = r
            .route(
                &format!("/rest/api/{n}/workflowscheme/project"),
                get(scheme_of_project),
            )
            .route(&format!("/rest/api/{n}/workflow/search"), get(search))
    }
    r
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    reply(status, render::errors(&[message]))
}

fn query(raw: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn not_admin() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "You are not authorized to perform this action. Administrator privileges are required.",
    )
}

/// `GET /workflowscheme/project?projectId=…`.
async fn scheme_of_project(State(sb): Sb, _c: Caller, RawQuery(raw): RawQuery) -> Response {
    if !sb.registrations.callers_are_admins() {
        return not_admin();
    }
    let q = query(raw.as_deref());
    let Some(id) = q.get("projectId") else {
        return error(StatusCode::BAD_REQUEST, "projectId is required.");
    };
    let state = sb.lock();
    let values: Vec<Value> = state
        .projects
        .values()
        .filter(|p| p.id.to_string() == *id)
        .map(|p| {
            json!({
                "projectIds": [p.id.to_string()],
                "workflowScheme": {
                    "id": p.id,
                    "name": format!("{} workflow scheme", p.key),
                    "description": "",
                    "defaultWorkflow": workflow_name(p),
                    "issueTypeMappings": {},
                },
            })
        })
        .collect();
    reply(StatusCode::OK, json!({ "values": values }))
}

/// `GET /workflow/search`: the workflows named by `workflowName` (all without it), with
/// `transitions` and `statuses` when `expand` asks for them.
async fn search(State(sb): Sb, c: Caller, RawQuery(raw): RawQuery) -> Response {
    if !sb.registrations.callers_are_admins() {
        return not_admin();
    }
    let q = query(raw.as_deref());
    let expand: Vec<&str> = q
        .get("expand")
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let state = sb.lock();
    let values: Vec<Value> = state
        .projects
        .values()
        .filter(|p| {
            q.get("workflowName")
                .is_none_or(|n| n.split(',').any(|n| n == workflow_name(p)))
        })
        .map(|p| workflow_json(p, &expand, &c))
        .collect();
    let total = values.len();
    reply(
        StatusCode::OK,
        json!({
            "self": format!("{}/rest/api/{}/workflow/search", c.base, c.version.number()),
            "maxResults": 50,
            "startAt": 0,
            "total": total,
            "isLast": true,
            "values": values,
        }),
    )
}

fn workflow_json(p: &Project, expand: &[&str], _c: &Caller) -> Value {
    let mut w = json!({
        "id": { "name": workflow_name(p), "entityId": format!("wf-{}", p.id) },
        "description": format!("The software workflow of {}", p.key),
    });
    if expand.contains(&"statuses") {
        w["statuses"] = Status::ALL
            .iter()
            .map(|s| json!({ "id": s.id(), "name": s.name() }))
            .collect();
    }
    if expand.contains(&"transitions") {
        let mut list = vec![json!({
            "id": CREATE_TRANSITION, "name": "Create", "description": "",
            "from": [], "to": Status::ToDo.id(), "type": "initial",
        })];
        list.extend(
            TRANSITIONS
                .iter()
                .filter(|t| !p.removed_transitions.iter().any(|r| r == t.id))
                .map(|t| {
                    json!({
                        "id": t.id,
                        "name": t.name,
                        "description": "",
                        "from": t.from.iter().map(|s| s.id()).collect::<Vec<_>>(),
                        "to": t.to.id(),
                        "type": if t.is_global() { "global" } else { "directed" },
                    })
                }),
        );
        w["transitions"] = Value::Array(list);
    }
    w
}
