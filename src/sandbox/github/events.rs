//! `GET /repos/{owner}/{repo}/issues/{issue_number}/events`, answered as `api.github.com`
//! does (GitHub's `issue-event-for-issue` shapes, paginated with a `Link` header): what
//! people did to the issue, with the actor and the time, as the sandbox recorded it.
//!
//! GitHub lists `labeled`, `unlabeled`, `assigned`, `unassigned`, `closed` (with its
//! `state_reason`), `reopened` and `renamed` (a title change, with `rename.from` / `to`)
//! here; an issue's opening, body edits and comments are not issue events, so the entries
//! the sandbox logs for those are left out.
//! Source: <https://docs.github.com/rest/issues/events#list-issue-events> and the
//! `issue-event-for-issue` schema of `../shared/specs/github-rest.json`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::GithubHub;
use super::http::{ApiError, Page, number, paginate, query_pairs};
use super::model::{Issue, Repo, World};
use super::render;

/// The route (without the auth/headers layer, which `Sandbox` adds).
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/repos/{owner}/{repo}/issues/{n}/events", get(list_events))
        .with_state(hub)
}

async fn list_events(
    State(hub): State<Arc<GithubHub>>,
    Path((o, r, n)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let n = number(&n)?;
    let q = query_pairs(raw.as_deref());
    let (items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let issue = repo.issue(n).ok_or_else(ApiError::not_found)?;
        let url = format!(
            "{}/repos/{}/issues/{n}/events",
            w.base_url,
            repo.full_name()
        );
        Ok::<_, ApiError>((render_events(w, repo, issue), url))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

/// The issue's logged entries as GitHub issue events, oldest first.
fn render_events(w: &World, repo: &Repo, issue: &Issue) -> Vec<Value> {
    let log = &issue.events;
    log.iter()
        .enumerate()
        .filter_map(|(i, entry)| render_one(w, repo, issue, entry, &log[i + 1..]))
        .collect()
}

fn text<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Value::as_str)
}

/// One entry, or `None` for what GitHub does not list as an issue event.
fn render_one(
    w: &World,
    repo: &Repo,
    issue: &Issue,
    entry: &Value,
    later: &[Value],
) -> Option<Value> {
    let kind = text(entry, "event")?;
    let id = entry.get("id").and_then(Value::as_u64)?;
    let actor = text(entry, "actor")?;
    let mut out = Map::new();
    let event = match kind {
        "labeled" | "unlabeled" => {
            let name = text(entry, "label")?;
            let color = repo.label(name).map_or("ededed", |l| l.color.as_str());
            out.insert("label".into(), json!({ "name": name, "color": color }));
            kind
        }
        "assigned" | "unassigned" => {
            let assignee = text(entry, "assignee")?;
            out.insert("assignee".into(), render::user_by_login(w, assignee));
            out.insert("assigner".into(), render::user_by_login(w, actor));
            kind
        }
        "closed" => {
            out.insert(
                "state_reason".into(),
                entry.get("state_reason").cloned().unwrap_or(Value::Null),
            );
            kind
        }
        "reopened" => {
            out.insert("state_reason".into(), json!("reopened"));
            kind
        }
        "edited" => {
            let from = entry
                .pointer("/changes/title/from")
                .and_then(Value::as_str)?;
            // The title it was renamed to: the next rename's `from`, else the title now.
            let to = later
                .iter()
                .find_map(|e| e.pointer("/changes/title/from").and_then(Value::as_str))
                .unwrap_or(&issue.title);
            out.insert("rename".into(), json!({ "from": from, "to": to }));
            "renamed"
        }
        _ => return None,
    };
    out.insert("id".into(), json!(id));
    out.insert("node_id".into(), json!(render::node_id("IssueEvent", id)));
    out.insert(
        "url".into(),
        json!(format!(
            "{}/repos/{}/issues/events/{id}",
            w.base_url,
            repo.full_name()
        )),
    );
    out.insert("actor".into(), render::user_by_login(w, actor));
    out.insert("event".into(), json!(event));
    out.insert("commit_id".into(), Value::Null);
    out.insert("commit_url".into(), Value::Null);
    out.insert(
        "created_at".into(),
        entry.get("created_at").cloned().unwrap_or(Value::Null),
    );
    out.insert("performed_via_github_app".into(), Value::Null);
    Some(Value::Object(out))
}
