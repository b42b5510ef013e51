//! The tracker → GitHub direction of the sync, as pure decisions: given the stories and the
//! epic as they stand in the tracker and the issue as it stands on GitHub, what must change
//! on GitHub (and on the epic) so that both agree. Every action is "make it so", computed
//! against the current state, so applying the answer and asking again yields nothing: that
//! is what keeps a round trip between the two sides from echoing.

use super::labels::LabelSet;

use super::Stage;
use crate::config::LabelsConfig;
use crate::tracker::{Iteration, Progress};

/// One story (or the epic) as the sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    /// The team, for stories.
    pub team: Option<String>,
    pub key: String,
    /// Status name as the tracker shows it.
    pub status: String,
    /// What the status means on GitHub (from `[sync]`'s mapping).
    pub progress: Progress,
    pub assignee: Option<String>,
    /// The iteration (sprint) the item is planned in, when it is in one.
    pub sprint: Option<Iteration>,
}

/// Everything the tracker → GitHub decision reads.
#[derive(Debug, Clone)]
pub struct SyncInput<'a> {
    pub stage: Stage,
    /// Labels on the GitHub issue now.
    pub labels: &'a LabelSet,
    /// Whether the GitHub issue is open now.
    pub issue_open: bool,
    /// Whether it was closed as not planned (the council or the author gave up on it): then
    /// the tracker's progress no longer reopens or closes anything on GitHub.
    pub closed_not_planned: bool,
    pub epic: &'a ItemState,
    pub stories: &'a [ItemState],
    /// Whether before/after results are recorded.
    pub results_recorded: bool,
    /// The status the epic moves to when every story is done; empty: leave it.
    pub epic_done_status: &'a str,
    /// Whether to ask for results when every story is done.
    pub request_results: bool,
}

/// One change the sync must make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Add labels to the GitHub issue.
    AddLabels(Vec<String>),
    /// Remove labels from the GitHub issue.
    RemoveLabels(Vec<String>),
    /// Move the epic to this status (every story is done).
    MoveEpic(String),
    /// Close the GitHub issue as completed (the epic is done).
    CloseCompleted,
    /// Ask the author for the before/after figures (once; the reply carries a marker).
    RequestResults,
    /// Re-render the tracking comment (statuses, assignees, sprints changed).
    RefreshTracking,
}

/// The stage and the changes that make GitHub show what the tracker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDecision {
    pub stage: Stage,
    pub actions: Vec<SyncAction>,
}

/// Where the concern stands overall: done when every story is, in progress as soon as one
/// has moved, otherwise not started.
pub fn overall(stories: &[ItemState]) -> Progress {
    if !stories.is_empty() && stories.iter().all(|s| s.progress == Progress::Done) {
        Progress::Done
    } else if stories.iter().any(|s| s.progress != Progress::Todo) {
        Progress::InProgress
    } else {
        Progress::Todo
    }
}

/// Decides the tracker → GitHub changes. `tracking_changed` says whether what the tracking
/// comment shows (statuses, assignees, sprints) differs from what it showed last time.
pub fn tracker_to_github(
    input: &SyncInput<'_>,
    labels: &LabelsConfig,
    tracking_changed: bool,
) -> SyncDecision {
    let progress = overall(input.stories);
    let mut actions = Vec::new();
    let (want, drop): (Vec<&str>, Vec<&str>) = match progress {
        Progress::Todo => (vec![], vec![&labels.in_progress, &labels.done]),
        Progress::InProgress => (vec![&labels.in_progress], vec![&labels.done]),
        Progress::Done => (vec![&labels.done], vec![&labels.in_progress]),
    };
    let mut want: Vec<&str> = want;
    let mut drop: Vec<&str> = drop;
    let asking = progress == Progress::Done && input.request_results && !input.results_recorded;
    if input.results_recorded {
        want.push(&labels.results_presented);
        drop.push(&labels.results_requested);
    } else if asking {
        want.push(&labels.results_requested);
    }
    let add: Vec<String> = want
        .iter()
        .filter(|l| !input.labels.contains(l))
        .map(|l| l.to_string())
        .collect();
    // Named as on the issue: GitHub's DELETE resolves that name.
    let remove: Vec<String> = drop
        .iter()
        .filter_map(|l| input.labels.actual(l))
        .map(str::to_owned)
        .collect();
    if !add.is_empty() {
        actions.push(SyncAction::AddLabels(add));
    }
    if !remove.is_empty() {
        actions.push(SyncAction::RemoveLabels(remove));
    }
    let epic_done = input.epic.progress == Progress::Done;
    if progress == Progress::Done && !epic_done && !input.epic_done_status.trim().is_empty() {
        actions.push(SyncAction::MoveEpic(input.epic_done_status.to_owned()));
    }
    if epic_done && input.issue_open && !input.closed_not_planned {
        actions.push(SyncAction::CloseCompleted);
    }
    if asking && !input.labels.contains(&labels.results_requested) {
        actions.push(SyncAction::RequestResults);
    }
    let stage = if input.results_recorded {
        Stage::ResultsPresented
    } else {
        match progress {
            Progress::Todo => Stage::StoriesCreated,
            Progress::InProgress => Stage::InProgress,
            Progress::Done if asking => Stage::ResultsRequested,
            Progress::Done => Stage::Done,
        }
    };
    if tracking_changed || stage != input.stage || !actions.is_empty() {
        actions.push(SyncAction::RefreshTracking);
    }
    SyncDecision { stage, actions }
}

#[cfg(test)]
mod tests;
