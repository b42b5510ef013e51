//! Changes to the GitHub half, each with the webhook deliveries GitHub would send for it.
//!
//! Every change runs inside a [`Tx`] holding the state lock; the deliveries it queues are
//! handed to the delivery task before the lock is released, so they go out in change order.

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::http::ApiError;
use super::model::{Comment, Issue, Label, Repo, World};
use super::render;
use crate::sandbox::webhooks::Outgoing;

/// A change in progress: the locked state and the deliveries it will send.
pub struct Tx<'a> {
    /// The state.
    pub world: &'a mut World,
    /// Deliveries queued by this change.
    pub out: Vec<Outgoing>,
    /// Whether anything changed (bumps the change feed).
    pub changed: bool,
}

/// A new issue's content.
#[derive(Debug, Default, Clone)]
pub struct NewIssue {
    /// Title (required).
    pub title: String,
    /// Markdown body.
    pub body: Option<String>,
    /// Labels (missing ones are created).
    pub labels: Vec<String>,
    /// Assignee logins.
    pub assignees: Vec<String>,
}

/// What `PATCH /repos/{o}/{r}/issues/{n}` may change.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct IssuePatch {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: Option<String>,
    /// `completed`, `not_planned`, `reopened` (or `duplicate`).
    pub state_reason: Option<String>,
    /// Replaces the labels.
    pub labels: Option<Vec<String>>,
    /// Replaces the assignees.
    pub assignees: Option<Vec<String>>,
}

fn key(owner: &str, name: &str) -> String {
    format!("{owner}/{name}").to_ascii_lowercase()
}

impl<'a> Tx<'a> {
    /// A change over `world`.
    pub fn new(world: &'a mut World) -> Self {
        Self {
            world,
            out: Vec::new(),
            changed: false,
        }
    }

    fn repo_mut(&mut self, owner: &str, name: &str) -> Result<&mut Repo, ApiError> {
        self.world
            .repos
            .get_mut(&key(owner, name))
            .ok_or_else(ApiError::not_found)
    }

    fn issue_mut(&mut self, owner: &str, name: &str, n: u64) -> Result<&mut Issue, ApiError> {
        self.repo_mut(owner, name)?
            .issue_mut(n)
            .ok_or_else(ApiError::not_found)
    }

    /// Queues one delivery about `repo`, adding `repository`, `sender` and `organization`.
    fn emit(
        &mut self,
        owner: &str,
        name: &str,
        event: &'static str,
        action: &str,
        mut fields: Map<String, Value>,
        actor: &str,
    ) {
        let w = &*self.world;
        let Some(repo) = w.repo(owner, name) else {
            return;
        };
        fields.insert("repository".into(), render::repository(w, repo));
        fields.insert("sender".into(), render::user_by_login(w, actor));
        if let Some(org) = w
            .is_org(&repo.owner)
            .then(|| w.find_account(&repo.owner))
            .flatten()
        {
            fields.insert(
                "organization".into(),
                render::organization(&w.base_url, org),
            );
        }
        let mut payload = Map::new();
        payload.insert("action".into(), Value::String(action.into()));
        payload.extend(fields);
        self.out.push(Outgoing {
            event,
            action: action.into(),
            payload: Value::Object(payload),
            repository: Some(key(owner, name)),
        });
        self.changed = true;
    }

    /// Queues an `issues` delivery with the issue as it is now, plus `extra` fields.
    fn emit_issue(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        action: &str,
        extra: Value,
        actor: &str,
    ) {
        let w = &*self.world;
        let Some(issue) = w
            .repo(owner, name)
            .and_then(|r| r.issue(n).map(|i| render::issue(w, r, i)))
        else {
            return;
        };
        let mut fields = Map::new();
        fields.insert("issue".into(), issue);
        if let Value::Object(extra) = extra {
            fields.extend(extra);
        }
        self.emit(owner, name, "issues", action, fields, actor);
    }

