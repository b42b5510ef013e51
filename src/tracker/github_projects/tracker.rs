//! [`GithubProjectsTracker`]: the `Tracker` trait over GitHub Projects (v2).
//!
//! The epic is the concern issue itself, added to the project (and given the organisation's
//! epic issue type when it defines one). Each story is an issue in the team's repository,
//! created and made a sub-issue of the concern in one GraphQL write (`createIssue` with
//! `parentIssueId`), so a crash cannot leave an unlinked story; then added to the project
//! with Team and Status set. Exactly once: before creating, the parent's sub-issues are
//! listed (REST, consistent at once, unlike search) and matched by the hidden marker in each
//! story's body; what a crashed attempt made is found and completed (project item, fields).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::documents as doc;
use super::model::{self, IssueNode};
use super::settings::GithubProjectsSettings;
use crate::github::client::{GithubClient, GithubError, StateReason};
use crate::retry::{RetryHint, Retryable};
use crate::tracker::{
    Cue, CueError, EpicRequest, StoryRequest, TrackedIssue, Tracker, TrackerDelivery, TrackerError,
    TrackerIssue,
};

/// GitHub's cap on sub-issues per parent, closed ones included
/// (<https://docs.github.com/issues/tracking-your-work-with-issues/using-issues/adding-sub-issues>).
pub const MAX_SUB_ISSUES: usize = 100;
/// Most pages of project items read in one poll (100 items a page): a bound, not a goal.
const MAX_ITEM_PAGES: usize = 100;

/// The project's ids the tracker needs, read once.
#[derive(Debug, Clone)]
pub struct ProjectInfo {
    /// Project node id.
    pub id: String,
    /// Status field id and its options (name → option id).
    pub status: SelectField,
    /// Team field id and its options.
    pub team: SelectField,
    /// Iteration field id, when the project has one.
    pub iteration: Option<String>,
}

/// A single-select field.
#[derive(Debug, Clone)]
pub struct SelectField {
    /// Field node id.
    pub id: String,
    /// Options: (name, option id).
    pub options: Vec<(String, String)>,
}

impl SelectField {
    /// The option id named `name` (case-insensitive).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, id)| id.as_str())
    }

    fn names(&self) -> String {
        self.options
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A GitHub error as the trait reports it.
fn tracker_err(e: GithubError) -> TrackerError {
    match e.retry_hint() {
        RetryHint::Never => TrackerError::Permanent {
            status: e.status(),
            reason: e.to_string(),
        },
        _ => TrackerError::Transient(e.to_string()),
    }
}

fn refused(reason: String) -> TrackerError {
    TrackerError::Permanent {
        status: None,
        reason,
    }
}

/// The hidden marker written into a story's body.
pub fn marker_comment(marker: &str) -> String {
    format!("<!-- council-sync-story: {marker} -->")
}

/// A new story's body: the request's Markdown, who submitted it for the council (the
/// daemon's account is the author on GitHub), and the hidden marker.
pub fn story_body(req: &StoryRequest) -> String {
    let submitted = req.submitted_by.as_deref().map_or(String::new(), |login| {
        format!("{}\n\n", crate::tracker::submitted_note(login))
    });
    format!(
        "{}\n\n{submitted}{}",
        req.description_md,
        marker_comment(&req.marker)
    )
}

/// The marker of a story body, if it has one.
pub fn marker_of(body: &str) -> Option<&str> {
    let (_, rest) = body.split_once("<!-- council-sync-story: ")?;
    rest.split_once(" -->").map(|(m, _)| m)
}

/// `owner/name` and number of an issue from its URL for people
/// (`…/{owner}/{name}/issues/{n}`).
pub fn issue_of_url(url: &str) -> Option<(String, u64)> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let n = parts.next()?.parse().ok()?;
    (parts.next()? == "issues").then_some(())?;
    let name = parts.next()?;
    let owner = parts.next()?;
    Some((format!("{owner}/{name}"), n))
}

