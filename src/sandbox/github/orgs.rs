//! Organisation and team routes as third-party clients walk them: PyGithub's
//! `get_organization(org).get_team_by_slug(slug)` reads `GET /orgs/{org}` and
//! `GET /orgs/{org}/teams/{slug}`, then follows the team's `url`
//! (`/organizations/{org_id}/team/{team_id}`, GitHub's id-based alias of the slug routes) for
//! `has_in_members` (`…/members/{username}`: 204 or 404) and `get_team_membership`
//! (`…/memberships/{username}`). The legacy `/teams/{team_id}/…` routes answer the same.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::GithubHub;
use super::http::{ApiError, Page, paginate, query_pairs};
use super::model::{Account, MemberRole, MemberState, Membership, Team, World};
use super::render::{self, node_id, ts};

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// The organisation and team routes (behind the same auth/headers layer as the rest).
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/orgs/{org}", get(get_org))
        .route("/orgs/{org}/teams/{slug}", get(get_team))
        .route(
            "/orgs/{org}/teams/{slug}/members",
            get(list_members_by_slug),
        )
        .route(
            "/orgs/{org}/teams/{slug}/memberships/{username}",
            get(membership_by_slug),
        )
        .route(
            "/organizations/{org_id}/team/{team_id}/members",
            get(list_members_by_ids),
        )
        .route(
            "/organizations/{org_id}/team/{team_id}/members/{username}",
            get(member_by_ids),
        )
        .route(
            "/organizations/{org_id}/team/{team_id}/memberships/{username}",
            get(membership_by_ids),
        )
        .route("/teams/{team_id}/members", get(list_members_legacy))
        .route("/teams/{team_id}/members/{username}", get(member_legacy))
        .route(
            "/teams/{team_id}/memberships/{username}",
            get(membership_legacy),
        )
        .with_state(hub)
}

/// A team found by slug or id, with what its answers need.
struct Found<'a> {
    org: &'a Account,
    slug: &'a str,
    team: &'a Team,
}

fn by_slug<'a>(w: &'a World, org: &str, slug: &str) -> Result<Found<'a>, ApiError> {
    let key = (org.to_ascii_lowercase(), slug.to_ascii_lowercase());
    let (k, team) = w
        .teams
        .get_key_value(&key)
        .ok_or_else(ApiError::not_found)?;
    let org = w.find_account(&k.0).ok_or_else(ApiError::not_found)?;
    Ok(Found {
        org,
        slug: &k.1,
        team,
    })
}

/// By team id; `org_id` (when given, as in the id-based alias) must be the team's owner.
fn by_id<'a>(w: &'a World, org_id: Option<&str>, team_id: &str) -> Result<Found<'a>, ApiError> {
    let team_id: u64 = team_id.parse().map_err(|_| ApiError::not_found())?;
    let (k, team) = w
        .teams
        .iter()
        .find(|(_, t)| t.id == team_id)
        .ok_or_else(ApiError::not_found)?;
    let org = w.find_account(&k.0).ok_or_else(ApiError::not_found)?;
    if let Some(want) = org_id
        && want.parse::<u64>().ok() != Some(org.id)
    {
        return Err(ApiError::not_found());
    }
    Ok(Found {
        org,
        slug: &k.1,
        team,
    })
}

/// The team's canonical `url`, as GitHub gives it: the id-based route.
fn team_url(base: &str, f: &Found<'_>) -> String {
    format!("{base}/organizations/{}/team/{}", f.org.id, f.team.id)
}

