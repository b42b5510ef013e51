//! [`JiraTracker`]: the engine's [`Tracker`] on Jira.
//!
//! Idempotency: every create is preceded by a JQL search for the marker label, and a create
//! that failed transiently is followed by a new search before it is tried again, so a lost
//! answer (the issue was made, the response never arrived) cannot produce a duplicate.

use std::collections::{BTreeMap, HashMap};

use secrecy::SecretString;
use serde_json::Value;

use super::auth::JiraCredentials;
use super::client::{BULK_LIMIT, JiraClient};
use super::error::JiraError;
use super::jql;
use super::model::limits;
use super::model::{
    Issue, KeyRef, NameRef, NewIssueFields, RemoteApplication, RemoteLinkRequest, RemoteObject,
};
use crate::config::{EpicLink, JiraConfig, TeamConfig};
use crate::retry::{RetryHint, RetryPolicy, Retryable};
use crate::tracker::{
    EpicRequest, StoryRequest, TrackedIssue, Tracker, TrackerError, TrackerIssue,
};

/// Label put on everything the daemon creates, so people can find (and filter) it.
pub const SYNC_LABEL: &str = "council-sync";
/// Fields a marker search needs.
const MARKER_FIELDS: &[&str] = &["labels", "project", "issuetype"];

/// Jira as the engine's tracker.
#[derive(Debug, Clone)]
pub struct JiraTracker {
    client: JiraClient,
    policy: RetryPolicy,
    epic_project: String,
    epic_type: String,
    story_type: String,
    epic_link: EpicLink,
    teams: BTreeMap<String, TeamConfig>,
    /// The sprint custom field (`customfield_10020` on most Cloud sites).
    pub(super) sprint_field: String,
}

impl JiraTracker {
    /// A tracker from the `[jira]` config, its resolved secret and the `[teams]` map.
    pub fn new(
        cfg: &JiraConfig,
        secret: SecretString,
        teams: &BTreeMap<String, TeamConfig>,
        policy: RetryPolicy,
    ) -> Result<Self, JiraError> {
        let credentials = JiraCredentials::from_config(&cfg.auth, secret);
        let client = JiraClient::new(&cfg.base_url, credentials, cfg.api_version, policy.clone())?;
        Ok(Self::with_client(client, cfg, teams, policy))
    }