/// The GitHub Projects tracker.
#[derive(Debug)]
pub struct GithubProjectsTracker {
    gh: GithubClient,
    settings: GithubProjectsSettings,
    project: OnceCell<ProjectInfo>,
    epic_type: OnceCell<Option<String>>,
    repo_ids: Mutex<HashMap<String, String>>,
}

impl GithubProjectsTracker {
    /// A tracker over `gh` (the product's GitHub client, which paces and retries).
    pub fn new(gh: GithubClient, settings: GithubProjectsSettings) -> Self {
        Self {
            gh,
            settings,
            project: OnceCell::new(),
            epic_type: OnceCell::new(),
            repo_ids: Mutex::new(HashMap::new()),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &GithubProjectsSettings {
        &self.settings
    }

    /// The project and its fields (read once, then kept).
    pub async fn project(&self) -> Result<&ProjectInfo, TrackerError> {
        self.project
            .get_or_try_init(|| async {
                let s = &self.settings;
                let data: model::ProjectFieldsData = self
                    .gh
                    .graphql(
                        doc::PROJECT_FIELDS,
                        json!({ "owner": s.owner, "number": s.number }),
                    )
                    .await
                    .map_err(tracker_err)?;
                let project = data
                    .organization
                    .and_then(|o| o.project_v2)
                    .ok_or_else(|| {
                        refused(format!(
                            "GitHub has no project {} of organisation {:?} (or the token cannot see it)",
                            s.number, s.owner
                        ))
                    })?;
                project_info(project, s)
            })
            .await
    }

    /// The repository's node id (kept once read).
    async fn repo_id(&self, repo: &str) -> Result<String, TrackerError> {
        if let Some(id) = self.lock_ids().get(repo) {
            return Ok(id.clone());
        }
        let (owner, name) = repo
            .split_once('/')
            .ok_or_else(|| refused(format!("repository {repo:?} is not owner/name")))?;
        let data: model::RepositoryIdData = self
            .gh
            .graphql(doc::REPOSITORY_ID, json!({ "owner": owner, "name": name }))
            .await
            .map_err(tracker_err)?;
        let id = data
            .repository
            .ok_or_else(|| refused(format!("GitHub has no repository {repo}")))?
            .id;
        self.lock_ids().insert(repo.to_owned(), id.clone());
        Ok(id)
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.repo_ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The organisation's epic issue type, when configured and defined (read once).
    async fn epic_type(&self) -> Result<Option<&str>, TrackerError> {
        let t = self
            .epic_type
            .get_or_try_init(|| async {
                let Some(want) = self.settings.epic_type() else {
                    return Ok(None);
                };
                let types = self
                    .gh
                    .org_issue_types(&self.settings.owner)
                    .await
                    .map_err(tracker_err)?;
                Ok::<_, TrackerError>(
                    types
                        .into_iter()
                        .find(|t| t.is_enabled && t.name.eq_ignore_ascii_case(want))
                        .map(|t| t.name),
                )
            })
            .await?;
        Ok(t.as_deref())
    }

    /// One issue by key, as GitHub has it now (`None` when missing).
    pub async fn read_issue(&self, key: &str) -> Result<Option<IssueNode>, TrackerError> {
        let (repo, number) = model::parse_key(key)
            .ok_or_else(|| refused(format!("{key:?} is not owner/name#number")))?;
        let (owner, name) = repo.split_once('/').unwrap_or_default();
        let data: model::IssueStateData = self
            .gh
            .graphql(
                doc::ISSUE_STATE,
                json!({ "owner": owner, "name": name, "number": number }),
            )
            .await
            .map_err(tracker_err)?;
        Ok(data.repository.and_then(|r| r.issue))
    }

    /// Issues by node id (for `projects_v2_item` cues); unknown ids are left out.
    pub async fn read_nodes(&self, ids: &[String]) -> Result<Vec<IssueNode>, TrackerError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(100) {
            let data: model::IssueNodesData = self
                .gh
                .graphql(doc::ISSUE_NODES, json!({ "ids": chunk }))
                .await
                .map_err(tracker_err)?;
            out.extend(data.nodes.into_iter().flatten().filter_map(|n| match n {
                model::AnyNode::Issue(i) => Some(*i),
                model::AnyNode::Other => None,
            }));
        }
        Ok(out)
    }

    /// The issue's item in the project, added when missing (GitHub answers the existing
    /// item when it is already there, so this is idempotent).
    async fn ensure_item(&self, issue: &IssueNode) -> Result<String, TrackerError> {
        let project = self.project().await?;
        if let Some(item) = model::item_in(issue, &project.id) {
            return Ok(item.id.clone());
        }
        let data: model::AddItemData = self
            .gh
            .graphql(
                doc::ADD_PROJECT_ITEM,
                json!({ "projectId": project.id, "contentId": issue.id }),
            )
            .await
            .map_err(tracker_err)?;
        data.add_project_v2_item_by_id
            .and_then(|a| a.item)
            .map(|i| i.id)
            .ok_or_else(|| {
                refused(format!(
                    "GitHub did not add {} to the project",
                    model::key(issue)
                ))
            })
    }

    /// Sets a single-select field of an item to `option_id`.
    async fn set_option(
        &self,
        item_id: &str,
        field_id: &str,
        option_id: &str,
    ) -> Result<(), TrackerError> {
        let project = self.project().await?;
        let _: Value = self
            .gh
            .graphql(
                doc::SET_FIELD_VALUE,
                json!({ "projectId": project.id, "itemId": item_id, "fieldId": field_id,
                        "value": { "singleSelectOptionId": option_id } }),
            )
            .await
            .map_err(tracker_err)?;
        Ok(())
    }

    /// Makes a story complete in the project: its item, Team and (when unset) Status.
    async fn complete_story(&self, issue: &IssueNode, team: &str) -> Result<(), TrackerError> {
        let project = self.project().await?;
        let s = &self.settings;
        let item = model::item_in(issue, &project.id);
        let team_option = project.team.option(team).ok_or_else(|| {
            refused(format!(
                "the project's {} field has no option {team:?} (options: {})",
                s.team_field,
                project.team.names()
            ))
        })?;
        let todo = project.status.option(&s.todo_status).ok_or_else(|| {
            refused(format!(
                "the project's {} field has no option {:?} (options: {})",
                s.status_field,
                s.todo_status,
                project.status.names()
            ))
        })?;
        let item_id = self.ensure_item(issue).await?;
        let set_team =
            model::single_select(item, &s.team_field).is_none_or(|t| !t.eq_ignore_ascii_case(team));
        let set_status = model::single_select(item, &s.status_field).is_none();
        match (set_team, set_status) {
            // A new story: both in one write.
            (true, true) => {
                let _: Value = self
                    .gh
                    .graphql(
                        doc::SET_STORY_FIELDS,
                        json!({ "projectId": project.id, "itemId": item_id,
                                "teamFieldId": project.team.id,
                                "team": { "singleSelectOptionId": team_option },
                                "statusFieldId": project.status.id,
                                "status": { "singleSelectOptionId": todo } }),
                    )
                    .await
                    .map_err(tracker_err)?;
            }
            (true, false) => {
                self.set_option(&item_id, &project.team.id, team_option)
                    .await?
            }
            (false, true) => self.set_option(&item_id, &project.status.id, todo).await?,
            (false, false) => {}
        }
        Ok(())
    }

    fn team_repo(&self, team: &str) -> Result<&str, TrackerError> {
        self.settings
            .teams
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(team))
            .map(|(_, r)| r.as_str())
            .ok_or_else(|| refused(format!("team {team:?} has no repository configured")))
    }

    async fn must_read(&self, key: &str) -> Result<IssueNode, TrackerError> {
        self.read_issue(key)
            .await?
            .ok_or_else(|| TrackerError::Permanent {
                status: Some(404),
                reason: format!("GitHub has no issue {key}"),
            })
    }
}

/// The project's fields by the configured names.
fn project_info(
    p: model::ProjectNode,
    s: &GithubProjectsSettings,
) -> Result<ProjectInfo, TrackerError> {
    let find = |name: &str| {
        p.fields.iter().find(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    };
    let select = |name: &str| -> Result<SelectField, TrackerError> {
        let f = find(name)
            .filter(|f| f.typename == "ProjectV2SingleSelectField")
            .ok_or_else(|| {
                refused(format!(
                    "project {} has no single-select field {name:?}",
                    p.url
                ))
            })?;
        Ok(SelectField {
            id: f.id.clone().unwrap_or_default(),
            options: f
                .options
                .iter()
                .map(|o| (o.name.clone(), o.id.clone()))
                .collect(),
        })
    };
    Ok(ProjectInfo {
        id: p.id.clone(),
        status: select(&s.status_field)?,
        team: select(&s.team_field)?,
        iteration: find(&s.iteration_field)
            .filter(|f| f.typename == "ProjectV2IterationField")
            .and_then(|f| f.id.clone()),
    })
}

impl Tracker for GithubProjectsTracker {
    async fn ensure_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        let (repo, number) = issue_of_url(&req.github_url)
            .ok_or_else(|| refused(format!("{:?} is not a GitHub issue URL", req.github_url)))?;
        let key = format!("{repo}#{number}");
        let issue = self.must_read(&key).await?;
        self.ensure_item(&issue).await?;
        if let Some(t) = self.epic_type().await? {
            // Idempotent; GitHub's GraphQL schema (as published) has no issue type on
            // `Issue` to read first, so it is set on every call (once per acceptance).
            self.gh
                .set_issue_type(&repo, number, t)
                .await
                .map_err(tracker_err)?;
        }
        Ok(model::tracker_issue(&issue, None))
    }

    async fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        let (parent_repo, parent_number) = model::parse_key(&epic.key)
            .ok_or_else(|| refused(format!("{:?} is not owner/name#number", epic.key)))?;
        let existing = self
            .gh
            .list_sub_issues(&parent_repo, parent_number)
            .await
            .map_err(tracker_err)?;
        let found = |marker: &str| {
            existing
                .iter()
                .find(|s| s.body.as_deref().and_then(marker_of) == Some(marker))
        };
        let missing = reqs.iter().filter(|r| found(&r.marker).is_none()).count();
        if existing.len() + missing > MAX_SUB_ISSUES {
            return Err(refused(format!(
                "{} has {} sub-issues and needs {missing} more: GitHub allows at most \
                 {MAX_SUB_ISSUES} sub-issues per issue, closed ones included; remove some \
                 sub-issues from it and the stories are created on the next pass",
                epic.key,
                existing.len()
            )));
        }
        let mut out = Vec::with_capacity(reqs.len());
        for req in reqs {
            let repo = self.team_repo(&req.team)?;
            let issue = match found(&req.marker) {
                Some(sub) => {
                    let key = format!(
                        "{}#{}",
                        sub.repository().unwrap_or_else(|| repo.to_owned()),
                        sub.number
                    );
                    self.must_read(&key).await?
                }
                None => {
                    let repository_id = self.repo_id(repo).await?;
                    let body = story_body(req);
                    let data: model::CreateIssueData = self
                        .gh
                        .graphql(
                            doc::CREATE_SUB_ISSUE,
                            json!({ "repositoryId": repository_id, "title": req.summary,
                                    "body": body, "parentIssueId": epic.id }),
                        )
                        .await
                        .map_err(tracker_err)?;
                    data.create_issue.and_then(|c| c.issue).ok_or_else(|| {
                        TrackerError::Transient(format!(
                            "GitHub answered createIssue in {repo} without an issue"
                        ))
                    })?
                }
            };
            self.complete_story(&issue, &req.team).await?;
            out.push(model::tracker_issue(&issue, Some(req.team.clone())));
        }
        Ok(out)
    }

