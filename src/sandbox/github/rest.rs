//! GitHub REST routes as the daemon uses them, answered as `api.github.com` would.
//! Every write acts as the token's user (the bot).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::GithubHub;
use super::http::{ApiError, Page, number, paginate, paginated, parse_body, query_pairs};
use super::ops::{self, IssuePatch};
use super::render;

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// The REST routes (without the auth/headers layer, which `Sandbox` adds).
pub fn router(hub: Arc<GithubHub>) -> Router {
    let issues = "/repos/{owner}/{repo}/issues";
    Router::new()
        .route("/user", get(current_user))
        .route("/users/{login}", get(get_user))
        .route("/repos/{owner}/{repo}", get(get_repo))
        .route(issues, get(list_issues).post(create_issue))
        .route(
            &format!("{issues}/{{n}}"),
            get(get_issue).patch(patch_issue),
        )
        .route(
            &format!("{issues}/{{n}}/comments"),
            get(list_comments).post(create_comment),
        )
        .route(
            &format!("{issues}/comments/{{id}}"),
            get(get_comment).patch(patch_comment).delete(delete_comment),
        )
        .route(
            &format!("{issues}/{{n}}/labels"),
            get(issue_labels)
                .post(add_labels)
                .put(set_labels)
                .delete(clear_labels),
        )
        // Catch-all: GitHub takes the rest of the path as the name, so a label with a `/`
        // works sent raw (PyGithub quotes names with `safe="/"`) or percent-encoded.
        .route(
            &format!("{issues}/{{n}}/labels/{{*name}}"),
            delete(remove_label),
        )
        .route(
            "/repos/{owner}/{repo}/labels",
            get(repo_labels).post(create_label),
        )
        .route("/repos/{owner}/{repo}/labels/{*name}", get(get_label))
        .with_state(hub.clone())
        .merge(super::events::router(hub.clone()))
        .merge(super::orgs::router(hub.clone()))
        .merge(super::milestones::router(hub.clone()))
        .merge(super::projects::rest::router(hub))
}

fn json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

async fn current_user(State(hub): Hub) -> ApiResult {
    hub.read(|w| {
        let a = w
            .find_account(&w.bot_login)
            .ok_or_else(ApiError::not_found)?;
        Ok(json(
            StatusCode::OK,
            render::full_user(&w.base_url, a, true),
        ))
    })
}

async fn get_user(State(hub): Hub, Path(login): Path<String>) -> ApiResult {
    hub.read(|w| {
        let a = w.find_account(&login).ok_or_else(ApiError::not_found)?;
        Ok(json(
            StatusCode::OK,
            render::full_user(&w.base_url, a, false),
        ))
    })
}

async fn get_repo(State(hub): Hub, Path((o, r)): Path<(String, String)>) -> ApiResult {
    hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let mut v = render::repository(w, repo);
        // An authenticated `GET /repos/{owner}/{repo}` says what the token's user may do
        // (`full-repository.permissions`; webhook payloads carry no such key). The sandbox's
        // token user writes issues, labels and comments: push, not admin.
        v["permissions"] = serde_json::json!({
            "admin": false, "maintain": false, "push": true, "triage": true, "pull": true,
        });
        Ok(json(StatusCode::OK, v))
    })
}

fn since(q: &[(String, String)]) -> Result<Option<DateTime<Utc>>, ApiError> {
    match q.iter().find(|(k, _)| k == "since") {
        None => Ok(None),
        Some((_, v)) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| ApiError::validation("Issue", "since", "invalid")),
    }
}

async fn list_issues(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = query_pairs(raw.as_deref());
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let state = get("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return Err(ApiError::validation("Issue", "state", "invalid"));
    }
    let labels: Vec<&str> = get("labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let since = since(&q)?;
    let by_updated = get("sort") == Some("updated");
    let ascending = get("direction") == Some("asc");
    let page = Page::from_query(&q);
    let (total, items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let mut found: Vec<_> = repo
            .issues
            .iter()
            .filter(|i| i.transferred_to.is_none())
            .filter(|i| state == "all" || (state == "open") == i.open)
            .filter(|i| {
                labels
                    .iter()
                    .all(|l| i.labels.iter().any(|x| super::model::same_name(x, l)))
            })
            .filter(|i| since.is_none_or(|s| i.updated_at >= s))
            .collect();
        found.sort_by_key(|i| {
            if by_updated {
                (i.updated_at, i.number)
            } else {
                (i.created_at, i.number)
            }
        });
        if !ascending {
            found.reverse();
        }
        // Only the page asked for is rendered (at 10,000 issues, rendering all of them for
        // each page of 100 took seconds a page in a debug build).
        let total = found.len();
        let items: Vec<Value> = found
            .into_iter()
            .skip(page.skip())
            .take(page.per_page)
            .map(|i| render::issue(w, repo, i))
            .collect();
        Ok::<_, ApiError>((
            total,
            items,
            format!("{}/repos/{}/issues", w.base_url, repo.full_name()),
        ))
    })?;
    Ok(paginated(total, items, page, &url, &q))
}

