//! [`AnyTracker`]: the tracker `[tracker] kind` chose, as one type the engine is generic
//! over. Each kind is one variant; every method forwards to it. A new tracker adds a variant
//! and one arm per method here, and one arm in `daemon::build_tracker`.

use super::github_projects::GithubProjectsTracker;
use super::jira::JiraTracker;
use super::{
    Cue, CueError, EpicRequest, ListPage, StoryRequest, TrackedIssue, Tracker, TrackerDelivery,
    TrackerError, TrackerIssue,
};

/// The configured tracker. One per process (the engine holds it), so the size of the Jira
/// variant costs nothing worth a box; GitHub Projects sits behind an `Arc` because its
/// tracker caches the project's ids and is not `Clone`.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum AnyTracker {
    /// `kind = "jira"`.
    Jira(JiraTracker),
    /// `kind = "github-projects"`.
    GithubProjects(std::sync::Arc<GithubProjectsTracker>),
}

impl Tracker for AnyTracker {
    async fn ensure_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        match self {
            Self::Jira(t) => t.ensure_epic(req).await,
            Self::GithubProjects(t) => t.ensure_epic(req).await,
        }
    }

    async fn find_or_create_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        match self {
            Self::Jira(t) => t.find_or_create_epic(req).await,
            Self::GithubProjects(t) => t.find_or_create_epic(req).await,
        }
    }

    async fn link_epic(&self, epic: &TrackerIssue, req: &EpicRequest) -> Result<(), TrackerError> {
        match self {
            Self::Jira(t) => t.link_epic(epic, req).await,
            Self::GithubProjects(t) => t.link_epic(epic, req).await,
        }
    }

    async fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        match self {
            Self::Jira(t) => t.ensure_stories(epic, reqs).await,
            Self::GithubProjects(t) => t.ensure_stories(epic, reqs).await,
        }
    }

    async fn fetch(&self, keys: &[String]) -> Result<Vec<TrackedIssue>, TrackerError> {
        match self {
            Self::Jira(t) => t.fetch(keys).await,
            Self::GithubProjects(t) => t.fetch(keys).await,
        }
    }

    async fn updated_since(&self, since_ms: i64) -> Result<Vec<TrackedIssue>, TrackerError> {
        match self {
            Self::Jira(t) => t.updated_since(since_ms).await,
            Self::GithubProjects(t) => t.updated_since(since_ms).await,
        }
    }

    async fn changed_since(
        &self,
        since_ms: i64,
        seen: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<TrackedIssue>, TrackerError> {
        match self {
            Self::Jira(t) => t.changed_since(since_ms, seen).await,
            Self::GithubProjects(t) => t.changed_since(since_ms, seen).await,
        }
    }

    async fn list_page(&self, cursor: Option<&str>) -> Result<ListPage, TrackerError> {
        match self {
            Self::Jira(t) => t.list_page(cursor).await,
            Self::GithubProjects(t) => t.list_page(cursor).await,
        }
    }

    async fn move_to(&self, key: &str, status: &str) -> Result<bool, TrackerError> {
        match self {
            Self::Jira(t) => t.move_to(key, status).await,
            Self::GithubProjects(t) => t.move_to(key, status).await,
        }
    }

    async fn update(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> Result<(), TrackerError> {
        match self {
            Self::Jira(t) => t.update(key, summary, description_md).await,
            Self::GithubProjects(t) => t.update(key, summary, description_md).await,
        }
    }

    async fn assign(&self, key: &str, account: Option<&str>) -> Result<(), TrackerError> {
        match self {
            Self::Jira(t) => t.assign(key, account).await,
            Self::GithubProjects(t) => t.assign(key, account).await,
        }
    }

    async fn comment(&self, key: &str, md: &str) -> Result<(), TrackerError> {
        match self {
            Self::Jira(t) => t.comment(key, md).await,
            Self::GithubProjects(t) => t.comment(key, md).await,
        }
    }

    async fn own_account(&self) -> Result<String, TrackerError> {
        match self {
            Self::Jira(t) => t.own_account().await,
            Self::GithubProjects(t) => t.own_account().await,
        }
    }

    async fn relink_github(
        &self,
        key: &str,
        old_url: &str,
        new_url: &str,
        title: &str,
    ) -> Result<(), TrackerError> {
        match self {
            Self::Jira(t) => t.relink_github(key, old_url, new_url, title).await,
            Self::GithubProjects(t) => t.relink_github(key, old_url, new_url, title).await,
        }
    }

    fn cues(&self, delivery: TrackerDelivery<'_>, own_account: &str) -> Result<Vec<Cue>, CueError> {
        match self {
            Self::Jira(t) => t.cues(delivery, own_account),
            Self::GithubProjects(t) => t.cues(delivery, own_account),
        }
    }

    fn account_for_github(&self, login: &str) -> Option<String> {
        match self {
            Self::Jira(t) => t.account_for_github(login),
            Self::GithubProjects(t) => t.account_for_github(login),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Jira(t) => t.name(),
            Self::GithubProjects(t) => t.name(),
        }
    }
}
