//! Jira administration the `setup` and `doctor` commands use:
//!
//! * the admin webhook REST API `GET`/`POST /rest/webhooks/1.0/webhook` (Jira Cloud and
//!   Data Center; "Webhooks" in Atlassian's developer docs). It needs a Jira administrator:
//!   a caller who is not one gets Jira's 403. A registration also becomes a delivery target,
//!   so a daemon set up this way receives the sandbox's Jira webhooks. It is not in
//!   `jira.json`; the contract step checks it against tests/contract/jira-webhooks.openapi.json.
//! * `GET /rest/api/{2,3}/project/{key}/statuses` (`getAllStatuses`): each issue type of a
//!   project with the statuses its workflow has.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::render;
use super::state::{ISSUE_TYPES, Status};

type Sb = State<Arc<JiraSandbox>>;

/// Registered admin webhooks and whether callers count as Jira administrators.
#[derive(Debug)]
pub struct Registrations {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    hooks: Vec<Value>,
    callers_are_admins: bool,
}

impl Default for Registrations {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                hooks: Vec::new(),
                callers_are_admins: true,
            }),
        }
    }
}

impl Registrations {
    /// Whether callers count as Jira administrators (`PUT /_sandbox/jira/admin`).
    pub fn callers_are_admins(&self) -> bool {
        self.lock().callers_are_admins
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Routes: the webhook admin API, project statuses, and the control switch
/// `PUT /_sandbox/jira/admin {"admin": bool}`.
pub fn routes(mut r: Router<Arc<JiraSandbox>>) -> Router<Arc<JiraSandbox>> {
    for n in [2, 3] {
        r = r.route(
            &format!("/rest/api/{n}/project/{{key}}/statuses"),
            get(project_statuses),
        );
    }
    r.route(
        "/rest/webhooks/1.0/webhook",
        get(list_webhooks).post(register_webhook),
    )
    .route("/_sandbox/jira/admin", put(set_admin))
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    reply(status, render::errors(&[message]))
}

/// `GET /project/{key}/statuses`: every issue type with every workflow status.
async fn project_statuses(State(sb): Sb, c: Caller, Path(key): Path<String>) -> Response {
    let exists = sb.lock().project(&key).is_some();
    if !exists {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No project could be found with key '{key}'."),
        );
    }
    let api = format!("{}/rest/api/{}", c.base, c.version.number());
    let types: Vec<Value> = ISSUE_TYPES
        .iter()
        .map(|t| {
            json!({
                "self": format!("{api}/issuetype/{}", t.id),
                "id": t.id,
                "name": t.name,
                "subtask": t.hierarchy_level < 0,
                "statuses": Status::ALL
                    .iter()
                    .map(|s| {
                        let mut v = render::status(&c.base, c.version, *s);
                        v["untranslatedName"] = json!(s.name());
                        v
                    })
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    reply(StatusCode::OK, Value::Array(types))
}

fn forbidden() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "You do not have the permission to manage webhooks. Only Jira administrators can.",
    )
}

async fn list_webhooks(State(sb): Sb, _c: Caller) -> Response {
    let reg = sb.registrations.lock();
    if !reg.callers_are_admins {
        return forbidden();
    }
    reply(StatusCode::OK, Value::Array(reg.hooks.clone()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewHook {
    name: Option<String>,
    url: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    filters: Option<Value>,
    #[serde(default)]
    exclude_body: Option<bool>,
    secret: Option<String>,
    enabled: Option<bool>,
}

async fn register_webhook(State(sb): Sb, c: Caller, body: Bytes) -> Response {
    let Ok(b) = serde_json::from_slice::<NewHook>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Invalid request body.");
    };
    let (Some(name), Some(url)) = (b.name.filter(|n| !n.is_empty()), b.url) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Webhook name and URL are required.",
        );
    };
    if url::Url::parse(&url).is_err() {
        return error(StatusCode::BAD_REQUEST, &format!("'{url}' is not a URL."));
    }
    let hook = {
        let mut reg = sb.registrations.lock();
        if !reg.callers_are_admins {
            return forbidden();
        }
        if reg.hooks.iter().any(|h| h["url"] == json!(url)) {
            return error(
                StatusCode::CONFLICT,
                "A webhook with the same URL already exists.",
            );
        }
        let id = reg.hooks.len() + 1;
        let hook = json!({
            "name": name,
            "url": url,
            "events": b.events,
            "filters": b.filters.unwrap_or_else(|| json!({"issue-related-events-section": ""})),
            "excludeBody": b.exclude_body.unwrap_or(false),
            "self": format!("{}/rest/webhooks/1.0/webhook/{id}", c.base),
            "lastUpdatedUser": c.user,
            "lastUpdatedDisplayName": c.user,
            "lastUpdated": Utc::now().timestamp_millis(),
            "enabled": b.enabled.unwrap_or(true),
        });
        reg.hooks.push(hook.clone());
        hook
    };
    if b.enabled.unwrap_or(true) {
        sb.hooks
            .add_target(url, b.secret.map(SecretString::from), None);
    }
    reply(StatusCode::CREATED, hook)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSwitch {
    admin: bool,
}

/// `PUT /_sandbox/jira/admin {"admin": false}`: callers are no longer Jira administrators
/// (the webhook admin API answers 403), so a test can play a plain integration user.
async fn set_admin(State(sb): Sb, body: Bytes) -> Response {
    match serde_json::from_slice::<AdminSwitch>(&body) {
        Ok(s) => {
            sb.registrations.lock().callers_are_admins = s.admin;
            reply(StatusCode::OK, json!({"admin": s.admin}))
        }
        Err(_) => error(StatusCode::BAD_REQUEST, "expected {\"admin\": bool}"),
    }
}
