//! Repository administration as `api.github.com` answers it: repository webhooks
//! (`GET`/`POST /repos/{o}/{r}/hooks`, `PATCH`/`DELETE /repos/{o}/{r}/hooks/{id}`), organisation
//! webhooks (the same under `/orgs/{org}/hooks`, GitHub's `org-hook` schema) and file contents
//! (`GET`/`PUT /repos/{o}/{r}/contents/{path}`), which `council-sync setup` writes and
//! `council-sync doctor` reads. Shapes follow GitHub's `hook`, `content-file` and
//! `file-commit` schemas (specs/github-rest.json).
//!
//! A hook registered here with `content_type: json` and `active: true` also becomes the
//! repository's delivery target, so a daemon set up through the REST API receives the
//! sandbox's deliveries as it would GitHub's. A `form` hook gets no deliveries: the sandbox
//! only sends JSON bodies, and sending JSON to a hook that asked for form encoding would
//! hide exactly the misconfiguration `doctor` exists to catch. An organisation's active JSON
//! hooks get the events they subscribe to of its repositories and projects (see
//! `sandbox::webhooks`).
//!
//! Blob `sha`s are content hashes (SHA-256, first 40 hex digits), not git's SHA-1 of the
//! blob: clients only compare them, which is all GitHub promises.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::GithubHub;
use super::http::{ApiError, number, parse_body};

/// Scopes shown in `x-oauth-scopes` by default: what a classic token needs for the daemon
/// and `setup` (see README "Run it for real").
pub const DEFAULT_SCOPES: &str = "repo, read:org, admin:repo_hook, project, admin:org_hook";

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// One repository webhook.
#[derive(Debug, Clone)]
pub struct StoredHook {
    /// Hook id (also `X-GitHub-Hook-ID` of its deliveries when it is the delivery target).
    pub id: u64,
    /// Delivery URL.
    pub url: String,
    /// `json` or `form`.
    pub content_type: String,
    /// The secret deliveries are signed with, if any.
    pub secret: Option<String>,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Whether deliveries are sent.
    pub active: bool,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

/// One file on the default branch.
#[derive(Debug, Clone)]
struct StoredFile {
    content: Vec<u8>,
    sha: String,
}

/// Hooks and files per repository (lower-cased `owner/name`), and the token's scopes.
#[derive(Debug)]
pub struct RepoAdmin {
    inner: Mutex<AdminState>,
}

#[derive(Debug)]
struct AdminState {
    hooks: BTreeMap<String, Vec<StoredHook>>,
    files: BTreeMap<(String, String), StoredFile>,
    scopes: Option<String>,
    next_hook: u64,
    commits: u64,
}

impl Default for RepoAdmin {
    fn default() -> Self {
        Self {
            inner: Mutex::new(AdminState {
                hooks: BTreeMap::new(),
                files: BTreeMap::new(),
                scopes: Some(DEFAULT_SCOPES.to_owned()),
                // Apart from the delivery ids the core hands out (1 global, 2.. per repo).
                next_hook: 1000,
                commits: 0,
            }),
        }
    }
}

impl RepoAdmin {
    fn lock(&self) -> MutexGuard<'_, AdminState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `x-oauth-scopes` shows; `None` leaves the header out (as for fine-grained and
    /// GitHub App tokens).
    pub fn scopes(&self) -> Option<String> {
        self.lock().scopes.clone()
    }

    /// Sets the scopes `x-oauth-scopes` shows (a test plays a token missing one).
    pub fn set_scopes(&self, scopes: Option<String>) {
        self.lock().scopes = scopes;
    }

