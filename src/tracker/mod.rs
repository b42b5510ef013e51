//! Trackers where epics and stories live. The engine only talks to them through [`Tracker`],
//! so Jira and (later) GitHub Projects are interchangeable.
//!
//! Every method is idempotent: it first looks for what an earlier, possibly crashed, attempt
//! made (by the marker the engine passes) and only creates what is missing.

use std::future::Future;

pub mod jira;

/// The epic the engine wants to exist for one accepted concern.
#[derive(Debug, Clone)]
pub struct EpicRequest {
    /// Marker that finds this epic again, e.g. `council-sync-i1234` (a Jira label).
    pub marker: String,
    /// Epic title (the issue's title).
    pub summary: String,
    /// Body in Markdown (the three answers); the tracker converts it.
    pub description_md: String,
    /// The GitHub issue, linked from the epic.
    pub github_url: String,
    /// Title of that link.
    pub github_title: String,
}

/// One team's story under the epic.
#[derive(Debug, Clone)]
pub struct StoryRequest {
    /// Marker that finds this story again, e.g. `council-sync-i1234-payments`.
    pub marker: String,
    /// Team name as configured under `[teams.NAME]`.
    pub team: String,
    /// Story title.
    pub summary: String,
    /// Body in Markdown.
    pub description_md: String,
}

/// Something that exists in the tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerIssue {
    /// Human key, e.g. `SRE-12`.
    pub key: String,
    /// Tracker's own id.
    pub id: String,
    /// Browse URL for people.
    pub url: String,
    /// The team, for stories.
    pub team: Option<String>,
}

/// A sprint as the tracker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SprintInfo {
    /// Tracker's sprint id.
    pub id: u64,
    /// Name, e.g. `Sprint 42, team payments`.
    pub name: String,
    /// `future`, `active` or `closed`.
    pub state: String,
}

/// An epic or story as it stands now (what the engine mirrors onto the GitHub issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedIssue {
    /// Human key, e.g. `PAY-3`.
    pub key: String,
    /// Browse URL for people.
    pub url: String,
    /// Title.
    pub summary: String,
    /// Status name, e.g. `In Progress`.
    pub status: String,
    /// Status category: `new`, `indeterminate` or `done`.
    pub status_category: String,
    /// Assignee's display name.
    pub assignee: Option<String>,
    /// Assignee's account: `accountId` (Cloud) or user name (Data Center).
    pub assignee_account: Option<String>,
    /// The active sprint, else the latest future one, else the last closed one.
    pub sprint: Option<SprintInfo>,
    /// Labels.
    pub labels: Vec<String>,
    /// Last update, milliseconds since the epoch.
    pub updated_ms: i64,
}

/// Why a tracker call failed, after its own retries.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrackerError {
    /// Worth trying again later (5xx, 429, transport) once the retry budget is spent.
    #[error("tracker unavailable: {0}")]
    Transient(String),
    /// Retrying cannot fix it (bad field, missing project, no permission).
    #[error("tracker refused ({}): {reason}", status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()))]
    Permanent {
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// What the tracker said, for the log and the tracking comment.
        reason: String,
    },
}

/// Where epics and stories are made.
pub trait Tracker: Send + Sync {
    /// Finds the epic by its marker or creates it (with a link back to the GitHub issue).
    fn ensure_epic(
        &self,
        req: &EpicRequest,
    ) -> impl Future<Output = Result<TrackerIssue, TrackerError>> + Send;

    /// Finds each story by its marker, creates the missing ones in one bulk call, linked to
    /// `epic`. Returns one issue per request, in request order.
    fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> impl Future<Output = Result<Vec<TrackerIssue>, TrackerError>> + Send;

    /// The issues with these keys as they stand now (any order; unknown keys are missing).
    fn fetch(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<TrackedIssue>, TrackerError>> + Send;

    /// Every issue the daemon made that changed at or after `since_ms` (with a minute of
    /// overlap: Jira compares at minute granularity), for polling what webhooks missed.
    fn updated_since(
        &self,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<TrackedIssue>, TrackerError>> + Send;

    /// Moves an issue to the status named `status` (case-insensitive). `false` when it is
    /// already there; a permanent error naming the reachable statuses when no transition
    /// leads there. The transition is sent once: the caller re-reads before trying again.
    fn move_to(
        &self,
        key: &str,
        status: &str,
    ) -> impl Future<Output = Result<bool, TrackerError>> + Send;

    /// Replaces the summary and/or the description (Markdown, converted for the tracker).
    fn update(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> impl Future<Output = Result<(), TrackerError>> + Send;

    /// Assigns to an account (as [`Tracker::own_account`] spells accounts), `None` unassigns.
    fn assign(
        &self,
        key: &str,
        account: Option<&str>,
    ) -> impl Future<Output = Result<(), TrackerError>> + Send;

    /// Adds a comment written in Markdown. Sent once.
    fn comment(&self, key: &str, md: &str)
    -> impl Future<Output = Result<(), TrackerError>> + Send;

    /// The daemon's own account, to recognise its own changes coming back as webhooks.
    fn own_account(&self) -> impl Future<Output = Result<String, TrackerError>> + Send;

    /// Points the epic's link back to GitHub at the issue's new address after a transfer:
    /// the link made under `old_url` (its identity) is updated in place to `new_url`; when
    /// there is none, a link to `new_url` is added. Safe to retry.
    fn relink_github(
        &self,
        key: &str,
        old_url: &str,
        new_url: &str,
        title: &str,
    ) -> impl Future<Output = Result<(), TrackerError>> + Send;
}
