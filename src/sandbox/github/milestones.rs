//! Repository milestones: `GET /repos/{owner}/{repo}/milestones` (`issues/list-milestones`:
//! `state` open/closed/all, `sort` due_on/completeness, `direction`, pages),
//! `POST /repos/{owner}/{repo}/milestones` (`issues/create-milestone`) and
//! `GET /repos/{owner}/{repo}/milestones/{number}`, answered in the `milestone` schema of
//! `github-rest.json`. Clients that map milestones (jirahub reads the list when it starts)
//! need the list; the sandbox's issues carry no milestone, so the issue counts are 0.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::GithubHub;
use super::http::{ApiError, Page, paginate, parse_body, query_pairs};
use super::model::{Milestone, Repo, World};
use super::render::{node_id, ts, user_by_login};

type Hub = State<Arc<GithubHub>>;

/// The milestone routes (the auth/headers layer is added with the REST routes').
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/repos/{owner}/{repo}/milestones", get(list).post(create))
        .route("/repos/{owner}/{repo}/milestones/{number}", get(one))
        .with_state(hub)
}

/// A milestone as GitHub's `milestone` schema.
pub fn render(w: &World, repo: &Repo, m: &Milestone) -> Value {
    let base = &w.base_url;
    let full = repo.full_name();
    json!({
        "url": format!("{base}/repos/{full}/milestones/{}", m.number),
        "html_url": format!("{base}/{full}/milestone/{}", m.number),
        "labels_url": format!("{base}/repos/{full}/milestones/{}/labels", m.number),
        "id": m.id,
        "node_id": node_id("Milestone", m.id),
        "number": m.number,
        "state": if m.open { "open" } else { "closed" },
        "title": m.title,
        "description": m.description,
        "creator": user_by_login(w, &m.creator),
        "open_issues": 0,
        "closed_issues": 0,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.created_at),
        "closed_at": if m.open { Value::Null } else { json!(ts(m.created_at)) },
        "due_on": m.due_on.map(ts),
    })
}

async fn list(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = query_pairs(raw.as_deref());
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let state = get("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return Err(ApiError::validation("Milestone", "state", "invalid"));
    }
    let sort = get("sort").unwrap_or("due_on");
    if !matches!(sort, "due_on" | "completeness") {
        return Err(ApiError::validation("Milestone", "sort", "invalid"));
    }
    let descending = get("direction") == Some("desc");
    let (items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let mut found: Vec<&Milestone> = repo
            .milestones
            .iter()
            .filter(|m| state == "all" || (state == "open") == m.open)
            .collect();
        // By due date (none last), then number; every milestone is 0 % complete here.
        found.sort_by_key(|m| (m.due_on.is_none(), m.due_on, m.number));
        if descending {
            found.reverse();
        }
        let items = found.into_iter().map(|m| render(w, repo, m)).collect();
        Ok::<_, ApiError>((
            items,
            format!("{}/repos/{}/milestones", w.base_url, repo.full_name()),
        ))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

async fn one(
    State(hub): Hub,
    Path((o, r, number)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let number: u64 = number.parse().map_err(|_| ApiError::not_found())?;
    hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        let m = repo
            .milestones
            .iter()
            .find(|m| m.number == number)
            .ok_or_else(ApiError::not_found)?;
        Ok((StatusCode::OK, axum::Json(render(w, repo, m))).into_response())
    })
}

#[derive(Deserialize)]
struct NewMilestone {
    title: Option<String>,
    state: Option<String>,
    description: Option<String>,
    due_on: Option<String>,
}

async fn create(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new: NewMilestone = parse_body(&body)?;
    let title = new
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::validation("Milestone", "title", "missing_field"))?;
    let open = match new.state.as_deref() {
        None | Some("open") => true,
        Some("closed") => false,
        Some(_) => return Err(ApiError::validation("Milestone", "state", "invalid")),
    };
    let due_on = match new.due_on.as_deref() {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| ApiError::validation("Milestone", "due_on", "invalid"))?
                .with_timezone(&Utc),
        ),
    };
    let v = hub.write(|tx| {
        let id = tx.world.next_id();
        let creator = tx.world.bot_login.clone();
        let w = &mut *tx.world;
        let repo = w
            .repos
            .get_mut(&format!("{o}/{r}").to_ascii_lowercase())
            .ok_or_else(ApiError::not_found)?;
        if repo.milestones.iter().any(|m| m.title == title) {
            return Err(ApiError::validation("Milestone", "title", "already_exists"));
        }
        let m = Milestone {
            id,
            number: repo.milestones.len() as u64 + 1,
            title,
            description: new.description,
            open,
            due_on,
            creator,
            created_at: Utc::now(),
        };
        repo.milestones.push(m.clone());
        tx.changed = true;
        let w = &*tx.world;
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        Ok(render(w, repo, &m))
    })?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}
