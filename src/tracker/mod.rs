//! Trackers where epics and stories live. The engine only talks to them through [`Tracker`],
//! so Jira and (later) GitHub Projects are interchangeable.
//!
//! Every method is idempotent: it first looks for what an earlier, possibly crashed, attempt
//! made (by the marker the engine passes) and only creates what is missing.

use std::future::Future;

use serde::{Deserialize, Serialize};

pub mod any;
pub mod github_projects;
pub mod jira;

pub use any::AnyTracker;

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
    /// Whether the same job asks for the epic's stories right after this (through
    /// [`Tracker::ensure_stories`] with the epic this returns). A tracker may then fold the
    /// epic's own writes into the stories' (GitHub Projects adds the epic to the project in
    /// the stories' one batched add). `false`: the epic is made complete on its own.
    pub stories_follow: bool,
    /// The markers of the stories that follow (empty when none do). A tracker may look them
    /// up in the same search as the epic's marker, so the stories' create needs no search
    /// of its own (Jira); one that cannot ignores them.
    pub story_markers: Vec<String>,
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
    /// GitHub login of the council member who submits the story: who vetted the concern
    /// in two-step mode, else who accepted it. The tracker makes them the reporter where it
    /// can (Jira through `[users]`), and otherwise says "submitted for the council by
    /// @login" in the body. `None` when no decision is recorded (then the daemon reports).
    pub submitted_by: Option<String>,
}

/// The line a story carries when its tracker cannot make the deciding member its author or
/// reporter: "Submitted for the council by @login." (`login` is a GitHub login).
pub fn submitted_note(login: &str) -> String {
    format!("Submitted for the council by @{login}.")
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

/// Where a story or epic stands, as the GitHub side shows it. Each tracker derives it from
/// its own workflow (Jira: `[sync.statuses]` by name, then `[sync.status_categories]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Not started.
    Todo,
    /// Someone is working on it.
    InProgress,
    /// Finished (done, or closed in a done-like status such as "Won't Do").
    Done,
}

impl Progress {
    /// The word stored and shown for it: `todo`, `in_progress`, `done`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    /// Reads [`Progress::as_str`]'s words back. Also reads the status-category words that
    /// stores written before progress was neutral hold (`new`, `indeterminate`, `done`), so
    /// existing SQLite files keep their meaning. Anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "todo" | "new" => Some(Self::Todo),
            "in_progress" | "indeterminate" => Some(Self::InProgress),
            "done" => Some(Self::Done),
            _ => None,
        }
    }
}

/// Whether an iteration (a Jira sprint, a GitHub Projects iteration) is still to come, running
/// or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IterationState {
    /// Planned, not started.
    Future,
    /// Running now.
    Active,
    /// Over.
    Closed,
}

impl IterationState {
    /// `future`, `active` or `closed`, as shown on the GitHub issue.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Future => "future",
            Self::Active => "active",
            Self::Closed => "closed",
        }
    }
}

/// The iteration an epic or story is planned in, as the tracker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iteration {
    /// The tracker's id for it, as text (a Jira sprint id, a Projects iteration id).
    pub id: String,
    /// Name, e.g. `Sprint 42, team payments`.
    pub name: String,
    /// Future, active or closed.
    pub state: IterationState,
    /// Start, milliseconds since the epoch, when the tracker says.
    pub start_ms: Option<i64>,
    /// End, milliseconds since the epoch, when the tracker says.
    pub end_ms: Option<i64>,
}

/// An epic or story as it stands now (what the engine mirrors onto the GitHub issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedIssue {
    /// Human key, e.g. `PAY-3` (the tracker may rename it: see [`Cue::Moved`]).
    pub key: String,
    /// The tracker's stable id (survives a rename of the key).
    pub id: String,
    /// Browse URL for people.
    pub url: String,
    /// Title.
    pub summary: String,
    /// The tracker's own status name, e.g. `In Review`: for display only.
    pub status: String,
    /// What the status means for the concern, as the tracker judged it.
    pub progress: Progress,
    /// Assignee's display name.
    pub assignee: Option<String>,
    /// Assignee's account, as [`Tracker::assign`] takes it.
    pub assignee_account: Option<String>,
    /// The active iteration, else the latest future one, else the last closed one.
    pub iteration: Option<Iteration>,
    /// Last update, milliseconds since the epoch.
    pub updated_ms: i64,
}

/// One page of [`Tracker::list_page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The items of this page, in the tracker's listing order.
    pub items: Vec<TrackedIssue>,
    /// The cursor of the next page (opaque: Jira's `nextPageToken`, a v2 `startAt`, a
    /// GraphQL `endCursor`); `None` when this page was the last.
    pub next: Option<String>,
}

