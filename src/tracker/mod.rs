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
}