    fn log(&mut self, owner: &str, name: &str, n: u64, actor: &str, event: &str, extra: Value) {
        // Each entry gets an id from the sandbox's one sequence, as GitHub's issue events
        // do: the events API (`events.rs`) renders these entries.
        let id = self.world.next_id();
        if let Ok(issue) = self.issue_mut(owner, name, n) {
            let mut entry = json!({ "id": id, "event": event, "actor": actor,
                                    "created_at": render::ts(Utc::now()) });
            if let (Value::Object(e), Value::Object(x)) = (&mut entry, extra) {
                e.extend(x);
            }
            issue.events.push(entry);
            issue.updated_at = Utc::now();
        }
    }

    /// The repository label named `name`, created (as GitHub does when labelling) if absent.
    pub fn ensure_label(
        &mut self,
        owner: &str,
        name: &str,
        label: &str,
        color: Option<String>,
        description: Option<String>,
    ) -> Result<Label, ApiError> {
        if let Some(l) = self.repo_mut(owner, name)?.label(label) {
            return Ok(l.clone());
        }
        let id = self.world.next_id();
        let l = Label {
            id,
            name: label.to_owned(),
            color: color.unwrap_or_else(|| render::color_for(label)),
            description,
        };
        self.repo_mut(owner, name)?.labels.push(l.clone());
        self.changed = true;
        Ok(l)
    }

    /// Opens an issue as `actor`; returns its number.
    pub fn create_issue(
        &mut self,
        owner: &str,
        name: &str,
        actor: &str,
        new: NewIssue,
    ) -> Result<u64, ApiError> {
        let NewIssue {
            title,
            body,
            labels,
            assignees,
        } = new;
        if title.trim().is_empty() {
            return Err(ApiError::validation("Issue", "title", "missing_field"));
        }
        self.world.account(actor, "User");
        let mut names = Vec::new();
        for l in &labels {
            let label = self.ensure_label(owner, name, l, None, None)?;
            if !names
                .iter()
                .any(|n: &String| super::model::same_name(n, &label.name))
            {
                names.push(label.name);
            }
        }
        let id = self.world.next_id();
        let repo = self.repo_mut(owner, name)?;
        let number = repo.issues.len() as u64 + 1;
        let now = Utc::now();
        repo.issues.push(Issue {
            id,
            number,
            title,
            body,
            user: actor.to_owned(),
            open: true,
            state_reason: None,
            labels: names,
            assignees,
            created_at: now,
            updated_at: now,
            closed_at: None,
            closed_by: None,
            comments: Vec::new(),
            events: Vec::new(),
            transferred_to: None,
        });
        self.log(owner, name, number, actor, "opened", json!({}));
        self.emit_issue(owner, name, number, "opened", json!({}), actor);
        Ok(number)
    }

    /// Applies a `PATCH` as `actor`, sending `edited`, `labeled`/`unlabeled`,
    /// `assigned`/`unassigned`, then `closed`/`reopened` as GitHub would.
    pub fn edit_issue(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        p: IssuePatch,
    ) -> Result<(), ApiError> {
        self.world.account(actor, "User");
        let issue = self.issue_mut(owner, name, n)?.clone();
        let mut changes = Map::new();
        let new_title = p.title.filter(|t| *t != issue.title);
        let new_body = p.body.filter(|b| Some(b) != issue.body.as_ref());
        if let Some(t) = &new_title {
            if t.trim().is_empty() {
                return Err(ApiError::validation("Issue", "title", "missing_field"));
            }
            changes.insert("title".into(), json!({ "from": issue.title }));
        }
        if new_body.is_some() {
            changes.insert(
                "body".into(),
                json!({ "from": issue.body.clone().unwrap_or_default() }),
            );
        }
        let closing = match p.state.as_deref() {
            None => None,
            Some("open") => (!issue.open).then_some(false),
            Some("closed") => issue.open.then_some(true),
            Some(_) => return Err(ApiError::validation("Issue", "state", "invalid")),
        };
        let reason = match p.state_reason.as_deref() {
            None => None,
            Some(r @ ("completed" | "not_planned" | "reopened" | "duplicate")) => {
                Some(r.to_owned())
            }
            Some(_) => return Err(ApiError::validation("Issue", "state_reason", "invalid")),
        };
        if !changes.is_empty() {
            let i = self.issue_mut(owner, name, n)?;
            if let Some(t) = new_title {
                i.title = t;
            }
            if let Some(b) = new_body {
                i.body = Some(b);
            }
            self.log(
                owner,
                name,
                n,
                actor,
                "edited",
                json!({ "changes": changes.clone() }),
            );
            self.emit_issue(
                owner,
                name,
                n,
                "edited",
                json!({ "changes": changes }),
                actor,
            );
        }
        if let Some(labels) = p.labels {
            self.set_labels(owner, name, n, actor, &labels)?;
        }
        if let Some(assignees) = p.assignees {
            self.set_assignees(owner, name, n, actor, &assignees)?;
        }
        match closing {
            Some(true) => self.close(
                owner,
                name,
                n,
                actor,
                reason.unwrap_or_else(|| "completed".into()),
            )?,
            Some(false) => self.reopen(owner, name, n, actor)?,
            None => {
                if let Some(r) = reason.filter(|_| !issue.open) {
                    self.issue_mut(owner, name, n)?.state_reason = Some(r);
                    self.changed = true;
                }
            }
        }
        Ok(())
    }

