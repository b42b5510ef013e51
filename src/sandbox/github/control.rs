//! Control routes under `/_sandbox/github/`: act as people (open an issue as `alice`, label
//! as `bob`), create repositories and team memberships, and read an issue's full state.
//! No authentication: the sandbox listens on loopback for tests and the demo.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::GithubHub;
use super::http::{ApiError, number, parse_body};
use super::model::{MemberRole, MemberState, Membership};
use super::ops::{IssuePatch, NewIssue};
use super::render;

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// The control routes.
pub fn router(hub: Arc<GithubHub>) -> Router {
    let issues = "/_sandbox/github/repos/{owner}/{repo}/issues";
    Router::new()
        .route("/_sandbox/github/repos", post(create_repo))
        .route(
            "/_sandbox/github/repos/{owner}/{repo}/hooks",
            post(set_hook),
        )
        .route(
            "/_sandbox/github/orgs/{org}/teams/{slug}/members",
            post(add_member),
        )
        .route(issues, post(open_issue))
        .route(&format!("{issues}/bulk"), post(open_issues))
        .route(
            &format!("{issues}/{{n}}"),
            get(issue_state).patch(edit_issue),
        )
        .route(&format!("{issues}/{{n}}/labels"), post(add_labels))
        .route(&format!("{issues}/{{n}}/transfer"), post(transfer))
        .route(
            &format!("{issues}/{{n}}/labels/{{*name}}"),
            delete(remove_label),
        )
        .route(&format!("{issues}/{{n}}/comments"), post(comment))
        .route(
            &format!("{issues}/comments/{{id}}"),
            patch(edit_comment).delete(delete_comment),
        )
        .with_state(hub)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRepo {
    owner: String,
    name: String,
    /// Owner is an organisation (default) or a user.
    #[serde(default = "yes")]
    org: bool,
}

fn yes() -> bool {
    true
}

async fn create_repo(State(hub): Hub, body: Bytes) -> ApiResult {
    let new: NewRepo = parse_body(&body)?;
    hub.write(|tx| {
        tx.world.create_repo(&new.owner, &new.name, new.org);
        tx.changed = true;
        Ok(())
    })?;
    let v = hub
        .read(|w| {
            w.repo(&new.owner, &new.name)
                .map(|r| render::repository(w, r))
        })
        .ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hook {
    /// Where the repository's deliveries go; `null` removes the hook.
    url: Option<String>,
    secret: Option<String>,
}

/// `POST /_sandbox/github/repos/{o}/{r}/hooks {url, secret}`: the repository's own webhook,
/// as a GitHub repository hook; its deliveries go there instead of the global target.
async fn set_hook(State(hub): Hub, Path((o, r)): Path<(String, String)>, body: Bytes) -> ApiResult {
    let h: Hook = parse_body(&body)?;
    if let Some(u) = &h.url
        && url::Url::parse(u).is_err()
    {
        return Err(ApiError::validation("Hook", "url", "invalid"));
    }
    let full_name = hub
        .read(|w| w.repo(&o, &r).map(|repo| repo.full_name()))
        .ok_or_else(ApiError::not_found)?;
    let secret_set = h.secret.is_some();
    let id = hub.deliveries.set_repo_target(
        &full_name,
        h.url.clone(),
        h.secret.map(secrecy::SecretString::from),
    );
    Ok(axum::Json(
        json!({ "repository": full_name, "id": id, "url": h.url, "secret_set": secret_set }),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    login: String,
    #[serde(default)]
    state: MemberState,
    #[serde(default)]
    role: MemberRole,
}

async fn add_member(
    State(hub): Hub,
    Path((org, slug)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let m: NewMember = parse_body(&body)?;
    let membership = Membership {
        state: m.state,
        role: m.role,
    };
    hub.write(|tx| {
        tx.world.set_member(&org, &slug, &m.login, membership);
        tx.changed = true;
        Ok(())
    })?;
    Ok(axum::Json(
        json!({ "org": org, "team": slug, "login": m.login, "state": m.state, "role": m.role }),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenIssue {
    #[serde(rename = "as")]
    actor: String,
    title: String,
    body: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    assignees: Vec<String>,
}

async fn open_issue(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let i: OpenIssue = parse_body(&body)?;
    let n = hub.write(|tx| {
        tx.create_issue(
            &o,
            &r,
            &i.actor,
            NewIssue {
                title: i.title,
                body: i.body,
                labels: i.labels,
                assignees: i.assignees,
            },
        )
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(full_state(&hub, &o, &r, n)?),
    )
        .into_response())
}

/// Most issues one bulk open may ask for: a bench's 10,000 links in one request, with room.
const MAX_BULK: usize = 50_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenIssues {
    #[serde(rename = "as")]
    actor: String,
    /// How many issues; each is titled `"{title} {i}"`, `i` from 0.
    count: usize,
    title: String,
    body: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

/// `POST /_sandbox/github/repos/{o}/{r}/issues/bulk {as, count, title, body, labels}`:
/// opens `count` issues as `as` in one request (a bench's seed of thousands of concerns),
/// each exactly as `POST .../issues` would (events, webhook deliveries, numbers in order).
/// Answers `201 {"numbers": [..]}`; `400` when `count` is 0 or above 50,000.
async fn open_issues(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let bulk: OpenIssues = parse_body(&body)?;
    if bulk.count == 0 || bulk.count > MAX_BULK {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            &format!("count must be 1 to {MAX_BULK}, not {}", bulk.count),
        ));
    }
    let numbers = hub.write(|tx| {
        (0..bulk.count)
            .map(|i| {
                tx.create_issue(
                    &o,
                    &r,
                    &bulk.actor,
                    NewIssue {
                        title: format!("{} {i}", bulk.title),
                        body: bulk.body.clone(),
                        labels: bulk.labels.clone(),
                        assignees: Vec::new(),
                    },
                )
            })
            .collect::<Result<Vec<u64>, ApiError>>()
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "numbers": numbers })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditIssue {
    #[serde(rename = "as")]
    actor: String,
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    state_reason: Option<String>,
    labels: Option<Vec<String>>,
    assignees: Option<Vec<String>>,
}

async fn edit_issue(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let e: EditIssue = parse_body(&body)?;
    let patch = IssuePatch {
        title: e.title,
        body: e.body,
        state: e.state,
        state_reason: e.state_reason,
        labels: e.labels,
        assignees: e.assignees,
    };
    hub.write(|tx| tx.edit_issue(&o, &r, n, &e.actor, patch))?;
    Ok(axum::Json(full_state(&hub, &o, &r, n)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddLabels {
    #[serde(rename = "as")]
    actor: String,
    labels: Vec<String>,
}

async fn add_labels(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let a: AddLabels = parse_body(&body)?;
    hub.write(|tx| tx.add_labels(&o, &r, n, &a.actor, &a.labels))?;
    Ok(axum::Json(full_state(&hub, &o, &r, n)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Transfer {
    #[serde(rename = "as")]
    actor: String,
    /// `owner/name` of the repository it goes to.
    to: String,
}

/// `POST …/issues/{n}/transfer {"as", "to": "owner/name"}`: answers the issue's full state
/// in its new repository.
async fn transfer(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let t: Transfer = parse_body(&body)?;
    let (to_o, to_r) =
        t.to.split_once('/')
            .ok_or_else(|| ApiError::validation("Issue", "repository", "invalid"))?;
    let new = hub.write(|tx| tx.transfer_issue((&o, &r), n, &t.actor, (to_o, to_r)))?;
    Ok(axum::Json(full_state(&hub, to_o, to_r, new)?).into_response())
}

#[derive(Deserialize)]
struct As {
    #[serde(rename = "as")]
    actor: String,
}

async fn remove_label(
    State(hub): Hub,
    Path((o, r, n, name)): Path<(String, String, String, String)>,
    Query(a): Query<As>,
) -> ApiResult {
    let n = number(&n)?;
    hub.write(|tx| tx.remove_label(&o, &r, n, &a.actor, &name))?;
    Ok(axum::Json(full_state(&hub, &o, &r, n)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewComment {
    #[serde(rename = "as")]
    actor: String,
    body: String,
}

async fn comment(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let c: NewComment = parse_body(&body)?;
    let id = hub.write(|tx| tx.create_comment(&o, &r, n, &c.actor, &c.body))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "id": id, "issue": full_state(&hub, &o, &r, n)? })),
    )
        .into_response())
}

async fn edit_comment(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let id = number(&id)?;
    let c: NewComment = parse_body(&body)?;
    hub.write(|tx| tx.edit_comment(&o, &r, id, &c.actor, &c.body))?;
    Ok(axum::Json(json!({ "id": id })).into_response())
}

async fn delete_comment(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
    Query(a): Query<As>,
) -> ApiResult {
    let id = number(&id)?;
    hub.write(|tx| tx.delete_comment(&o, &r, id, &a.actor))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn issue_state(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
) -> ApiResult {
    Ok(axum::Json(full_state(&hub, &o, &r, number(&n)?)?).into_response())
}

/// Everything about one issue: the REST shape plus label names, comments and the event log.
fn full_state(hub: &GithubHub, o: &str, r: &str, n: u64) -> Result<Value, ApiError> {
    hub.read(|w| {
        let repo = w.repo(o, r).ok_or_else(ApiError::not_found)?;
        let i = repo.issue(n).ok_or_else(ApiError::not_found)?;
        let comments: Vec<Value> = i
            .comments
            .iter()
            .filter_map(|id| repo.comments.get(id))
            .map(|c| render::comment(w, repo, c))
            .collect();
        Ok(json!({
            "number": i.number,
            "title": i.title,
            "body": i.body,
            "state": if i.open { "open" } else { "closed" },
            "state_reason": i.state_reason,
            "labels": i.labels,
            "assignees": i.assignees,
            "author": i.user,
            "comments": comments,
            "events": i.events,
            "issue": render::issue(w, repo, i),
        }))
    })
}
