//! [`GithubProjectsTracker`]: the `Tracker` trait over GitHub Projects (v2).
//!
//! The epic is the concern issue itself, added to the project (and given the organisation's
//! epic issue type when it defines one). Each story is an issue in the team's repository,
//! created and made a sub-issue of the concern in one GraphQL write (`createIssue` with
//! `parentIssueId`), so a crash cannot leave an unlinked story; then every story (and the
//! epic, when the engine says the stories follow) is added to the project in one aliased
//! document and given Team and Status in another (`batch.rs`): K + 3 writes for K stories,
//! the epic's issue type included. Exactly once: before creating, the parent's sub-issues
//! are listed (REST, consistent at once, unlike search) and matched by the hidden marker in
//! each story's body; what a crashed attempt made is found and completed (project item,
//! fields); adds and field updates are idempotent, so repeating them after a crash is safe.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::batch;
use super::documents as doc;
use super::model::{self, IssueNode};
use super::settings::GithubProjectsSettings;
use crate::github::client::{GithubClient, GithubError, StateReason};
use crate::retry::{RetryHint, Retryable};
use crate::tracker::{
    Cue, CueError, EpicRequest, ListPage, StoryRequest, TrackedIssue, Tracker, TrackerDelivery,
    TrackerError, TrackerIssue,
};

/// GitHub's cap on sub-issues per parent, closed ones included
/// (<https://docs.github.com/issues/tracking-your-work-with-issues/using-issues/adding-sub-issues>).
pub const MAX_SUB_ISSUES: usize = 100;
/// Items a page of the project's items holds: GitHub's cap on a connection's page.
const ITEM_PAGE: usize = 100;
/// GitHub's cap on items in one project
/// (<https://docs.github.com/issues/planning-and-tracking-with-projects/learning-about-projects/about-projects>:
/// 50,000; 1,200 for projects on the legacy limit).
pub const MAX_PROJECT_ITEMS: usize = 50_000;
/// Most pages one scan of the project reads: enough for the largest project GitHub allows,
/// so a scan never stops short of an item; past it (should GitHub raise its cap) the scan
/// stops and says so in the log.
const MAX_ITEM_PAGES: usize = MAX_PROJECT_ITEMS.div_ceil(ITEM_PAGE);

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
    /// The organisation's enabled issue types, read once when a type is configured.
    org_types: OnceCell<Vec<String>>,
    repo_ids: Mutex<HashMap<String, String>>,
    /// Epics (node ids) whose project-item add [`Tracker::ensure_epic`] left to the
    /// stories' batched add that follows in the same job.
    deferred_epics: Mutex<HashSet<String>>,
    /// `github.bot_login` when configured: the daemon's own login, known without asking.
    bot_login: Option<String>,
    /// Items a page, and most pages, of one scan of the project ([`ITEM_PAGE`],
    /// [`MAX_ITEM_PAGES`]; smaller in tests).
    item_pages: (usize, usize),
}

impl GithubProjectsTracker {
    /// A tracker over `gh` (the product's GitHub client, which paces and retries).
    pub fn new(gh: GithubClient, settings: GithubProjectsSettings) -> Self {
        Self {
            gh,
            settings,
            project: OnceCell::new(),
            org_types: OnceCell::new(),
            repo_ids: Mutex::new(HashMap::new()),
            deferred_epics: Mutex::new(HashSet::new()),
            bot_login: None,
            item_pages: (ITEM_PAGE, MAX_ITEM_PAGES),
        }
    }

    /// The same tracker scanning the project `page` items a page, at most `pages` pages.
    #[cfg(test)]
    pub(crate) fn with_item_pages(mut self, page: usize, pages: usize) -> Self {
        self.item_pages = (page.clamp(1, ITEM_PAGE), pages.max(1));
        self
    }