    fn close(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        reason: String,
    ) -> Result<(), ApiError> {
        let i = self.issue_mut(owner, name, n)?;
        i.open = false;
        i.state_reason = Some(reason.clone());
        i.closed_at = Some(Utc::now());
        i.closed_by = Some(actor.to_owned());
        self.log(
            owner,
            name,
            n,
            actor,
            "closed",
            json!({ "state_reason": reason }),
        );
        self.emit_issue(owner, name, n, "closed", json!({}), actor);
        Ok(())
    }

    fn reopen(&mut self, owner: &str, name: &str, n: u64, actor: &str) -> Result<(), ApiError> {
        let i = self.issue_mut(owner, name, n)?;
        i.open = true;
        i.state_reason = Some("reopened".into());
        i.closed_at = None;
        i.closed_by = None;
        self.log(owner, name, n, actor, "reopened", json!({}));
        self.emit_issue(owner, name, n, "reopened", json!({}), actor);
        Ok(())
    }

    fn set_assignees(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        want: &[String],
    ) -> Result<(), ApiError> {
        let have = self.issue_mut(owner, name, n)?.assignees.clone();
        for gone in have
            .iter()
            .filter(|h| !want.iter().any(|w| w.eq_ignore_ascii_case(h)))
        {
            self.issue_mut(owner, name, n)?
                .assignees
                .retain(|a| a != gone);
            self.log(
                owner,
                name,
                n,
                actor,
                "unassigned",
                json!({ "assignee": gone }),
            );
            let assignee = render::user_by_login(self.world, gone);
            self.emit_issue(
                owner,
                name,
                n,
                "unassigned",
                json!({ "assignee": assignee }),
                actor,
            );
        }
        for new in want
            .iter()
            .filter(|w| !have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        {
            self.world.account(new, "User");
            self.issue_mut(owner, name, n)?.assignees.push(new.clone());
            self.log(
                owner,
                name,
                n,
                actor,
                "assigned",
                json!({ "assignee": new }),
            );
            let assignee = render::user_by_login(self.world, new);
            self.emit_issue(
                owner,
                name,
                n,
                "assigned",
                json!({ "assignee": assignee }),
                actor,
            );
        }
        Ok(())
    }

    /// Adds labels (creating missing repository labels); one `labeled` delivery per new one.
    pub fn add_labels(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        labels: &[String],
    ) -> Result<(), ApiError> {
        self.world.account(actor, "User");
        self.issue_mut(owner, name, n)?;
        for l in labels {
            let label = self.ensure_label(owner, name, l, None, None)?;
            let i = self.issue_mut(owner, name, n)?;
            if i.labels
                .iter()
                .any(|x| super::model::same_name(x, &label.name))
            {
                continue;
            }
            i.labels.push(label.name.clone());
            self.log(
                owner,
                name,
                n,
                actor,
                "labeled",
                json!({ "label": label.name }),
            );
            let repo = self
                .world
                .repo(owner, name)
                .ok_or_else(ApiError::not_found)?;
            let lv = render::label(&self.world.base_url, repo, &label);
            self.emit_issue(owner, name, n, "labeled", json!({ "label": lv }), actor);
        }
        Ok(())
    }

    /// Removes one label; `404 Label does not exist` when the issue does not have it.
    pub fn remove_label(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        label: &str,
    ) -> Result<(), ApiError> {
        self.world.account(actor, "User");
        let i = self.issue_mut(owner, name, n)?;
        let Some(pos) = i
            .labels
            .iter()
            .position(|x| super::model::same_name(x, label))
        else {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "Label does not exist",
            ));
        };
        let removed = i.labels.remove(pos);
        self.log(
            owner,
            name,
            n,
            actor,
            "unlabeled",
            json!({ "label": removed }),
        );
        let repo = self
            .world
            .repo(owner, name)
            .ok_or_else(ApiError::not_found)?;
        let lv = repo
            .label(&removed)
            .map(|l| render::label(&self.world.base_url, repo, l));
        self.emit_issue(owner, name, n, "unlabeled", json!({ "label": lv }), actor);
        Ok(())
    }

    /// Replaces the issue's labels (`PUT`), as removals then additions.
    pub fn set_labels(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        labels: &[String],
    ) -> Result<(), ApiError> {
        let have = self.issue_mut(owner, name, n)?.labels.clone();
        for gone in have
            .iter()
            .filter(|h| !labels.iter().any(|l| super::model::same_name(l, h)))
        {
            self.remove_label(owner, name, n, actor, gone)?;
        }
        self.add_labels(owner, name, n, actor, labels)
    }

    /// Comments on an issue as `actor`; returns the comment id.
    pub fn create_comment(
        &mut self,
        owner: &str,
        name: &str,
        n: u64,
        actor: &str,
        body: &str,
    ) -> Result<u64, ApiError> {
        if body.trim().is_empty() {
            return Err(ApiError::validation(
                "IssueComment",
                "body",
                "missing_field",
            ));
        }
        self.world.account(actor, "User");
        self.issue_mut(owner, name, n)?;
        let id = self.world.next_id();
        let now = Utc::now();
        let c = Comment {
            id,
            issue_number: n,
            user: actor.to_owned(),
            body: body.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let repo = self.repo_mut(owner, name)?;
        repo.comments.insert(id, c);
        if let Some(i) = repo.issue_mut(n) {
            i.comments.push(id);
        }
        self.log(
            owner,
            name,
            n,
            actor,
            "commented",
            json!({ "comment_id": id }),
        );
        self.emit_comment(owner, name, id, "created", json!({}), actor);
        Ok(id)
    }

    /// Edits a comment as `actor`.
    pub fn edit_comment(
        &mut self,
        owner: &str,
        name: &str,
        id: u64,
        actor: &str,
        body: &str,
    ) -> Result<(), ApiError> {
        if body.trim().is_empty() {
            return Err(ApiError::validation(
                "IssueComment",
                "body",
                "missing_field",
            ));
        }
        self.world.account(actor, "User");
        let c = self
            .repo_mut(owner, name)?
            .comments
            .get_mut(&id)
            .ok_or_else(ApiError::not_found)?;
        if c.body == body {
            return Ok(());
        }
        let from = std::mem::replace(&mut c.body, body.to_owned());
        c.updated_at = Utc::now();
        let n = c.issue_number;
        self.log(
            owner,
            name,
            n,
            actor,
            "comment_edited",
            json!({ "comment_id": id }),
        );
        self.emit_comment(
            owner,
            name,
            id,
            "edited",
            json!({ "changes": { "body": { "from": from } } }),
            actor,
        );
        Ok(())
    }

    /// Deletes a comment as `actor`.
    pub fn delete_comment(
        &mut self,
        owner: &str,
        name: &str,
        id: u64,
        actor: &str,
    ) -> Result<(), ApiError> {
        self.world.account(actor, "User");
        let n = self
            .repo_mut(owner, name)?
            .comments
            .get(&id)
            .ok_or_else(ApiError::not_found)?
            .issue_number;
        self.log(
            owner,
            name,
            n,
            actor,
            "comment_deleted",
            json!({ "comment_id": id }),
        );
        // GitHub's `deleted` payload carries the comment as it was.
        self.emit_comment(owner, name, id, "deleted", json!({}), actor);
        let repo = self.repo_mut(owner, name)?;
        repo.comments.remove(&id);
        if let Some(i) = repo.issue_mut(n) {
            i.comments.retain(|c| *c != id);
        }
        Ok(())
    }

    fn emit_comment(
        &mut self,
        owner: &str,
        name: &str,
        id: u64,
        action: &str,
        extra: Value,
        actor: &str,
    ) {
        let w = &*self.world;
        let Some(repo) = w.repo(owner, name) else {
            return;
        };
        let Some(c) = repo.comments.get(&id) else {
            return;
        };
        let Some(issue) = repo.issue(c.issue_number) else {
            return;
        };
        let mut fields = Map::new();
        fields.insert("issue".into(), render::issue(w, repo, issue));
        fields.insert("comment".into(), render::comment(w, repo, c));
        if let Value::Object(extra) = extra {
            fields.extend(extra);
        }
        self.emit(owner, name, "issue_comment", action, fields, actor);
    }
}

