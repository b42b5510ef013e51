//! The Jira half of the sandbox: a stateful stand-in for Jira's REST API, v3 (Cloud, ADF
//! bodies) and v2 (Data Center, wiki strings, Epic Link / Epic Name custom fields), served
//! from one state, plus a control API that lets tests and the demo act as people.
//!
//! Concurrency: the state sits behind one `std::sync::Mutex`, locked for the length of a
//! single synchronous operation and never across an await, so handlers cannot deadlock or
//! hold the lock while a client is slow. The change callback runs after the lock is released
//! (it may call back into the sandbox).
//!
//! Routes are absolute (`/rest/api/{2,3}/...`, `/_sandbox/jira/...`) so the sandbox core can
//! merge this router into its app unchanged.

mod actions;
pub mod actor;
mod agile;
mod api;
mod auth;
mod control;
pub mod create;
pub mod custom;
mod edit;
pub mod hook_people;
pub mod hooks;
pub mod index;
pub mod issues;
pub mod jql;
pub mod meta;
mod moves;
pub mod people;
mod permissions;
pub mod render;
mod seed;
pub mod sprints;
pub mod state;
pub mod webhooks_admin;
pub mod workflows;

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use chrono::Utc;

use self::hooks::Hooks;
use self::jql::JqlError;
use self::sprints::AgileError;
use self::state::{State, Status, StoredComment, StoredIssue, path_between};

/// Called after every change of the Jira state (the sandbox core turns it into its change feed).
pub type ChangeCallback = Arc<dyn Fn() + Send + Sync>;

/// Jira's state in the sandbox.
pub struct JiraSandbox {
    state: Mutex<State>,
    on_change: Mutex<Option<ChangeCallback>>,
    /// Jira webhooks: change detection, targets, deliveries.
    pub hooks: Hooks,
    /// Admin webhook registrations (`/rest/webhooks/1.0/webhook`).
    pub registrations: webhooks_admin::Registrations,
}

/// The locked state. Writing through it marks it dirty; releasing a dirty lock lets the
/// webhook side compare the state with what it saw last, while the lock is still held, so
/// events come out in change order and name the actor of the current task.
pub(crate) struct StateGuard<'a> {
    guard: MutexGuard<'a, State>,
    hooks: &'a Hooks,
    dirty: bool,
}

impl StateGuard<'_> {
    /// Writes that webhooks need not look at (counters), without marking the state dirty.
    pub(crate) fn untracked(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.dirty = true;
        &mut self.guard
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if self.dirty {
            // Only the issues written through are compared: O(changed) per write.
            let state = &mut *self.guard;
            let touched = state.issues.take_touched();
            state
                .index
                .observe(&state.issues, &touched, std::time::Instant::now());
            self.hooks.observe(&self.guard, &touched, &actor::current());
        }
    }
}

impl std::fmt::Debug for JiraSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("JiraSandbox")
            .field("projects", &state.projects.len())
            .field("issues", &state.issues.len())
            .finish_non_exhaustive()
    }
}

