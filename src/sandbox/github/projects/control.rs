//! Control routes under `/_sandbox/github/` for projects: create a project with its fields,
//! define an organisation's issue types, and act as a team member on an item (move its
//! Status, set its Iteration), and read the sub-issue tree. Closing a story as a person
//! goes through the general `PATCH /_sandbox/github/repos/{o}/{r}/issues/{n}` route.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::model::{FieldKind, ValueRec};
use super::ops::{self, ProjectSeed};
use crate::sandbox::github::GithubHub;
use crate::sandbox::github::http::{ApiError, number, parse_body};

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// The control routes.
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/_sandbox/github/projects", post(create_project))
        .route(
            "/_sandbox/github/orgs/{org}/issue-types",
            post(set_issue_types),
        )
        .route(
            "/_sandbox/github/projects/{owner}/{number}/items/{repo_owner}/{repo}/{n}",
            post(set_item_field),
        )
        .with_state(hub)
}

async fn create_project(State(hub): Hub, body: Bytes) -> ApiResult {
    let seed: ProjectSeed = parse_body(&body)?;
    hub.write(|tx| {
        let id = ops::seed_project(tx.world, seed);
        tx.changed = true;
        Ok((StatusCode::CREATED, axum::Json(json!({ "node_id": id }))).into_response())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypesBody {
    names: Vec<String>,
}

async fn set_issue_types(State(hub): Hub, Path(org): Path<String>, body: Bytes) -> ApiResult {
    let b: TypesBody = parse_body(&body)?;
    hub.write(|tx| {
        ops::set_issue_types(tx.world, &org, b.names);
        tx.changed = true;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemChange {
    /// Who acts (a team member).
    actor: String,
    /// The field's name.
    field: String,
    /// The option or iteration title to set.
    value: String,
}

/// Sets a field of an issue's item as `actor` would in the project's UI (adding the issue
/// to the project first when it is not in it).
async fn set_item_field(
    State(hub): Hub,
    Path((owner, pnum, ro, r, n)): Path<(String, String, String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let (pnum, n) = (number(&pnum)?, number(&n)?);
    let c: ItemChange = parse_body(&body)?;
    hub.write(|tx| {
        tx.world.account(&c.actor, "User");
        let a = ops::addr(&format!("{ro}/{r}"), n);
        let p = tx
            .world
            .projects
            .project(&owner, pnum)
            .ok_or_else(ApiError::not_found)?;
        let pnode = p.node_id.clone();
        let f = p
            .field_named(&c.field)
            .ok_or_else(ApiError::not_found)?
            .clone();
        let value = match &f.kind {
            FieldKind::SingleSelect(opts) => opts
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(&c.value))
                .map(|(id, _)| ValueRec::Option(id.clone())),
            FieldKind::Iteration(its) => its
                .iter()
                .find(|x| x.title.eq_ignore_ascii_case(&c.value))
                .map(|x| ValueRec::Iteration(x.id.clone())),
            FieldKind::Text => None,
        }
        .ok_or_else(|| ApiError::validation("ProjectV2Item", "value", "invalid"))?;
        let item = ops::add_item(tx, &pnode, &a, &c.actor)?;
        ops::set_value(tx, &pnode, &item, &f.node_id, value, &c.actor)?;
        Ok((StatusCode::OK, axum::Json(json!({ "item": item }))).into_response())
    })
}