impl Tx<'_> {
    /// Transfers issue `n` to repository `to_owner/to_name` as `actor`, as GitHub does: the
    /// issue keeps its id, node id, comments, assignees and (created where missing) labels,
    /// and gets the next number there; the old number answers `301`. Deliveries, shaped as in
    /// `github-webhooks.slice.json`: `issues.transferred` to the old repository (with
    /// `changes.new_issue` / `changes.new_repository`), then `issues.opened` to the new one
    /// (with `changes.old_issue` / `changes.old_repository`). Returns the new number.
    pub fn transfer_issue(
        &mut self,
        (owner, name): (&str, &str),
        n: u64,
        actor: &str,
        (to_owner, to_name): (&str, &str),
    ) -> Result<u64, ApiError> {
        self.world.account(actor, "User");
        if key(owner, name) == key(to_owner, to_name) {
            return Err(ApiError::validation("Issue", "repository", "invalid"));
        }
        self.repo_mut(to_owner, to_name)?;
        let old = self.issue_mut(owner, name, n)?.clone();
        if old.transferred_to.is_some() {
            return Err(ApiError::not_found());
        }
        for l in &old.labels {
            self.ensure_label(to_owner, to_name, l, None, None)?;
        }
        let comments: Vec<Comment> = {
            let repo = self.repo_mut(owner, name)?;
            old.comments
                .iter()
                .filter_map(|id| repo.comments.remove(id))
                .collect()
        };
        let target = self.repo_mut(to_owner, to_name)?;
        let number = target.issues.len() as u64 + 1;
        for mut c in comments {
            c.issue_number = number;
            target.comments.insert(c.id, c);
        }
        target.issues.push(Issue {
            number,
            updated_at: Utc::now(),
            ..old.clone()
        });
        let (old_json, old_repo_json, new_json, new_repo_json) = {
            let w = &*self.world;
            let from = w.repo(owner, name).ok_or_else(ApiError::not_found)?;
            let to = w.repo(to_owner, to_name).ok_or_else(ApiError::not_found)?;
            let moved = to.issue(number).ok_or_else(ApiError::not_found)?;
            (
                render::issue(w, from, &old),
                render::repository(w, from),
                render::issue(w, to, moved),
                render::repository(w, to),
            )
        };
        let gone = self.issue_mut(owner, name, n)?;
        gone.transferred_to = Some((format!("{to_owner}/{to_name}"), number));
        gone.labels.clear();
        gone.comments.clear();
        self.log(
            to_owner,
            to_name,
            number,
            actor,
            "transferred",
            json!({ "from": format!("{owner}/{name}#{n}") }),
        );
        let mut fields = Map::new();
        fields.insert("issue".into(), old_json.clone());
        fields.insert(
            "changes".into(),
            json!({ "new_issue": new_json.clone(), "new_repository": new_repo_json }),
        );
        self.emit(owner, name, "issues", "transferred", fields, actor);
        let mut fields = Map::new();
        fields.insert("issue".into(), new_json);
        fields.insert(
            "changes".into(),
            json!({ "old_issue": old_json, "old_repository": old_repo_json }),
        );
        self.emit(to_owner, to_name, "issues", "opened", fields, actor);
        Ok(number)
    }
}