#[derive(Deserialize)]
struct NewIssue {
    title: Option<Value>,
    body: Option<String>,
    #[serde(default)]
    labels: Vec<LabelArg>,
    #[serde(default)]
    assignees: Vec<String>,
}

/// A label given as a name or as `{"name": …}` (GitHub accepts both).
#[derive(Deserialize)]
#[serde(untagged)]
enum LabelArg {
    Name(String),
    Object { name: String },
}

fn label_names(args: Vec<LabelArg>) -> Vec<String> {
    args.into_iter()
        .map(|a| match a {
            LabelArg::Name(n) | LabelArg::Object { name: n } => n,
        })
        .collect()
}

fn issue_json(hub: &GithubHub, o: &str, r: &str, n: u64) -> Result<Value, ApiError> {
    hub.read(|w| {
        let repo = w.repo(o, r).ok_or_else(ApiError::not_found)?;
        repo.issue(n).ok_or_else(ApiError::not_found)?;
        // With the issue type and the sub-issues summary, which live with projects.
        let addr = super::projects::ops::addr(&repo.full_name(), n);
        super::projects::ops::issue_json(w, &addr)
            .map(|(v, _)| v)
            .ok_or_else(ApiError::not_found)
    })
}

fn bot(hub: &GithubHub) -> String {
    hub.read(|w| w.bot_login.clone())
}

async fn create_issue(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let new: NewIssue = parse_body(&body)?;
    let title = match new.title {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiError::validation("Issue", "title", "missing_field")),
    };
    let actor = bot(&hub);
    let labels = label_names(new.labels);
    let n = hub.write(|tx| {
        tx.create_issue(
            &o,
            &r,
            &actor,
            ops::NewIssue {
                title,
                body: new.body,
                labels,
                assignees: new.assignees,
            },
        )
    })?;
    let mut resp = json(StatusCode::CREATED, issue_json(&hub, &o, &r, n)?);
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("{}/repos/{o}/{r}/issues/{n}", hub.base_url()))
    {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(resp)
}

async fn get_issue(State(hub): Hub, Path((o, r, n)): Path<(String, String, String)>) -> ApiResult {
    let n = number(&n)?;
    // A transferred issue's old address answers 301 with where it went, as GitHub does.
    let moved = hub.read(|w| {
        let issue = w.repo(&o, &r)?.issue(n)?;
        let (repo, number) = issue.transferred_to.clone()?;
        Some(format!("{}/repos/{repo}/issues/{number}", w.base_url))
    });
    if let Some(url) = moved {
        return Ok((
            StatusCode::MOVED_PERMANENTLY,
            [(axum::http::header::LOCATION, url.clone())],
            axum::Json(serde_json::json!({
                "message": "Moved Permanently",
                "url": url,
                "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue"
            })),
        )
            .into_response());
    }
    Ok(json(StatusCode::OK, issue_json(&hub, &o, &r, n)?))
}

#[derive(Deserialize)]
struct PatchBody {
    title: Option<String>,
    body: Option<String>,
    state: Option<String>,
    state_reason: Option<String>,
    labels: Option<Vec<LabelArg>>,
    assignees: Option<Vec<String>>,
    /// The organisation's issue type, by name.
    #[serde(rename = "type")]
    issue_type: Option<String>,
}

async fn patch_issue(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let p: PatchBody = parse_body(&body)?;
    let patch = IssuePatch {
        title: p.title,
        body: p.body,
        state: p.state,
        state_reason: p.state_reason,
        labels: p.labels.map(label_names),
        assignees: p.assignees,
    };
    let actor = bot(&hub);
    hub.write(|tx| tx.edit_issue(&o, &r, n, &actor, patch))?;
    if let Some(t) = p.issue_type {
        hub.write(|tx| super::projects::ops::set_issue_type(tx, &o, &r, n, &t))?;
    }
    Ok(json(StatusCode::OK, issue_json(&hub, &o, &r, n)?))
}

