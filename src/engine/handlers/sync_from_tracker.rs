//! [`Job::SyncFromTracker`](crate::engine::Job::SyncFromTracker): tracker → GitHub
//! (statuses, sprints, done, results requested).
//!
//! Every step reads both sides as they are now and writes only what differs, so a webhook
//! that arrives late, twice, or for the daemon's own write does no harm.

use std::collections::HashMap;

use crate::config::Progress;
use crate::council::sync::{ItemState, SyncAction, SyncInput, tracker_to_github};
use crate::council::{Cause, LabelSet, Stage};
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::handlers::results::results_request_job;
use crate::github::client::{IssueState, StateReason};
use crate::store::{self, ConcernRow, StoryLink, StoryState};
use crate::tracker::{TrackedIssue, Tracker};

/// Rounds of decide-and-apply in one sync: moving the epic to done makes closing the issue
/// due, which the next round does (the tracker's echo of our own move is ignored, so it
/// would not come back as a cue).
const SYNC_ROUNDS: usize = 3;

/// What the store keeps of a story as the tracker shows it (`links`' state columns).
pub(crate) fn story_state(t: &TrackedIssue) -> StoryState {
    StoryState {
        status: Some(t.status.clone()),
        progress: Some(t.progress),
        assignee: t.assignee.clone(),
        sprint: sprint_text(t),
        updated_ms: Some(t.updated_ms),
    }
}

/// The sprint as the store keeps it (`name (state)`); the full sweep compares with it.
pub(crate) fn sprint_text(t: &TrackedIssue) -> Option<String> {
    t.iteration
        .as_ref()
        .map(|s| format!("{} ({})", s.name, s.state.as_str()))
}

pub(crate) fn item(team: Option<String>, t: &TrackedIssue) -> ItemState {
    ItemState {
        team,
        key: t.key.clone(),
        status: t.status.clone(),
        progress: t.progress,
        assignee: t.assignee.clone(),
        sprint: t.iteration.clone(),
    }
}

/// The concern's epic and stories as the tracker has them now.
pub(crate) async fn tracked<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
) -> Result<Option<(TrackedIssue, Vec<(StoryLink, TrackedIssue)>)>, EngineError> {
    tracked_with(cx, record, HashMap::new()).await
}

/// [`tracked`], where `fetched` holds issues (by key) this job read from the tracker just
/// now: only the keys it lacks are fetched, and none when it has them all (the epic and
/// stories just made, read back once by [`super::materialize`]).
async fn tracked_with<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    mut fetched: HashMap<String, TrackedIssue>,
) -> Result<Option<(TrackedIssue, Vec<(StoryLink, TrackedIssue)>)>, EngineError> {
    let Some(epic_key) = record.epic_key.clone() else {
        return Ok(None);
    };
    let links = cx.store.story_links(&record.repo, record.number).await?;
    let mut keys = vec![epic_key.clone()];
    keys.extend(links.iter().map(|l| l.story_key.clone()));
    let lacking: Vec<String> = keys
        .into_iter()
        .filter(|k| !fetched.contains_key(k))
        .collect();
    if !lacking.is_empty() {
        fetched.extend(
            cx.tracker
                .fetch(&lacking)
                .await?
                .into_iter()
                .map(|t| (t.key.clone(), t)),
        );
    }
    let Some(epic) = fetched.remove(&epic_key) else {
        return Err(EngineError::Invalid(format!(
            "the epic {epic_key} is gone from the tracker"
        )));
    };
    // A story the tracker no longer shows under its key (moved without the webhook
    // reaching us, or deleted) must not vanish from the count: progress judged on the
    // remaining stories could declare the concern done.
    let missing: Vec<&str> = links
        .iter()
        .filter(|l| !fetched.contains_key(&l.story_key))
        .map(|l| l.story_key.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(EngineError::Invalid(format!(
            "stories {} are not in the tracker under their keys (moved or deleted); \
             progress is not judged without them",
            missing.join(", ")
        )));
    }
    let stories = links
        .into_iter()
        .filter_map(|l| fetched.remove(&l.story_key).map(|t| (l, t)))
        .collect();
    Ok(Some((epic, stories)))
}

/// Makes GitHub show what the tracker says; records what it saw.
pub(crate) async fn sync_from_tracker<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
) -> Result<(), EngineError> {
    sync_seen(cx, repo, number, HashMap::new()).await
}