    /// A tracker over an existing client (shared limiter, tests).
    pub fn with_client(
        client: JiraClient,
        cfg: &JiraConfig,
        teams: &BTreeMap<String, TeamConfig>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            client,
            policy,
            epic_project: cfg.epic_project.clone(),
            epic_type: cfg.epic_issue_type.clone(),
            story_type: cfg.story_issue_type.clone(),
            epic_link: cfg.epic_link.clone(),
            teams: teams.clone(),
            sprint_field: cfg.sprint_field.clone(),
        }
    }

    /// The underlying client, for status reads, transitions and comments.
    pub fn client(&self) -> &JiraClient {
        &self.client
    }

    fn to_tracker_issue(&self, key: &str, id: &str, team: Option<&str>) -> TrackerIssue {
        TrackerIssue {
            key: key.to_owned(),
            id: id.to_owned(),
            url: self.client.browse_url(key),
            team: team.map(str::to_owned),
        }
    }

    async fn find_epic(&self, marker: &str) -> Result<Option<Issue>, JiraError> {
        let q = jql::epic_by_marker(&self.epic_project, marker, &self.epic_type);
        let found = self.client.search_all(&q, MARKER_FIELDS).await?;
        // Labels match case-insensitively in some Jira versions: insist on the exact marker.
        Ok(found
            .into_iter()
            .find(|i| i.fields.labels.iter().any(|l| l == marker)))
    }

    fn epic_fields(&self, req: &EpicRequest) -> NewIssueFields {
        let mut custom = BTreeMap::new();
        if let EpicLink::CustomField {
            epic_name_field, ..
        } = &self.epic_link
        {
            custom.insert(
                epic_name_field.clone(),
                Value::String(limits::fit_line(&req.summary, limits::SUMMARY)),
            );
        }
        NewIssueFields {
            project: KeyRef {
                key: self.epic_project.clone(),
            },
            issuetype: NameRef {
                name: self.epic_type.clone(),
            },
            summary: limits::fit_line(&req.summary, limits::SUMMARY),
            description: Some(self.client.body_from_markdown(&req.description_md)),
            labels: vec![req.marker.clone(), SYNC_LABEL.to_owned()],
            components: vec![],
            parent: None,
            custom,
        }
    }

    fn story_fields(
        &self,
        epic: &TrackerIssue,
        req: &StoryRequest,
        team: &TeamConfig,
    ) -> NewIssueFields {
        let mut custom = BTreeMap::new();
        let mut parent = None;
        match &self.epic_link {
            EpicLink::Parent => {
                parent = Some(KeyRef {
                    key: epic.key.clone(),
                })
            }
            EpicLink::CustomField {
                epic_link_field, ..
            } => {
                custom.insert(epic_link_field.clone(), Value::String(epic.key.clone()));
            }
        }
        NewIssueFields {
            project: KeyRef {
                key: team.jira_project.clone(),
            },
            issuetype: NameRef {
                name: self.story_type.clone(),
            },
            summary: limits::fit_line(&req.summary, limits::SUMMARY),
            description: Some(self.client.body_from_markdown(&req.description_md)),
            labels: vec![req.marker.clone(), SYNC_LABEL.to_owned()],
            components: team
                .component
                .iter()
                .map(|name| NameRef { name: name.clone() })
                .collect(),
            parent,
            custom,
        }
    }

    async fn link_to_github(&self, key: &str, req: &EpicRequest) -> Result<(), JiraError> {
        let link = RemoteLinkRequest {
            global_id: req.github_url.clone(),
            object: RemoteObject {
                url: req.github_url.clone(),
                title: limits::fit_line(&req.github_title, limits::SUMMARY),
            },
            application: Some(RemoteApplication {
                kind: "com.github".into(),
                name: "GitHub".into(),
            }),
            relationship: Some("raised in".into()),
        };
        self.client.put_remote_link(key, &link).await.map(|_| ())
    }

    async fn find_or_create_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, JiraError> {
        let mut attempt = 1;
        loop {
            if let Some(found) = self.find_epic(&req.marker).await? {
                return Ok(self.to_tracker_issue(&found.key, &found.id, None));
            }
            match self.client.create_issue(&self.epic_fields(req)).await {
                Ok(created) => return Ok(self.to_tracker_issue(&created.key, &created.id, None)),
                Err(err) => {
                    self.wait_before_retry("create epic", &mut attempt, err)
                        .await?
                }
            }
        }
    }

    /// Waits before another find-then-create round, or gives the error back when retrying
    /// cannot help or the budget is spent.
    async fn wait_before_retry(
        &self,
        what: &str,
        attempt: &mut u32,
        err: JiraError,
    ) -> Result<(), JiraError> {
        let hint = err.retry_hint();
        if hint == RetryHint::Never || *attempt >= self.policy.attempts {
            return Err(err);
        }
        let wait = self.policy.delay(*attempt, hint);
        tracing::warn!(call = what, attempt = *attempt, wait_ms = wait.as_millis() as u64, error = %err, "create failed; searching for the marker before retrying");
        tokio::time::sleep(wait).await;
        *attempt += 1;
        Ok(())
    }

    async fn find_stories(
        &self,
        reqs: &[StoryRequest],
    ) -> Result<HashMap<String, Issue>, JiraError> {
        let markers: Vec<&str> = reqs.iter().map(|r| r.marker.as_str()).collect();
        let found = self
            .client
            .search_all(&jql::issues_by_markers(&markers), MARKER_FIELDS)
            .await?;
        let mut by_marker = HashMap::new();
        // Oldest first (the query orders by created): if duplicates exist, keep the first.
        for issue in found {
            for marker in &markers {
                if issue.fields.labels.iter().any(|l| l == marker) {
                    by_marker
                        .entry((*marker).to_owned())
                        .or_insert_with(|| issue.clone());
                }
            }
        }
        Ok(by_marker)
    }

    /// Creates the stories not found yet; returns every request's issue (or the failures).
    async fn create_missing_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
        teams: &[&TeamConfig],
    ) -> Result<Vec<TrackerIssue>, StoryFailure> {
        let found = self.find_stories(reqs).await.map_err(StoryFailure::Call)?;
        let missing: Vec<usize> = (0..reqs.len())
            .filter(|&i| !found.contains_key(&reqs[i].marker))
            .collect();
        let mut created: HashMap<usize, TrackerIssue> = HashMap::new();
        let mut failures = Vec::new();
        for chunk in missing.chunks(BULK_LIMIT) {
            let fields: Vec<NewIssueFields> = chunk
                .iter()
                .map(|&i| self.story_fields(epic, &reqs[i], teams[i]))
                .collect();
            let results = self
                .client
                .create_issues_bulk(&fields)
                .await
                .map_err(StoryFailure::Call)?;
            for (&i, result) in chunk.iter().zip(results) {
                match result {
                    Ok(issue) => {
                        created.insert(
                            i,
                            self.to_tracker_issue(&issue.key, &issue.id, Some(&reqs[i].team)),
                        );
                    }
                    Err(e) => failures.push((i, e.status, e.element_errors.reason())),
                }
            }
        }
        if !failures.is_empty() {
            return Err(StoryFailure::Elements(
                failures
                    .into_iter()
                    .map(|(i, status, reason)| (reqs[i].team.clone(), status, reason))
                    .collect(),
            ));
        }
        let mut out = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            if let Some(issue) = found.get(&req.marker) {
                out.push(self.to_tracker_issue(&issue.key, &issue.id, Some(&req.team)));
            } else if let Some(issue) = created.remove(&i) {
                out.push(issue);
            }
        }
        Ok(out)
    }
}