    /// The same tracker knowing the daemon's login from `github.bot_login` (a GitHub App's
    /// `{slug}[bot]`, or the token's user): [`Tracker::own_account`] then answers it without
    /// asking GitHub (an installation token cannot read `GET /user`). `None` or empty: ask.
    pub fn with_bot_login(mut self, login: Option<String>) -> Self {
        self.bot_login = login.filter(|l| !l.trim().is_empty());
        self
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

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.repo_ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The organisation's epic issue type, when configured and defined (read once).
    async fn epic_type(&self) -> Result<Option<&str>, TrackerError> {
        self.org_type(self.settings.epic_type()).await
    }

    /// The organisation's story issue type, when configured and defined (read once).
    async fn story_type(&self) -> Result<Option<&str>, TrackerError> {
        self.org_type(self.settings.story_type()).await
    }

    /// `want` as the organisation spells it, when it defines and enables it; the
    /// organisation's types are read once (`GET /orgs/{org}/issue-types`) and only when a
    /// type is configured.
    async fn org_type(&self, want: Option<&str>) -> Result<Option<&str>, TrackerError> {
        let Some(want) = want else {
            return Ok(None);
        };
        let types = self
            .org_types
            .get_or_try_init(|| async {
                let types = self
                    .gh
                    .org_issue_types(&self.settings.owner)
                    .await
                    .map_err(tracker_err)?;
                Ok::<_, TrackerError>(
                    types
                        .into_iter()
                        .filter(|t| t.is_enabled)
                        .map(|t| t.name)
                        .collect(),
                )
            })
            .await?;
        Ok(types
            .iter()
            .find(|t| t.eq_ignore_ascii_case(want))
            .map(String::as_str))
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

    fn lock_deferred(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.deferred_epics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The node ids of these repositories (`owner/name`), those not yet known read in one
    /// aliased query, then kept.
    async fn repo_ids(&self, repos: &[&str]) -> Result<Vec<String>, TrackerError> {
        let mut unknown: Vec<&str> = repos
            .iter()
            .copied()
            .filter(|r| !self.lock_ids().contains_key(*r))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        for chunk in unknown.chunks(batch::MAX_ALIASES) {
            let split = chunk
                .iter()
                .map(|r| {
                    r.split_once('/')
                        .map(|(o, n)| (o.to_owned(), n.to_owned()))
                        .ok_or_else(|| refused(format!("repository {r:?} is not owner/name")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let b = batch::repository_ids(&split);
            let data: Value = self
                .gh
                .graphql(&b.document, b.variables)
                .await
                .map_err(tracker_err)?;
            for (repo, id) in chunk
                .iter()
                .zip(batch::repository_node_ids(&data, chunk.len()))
            {
                let id = id.ok_or_else(|| refused(format!("GitHub has no repository {repo}")))?;
                self.lock_ids().insert((*repo).to_owned(), id);
            }
        }
        let ids = self.lock_ids();
        repos
            .iter()
            .map(|r| {
                ids.get(*r)
                    .cloned()
                    .ok_or_else(|| refused(format!("GitHub has no repository {r}")))
            })
            .collect()
    }

    /// What [`Tracker::ensure_stories`] does, but for adding a deferred epic on error.
    async fn stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        let (parent_repo, parent_number) = model::parse_key(&epic.key)
            .ok_or_else(|| refused(format!("{:?} is not owner/name#number", epic.key)))?;
        let project = self.project().await?;
        // Everything that can refuse is checked before the first write.
        let s = &self.settings;
        let todo = project.status.option(&s.todo_status).ok_or_else(|| {
            refused(format!(
                "the project's {} field has no option {:?} (options: {})",
                s.status_field,
                s.todo_status,
                project.status.names()
            ))
        })?;
        let mut plan = Vec::with_capacity(reqs.len());
        for req in reqs {
            let repo = self.team_repo(&req.team)?;
            let team_option = project.team.option(&req.team).ok_or_else(|| {
                refused(format!(
                    "the project's {} field has no option {:?} (options: {})",
                    s.team_field,
                    req.team,
                    project.team.names()
                ))
            })?;
            plan.push((req, repo, team_option));
        }
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
        // Stories a crashed attempt made are read back in one `nodes` query.
        let found_ids: Vec<String> = reqs
            .iter()
            .filter_map(|r| found(&r.marker).map(|sub| sub.node_id.clone()))
            .collect();
        let mut read: HashMap<String, IssueNode> = self
            .read_nodes(&found_ids)
            .await?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let new_repos: Vec<&str> = plan
            .iter()
            .filter(|(req, _, _)| found(&req.marker).is_none())
            .map(|(_, repo, _)| *repo)
            .collect();
        let new_repo_ids = self.repo_ids(&new_repos).await?;
        let mut new_repo_ids = new_repo_ids.into_iter();
        // The type is read (once) only when a story is new or a found one may lack it.
        let story_type = if new_repos.is_empty() && self.settings.story_type().is_none() {
            None
        } else {
            self.story_type().await?
        };
        let mut issues = Vec::with_capacity(reqs.len());
        for (req, repo, _) in &plan {
            let issue = match found(&req.marker) {
                Some(sub) => {
                    let issue =
                        read.remove(&sub.node_id)
                            .ok_or_else(|| TrackerError::Permanent {
                                status: Some(404),
                                reason: format!(
                                    "GitHub has no issue {}#{} any more",
                                    repo, sub.number
                                ),
                            })?;
                    // A crash between a story's create and its type left it untyped: the
                    // listing shows each sub-issue's type, so only those lacking it are set.
                    if let Some(t) = story_type.filter(|t| !sub.has_type(t)) {
                        self.gh
                            .set_issue_type(repo, sub.number, t)
                            .await
                            .map_err(tracker_err)?;
                    }
                    issue
                }
                None => {
                    let repository_id = new_repo_ids.next().unwrap_or_default();
                    let data: model::CreateIssueData = self
                        .gh
                        .graphql(
                            doc::CREATE_SUB_ISSUE,
                            json!({ "repositoryId": repository_id, "title": req.summary,
                                    "body": story_body(req), "parentIssueId": epic.id }),
                        )
                        .await
                        .map_err(tracker_err)?;
                    let created = data.create_issue.and_then(|c| c.issue).ok_or_else(|| {
                        TrackerError::Transient(format!(
                            "GitHub answered createIssue in {repo} without an issue"
                        ))
                    })?;
                    if let Some(t) = story_type {
                        // `createIssue` takes no issue type (GraphQL schema as published).
                        self.gh
                            .set_issue_type(repo, created.number, t)
                            .await
                            .map_err(tracker_err)?;
                    }
                    created
                }
            };
            issues.push(issue);
        }
        // Every missing item (the deferred epic's first) in one document.
        let epic_deferred = self.lock_deferred().contains(&epic.id);
        let mut contents: Vec<String> =
            epic_deferred.then(|| epic.id.clone()).into_iter().collect();
        let offset = contents.len();
        let lacking: Vec<usize> = (0..issues.len())
            .filter(|&i| model::item_in(&issues[i], &project.id).is_none())
            .collect();
        contents.extend(lacking.iter().map(|&i| issues[i].id.clone()));
        let mut item_ids: Vec<Option<String>> = issues
            .iter()
            .map(|i| model::item_in(i, &project.id).map(|it| it.id.clone()))
            .collect();
        for (c, chunk) in contents.chunks(batch::MAX_ALIASES).enumerate() {
            let add = batch::add_items(&project.id, chunk);
            let data: Value = self
                .gh
                .graphql(&add.document, add.variables)
                .await
                .map_err(tracker_err)?;
            for (j, id) in batch::added_item_ids(&data, chunk.len())
                .into_iter()
                .enumerate()
            {
                let at = c * batch::MAX_ALIASES + j;
                if at >= offset {
                    item_ids[lacking[at - offset]] = id;
                }
            }
        }
        if epic_deferred {
            self.lock_deferred().remove(&epic.id);
        }
        // Team and (when unset) Status of every story in one document.
        let mut updates = Vec::new();
        for ((issue, item_id), (req, _, team_option)) in issues.iter().zip(&item_ids).zip(&plan) {
            let item_id = item_id.clone().ok_or_else(|| {
                refused(format!(
                    "GitHub did not add {} to the project",
                    model::key(issue)
                ))
            })?;
            let item = model::item_in(issue, &project.id);
            if model::single_select(item, &s.team_field)
                .is_none_or(|t| !t.eq_ignore_ascii_case(&req.team))
            {
                updates.push(batch::OptionUpdate {
                    item_id: item_id.clone(),
                    field_id: project.team.id.clone(),
                    option_id: (*team_option).to_owned(),
                });
            }
            if model::single_select(item, &s.status_field).is_none() {
                updates.push(batch::OptionUpdate {
                    item_id,
                    field_id: project.status.id.clone(),
                    option_id: todo.to_owned(),
                });
            }
        }
        for chunk in updates.chunks(batch::MAX_ALIASES) {
            let set = batch::set_options(&project.id, chunk);
            let _: Value = self
                .gh
                .graphql(&set.document, set.variables)
                .await
                .map_err(tracker_err)?;
        }
        Ok(issues
            .iter()
            .zip(reqs)
            .map(|(issue, req)| model::tracker_issue(issue, Some(req.team.clone())))
            .collect())
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
    /// The concern issue as the epic: given the organisation's epic type, and added to the
    /// project, unless `req.stories_follow`, when the add rides in the stories' batched
    /// document instead (one write less; see [`Self::ensure_stories`]).
    async fn ensure_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        let (repo, number) = issue_of_url(&req.github_url)
            .ok_or_else(|| refused(format!("{:?} is not a GitHub issue URL", req.github_url)))?;
        let key = format!("{repo}#{number}");
        let issue = self.must_read(&key).await?;
        let project = self.project().await?;
        if model::item_in(&issue, &project.id).is_none() {
            if req.stories_follow {
                self.lock_deferred().insert(issue.id.clone());
            } else {
                self.ensure_item(&issue).await?;
            }
        }
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

    /// The stories, found by marker among the parent's sub-issues or created and linked in
    /// one `createIssue` each (and given `github_projects.story_issue_type` when the
    /// organisation defines it: one `PATCH` more per new story, and one per found story the
    /// sub-issue listing shows without it, as a crash between the create and the `PATCH`
    /// leaves it); then every missing project item (the epic's too, when
    /// [`Self::ensure_epic`] deferred it) added in one aliased document, and every missing
    /// Team and Status set in another. Writes for K new stories: K + 2 (+ the epic's type).
    /// An error after the epic's add was deferred still adds the epic before it returns.
    async fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        let result = self.stories(epic, reqs).await;
        if result.is_err() && self.lock_deferred().remove(&epic.id) {
            let project = self.project().await?;
            let add = batch::add_items(&project.id, std::slice::from_ref(&epic.id));
            if let Err(e) = self.gh.graphql::<Value>(&add.document, add.variables).await {
                tracing::warn!(epic = %epic.key, error = %e, "adding the epic to the project failed; the next run adds it");
            }
        }
        result
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

    /// The project's items whose item (field values) or issue changed since `since_ms`, less
    /// a minute. Projects v2 lists items by position only (`ProjectV2ItemOrderField` has
    /// `POSITION` alone, and `items` takes no filter in GitHub's GraphQL schema), so this
    /// reads every item: the cost of one poll is ⌈items ÷ 100⌉ `ProjectItems` queries,
    /// whatever changed (10 at 1,000 items, 500 at GitHub's cap of 50,000), each about 22
    /// primary points (100 items × 20 project items × 20 field values ÷ 100) and 1
    /// secondary point.
    async fn updated_since(&self, since_ms: i64) -> Result<Vec<TrackedIssue>, TrackerError> {
        let project = self.project().await?.id.clone();
        let cutoff = since_ms - 60_000;
        let (page_size, max_pages) = self.item_pages;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for page_number in 1..=max_pages {
            let data: model::ProjectItemsData = self
                .gh
                .graphql(
                    doc::PROJECT_ITEMS,
                    json!({ "projectId": project, "first": page_size, "after": after }),
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
                (true, Some(c)) if page_number == max_pages => {
                    tracing::warn!(
                        pages = max_pages,
                        cursor = %c,
                        "the project holds more items than one scan reads; the rest are \
                         followed by webhooks only"
                    );
                }
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
        // Items come by position, not by update: nothing to stop early on (the bound is
        // `updated_since`'s).
        self.updated_since(since_ms).await
    }

    async fn list_page(&self, cursor: Option<&str>) -> Result<ListPage, TrackerError> {
        // One `ProjectItems` query: the project's items by position, the next page from the
        // GraphQL connection's `endCursor` while `hasNextPage`.
        let project = self.project().await?.id.clone();
        let (page_size, _) = self.item_pages;
        let data: model::ProjectItemsData = self
            .gh
            .graphql(
                doc::PROJECT_ITEMS,
                json!({ "projectId": project, "first": page_size, "after": cursor }),
            )
            .await
            .map_err(tracker_err)?;
        let Some(page) = data.node.and_then(|n| n.items) else {
            return Ok(ListPage::default());
        };
        let mut items = Vec::new();
        for item in page.nodes.into_iter().flatten() {
            let item_ms = model::millis(&item.updated_at);
            if let Some(model::AnyNode::Issue(issue)) = item.content {
                items.push(model::tracked(
                    &issue,
                    &project,
                    &self.settings,
                    Some(item_ms),
                ));
            }
        }
        let next = match (page.page_info.has_next_page, page.page_info.end_cursor) {
            (true, Some(c)) => Some(c),
            _ => None,
        };
        Ok(ListPage { items, next })
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

    /// `github.bot_login` when configured, else the client's login (`GET /user`, or the
    /// App's `{slug}[bot]`): the sender whose deliveries are the daemon's own writes.
    async fn own_account(&self) -> Result<String, TrackerError> {
        if let Some(login) = &self.bot_login {
            return Ok(login.clone());
        }
        self.gh.current_user().await.map_err(tracker_err)
    }

    /// `projects_v2_item`, `sub_issues` and team-repository `issues` deliveries
    /// (`delivery.event` is the `X-GitHub-Event`) as cues: items named by key are re-read;
    /// an item named only by its issue's node id (`projects_v2_item`'s `content_node_id`)
    /// is found by that id, which the store keeps for every epic and story.
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
        let mut ids = Vec::new();
        for item in items {
            match item {
                super::cues::ItemRef::Key(k) => keys.push(k),
                super::cues::ItemRef::Node(id) => ids.push(id),
            }
        }
        let mut cues = Vec::new();
        if !keys.is_empty() {
            cues.push(Cue::Changed { keys });
        }
        if !ids.is_empty() {
            cues.push(Cue::ChangedIds { ids });
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
                give_up_unreachable: false,
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
            story_issue_type: None,
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
            Ok(vec![Cue::ChangedIds {
                ids: vec!["I_9".into()]
            }])
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

    /// With `github.bot_login` set, the tracker knows its own login without a call (the
    /// offline client would fail any); without it, it asks GitHub (and fails here).
    #[tokio::test]
    async fn own_account_is_the_configured_bot_login_without_a_call() {
        let t = offline_tracker().with_bot_login(Some("council-sync[bot]".into()));
        assert_eq!(
            t.own_account().await.ok().as_deref(),
            Some("council-sync[bot]")
        );
        let asks = offline_tracker().with_bot_login(Some("  ".into()));
        assert!(
            asks.own_account().await.is_err(),
            "an empty login is not a login"
        );
        assert!(offline_tracker().own_account().await.is_err());
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