impl Default for JiraSandbox {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// Why a control operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No issue with that key.
    #[error("Issue does not exist: {0}")]
    NoIssue(String),
    /// No status with that name.
    #[error("Unknown status '{0}'; the workflow has {names}", names = Status::names())]
    NoStatus(String),
    /// No such person.
    #[error("User '{0}' does not exist.")]
    NoPerson(String),
    /// The request is malformed or not allowed.
    #[error("{0}")]
    Invalid(String),
    /// A board or sprint operation failed.
    #[error(transparent)]
    Agile(#[from] AgileError),
    /// The JQL did not parse.
    #[error(transparent)]
    Jql(#[from] JqlError),
}

impl JiraSandbox {
    /// A sandbox with these project keys (each named after its key).
    pub fn new(projects: &[&str]) -> Self {
        let mut state = State::default();
        for key in projects {
            state.add_project(key, key, &[]);
        }
        Self {
            state: Mutex::new(state),
            on_change: Mutex::new(None),
            hooks: Hooks::default(),
            registrations: webhooks_admin::Registrations::default(),
        }
    }

    /// Sets the change callback (builder style).
    pub fn with_on_change(self, callback: ChangeCallback) -> Self {
        self.set_on_change(callback);
        self
    }

    /// Sets or replaces the change callback on a shared sandbox.
    pub fn set_on_change(&self, callback: ChangeCallback) {
        *self
            .on_change
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(callback);
    }

    /// Adds a project (or components to an existing one).
    pub fn add_project(&self, key: &str, name: &str, components: &[&str]) {
        let components: Vec<String> = components.iter().map(|c| (*c).to_owned()).collect();
        self.lock().add_project(key, name, &components);
        self.changed();
    }

    /// Every issue matching `jql`, with comments and links (for tests and the demo).
    pub fn issues(&self, jql: &str) -> Result<Vec<StoredIssue>, JqlError> {
        let query = jql::parse(jql)?;
        let state = self.lock();
        state.check_query(&query)?;
        Ok(state.search(&query).into_iter().cloned().collect())
    }

    /// One issue by key or id.
    pub fn issue(&self, key: &str) -> Option<StoredIssue> {
        self.lock().issue(key).cloned()
    }

    /// Sets the search index lag (0: searches see the live state). See [`index`].
    pub fn set_search_lag(&self, lag: std::time::Duration) {
        let mut state = self.lock();
        let state = state.untracked();
        let issues = std::mem::take(&mut state.issues);
        state.index.set_lag(lag, &issues, std::time::Instant::now());
        state.issues = issues;
    }

    /// The search index lag.
    pub fn search_lag(&self) -> std::time::Duration {
        self.lock().index.lag()
    }

    /// How many write calls of a kind were served (`create`, `bulk`), so tests can check that
    /// stories go out in one call and that nothing was created twice.
    pub fn write_calls(&self, kind: &str) -> u64 {
        self.lock().write_calls.get(kind).copied().unwrap_or(0)
    }

    /// Moves an issue through the workflow to `to` as person `actor`, step by step like a
    /// person clicking through the board; taking work out of To Do assigns it to them when
    /// nobody has it.
    pub fn transition_as(
        &self,
        key: &str,
        to: &str,
        actor: &str,
    ) -> Result<StoredIssue, ControlError> {
        let target = Status::from_name(to).ok_or_else(|| ControlError::NoStatus(to.to_owned()))?;
        let issue = actor::as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let idx = state
                .issue_index(key)
                .ok_or_else(|| ControlError::NoIssue(key.to_owned()))?;
            let issue = &mut state.issues[idx];
            if issue.status != target {
                for step in path_between(issue.status, target) {
                    issue.status = step.to;
                }
                if target != Status::ToDo && issue.assignee.is_none() {
                    issue.assignee = Some(actor.to_owned());
                }
                issue.updated = Utc::now();
            }
            Ok::<_, ControlError>(issue.clone())
        })?;
        self.changed();
        Ok(issue)
    }

    /// Adds a comment as person `actor` (wiki text; rendered as ADF on v3).
    pub fn comment_as(
        &self,
        key: &str,
        body: &str,
        actor: &str,
    ) -> Result<StoredIssue, ControlError> {
        let issue = actor::as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let idx = state
                .issue_index(key)
                .ok_or_else(|| ControlError::NoIssue(key.to_owned()))?;
            let id = state.next_id();
            let now = Utc::now();
            let issue = &mut state.issues[idx];
            issue.comments.push(StoredComment {
                id,
                author: actor.to_owned(),
                body: state::Body::Wiki(body.to_owned()),
                created: now,
            });
            issue.updated = now;
            Ok::<_, ControlError>(issue.clone())
        })?;
        self.changed();
        Ok(issue)
    }

    /// REST write requests per acting handle, so a test can bound the daemon's writes.
    pub fn writes_by(&self) -> std::collections::BTreeMap<String, u64> {
        self.lock().writes_by.clone()
    }

    /// Counts a REST write request by `caller` (and makes them a known person).
    pub(crate) fn count_write_by(&self, caller: &str) {
        let mut state = self.lock();
        let state = state.untracked();
        state.people.register(caller);
        *state.writes_by.entry(caller.to_owned()).or_insert(0) += 1;
    }

    /// Locks the state; a panic in another handler does not make the sandbox unusable.
    pub(crate) fn lock(&self) -> StateGuard<'_> {
        StateGuard {
            guard: self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            hooks: &self.hooks,
            dirty: false,
        }
    }

    /// The whole Jira state as JSON, to save it (`[sandbox] state_dir`).
    pub fn snapshot(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(&*self.lock())
    }

    /// Replaces the state with a saved one: what was saved is there as it was (the search
    /// lag kept, every restored issue visible to search), and the webhooks start from it
    /// instead of announcing it as new.
    pub fn restore(&self, saved: serde_json::Value) -> Result<(), serde_json::Error> {
        let mut restored: State = serde_json::from_value(saved)?;
        let mut guard = self.lock();
        let state = guard.untracked();
        let lag = state.index.lag();
        restored
            .index
            .set_lag(lag, &restored.issues, std::time::Instant::now());
        *state = restored;
        self.hooks.baseline(state);
        Ok(())
    }

    /// Tells the listener that something changed (called with the state lock released).
    fn changed(&self) {
        let callback = self
            .on_change
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(callback) = callback {
            callback();
        }
    }
}