/// A rule every tracker's marker satisfies: `council-sync-` followed by lower-case ASCII
/// letters, digits and `-`, at most [`MARKER_MAX`] bytes. Such a marker is a valid Jira label
/// (no whitespace, under 255) and safe inside a hidden HTML comment in a GitHub body (no
/// `--`, which could end the comment early).
pub fn is_portable_marker(marker: &str) -> bool {
    marker.len() <= MARKER_MAX
        && marker.strip_prefix("council-sync-").is_some_and(|rest| {
            !rest.is_empty()
                && !rest.contains("--")
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Longest marker the engine makes, in bytes.
pub const MARKER_MAX: usize = 140;

/// A stored delivery of the tracker's own webhooks, as the engine hands it back to the
/// tracker that understands it.
#[derive(Debug, Clone, Copy)]
pub struct TrackerDelivery<'a> {
    /// The event name the receiver stored (e.g. the body's event field).
    pub event: &'a str,
    /// The raw body, exactly as received.
    pub payload: &'a [u8],
}

/// What one tracker webhook asks the engine to do. Webhooks are cues, never the truth: each
/// ends in a re-read of the items through [`Tracker::fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cue {
    /// An item carrying the engine's `marker` exists as `id`/`key` (also one the daemon made
    /// itself and whose answer was lost): recorded, so an exactly-once create asks for it by
    /// id instead of waiting on a search that trails creation.
    Created {
        /// The marker the engine gave the item ([`EpicRequest::marker`], …).
        marker: String,
        /// The tracker's stable id.
        id: String,
        /// The key it was made under.
        key: String,
    },
    /// An item's key changed (moved to another project): links under `from` follow to `to`
    /// before anything is re-read.
    Moved {
        /// The key it had.
        from: String,
        /// The key it has now.
        to: String,
        /// Its stable id, when the delivery carried it.
        id: Option<String>,
    },
    /// Re-read the concerns these items belong to (changed, commented, or deleted: a
    /// deleted item is found missing by the re-read, which reports it).
    Changed {
        /// The items' current keys.
        keys: Vec<String>,
    },
    /// Re-read the concerns of the items with these stable ids ([`TrackerIssue::id`], which
    /// the store keeps beside each epic and story), for a delivery that names an item by
    /// id alone (GitHub's `projects_v2_item` names the issue by its node id). An id the
    /// store does not know is no item of the daemon's: nothing is re-read for it.
    ChangedIds {
        /// The items' stable ids.
        ids: Vec<String>,
    },
    /// Something every concern in flight may show changed (an iteration started or closed,
    /// or an item the delivery names by nothing the store keeps): re-read all of them.
    ChangedAll,
}

/// A tracker delivery that cannot be read (the message says what is wrong, in one line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CueError(pub String);

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

    /// [`Tracker::ensure_epic`] without the link back to GitHub where the tracker makes
    /// that link with a call of its own ([`Tracker::link_epic`]): the engine then sends
    /// that call beside the stories' creation, which does not depend on it. A tracker
    /// whose epic needs no separate link keeps this default (the whole `ensure_epic`).
    fn find_or_create_epic(
        &self,
        req: &EpicRequest,
    ) -> impl Future<Output = Result<TrackerIssue, TrackerError>> + Send {
        self.ensure_epic(req)
    }

    /// The link from `epic` back to the GitHub issue that [`Tracker::find_or_create_epic`]
    /// left out; idempotent (Jira: a remote link upserted by `globalId`). The default has
    /// nothing to do.
    fn link_epic(
        &self,
        epic: &TrackerIssue,
        req: &EpicRequest,
    ) -> impl Future<Output = Result<(), TrackerError>> + Send {
        let _ = (epic, req);
        async { Ok(()) }
    }

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

    /// What [`Tracker::updated_since`] lists, but it may stop early: a tracker that can list
    /// newest first stops after a page whose every item is in `seen` (key → `updated`, ms)
    /// at its `updated` or later, since what follows is older and was handled by an earlier
    /// poll. So a poll over items in step costs one page, however many changed within the
    /// overlap. Jira: `ORDER BY updated DESC`; GitHub Projects lists by position only and
    /// reads every item.
    fn changed_since(
        &self,
        since_ms: i64,
        seen: &std::collections::HashMap<String, i64>,
    ) -> impl Future<Output = Result<Vec<TrackedIssue>, TrackerError>> + Send;

    /// One page (up to 100) of every issue the daemon made (epics and stories), from
    /// `cursor` (`None`: the first page; then each page's [`ListPage::next`]), for the rare
    /// full sweep that compares the tracker with the store a page at a time, without a call
    /// per concern and without holding the whole listing. Jira: a search by the daemon's
    /// label in key order (v3 `nextPageToken`, v2 `startAt`); GitHub Projects: the
    /// project's items by position (GraphQL `after` cursors).
    fn list_page(
        &self,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<ListPage, TrackerError>> + Send;

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

    /// Turns one stored delivery of this tracker's webhooks into cues. A change caused by
    /// `own_account` (the daemon's own write coming back) yields only [`Cue::Created`];
    /// events the sync does not act on yield none. Pure: no call to the tracker.
    fn cues(&self, delivery: TrackerDelivery<'_>, own_account: &str) -> Result<Vec<Cue>, CueError>;

    /// The tracker's name for people, e.g. `Jira` (in messages such as "no Jira account").
    fn name(&self) -> &'static str;

    /// The tracker account of GitHub user `login`, when the tracker knows it without a user
    /// map (GitHub Projects: accounts are the same GitHub logins). `None` (the default):
    /// the engine looks the login up in `[users]`.
    fn account_for_github(&self, login: &str) -> Option<String> {
        let _ = login;
        None
    }
}