/// `organization-full`.
fn organization_full(w: &World, a: &Account) -> Value {
    let mut v = render::organization(&w.base_url, a);
    let repos = w
        .repos
        .values()
        .filter(|r| r.owner.eq_ignore_ascii_case(&a.login))
        .count();
    if let Value::Object(m) = &mut v {
        m.extend(
            json!({
                // `company`, `location` and `email` are optional and not nullable in
                // GitHub's description: left out rather than `null`.
                "name": a.login, "blog": "", "twitter_username": null, "is_verified": false,
                "has_organization_projects": true, "has_repository_projects": true,
                "public_repos": repos, "public_gists": 0, "followers": 0, "following": 0,
                "html_url": format!("{}/{}", w.base_url, a.login), "type": "Organization",
                "created_at": ts(a.created_at), "updated_at": ts(a.created_at),
                "archived_at": null,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
    }
    v
}

/// `team-full`.
fn team_full(w: &World, f: &Found<'_>) -> Value {
    let url = team_url(&w.base_url, f);
    let active = f
        .team
        .members
        .values()
        .filter(|m| m.state == MemberState::Active)
        .count();
    json!({
        "id": f.team.id, "node_id": node_id("Team", f.team.id), "url": url,
        "html_url": format!("{}/orgs/{}/teams/{}", w.base_url, f.org.login, f.slug),
        "name": f.slug, "slug": f.slug, "description": null, "privacy": "closed",
        "notification_setting": "notifications_enabled", "permission": "pull",
        "members_url": format!("{url}/members{{/member}}"),
        "repositories_url": format!("{url}/repos"), "parent": null,
        "members_count": active, "repos_count": 0,
        "created_at": ts(f.org.created_at), "updated_at": ts(f.org.created_at),
        "organization": organization_full(w, f.org), "type": "organization",
        "organization_id": f.org.id,
    })
}

/// `team-membership`, or 404 when `username` is not on the team at all.
fn membership(w: &World, f: &Found<'_>, username: &str) -> ApiResult {
    let m = member(f, username).ok_or_else(ApiError::not_found)?;
    let state = match m.state {
        MemberState::Active => "active",
        MemberState::Pending => "pending",
    };
    let role = match m.role {
        MemberRole::Member => "member",
        MemberRole::Maintainer => "maintainer",
    };
    let url = format!("{}/memberships/{username}", team_url(&w.base_url, f));
    Ok((
        StatusCode::OK,
        axum::Json(json!({ "url": url, "role": role, "state": state })),
    )
        .into_response())
}

fn member<'a>(f: &Found<'a>, username: &str) -> Option<&'a Membership> {
    f.team.members.get(&username.to_ascii_lowercase())
}

/// "Get team member (legacy)": 204 for an active member; 404 otherwise, pending invitations
/// included (only the membership route shows those).
fn is_member(f: &Found<'_>, username: &str) -> ApiResult {
    match member(f, username) {
        Some(m) if m.state == MemberState::Active => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(ApiError::not_found()),
    }
}

async fn get_org(State(hub): Hub, Path(org): Path<String>) -> ApiResult {
    hub.read(|w| {
        let a = w
            .find_account(&org)
            .filter(|_| w.is_org(&org))
            .ok_or_else(ApiError::not_found)?;
        Ok((StatusCode::OK, axum::Json(organization_full(w, a))).into_response())
    })
}

async fn get_team(State(hub): Hub, Path((org, slug)): Path<(String, String)>) -> ApiResult {
    hub.read(|w| {
        let f = by_slug(w, &org, &slug)?;
        Ok((StatusCode::OK, axum::Json(team_full(w, &f))).into_response())
    })
}

/// Where a team listing looks its team up.
enum TeamRef {
    Slug(String, String),
    Ids(Option<String>, String),
}

/// `team-member` list of active members, `role` filtered, `Link`-paginated under the path
/// the client used.
fn list_members(hub: &GithubHub, team: &TeamRef, raw: Option<&str>, path: &str) -> ApiResult {
    let q = query_pairs(raw);
    let role = q
        .iter()
        .find(|(k, _)| k == "role")
        .map_or("all", |(_, v)| v.as_str());
    let want = match role {
        "all" => None,
        "member" => Some(MemberRole::Member),
        "maintainer" => Some(MemberRole::Maintainer),
        _ => return Err(ApiError::validation("Team", "role", "invalid")),
    };
    let (items, url) = hub.read(|w| {
        let f = match team {
            TeamRef::Slug(org, slug) => by_slug(w, org, slug)?,
            TeamRef::Ids(org_id, team_id) => by_id(w, org_id.as_deref(), team_id)?,
        };
        let items: Vec<Value> = f
            .team
            .members
            .iter()
            .filter(|(_, m)| m.state == MemberState::Active)
            .filter(|(_, m)| want.is_none_or(|r| m.role == r))
            .filter_map(|(login, _)| w.find_account(login))
            .map(|a| render::user(&w.base_url, a))
            .collect();
        Ok::<_, ApiError>((items, format!("{}{path}", w.base_url)))
    })?;
    Ok(paginate(items, Page::from_query(&q), &url, &q))
}

async fn list_members_by_slug(
    State(hub): Hub,
    Path((org, slug)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let path = format!("/orgs/{org}/teams/{slug}/members");
    list_members(&hub, &TeamRef::Slug(org, slug), raw.as_deref(), &path)
}

async fn list_members_by_ids(
    State(hub): Hub,
    Path((org_id, team_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let path = format!("/organizations/{org_id}/team/{team_id}/members");
    list_members(
        &hub,
        &TeamRef::Ids(Some(org_id), team_id),
        raw.as_deref(),
        &path,
    )
}

async fn list_members_legacy(
    State(hub): Hub,
    Path(team_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let path = format!("/teams/{team_id}/members");
    list_members(&hub, &TeamRef::Ids(None, team_id), raw.as_deref(), &path)
}

async fn membership_by_slug(
    State(hub): Hub,
    Path((org, slug, username)): Path<(String, String, String)>,
) -> ApiResult {
    hub.read(|w| membership(w, &by_slug(w, &org, &slug)?, &username))
}

async fn member_by_ids(
    State(hub): Hub,
    Path((org_id, team_id, username)): Path<(String, String, String)>,
) -> ApiResult {
    hub.read(|w| is_member(&by_id(w, Some(&org_id), &team_id)?, &username))
}

async fn membership_by_ids(
    State(hub): Hub,
    Path((org_id, team_id, username)): Path<(String, String, String)>,
) -> ApiResult {
    hub.read(|w| membership(w, &by_id(w, Some(&org_id), &team_id)?, &username))
}

async fn member_legacy(
    State(hub): Hub,
    Path((team_id, username)): Path<(String, String)>,
) -> ApiResult {
    hub.read(|w| is_member(&by_id(w, None, &team_id)?, &username))
}

async fn membership_legacy(
    State(hub): Hub,
    Path((team_id, username)): Path<(String, String)>,
) -> ApiResult {
    hub.read(|w| membership(w, &by_id(w, None, &team_id)?, &username))
}

#[cfg(test)]
mod tests {
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};

    use crate::sandbox::tests::{REPO, TOKEN, start};

    /// The walk PyGithub makes: organisation, team by slug, then the team's own `url` for
    /// member checks (active only) and memberships (pending too), and the legacy routes.
    #[tokio::test]
    async fn teams_answer_by_slug_by_ids_and_legacy() {
        let env = start().await;
        let org: Value = env.get("/orgs/acme").await.json().await.expect("org");
        assert_eq!(org["login"], "acme");
        assert_eq!(org["type"], "Organization");
        assert_eq!(org["public_repos"], 1);
        assert_eq!(
            env.get("/orgs/nobody").await.status(),
            StatusCode::NOT_FOUND
        );
        // A user is no organisation.
        assert_eq!(env.get("/orgs/alice").await.status(), StatusCode::NOT_FOUND);

        let team: Value = env
            .get("/orgs/acme/teams/sre-council")
            .await
            .json()
            .await
            .expect("team");
        let team_id = team["id"].as_u64().expect("team id");
        let url = team["url"].as_str().expect("url").to_owned();
        assert_eq!(
            url,
            env.url(&format!("/organizations/{}/team/{team_id}", org["id"]))
        );
        assert_eq!(team["slug"], "sre-council");
        assert_eq!(team["members_count"], 1, "only alice is active");
        let path = url.trim_start_matches(&env.sb.base_url()).to_owned();

        let status = |p: String| {
            let env = &env;
            async move { env.get(&p).await.status() }
        };
        assert_eq!(
            status(format!("{path}/members/alice")).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            status(format!("{path}/members/carol")).await,
            StatusCode::NOT_FOUND,
            "pending is no member"
        );
        assert_eq!(
            status(format!("/teams/{team_id}/members/ALICE")).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            status(format!("/organizations/1/team/{team_id}/members/alice")).await,
            StatusCode::NOT_FOUND,
            "the organisation id must match"
        );
        let m: Value = env
            .get(&format!("{path}/memberships/carol"))
            .await
            .json()
            .await
            .expect("membership");
        assert_eq!(m["state"], "pending");
        let m: Value = env
            .get(&format!("/teams/{team_id}/memberships/alice"))
            .await
            .json()
            .await
            .expect("membership");
        assert_eq!(
            (&m["state"], &m["role"]),
            (&json!("active"), &json!("maintainer"))
        );

        for p in [
            format!("{path}/members"),
            "/orgs/acme/teams/sre-council/members?role=maintainer".to_owned(),
            format!("/teams/{team_id}/members"),
        ] {
            let list: Value = env.get(&p).await.json().await.expect("members");
            let logins: Vec<&str> = list
                .as_array()
                .expect("array")
                .iter()
                .filter_map(|u| u["login"].as_str())
                .collect();
            assert_eq!(logins, ["alice"], "{p}");
        }
        let none: Value = env
            .get("/orgs/acme/teams/sre-council/members?role=member")
            .await
            .json()
            .await
            .expect("members");
        assert_eq!(none, json!([]));
        assert_eq!(
            env.get("/orgs/acme/teams/sre-council/members?role=boss")
                .await
                .status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    /// GitHub takes the rest of the path as the label name: PyGithub sends `team/payments`
    /// with its slash unencoded, octokit sends `team%2Fpayments`; both remove the label.
    #[tokio::test]
    async fn label_names_with_a_slash_work_raw_and_encoded() {
        let env = start().await;
        let n = env
            .open("alice", "slashes", &["team/payments", "team/data"])
            .await;
        for (raw, left) in [
            ("team/payments", json!(["team/data"])),
            ("team%2Fdata", json!([])),
        ] {
            let resp = env
                .http
                .request(
                    Method::DELETE,
                    env.url(&format!("/repos/{REPO}/issues/{n}/labels/{raw}")),
                )
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("DELETE");
            assert_eq!(resp.status(), StatusCode::OK, "{raw}");
            let labels: Value = resp.json().await.expect("labels");
            let names: Vec<Value> = labels
                .as_array()
                .expect("array")
                .iter()
                .map(|l| l["name"].clone())
                .collect();
            assert_eq!(Value::Array(names), left, "{raw}");
        }
        let label: Value = env
            .get(&format!("/repos/{REPO}/labels/team/payments"))
            .await
            .json()
            .await
            .expect("label");
        assert_eq!(label["name"], "team/payments");
    }
}
