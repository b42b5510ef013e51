//! REST routes of sub-issues and issue types, as GitHub's REST description has them:
//! `GET|POST /repos/{owner}/{repo}/issues/{n}/sub_issues`,
//! `DELETE /repos/{owner}/{repo}/issues/{n}/sub_issue`, `GET /orgs/{org}/issue-types`.
//! (GitHub's description as shipped in `../shared/specs` has no `…/parent` route.)

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::Value;

use super::ops;
use crate::sandbox::github::GithubHub;
use crate::sandbox::github::http::{ApiError, Page, number, paginate, parse_body, query_pairs};
use crate::sandbox::github::render;

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// The routes.
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{n}/sub_issues",
            get(list_sub_issues).post(add_sub_issue),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{n}/sub_issue",
            delete(remove_sub_issue),
        )
        .route("/orgs/{org}/issue-types", get(issue_types))
        .route("/graphql", axum::routing::post(super::graphql::handle))
        .with_state(hub)
}

async fn list_sub_issues(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let n = number(&n)?;
    let q = query_pairs(raw.as_deref());
    let parent = ops::addr(&format!("{o}/{r}"), n);
    let (items, url) = hub.read(|w| {
        let repo = w.repo(&o, &r).ok_or_else(ApiError::not_found)?;
        repo.issue(n).ok_or_else(ApiError::not_found)?;
        let items: Vec<Value> = w
            .projects
            .children
            .get(&parent)
            .into_iter()
            .flatten()
            .filter_map(|k| ops::issue_json(w, k).map(|(v, _)| v))
            .collect();
        let url = format!(
            "{}/repos/{}/issues/{n}/sub_issues",
            w.base_url,
            repo.full_name()
        );
        Ok::<_, ApiError>((items, url))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

#[derive(Deserialize)]
struct SubIssueBody {
    sub_issue_id: u64,
    #[serde(default)]
    replace_parent: bool,
}

async fn add_sub_issue(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let b: SubIssueBody = parse_body(&body)?;
    let parent = ops::addr(&format!("{o}/{r}"), n);
    hub.write(|tx| {
        let bot = tx.world.bot_login.clone();
        tx.world
            .repo(&o, &r)
            .and_then(|repo| repo.issue(n))
            .ok_or_else(ApiError::not_found)?;
        let child = ops::issue_by_id(tx.world, b.sub_issue_id)
            .ok_or_else(|| ApiError::validation("Issue", "sub_issue_id", "invalid"))?;
        ops::add_sub_issue(tx, &parent, &child, b.replace_parent, &bot)?;
        let (v, _) = ops::issue_json(tx.world, &child).ok_or_else(ApiError::not_found)?;
        Ok((StatusCode::CREATED, axum::Json(v)).into_response())
    })
}

async fn remove_sub_issue(
    State(hub): Hub,
    Path((o, r, n)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let n = number(&n)?;
    let b: SubIssueBody = parse_body(&body)?;
    let parent = ops::addr(&format!("{o}/{r}"), n);
    hub.write(|tx| {
        let bot = tx.world.bot_login.clone();
        let child = ops::issue_by_id(tx.world, b.sub_issue_id).ok_or_else(ApiError::not_found)?;
        ops::remove_sub_issue(tx, &parent, &child, &bot)?;
        let (v, _) = ops::issue_json(tx.world, &child).ok_or_else(ApiError::not_found)?;
        Ok((StatusCode::OK, axum::Json(v)).into_response())
    })
}

async fn issue_types(State(hub): Hub, Path(org): Path<String>) -> ApiResult {
    hub.read(|w| {
        if !w.is_org(&org) {
            return Err(ApiError::not_found());
        }
        let list: Vec<Value> = w
            .projects
            .issue_types
            .get(&org.to_ascii_lowercase())
            .into_iter()
            .flatten()
            .map(|t| {
                serde_json::json!({ "id": t.id, "node_id": t.node_id, "name": t.name,
                    "description": null, "color": "purple", "created_at": render::ts(t.created_at),
                    "updated_at": render::ts(t.created_at), "is_enabled": true })
            })
            .collect();
        Ok((StatusCode::OK, axum::Json(Value::Array(list))).into_response())
    })
}