    /// The hooks of `owner/name`.
    pub fn hooks(&self, full_name: &str) -> Vec<StoredHook> {
        self.lock()
            .hooks
            .get(&full_name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

/// The REST routes (behind the GitHub auth layer, like the rest of the API).
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route(
            "/repos/{owner}/{repo}/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/repos/{owner}/{repo}/hooks/{id}",
            get(get_hook).patch(update_hook).delete(delete_hook),
        )
        .route(
            "/orgs/{org}/hooks",
            get(list_org_hooks).post(create_org_hook),
        )
        .route(
            "/orgs/{org}/hooks/{id}",
            get(get_org_hook)
                .patch(update_org_hook)
                .delete(delete_org_hook),
        )
        .route(
            "/repos/{owner}/{repo}/contents/{*path}",
            get(get_contents).put(put_contents),
        )
        .with_state(hub)
}

/// Whose hooks: a repository (canonical `owner/name`) or an organisation (login).
#[derive(Debug, Clone)]
enum Owner {
    Repo(String),
    Org(String),
}

impl Owner {
    /// The repository, or GitHub's 404.
    fn repo(hub: &GithubHub, o: &str, r: &str) -> Result<Self, ApiError> {
        hub.read(|w| w.repo(o, r).map(|repo| Self::Repo(repo.full_name())))
            .ok_or_else(ApiError::not_found)
    }

    /// The organisation, or GitHub's 404 (a user account has no organisation hooks).
    fn org(hub: &GithubHub, org: &str) -> Result<Self, ApiError> {
        hub.read(|w| {
            w.find_account(org)
                .filter(|_| w.is_org(org))
                .map(|a| Self::Org(a.login.clone()))
        })
        .ok_or_else(ApiError::not_found)
    }

    /// Key of its hooks in [`AdminState::hooks`].
    fn key(&self) -> String {
        match self {
            Self::Repo(full) => full.to_ascii_lowercase(),
            Self::Org(login) => format!("orgs/{}", login.to_ascii_lowercase()),
        }
    }

    fn api_path(&self) -> String {
        match self {
            Self::Repo(full) => format!("/repos/{full}"),
            Self::Org(login) => format!("/orgs/{login}"),
        }
    }
}

/// The repository's canonical `owner/name`, or GitHub's 404.
fn full_name(hub: &GithubHub, o: &str, r: &str) -> Result<String, ApiError> {
    hub.read(|w| w.repo(o, r).map(|repo| repo.full_name()))
        .ok_or_else(ApiError::not_found)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hook_json(base: &str, owner: &Owner, h: &StoredHook) -> Value {
    let url = format!("{base}{}/hooks/{}", owner.api_path(), h.id);
    let mut config = json!({
        "url": h.url,
        "content_type": h.content_type,
        "insecure_ssl": "0",
    });
    if h.secret.is_some() {
        // GitHub never shows a secret back, only that one is set.
        config["secret"] = json!("********");
    }
    let mut v = json!({
        "type": "Repository",
        "id": h.id,
        "name": "web",
        "active": h.active,
        "events": h.events,
        "config": config,
        "updated_at": time(h.updated),
        "created_at": time(h.created),
        "url": url,
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
    });
    match owner {
        Owner::Repo(_) => {
            v["test_url"] = json!(format!("{url}/test"));
            v["last_response"] = json!({"code": null, "status": "unused", "message": null});
        }
        Owner::Org(_) => v["type"] = json!("Organization"),
    }
    v
}

fn list(hub: &GithubHub, owner: &Owner) -> ApiResult {
    let base = hub.base_url();
    let items: Vec<Value> = hub
        .admin
        .lock()
        .hooks
        .get(&owner.key())
        .into_iter()
        .flatten()
        .map(|h| hook_json(&base, owner, h))
        .collect();
    Ok(axum::Json(Value::Array(items)).into_response())
}

fn get_one(hub: &GithubHub, owner: &Owner, id: &str) -> ApiResult {
    let id = number(id)?;
    let hook = hub
        .admin
        .lock()
        .hooks
        .get(&owner.key())
        .and_then(|hs| hs.iter().find(|h| h.id == id).cloned())
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(hook_json(&hub.base_url(), owner, &hook)).into_response())
}

async fn list_hooks(State(hub): Hub, Path((o, r)): Path<(String, String)>) -> ApiResult {
    list(&hub, &Owner::repo(&hub, &o, &r)?)
}

async fn get_hook(State(hub): Hub, Path((o, r, id)): Path<(String, String, String)>) -> ApiResult {
    get_one(&hub, &Owner::repo(&hub, &o, &r)?, &id)
}

async fn create_hook(
    State(hub): Hub,
    Path((o, r)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    create(&hub, Owner::repo(&hub, &o, &r)?, &body)
}

async fn update_hook(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    update(&hub, Owner::repo(&hub, &o, &r)?, &id, &body)
}

async fn delete_hook(
    State(hub): Hub,
    Path((o, r, id)): Path<(String, String, String)>,
) -> ApiResult {
    delete(&hub, Owner::repo(&hub, &o, &r)?, &id)
}

async fn list_org_hooks(State(hub): Hub, Path(org): Path<String>) -> ApiResult {
    list(&hub, &Owner::org(&hub, &org)?)
}

async fn get_org_hook(State(hub): Hub, Path((org, id)): Path<(String, String)>) -> ApiResult {
    get_one(&hub, &Owner::org(&hub, &org)?, &id)
}

async fn create_org_hook(State(hub): Hub, Path(org): Path<String>, body: Bytes) -> ApiResult {
    create(&hub, Owner::org(&hub, &org)?, &body)
}

async fn update_org_hook(
    State(hub): Hub,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    update(&hub, Owner::org(&hub, &org)?, &id, &body)
}

async fn delete_org_hook(State(hub): Hub, Path((org, id)): Path<(String, String)>) -> ApiResult {
    delete(&hub, Owner::org(&hub, &org)?, &id)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HookConfig {
    url: Option<String>,
    content_type: Option<String>,
    secret: Option<String>,
    insecure_ssl: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookBody {
    name: Option<String>,
    config: Option<HookConfig>,
    events: Option<Vec<String>>,
    add_events: Option<Vec<String>>,
    remove_events: Option<Vec<String>>,
    active: Option<bool>,
}

fn check_content_type(ct: &str) -> Result<(), ApiError> {
    if ct == "json" || ct == "form" {
        Ok(())
    } else {
        Err(ApiError::validation("Hook", "content_type", "invalid"))
    }
}

fn check_url(u: &str) -> Result<(), ApiError> {
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        _ => Err(ApiError::validation("Hook", "url", "invalid")),
    }
}

/// Makes a repository hook the repository's delivery target when it asks for JSON and is
/// active (see the module note), or removes the target otherwise; an organisation's active
/// JSON hooks all become its delivery targets, each for the events it subscribes to.
fn route_deliveries(hub: &GithubHub, owner: &Owner, h: &StoredHook) {
    let full = match owner {
        Owner::Repo(full) => full,
        Owner::Org(login) => {
            let hooks = hub
                .admin
                .lock()
                .hooks
                .get(&owner.key())
                .into_iter()
                .flatten()
                .filter(|h| h.active && h.content_type == "json")
                .map(|h| crate::sandbox::webhooks::OrgHook {
                    id: h.id,
                    url: h.url.clone(),
                    secret: h.secret.clone().map(secrecy::SecretString::from),
                    events: h.events.clone(),
                })
                .collect();
            hub.deliveries.set_org_hooks(login, hooks);
            return;
        }
    };
    if h.active && h.content_type == "json" {
        hub.deliveries.set_repo_target(
            full,
            Some(h.url.clone()),
            h.secret.clone().map(secrecy::SecretString::from),
        );
    } else {
        hub.deliveries.set_repo_target(full, None, None);
    }
}

fn create(hub: &GithubHub, owner: Owner, body: &Bytes) -> ApiResult {
    let b: HookBody = parse_body(body)?;
    if b.name.as_deref().is_some_and(|n| n != "web") {
        return Err(ApiError::validation("Hook", "name", "invalid"));
    }
    if matches!(owner, Owner::Org(_)) && b.name.is_none() {
        // `name` is required for organisation hooks ("Must be passed as \"web\"").
        return Err(ApiError::validation("Hook", "name", "missing_field"));
    }
    let config = b
        .config
        .ok_or_else(|| ApiError::validation("Hook", "config", "missing_field"))?;
    let url = config
        .url
        .ok_or_else(|| ApiError::validation("Hook", "url", "missing_field"))?;
    check_url(&url)?;
    // GitHub's default content type is form encoding: the trap the README warns about.
    let content_type = config.content_type.unwrap_or_else(|| "form".into());
    check_content_type(&content_type)?;
    let events = b.events.unwrap_or_else(|| vec!["push".into()]);
    let now = Utc::now();
    let key = owner.key();
    let hook = {
        let mut st = hub.admin.lock();
        if st
            .hooks
            .get(&key)
            .is_some_and(|hs| hs.iter().any(|h| h.url == url))
        {
            // GitHub: "Hook already exists on this repository" (or organisation).
            return Err(ApiError::validation("Hook", "url", "custom"));
        }
        st.next_hook += 1;
        let hook = StoredHook {
            id: st.next_hook,
            url,
            content_type,
            secret: config.secret.filter(|s| !s.is_empty()),
            events,
            active: b.active.unwrap_or(true),
            created: now,
            updated: now,
        };
        st.hooks.entry(key).or_default().push(hook.clone());
        hook
    };
    route_deliveries(hub, &owner, &hook);
    Ok((
        StatusCode::CREATED,
        axum::Json(hook_json(&hub.base_url(), &owner, &hook)),
    )
        .into_response())
}

fn update(hub: &GithubHub, owner: Owner, id: &str, body: &Bytes) -> ApiResult {
    let id = number(id)?;
    let b: HookBody = parse_body(body)?;
    let config = b.config.unwrap_or_default();
    if let Some(u) = &config.url {
        check_url(u)?;
    }
    if let Some(ct) = &config.content_type {
        check_content_type(ct)?;
    }
    let _ = config.insecure_ssl;
    let hook = {
        let mut st = hub.admin.lock();
        let h = st
            .hooks
            .get_mut(&owner.key())
            .and_then(|hs| hs.iter_mut().find(|h| h.id == id))
            .ok_or_else(ApiError::not_found)?;
        if let Some(u) = config.url {
            h.url = u;
        }
        if let Some(ct) = config.content_type {
            h.content_type = ct;
        }
        if let Some(s) = config.secret {
            h.secret = Some(s).filter(|s| !s.is_empty());
        }
        if let Some(events) = b.events {
            h.events = events;
        }
        for e in b.add_events.unwrap_or_default() {
            if !h.events.contains(&e) {
                h.events.push(e);
            }
        }
        let remove = b.remove_events.unwrap_or_default();
        h.events.retain(|e| !remove.contains(e));
        if let Some(a) = b.active {
            h.active = a;
        }
        h.updated = Utc::now();
        h.clone()
    };
    route_deliveries(hub, &owner, &hook);
    Ok(axum::Json(hook_json(&hub.base_url(), &owner, &hook)).into_response())
}

/// `DELETE …/hooks/{id}`: GitHub's 204 with no body, 404 for an unknown id. Deliveries
/// then go where the remaining hooks say (a repository without a hook of its own falls back
/// to the sandbox's global target, as in [`route_deliveries`]).
fn delete(hub: &GithubHub, owner: Owner, id: &str) -> ApiResult {
    let id = number(id)?;
    let next = {
        let mut st = hub.admin.lock();
        let hooks = st
            .hooks
            .get_mut(&owner.key())
            .ok_or_else(ApiError::not_found)?;
        let at = hooks
            .iter()
            .position(|h| h.id == id)
            .ok_or_else(ApiError::not_found)?;
        let gone = hooks.remove(at);
        hooks
            .iter()
            .find(|h| h.active && h.content_type == "json")
            .cloned()
            .unwrap_or(StoredHook {
                active: false,
                ..gone
            })
    };
    route_deliveries(hub, &owner, &next);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn blob_sha(content: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", content.len()));
    h.update(content);
    hex::encode(h.finalize())[..40].to_owned()
}

/// A file path as GitHub takes it: relative, no empty or dot segments.
fn file_path(raw: &str) -> Result<String, ApiError> {
    let p = raw.trim_matches('/');
    if p.is_empty() || p.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(ApiError::not_found());
    }
    Ok(p.to_owned())
}

fn file_links(base: &str, full: &str, path: &str, sha: &str) -> (String, String, String, String) {
    let url = format!("{base}/repos/{full}/contents/{path}");
    let html = format!("{base}/{full}/blob/main/{path}");
    let git = format!("{base}/repos/{full}/git/blobs/{sha}");
    let download = format!("{base}/raw/{full}/main/{path}");
    (url, html, git, download)
}

fn file_json(base: &str, full: &str, path: &str, f: &StoredFile, with_content: bool) -> Value {
    let (url, html, git, download) = file_links(base, full, path, &f.sha);
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut v = json!({
        "type": "file",
        "size": f.content.len(),
        "name": name,
        "path": path,
        "sha": f.sha,
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": download,
        "_links": {"self": url, "git": git, "html": html},
    });
    if with_content {
        // GitHub wraps the base64 text at 60 characters with `\n`.
        let b64 = STANDARD.encode(&f.content);
        let wrapped: Vec<&str> = b64
            .as_bytes()
            .chunks(60)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        v["content"] = json!(wrapped.join("\n") + "\n");
        v["encoding"] = json!("base64");
    }
    v
}

async fn get_contents(
    State(hub): Hub,
    Path((o, r, path)): Path<(String, String, String)>,
) -> ApiResult {
    let full = full_name(&hub, &o, &r)?;
    let path = file_path(&path)?;
    let file = hub
        .admin
        .lock()
        .files
        .get(&(full.to_ascii_lowercase(), path.clone()))
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(file_json(&hub.base_url(), &full, &path, &file, true)).into_response())
}

#[derive(Deserialize)]
struct Committer {
    name: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct PutFile {
    message: Option<String>,
    content: Option<String>,
    sha: Option<String>,
    branch: Option<String>,
    committer: Option<Committer>,
}

async fn put_contents(
    State(hub): Hub,
    Path((o, r, path)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let full = full_name(&hub, &o, &r)?;
    let path = file_path(&path)?;
    let b: PutFile = parse_body(&body)?;
    let message = b
        .message
        .ok_or_else(|| ApiError::validation("Content", "message", "missing_field"))?;
    let content = b
        .content
        .ok_or_else(|| ApiError::validation("Content", "content", "missing_field"))?;
    let content = STANDARD
        .decode(content.replace(['\n', '\r'], ""))
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "content is not valid Base64"))?;
    if b.branch.as_deref().is_some_and(|br| br != "main") {
        return Err(ApiError::not_found());
    }
    if let Some(c) = &b.committer
        && (c.name.is_none() || c.email.is_none())
    {
        return Err(ApiError::validation(
            "Content",
            "committer",
            "missing_field",
        ));
    }
    let key = (full.to_ascii_lowercase(), path.clone());
    let login = hub.read(|w| w.bot_login.clone());
    let (file, created, commit_no) = {
        let mut st = hub.admin.lock();
        let existing = st.files.get(&key).map(|f| f.sha.clone());
        match (&existing, &b.sha) {
            // Updating needs the current blob sha; a missing or stale one is GitHub's 409/422.
            (Some(_), None) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request.\n\n\"sha\" wasn't supplied.",
                ));
            }
            (Some(cur), Some(given)) if cur != given => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    &format!("{path} does not match {given}"),
                ));
            }
            _ => {}
        }
        let sha = blob_sha(&content);
        let file = StoredFile { content, sha };
        st.files.insert(key, file.clone());
        st.commits += 1;
        (file, existing.is_none(), st.commits)
    };
    let base = hub.base_url();
    let commit_sha = blob_sha(format!("{full}:{path}:{commit_no}:{message}").as_bytes());
    let now = time(Utc::now());
    let person =
        json!({"name": login, "email": format!("{login}@users.noreply.github.com"), "date": now});
    let body = json!({
        "content": file_json(&base, &full, &path, &file, false),
        "commit": {
            "sha": commit_sha,
            "node_id": format!("C_{commit_sha}"),
            "url": format!("{base}/repos/{full}/git/commits/{commit_sha}"),
            "html_url": format!("{base}/{full}/commit/{commit_sha}"),
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"url": format!("{base}/repos/{full}/git/trees/{commit_sha}"), "sha": commit_sha},
            "parents": [],
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
        },
    });
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scopes {
    scopes: Option<String>,
}

/// Control route `PUT /_sandbox/github/token-scopes {"scopes": "repo, read:org" | null}`:
/// what `x-oauth-scopes` shows from now on (null: no header, as for an App token).
pub fn control_router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route(
            "/_sandbox/github/token-scopes",
            axum::routing::put(set_scopes),
        )
        .with_state(hub)
}

async fn set_scopes(State(hub): Hub, body: Bytes) -> ApiResult {
    let s: Scopes = parse_body(&body)?;
    hub.admin.set_scopes(s.scopes.clone());
    Ok(axum::Json(json!({ "scopes": s.scopes })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_refuse_escapes() {
        assert_eq!(
            file_path(".github/ISSUE_TEMPLATE/x.yml").ok().as_deref(),
            Some(".github/ISSUE_TEMPLATE/x.yml")
        );
        assert!(file_path("a/../b").is_err());
        assert!(file_path("").is_err());
        assert!(file_path("a//b").is_err());
    }

    #[test]
    fn blob_shas_follow_content() {
        assert_eq!(blob_sha(b"a"), blob_sha(b"a"));
        assert_ne!(blob_sha(b"a"), blob_sha(b"b"));
        assert_eq!(blob_sha(b"a").len(), 40);
    }
}