async fn list_comments(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let n = number(&n)?;
    let q = query_pairs(raw.as_deref());
    let since = since(&q)?;
    let (items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let issue = repo.issue(n).ok_or_else(ApiError::not_found)?;
        let items: Vec<Value> = issue
            .comments
            .iter()
            .filter_map(|id| repo.comments.get(id))
            .filter(|c| since.is_none_or(|s| c.updated_at >= s))
            .map(|c| render::comment(w, repo, c))
            .collect();
        Ok::<_, ApiError>((
            items,
            format!(
                "{}/repos/{}/issues/{n}/comments",
                w.base_url,
                repo.full_name()
            ),
        ))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

#[derive(Deserialize)]
struct CommentBody {
    body: Option<String>,
}

fn comment_json(hub: &GithubHub, o: &str, r: &str, id: u64) -> Result<Value, ApiError> {
    hub.read(|w| {
        let repo = w.repo(o, r).ok_or_else(ApiError::not_found)?;
        let c = repo.comments.get(&id).ok_or_else(ApiError::not_found)?;
        Ok(render::comment(w, repo, c))
    })
}

async fn create_comment(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let c: CommentBody = parse_body(&body)?;
    let actor = bot(&hub);
    let text = c.body.unwrap_or_default();
    let id = hub.write(|tx| tx.create_comment(&o, &r, n, &actor, &text))?;
    Ok(json(StatusCode::CREATED, comment_json(&hub, &o, &r, id)?))
}

async fn get_comment(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
) -> ApiResult {
    Ok(json(
        StatusCode::OK,
        comment_json(&hub, &o, &r, number(&id)?)?,
    ))
}

async fn patch_comment(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let id = number(&id)?;
    let c: CommentBody = parse_body(&body)?;
    let actor = bot(&hub);
    let text = c.body.unwrap_or_default();
    hub.write(|tx| tx.edit_comment(&o, &r, id, &actor, &text))?;
    Ok(json(StatusCode::OK, comment_json(&hub, &o, &r, id)?))
}

async fn delete_comment(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
) -> ApiResult {
    let id = number(&id)?;
    let actor = bot(&hub);
    hub.write(|tx| tx.delete_comment(&o, &r, id, &actor))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn labels_json(hub: &GithubHub, o: &str, r: &str, n: u64) -> Result<Value, ApiError> {
    let issue = issue_json(hub, o, r, n)?;
    Ok(issue
        .get("labels")
        .cloned()
        .unwrap_or(Value::Array(Vec::new())))
}

async fn issue_labels(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let n = number(&n)?;
    let q = query_pairs(raw.as_deref());
    let items = match labels_json(&hub, &o, &r, n)? {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    let url = format!("{}/repos/{o}/{r}/issues/{n}/labels", hub.base_url());
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

/// `{"labels": [...]}` or a bare array, of names or `{name}` objects.
fn labels_body(body: &Bytes) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Wrapped { labels: Vec<LabelArg> },
        Bare(Vec<LabelArg>),
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    match parse_body::<Body>(body)? {
        Body::Wrapped { labels } | Body::Bare(labels) => Ok(label_names(labels)),
    }
}

async fn add_labels(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let labels = labels_body(&body)?;
    let actor = bot(&hub);
    hub.write(|tx| tx.add_labels(&o, &r, n, &actor, &labels))?;
    Ok(json(StatusCode::OK, labels_json(&hub, &o, &r, n)?))
}

async fn set_labels(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let labels = labels_body(&body)?;
    let actor = bot(&hub);
    hub.write(|tx| tx.set_labels(&o, &r, n, &actor, &labels))?;
    Ok(json(StatusCode::OK, labels_json(&hub, &o, &r, n)?))
}

async fn clear_labels(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
) -> ApiResult {
    let n = number(&n)?;
    let actor = bot(&hub);
    hub.write(|tx| tx.set_labels(&o, &r, n, &actor, &[]))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_label(
    State(hub): Hub,
    Path((o, r, n, name)): Path<(String, String, String, String)>,
) -> ApiResult {
    let n = number(&n)?;
    let actor = bot(&hub);
    hub.write(|tx| tx.remove_label(&o, &r, n, &actor, &name))?;
    Ok(json(StatusCode::OK, labels_json(&hub, &o, &r, n)?))
}

async fn repo_labels(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = query_pairs(raw.as_deref());
    let (items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let items: Vec<Value> = repo
            .labels
            .iter()
            .map(|l| render::label(&w.base_url, repo, l))
            .collect();
        Ok::<_, ApiError>((
            items,
            format!("{}/repos/{}/labels", w.base_url, repo.full_name()),
        ))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

async fn get_label(
    State(hub): Hub,
    Path((o, r, name)): Path<(String, String, String)>,
) -> ApiResult {
    hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let l = repo.label(&name).ok_or_else(ApiError::not_found)?;
        Ok(json(StatusCode::OK, render::label(&w.base_url, repo, l)))
    })
}

#[derive(Deserialize)]
struct NewLabel {
    name: Option<String>,
    color: Option<String>,
    description: Option<String>,
}

async fn create_label(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let new: NewLabel = parse_body(&body)?;
    let name = new
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::validation("Label", "name", "missing_field"))?;
    let color = new
        .color
        .map(|c| c.trim_start_matches('#').to_ascii_lowercase());
    if color
        .as_ref()
        .is_some_and(|c| c.len() != 6 || !c.chars().all(|x| x.is_ascii_hexdigit()))
    {
        return Err(ApiError::validation("Label", "color", "invalid"));
    }
    let exists = hub
        .read(|w| w.repo(&o, &r).map(|repo| repo.label(&name).is_some()))
        .ok_or_else(ApiError::not_found)?;
    if exists {
        return Err(ApiError::validation("Label", "name", "already_exists"));
    }
    let label = hub.write(|tx| tx.ensure_label(&o, &r, &name, color, new.description))?;
    let v = hub
        .read(|w| {
            w.repo(&o, &r)
                .map(|repo| render::label(&w.base_url, repo, &label))
        })
        .ok_or_else(ApiError::not_found)?;
    Ok(json(StatusCode::CREATED, v))
}