    async fn fetch(&self, keys: &[String]) -> Result<Vec<TrackedIssue>, TrackerError> {
        let project = self.project().await?.id.clone();
        let mut out = Vec::new();
        for key in keys {
            if let Some(issue) = self.read_issue(key).await? {
                out.push(model::tracked(&issue, &project, &self.settings, None));
            }
        }
        Ok(out)
    }

    async fn updated_since(&self, since_ms: i64) -> Result<Vec<TrackedIssue>, TrackerError> {
        // Projects v2 orders items by position only, so the poll reads every item and keeps
        // those whose item (field values) or issue changed since `since_ms`, less a minute.
        let project = self.project().await?.id.clone();
        let cutoff = since_ms - 60_000;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_ITEM_PAGES {
            let data: model::ProjectItemsData = self
                .gh
                .graphql(
                    doc::PROJECT_ITEMS,
                    json!({ "projectId": project, "after": after }),
                )
                .await
                .map_err(tracker_err)?;
            let Some(page) = data.node.and_then(|n| n.items) else {
                break;
            };
            for item in page.nodes.into_iter().flatten() {
                let item_ms = model::millis(&item.updated_at);
                if let Some(model::AnyNode::Issue(issue)) = item.content {
                    let t = model::tracked(&issue, &project, &self.settings, Some(item_ms));
                    if t.updated_ms >= cutoff {
                        out.push(t);
                    }
                }
            }
            match (page.page_info.has_next_page, page.page_info.end_cursor) {
                (true, Some(c)) => after = Some(c),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn changed_since(
        &self,
        since_ms: i64,
        _seen: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<TrackedIssue>, TrackerError> {
        // Items come by position, not by update: nothing to stop early on.
        self.updated_since(since_ms).await
    }

    async fn list_all(&self) -> Result<Vec<TrackedIssue>, TrackerError> {
        // Every item: the poll's scan with no cutoff (Projects v2 lists items in pages of
        // 100 by position).
        self.updated_since(i64::MIN / 2).await
    }

    async fn move_to(&self, key: &str, status: &str) -> Result<bool, TrackerError> {
        let s = &self.settings;
        let issue = self.must_read(key).await?;
        let project = self.project().await?;
        let (repo, number) = model::parse_key(key).unwrap_or_default();
        let not_planned = status.eq_ignore_ascii_case(&s.not_planned_status);
        let option = project.status.option(status);
        if option.is_none() && !not_planned {
            return Err(refused(format!(
                "the project's {} field has no option {status:?} (options: {})",
                s.status_field,
                project.status.names()
            )));
        }
        let mut changed = false;
        let item = model::item_in(&issue, &project.id);
        if let Some(option_id) = option
            && model::single_select(item, &s.status_field)
                .is_none_or(|cur| !cur.eq_ignore_ascii_case(status))
        {
            let item_id = self.ensure_item(&issue).await?;
            self.set_option(&item_id, &project.status.id, option_id)
                .await?;
            changed = true;
        }
        let closed = model::is_closed(&issue);
        let reason = issue.state_reason.as_deref().unwrap_or_default();
        let close_as = if status.eq_ignore_ascii_case(&s.done_status) {
            Some(StateReason::Completed)
        } else if not_planned {
            Some(StateReason::NotPlanned)
        } else {
            None
        };
        match close_as {
            Some(r) if !closed || !reason.eq_ignore_ascii_case(r.as_str()) => {
                self.gh
                    .close_issue(&repo, number, r)
                    .await
                    .map_err(tracker_err)?;
                changed = true;
            }
            None if closed => {
                self.gh
                    .reopen_issue(&repo, number)
                    .await
                    .map_err(tracker_err)?;
                changed = true;
            }
            _ => {}
        }
        Ok(changed)
    }

    async fn update(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> Result<(), TrackerError> {
        let (repo, number) = model::parse_key(key)
            .ok_or_else(|| refused(format!("{key:?} is not owner/name#number")))?;
        // The epic is the concern issue itself: its title and text are the people's own,
        // and the engine's rendering of them must never overwrite them. Only a story (an
        // issue carrying the daemon's marker) is edited.
        let current = self
            .gh
            .get_issue(&repo, number)
            .await
            .map_err(tracker_err)?;
        let Some(marker) = current.body.as_deref().and_then(marker_of) else {
            return Ok(());
        };
        let mut fields = serde_json::Map::new();
        if let Some(t) = summary {
            fields.insert("title".into(), json!(t));
        }
        if let Some(md) = description_md {
            // Keep the story's marker: the exactly-once check finds the story by it.
            fields.insert(
                "body".into(),
                json!(format!("{md}\n\n{}", marker_comment(marker))),
            );
        }
        if fields.is_empty() {
            return Ok(());
        }
        self.gh
            .patch_issue(&repo, number, Value::Object(fields))
            .await
            .map_err(tracker_err)
    }

    /// Makes `account` an assignee (`None`: no assignee). An issue that already has it
    /// among its assignees (or has none when `None` is asked) is left alone: the epic is
    /// the concern issue itself, whose assignees are the people's own and already the
    /// ones the engine follows, so nothing of theirs is replaced.
    async fn assign(&self, key: &str, account: Option<&str>) -> Result<(), TrackerError> {
        let (repo, number) = model::parse_key(key)
            .ok_or_else(|| refused(format!("{key:?} is not owner/name#number")))?;
        let current = self
            .gh
            .get_issue(&repo, number)
            .await
            .map_err(tracker_err)?;
        let already = match account {
            Some(login) => current
                .assignees
                .iter()
                .any(|a| a.eq_ignore_ascii_case(login)),
            None => current.assignees.is_empty(),
        };
        if already {
            return Ok(());
        }
        let logins: Vec<String> = account.into_iter().map(str::to_owned).collect();
        self.gh
            .set_assignees(&repo, number, &logins)
            .await
            .map_err(tracker_err)
    }

    async fn comment(&self, key: &str, md: &str) -> Result<(), TrackerError> {
        let (repo, number) = model::parse_key(key)
            .ok_or_else(|| refused(format!("{key:?} is not owner/name#number")))?;
        self.gh
            .create_comment(&repo, number, md)
            .await
            .map(|_| ())
            .map_err(tracker_err)
    }

    async fn own_account(&self) -> Result<String, TrackerError> {
        self.gh.current_user().await.map_err(tracker_err)
    }

    /// `projects_v2_item`, `sub_issues` and team-repository `issues` deliveries
    /// (`delivery.event` is the `X-GitHub-Event`) as cues: items named by key are re-read;
    /// an item named only by its node id (`projects_v2_item`) re-reads everything in flight.
    /// The daemon's own changes (`sender.login` is `own_account`) yield none: stories are
    /// found again by listing the parent's sub-issues, so no `Created` cue is needed.
    fn cues(&self, delivery: TrackerDelivery<'_>, own_account: &str) -> Result<Vec<Cue>, CueError> {
        let payload: Value = serde_json::from_slice(delivery.payload)
            .map_err(|e| CueError(format!("not a JSON GitHub delivery: {e}")))?;
        let sender = payload["sender"]["login"].as_str().unwrap_or_default();
        if !own_account.is_empty() && sender.eq_ignore_ascii_case(own_account) {
            return Ok(Vec::new());
        }
        let repos: Vec<String> = self.settings.teams.values().cloned().collect();
        let project = self.project.get().map(|p| p.id.as_str());
        let items = super::cues::items_to_reread(delivery.event, &payload, project, &repos);
        let mut keys = Vec::new();
        let mut all = false;
        for item in items {
            match item {
                super::cues::ItemRef::Key(k) => keys.push(k),
                super::cues::ItemRef::Node(_) => all = true,
            }
        }
        let mut cues = Vec::new();
        if !keys.is_empty() {
            cues.push(Cue::Changed { keys });
        }
        if all {
            cues.push(Cue::ChangedAll);
        }
        Ok(cues)
    }

    fn name(&self) -> &'static str {
        "GitHub Projects"
    }

    /// The same login: stories and epics are GitHub issues, so no `[users]` map is needed.
    fn account_for_github(&self, login: &str) -> Option<String> {
        Some(login.to_owned())
    }

    /// Nothing to do: here the epic *is* the concern issue, so a transfer moves the epic
    /// with it, and the stories stay its sub-issues (GitHub keeps the sub-issue link on a
    /// transfer); no link points back at the old address.
    async fn relink_github(
        &self,
        _key: &str,
        _old_url: &str,
        _new_url: &str,
        _title: &str,
    ) -> Result<(), TrackerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;

    fn offline_tracker() -> GithubProjectsTracker {
        let gh = GithubClient::new(
            "http://127.0.0.1:9",
            &secrecy::SecretString::from("t"),
            RetryPolicy {
                attempts: 1,
                initial_backoff: std::time::Duration::from_millis(1),
                max_backoff: std::time::Duration::from_millis(1),
            },
        )
        .expect("client");
        let settings = GithubProjectsSettings {
            owner: "acme".into(),
            number: 1,
            status_field: "Status".into(),
            team_field: "Team".into(),
            iteration_field: "Iteration".into(),
            todo_status: "Todo".into(),
            in_progress_status: "In Progress".into(),
            done_status: "Done".into(),
            not_planned_status: "Not planned".into(),
            epic_issue_type: None,
            teams: [("payments".to_owned(), "acme/payments".to_owned())].into(),
        };
        GithubProjectsTracker::new(gh, settings)
    }

    /// Each GitHub delivery the tracker reads becomes a cue, unless the daemon's own login
    /// sent it (its own writes coming back); a bad body is a clear error, never a panic.
    #[tokio::test]
    async fn cues_of_each_event_and_never_of_the_daemons_own_writes() {
        let t = offline_tracker();
        let cue = |event: &str, payload: serde_json::Value, own: &str| {
            let body = serde_json::to_vec(&payload).expect("json");
            t.cues(
                TrackerDelivery {
                    event,
                    payload: &body,
                },
                own,
            )
        };
        let closed = json!({ "action": "closed", "issue": { "number": 7 },
            "repository": { "full_name": "acme/payments" }, "sender": { "login": "dave" } });
        assert_eq!(
            cue("issues", closed.clone(), "council-bot"),
            Ok(vec![Cue::Changed {
                keys: vec!["acme/payments#7".into()]
            }])
        );
        let item = json!({ "action": "edited", "projects_v2_item": {
            "content_node_id": "I_9", "content_type": "Issue" }, "sender": { "login": "dave" } });
        assert_eq!(
            cue("projects_v2_item", item.clone(), "council-bot"),
            Ok(vec![Cue::ChangedAll])
        );
        let sub = json!({ "action": "sub_issue_removed",
            "parent_issue": { "number": 3, "repository_url": "https://api.github.com/repos/acme/concerns" },
            "sub_issue": { "number": 7, "repository_url": "https://api.github.com/repos/acme/payments" },
            "sender": { "login": "erin" } });
        assert_eq!(
            cue("sub_issues", sub, "council-bot"),
            Ok(vec![Cue::Changed {
                keys: vec!["acme/concerns#3".into(), "acme/payments#7".into()]
            }])
        );
        // The daemon's own writes, whatever the case of the login.
        let mut own = closed;
        own["sender"]["login"] = "Council-Bot".into();
        assert_eq!(cue("issues", own, "council-bot"), Ok(vec![]));
        let mut own_item = item;
        own_item["sender"]["login"] = "council-bot".into();
        assert_eq!(cue("projects_v2_item", own_item, "council-bot"), Ok(vec![]));
        assert!(
            t.cues(
                TrackerDelivery {
                    event: "issues",
                    payload: b"{not json"
                },
                "council-bot"
            )
            .is_err()
        );
        assert_eq!(t.account_for_github("dave"), Some("dave".into()));
    }

    #[test]
    fn markers_and_urls() {
        let body = format!("text\n\n{}", marker_comment("council-sync-i4-pay"));
        assert_eq!(marker_of(&body), Some("council-sync-i4-pay"));
        assert_eq!(marker_of("no marker"), None);
        assert_eq!(
            issue_of_url("https://github.com/acme/concerns/issues/12"),
            Some(("acme/concerns".into(), 12))
        );
        assert_eq!(
            issue_of_url("http://127.0.0.1:9/acme/c/issues/3/"),
            Some(("acme/c".into(), 3))
        );
        assert_eq!(issue_of_url("https://github.com/acme/c/pull/3"), None);
    }
}