/// `/rest/api/latest/...` answered as `/rest/api/2/...`: Atlassian's REST docs (Jira 6.4 and
/// later, "Structure of the REST URIs") call `latest` a symbolic version that "resolves to
/// the latest version supported by the given JIRA instance", which is 2 on Data Center; on
/// Cloud `latest` also serves v2 (wiki-text bodies, not ADF), which clients such as the `jira`
/// Python library rely on. Applied to the request before routing, so every v2 route (and
/// its faults and request log) serves the alias; `self` links name `/rest/api/2/`.
pub fn latest_alias(mut req: axum::extract::Request) -> axum::extract::Request {
    const LATEST: &str = "/rest/api/latest/";
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix(LATEST) {
        let mut target = format!("/rest/api/2/{rest}");
        if let Some(q) = req.uri().query() {
            target.push('?');
            target.push_str(q);
        }
        if let Ok(pq) = target.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// Routes under `/rest/api/{2,3}/...` (the Jira API) and `/_sandbox/jira/...` (control).
pub fn router(state: Arc<JiraSandbox>) -> Router {
    let mut r = Router::new();
    for n in [2, 3] {
        let p = |s: &str| format!("/rest/api/{n}{s}");
        r = r
            .route(&p("/issue"), post(api::create_issue))
            .route(&p("/issue/bulk"), post(api::create_issues_bulk))
            .route(&p("/issue/createmeta"), get(meta::createmeta))
            .route(
                &p("/issue/createmeta/{project}/issuetypes"),
                get(meta::createmeta_issuetypes),
            )
            .route(
                &p("/issue/createmeta/{project}/issuetypes/{type_id}"),
                get(meta::createmeta_fields),
            )
            .route(
                &p("/issue/{key}"),
                get(api::get_issue).put(edit::edit_issue),
            )
            .route(
                &p("/issue/{key}/remotelink"),
                get(api::list_remote_links).post(api::put_remote_link),
            )
            .route(
                &p("/issue/{key}/remotelink/{link_id}"),
                get(api::get_remote_link),
            )
            .route(
                &p("/issue/{key}/transitions"),
                get(api::list_transitions).post(api::do_transition),
            )
            .route(
                &p("/issue/{key}/comment"),
                get(api::list_comments).post(api::add_comment),
            )
            .route(&p("/issue/{key}/comment/{id}"), get(api::get_comment))
            .route(
                &p("/search"),
                get(api::search_offset_get).post(api::search_offset_post),
            )
            .route(
                &p("/search/jql"),
                get(api::search_jql_get).post(api::search_jql_post),
            )
            .route(&p("/serverInfo"), get(api::server_info))
            .route(&p("/myself"), get(api::myself))
            .route(&p("/mypermissions"), get(permissions::mine))
            .route(&p("/user"), get(edit::get_user))
            .route(&p("/user/search"), get(edit::search_users))
            .route(&p("/issue/{key}/assignee"), put(edit::assign))
            .route(&p("/project/{key}"), get(api::get_project))
            .route(&p("/field"), get(api::list_fields).post(custom::create));
    }
    let r = agile::routes(r);
    let r = webhooks_admin::routes(r);
    let r = workflows::routes(r);
    let r = actions::routes(r);
    r.route("/_sandbox/jira/projects", post(control::add_project))
        .route("/_sandbox/jira/issues", get(control::list_issues))
        .route("/_sandbox/jira/issues/bulk", post(seed::create_many))
        .route(
            "/_sandbox/jira/issues/{key}/transition",
            post(control::transition),
        )
        .route(
            "/_sandbox/jira/issues/{key}/comment",
            post(control::comment),
        )
        .route(
            "/_sandbox/jira/search-lag",
            get(control::get_search_lag).put(control::set_search_lag),
        )
        .route(
            "/_sandbox/jira/users/{name}/time-zone",
            put(control::set_time_zone),
        )
        .route("/_sandbox/jira/issues/{key}/move", post(moves::move_issue))
        .layer(from_fn_with_state(state.clone(), actor::layer))
        .with_state(state)
}