/// [`sync_from_tracker`] with `fetched`, the tracker's issues (by key) this job has just
/// read: only what it lacks is fetched again ([`tracked_with`]).
pub(crate) async fn sync_seen<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    fetched: HashMap<String, TrackedIssue>,
) -> Result<(), EngineError> {
    let Some(record) = cx.store.get_concern(repo, number).await? else {
        return Ok(());
    };
    if !record.stage.is_syncing() {
        return Ok(());
    }
    // The tracker's side and GitHub's, read side by side.
    let (tracked_now, loaded) =
        tokio::try_join!(tracked_with(cx, &record, fetched), cx.load(repo, number))?;
    let Some((epic_t, stories_t)) = tracked_now else {
        return Ok(());
    };
    let mut changed: Vec<(&str, StoryState)> = Vec::new();
    for (link, t) in &stories_t {
        let state = story_state(t);
        let seen = &link.state;
        if seen.status != state.status
            || seen.assignee != state.assignee
            || seen.sprint != state.sprint
        {
            changed.push((link.team.as_str(), state));
        }
    }
    // What changed, in one commit.
    let mut tracking_changed = !changed.is_empty();
    if tracking_changed {
        cx.store.update_story_states(repo, number, &changed).await?;
    }
    let mut epic = item(None, &epic_t);
    let stories: Vec<ItemState> = stories_t
        .iter()
        .map(|(link, t)| item(Some(link.team.clone()), t))
        .collect();
    let issue = &loaded.issue;
    // Transferred, and the delivery saying so not processed yet (or lost): GitHub
    // answered from the new address. Follow it there instead of writing to the old one.
    if let Some((to_repo, to_number)) = issue.moved_from(repo, number) {
        let followed =
            super::transfer::follow_transfer(cx, (repo, number), (&to_repo, to_number), None)
                .await?;
        if followed {
            return Box::pin(sync_from_tracker(cx, &to_repo, to_number)).await;
        }
        return Ok(());
    }
    let mut labels = LabelSet::new(issue.labels.iter().cloned());
    let mut open = issue.state == IssueState::Open;
    let closed_not_planned = record.issue_state == Some(store::IssueState::ClosedNotPlanned)
        || (!open && issue.state_reason == Some(StateReason::NotPlanned));
    let mut stage = record.stage;
    let mut refresh = false;
    for _ in 0..SYNC_ROUNDS {
        let input = SyncInput {
            stage,
            labels: &labels,
            issue_open: open,
            closed_not_planned,
            epic: &epic,
            stories: &stories,
            results_recorded: record.results.is_some(),
            epic_done_status: &cx.config.sync.epic_done_status,
            request_results: cx.config.sync.request_results,
        };
        let decision = tracker_to_github(&input, &cx.config.labels, tracking_changed);
        tracing::debug!(repo, number, stories = ?stories, epic = ?epic, actions = ?decision.actions, "sync decision");
        tracking_changed = false;
        let mut wrote = false;
        for action in &decision.actions {
            match action {
                SyncAction::AddLabels(add) => {
                    let now = cx.github.add_labels(repo, number, add).await?;
                    cx.issues.amend(repo, number, |i| i.labels = now);
                    labels.extend(add.iter().cloned());
                    wrote = true;
                }
                SyncAction::RemoveLabels(remove) => {
                    for l in remove {
                        cx.github.remove_label(repo, number, l).await?;
                        cx.issues
                            .amend(repo, number, |i| i.labels.retain(|x| x != l));
                        labels.remove(l);
                    }
                    wrote = true;
                }
                SyncAction::MoveEpic(status) => {
                    cx.tracker.move_to(&epic.key, status).await?;
                    epic.status = status.clone();
                    epic.progress = Progress::Done;
                    wrote = true;
                }
                SyncAction::CloseCompleted => {
                    cx.github
                        .close_issue(repo, number, StateReason::Completed)
                        .await?;
                    cx.issues.amend(repo, number, |i| {
                        i.state = IssueState::Closed;
                        i.state_reason = Some(StateReason::Completed);
                    });
                    cx.store
                        .set_issue_state(repo, number, store::IssueState::Closed)
                        .await?;
                    open = false;
                    wrote = true;
                }
                SyncAction::RequestResults => {
                    // Queued, not posted here: syncs of one concern may run at the same
                    // time (a delivery's, a poll's, a reconcile's, on several replicas),
                    // and each read the issue before the other's label landed. The key
                    // is the same for all of them, so the store admits one job.
                    cx.enqueue_job(results_request_job(repo, number, &issue.author))
                        .await?;
                    wrote = true;
                }
                SyncAction::RefreshTracking => refresh = true,
            }
        }
        if decision.stage != stage {
            let cause = if decision.stage == Stage::ResultsPresented {
                Cause::Results
            } else {
                Cause::TrackerSync
            };
            cx.store
                .advance_stage(repo, number, decision.stage, cause, None)
                .await?;
            stage = decision.stage;
        }
        if !wrote {
            break;
        }
    }
    let progress = crate::council::sync::overall(&stories);
    // Written only when it moved: a sync that changes nothing commits nothing.
    if record.progress != Some(progress) {
        cx.store.set_progress(repo, number, progress).await?;
    }
    if refresh {
        super::tracking::refresh_tracking(cx, repo, number).await?;
    }
    Ok(())
}
