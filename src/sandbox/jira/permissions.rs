//! `GET /rest/api/{2,3}/mypermissions` (`getMyPermissions`): which project permissions the
//! caller has, optionally in one project (`projectKey` / `projectId`) or issue (`issueKey` /
//! `issueId`). The sandbox has no permission schemes: every caller holds every project
//! permission below, in every project, which is what a Jira administrator's token sees.
//!
//! Cloud requires the `permissions` parameter (its description: "A list of permission keys.
//! (Required)") and answers 400 without it; Data Center (v2 here) returns every permission
//! when it is left out, which older clients (the `jira` library's `my_permissions`, jirahub's
//! `check-permissions`) rely on. An unknown project or issue is 404; an unknown key 400.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::render;
use crate::config::JiraApiVersion;

/// Jira's built-in project permissions: (key, id, name).
const PROJECT_PERMISSIONS: &[(&str, &str, &str)] = &[
    ("ADMINISTER_PROJECTS", "23", "Administer Projects"),
    ("BROWSE_PROJECTS", "10", "Browse Projects"),
    ("CREATE_ISSUES", "11", "Create Issues"),
    ("EDIT_ISSUES", "12", "Edit Issues"),
    ("ASSIGN_ISSUES", "13", "Assign Issues"),
    ("ASSIGNABLE_USER", "17", "Assignable User"),
    ("RESOLVE_ISSUES", "14", "Resolve Issues"),
    ("CLOSE_ISSUES", "18", "Close Issues"),
    ("TRANSITION_ISSUES", "46", "Transition Issues"),
    ("LINK_ISSUES", "21", "Link Issues"),
    ("MODIFY_REPORTER", "30", "Modify Reporter"),
    ("SCHEDULE_ISSUES", "28", "Schedule Issues"),
    ("ADD_COMMENTS", "15", "Add Comments"),
    ("EDIT_OWN_COMMENTS", "35", "Edit Own Comments"),
    ("DELETE_OWN_COMMENTS", "37", "Delete Own Comments"),
    ("EDIT_ALL_COMMENTS", "34", "Edit All Comments"),
    ("DELETE_ALL_COMMENTS", "36", "Delete All Comments"),
];

/// The query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Params {
    project_key: Option<String>,
    project_id: Option<String>,
    issue_key: Option<String>,
    issue_id: Option<String>,
    permissions: Option<String>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(render::errors(&[message]))).into_response()
}

/// `GET /mypermissions`.
pub async fn mine(
    State(sb): State<Arc<JiraSandbox>>,
    c: Caller,
    Query(p): Query<Params>,
) -> Response {
    {
        let state = sb.lock();
        if let Some(k) = p.project_key.as_deref().or(p.project_id.as_deref())
            && state.project(k).is_none()
        {
            return refuse(
                StatusCode::NOT_FOUND,
                &format!("No project could be found with key '{k}'."),
            );
        }
        if let Some(k) = p.issue_key.as_deref().or(p.issue_id.as_deref())
            && state.issue(k).is_none()
        {
            return refuse(
                StatusCode::NOT_FOUND,
                "Issue does not exist or you do not have permission to see it.",
            );
        }
    }
    let asked: Option<Vec<&str>> = p.permissions.as_deref().map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let asked = match (asked, c.version) {
        (None, JiraApiVersion::V3) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "The 'permissions' query parameter is required.",
            );
        }
        (None, JiraApiVersion::V2) => None,
        (Some(keys), _) => {
            if let Some(bad) = keys
                .iter()
                .find(|k| !PROJECT_PERMISSIONS.iter().any(|(key, _, _)| key == *k))
            {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("Unrecognized permission key: {bad}"),
                );
            }
            Some(keys)
        }
    };
    let mut out = Map::new();
    for (key, id, name) in PROJECT_PERMISSIONS {
        if asked.as_ref().is_some_and(|a| !a.contains(key)) {
            continue;
        }
        out.insert(
            (*key).to_owned(),
            json!({
                "id": id, "key": key, "name": name, "type": "PROJECT",
                "description": format!("{name} in the project."),
                "havePermission": true,
            }),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"permissions": Value::Object(out)})),
    )
        .into_response()
}