/// How a round of story creation failed.
enum StoryFailure {
    /// A whole call failed.
    Call(JiraError),
    /// Some elements of a bulk create failed: (team, status, reason).
    Elements(Vec<(String, Option<u16>, String)>),
}

impl StoryFailure {
    fn into_tracker_error(self) -> TrackerError {
        match self {
            Self::Call(e) => e.into(),
            Self::Elements(list) => {
                let reason = list
                    .iter()
                    .map(|(team, status, reason)| {
                        format!("story for team {team} ({}): {reason}", status.unwrap_or(0))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let transient = list
                    .iter()
                    .any(|(_, s, _)| s.is_some_and(|s| s == 429 || s >= 500));
                if transient {
                    TrackerError::Transient(reason)
                } else {
                    TrackerError::Permanent {
                        status: list.first().and_then(|(_, s, _)| *s),
                        reason,
                    }
                }
            }
        }
    }
}

impl Tracker for JiraTracker {
    async fn ensure_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        let epic = self.find_or_create_epic(req).await?;
        self.link_to_github(&epic.key, req).await?;
        Ok(epic)
    }

    async fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        let mut teams = Vec::with_capacity(reqs.len());
        for req in reqs {
            let team = self
                .teams
                .get(&req.team)
                .ok_or_else(|| TrackerError::Permanent {
                    status: None,
                    reason: format!(
                        "team {:?} has no [teams.{}] entry in the config",
                        req.team, req.team
                    ),
                })?;
            teams.push(team);
        }
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 1;
        loop {
            match self.create_missing_stories(epic, reqs, &teams).await {
                Ok(issues) => return Ok(issues),
                Err(StoryFailure::Call(err)) => self
                    .wait_before_retry("create stories", &mut attempt, err)
                    .await
                    .map_err(TrackerError::from)?,
                Err(other) => return Err(other.into_tracker_error()),
            }
        }
    }

    async fn fetch(&self, keys: &[String]) -> Result<Vec<TrackedIssue>, TrackerError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.fetch_tracked(keys).await?)
    }

    async fn updated_since(&self, since_ms: i64) -> Result<Vec<TrackedIssue>, TrackerError> {
        Ok(self.tracked_since(since_ms).await?)
    }

    async fn move_to(&self, key: &str, status: &str) -> Result<bool, TrackerError> {
        self.transition_to(key, status).await
    }

    async fn update(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> Result<(), TrackerError> {
        Ok(self.edit(key, summary, description_md).await?)
    }

    async fn assign(&self, key: &str, account: Option<&str>) -> Result<(), TrackerError> {
        Ok(self.client().assign_issue(key, account).await?)
    }

    async fn comment(&self, key: &str, md: &str) -> Result<(), TrackerError> {
        self.client().add_comment(key, md).await?;
        Ok(())
    }

    async fn own_account(&self) -> Result<String, TrackerError> {
        Ok(self.account().await?)
    }
}
