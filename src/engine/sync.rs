//! The two-way sync after the stories exist: tracker → GitHub (statuses, sprints, done,
//! results) and GitHub → tracker (closed as not planned, reopened, edits, assignees).
//!
//! Every step reads both sides as they are now and writes only what differs, so a webhook
//! that arrives late, twice, or for the daemon's own write does no harm; and the daemon's
//! own writes coming back (its GitHub login, its tracker account) are not even looked at.

use std::collections::HashMap;

use super::describe::{IssueFacts, epic_request};
use super::jobs::{IssueChange, Job, KeyedJob};
use super::plan::digest;
use super::{Engine, EngineError};
use crate::concern;
use crate::config::{Owner, Progress};
use crate::council::sync::{ItemState, SyncAction, SyncInput, tracker_to_github};
use crate::council::tracking::render_reply;
use crate::council::{Cause, LabelSet, Reply, Stage};
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, ConcernRow, StoryLink, StoryState, now_ms};
use crate::tracker::{TrackedIssue, Tracker};

/// Rounds of decide-and-apply in one sync: moving the epic to done makes closing the issue
/// due, which the next round does (the tracker's echo of our own move is ignored, so it
/// would not come back as a cue).
const SYNC_ROUNDS: usize = 3;

fn sprint_text(t: &TrackedIssue) -> Option<String> {
    t.iteration
        .as_ref()
        .map(|s| format!("{} ({})", s.name, s.state.as_str()))
}

impl<T: Tracker + 'static> Engine<T> {
    fn item(&self, team: Option<String>, t: &TrackedIssue) -> ItemState {
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
    pub(crate) async fn tracked(
        &self,
        record: &ConcernRow,
    ) -> Result<Option<(TrackedIssue, Vec<(StoryLink, TrackedIssue)>)>, EngineError> {
        let Some(epic_key) = record.epic_key.clone() else {
            return Ok(None);
        };
        let links = self.store.story_links(&record.repo, record.number).await?;
        let mut keys = vec![epic_key.clone()];
        keys.extend(links.iter().map(|l| l.story_key.clone()));
        let mut fetched: HashMap<String, TrackedIssue> = self
            .tracker
            .fetch(&keys)
            .await?
            .into_iter()
            .map(|t| (t.key.clone(), t))
            .collect();
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
    pub(crate) async fn sync_from_tracker(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<(), EngineError> {
        let Some(record) = self.store.get_concern(repo, number).await? else {
            return Ok(());
        };
        if !record.stage.is_syncing() {
            return Ok(());
        }
        let Some((epic_t, stories_t)) = self.tracked(&record).await? else {
            return Ok(());
        };
        let mut tracking_changed = false;
        for (link, t) in &stories_t {
            let state = StoryState {
                status: Some(t.status.clone()),
                progress: Some(t.progress),
                assignee: t.assignee.clone(),
                sprint: sprint_text(t),
                updated_ms: Some(t.updated_ms),
            };
            let seen = &link.state;
            if seen.status != state.status
                || seen.assignee != state.assignee
                || seen.sprint != state.sprint
            {
                tracking_changed = true;
                self.store
                    .update_story_state(repo, number, &link.team, &state)
                    .await?;
            }
        }
        let mut epic = self.item(None, &epic_t);
        let stories: Vec<ItemState> = stories_t
            .iter()
            .map(|(link, t)| self.item(Some(link.team.clone()), t))
            .collect();
        let issue = self.github.get_issue(repo, number).await?;
        // Transferred, and the delivery saying so not processed yet (or lost): GitHub
        // answered from the new address. Follow it there instead of writing to the old one.
        if let Some((to_repo, to_number)) = issue.moved_from(repo, number) {
            let followed = self
                .follow_transfer((repo, number), (&to_repo, to_number), None)
                .await?;
            if followed {
                return Box::pin(self.sync_from_tracker(&to_repo, to_number)).await;
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
                epic_done_status: &self.config.sync.epic_done_status,
                request_results: self.config.sync.request_results,
            };
            let decision = tracker_to_github(&input, &self.config.labels, tracking_changed);
            tracing::debug!(repo, number, stories = ?stories, epic = ?epic, actions = ?decision.actions, "sync decision");
            tracking_changed = false;
            let mut wrote = false;
            for action in &decision.actions {
                match action {
                    SyncAction::AddLabels(add) => {
                        self.github.add_labels(repo, number, add).await?;
                        labels.extend(add.iter().cloned());
                        wrote = true;
                    }
                    SyncAction::RemoveLabels(remove) => {
                        for l in remove {
                            self.github.remove_label(repo, number, l).await?;
                            labels.remove(l);
                        }
                        wrote = true;
                    }
                    SyncAction::MoveEpic(status) => {
                        self.tracker.move_to(&epic.key, status).await?;
                        epic.status = status.clone();
                        epic.progress = Progress::Done;
                        wrote = true;
                    }
                    SyncAction::CloseCompleted => {
                        self.github
                            .close_issue(repo, number, StateReason::Completed)
                            .await?;
                        self.store
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
                        self.enqueue_job(results_request_job(repo, number, &issue.author))
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
                self.store
                    .advance_stage(repo, number, decision.stage, cause, None)
                    .await?;
                stage = decision.stage;
            }
            if !wrote {
                break;
            }
        }
        let progress = crate::council::sync::overall(&stories);
        self.store.set_progress(repo, number, progress).await?;
        if refresh {
            self.refresh_tracking(repo, number).await?;
        }
        Ok(())
    }

    /// Carries a change of the GitHub issue over to the epic and stories.
    pub(crate) async fn follow_issue(
        &self,
        repo: &str,
        number: u64,
        change: IssueChange,
    ) -> Result<(), EngineError> {
        let Some(record) = self.store.get_concern(repo, number).await? else {
            return Ok(());
        };
        if record.epic_key.is_none() || !record.stage.is_accepted() {
            return Ok(());
        }
        let issue = self.github.get_issue(repo, number).await?;
        match change {
            IssueChange::ClosedNotPlanned => self.follow_not_planned(&record, &issue).await?,
            IssueChange::Reopened => self.follow_reopened(&record, &issue).await?,
            IssueChange::Edited => self.follow_edit(&record, &issue).await?,
            IssueChange::Assignees => self.follow_assignees(&record, &issue).await?,
        }
        self.refresh_tracking(repo, number).await
    }

    pub(crate) async fn follow_not_planned(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        let closed_now = issue.state == IssueState::Closed
            && issue.state_reason == Some(StateReason::NotPlanned);
        if !closed_now || record.issue_state == Some(store::IssueState::ClosedNotPlanned) {
            return Ok(());
        }
        let Some((epic, stories)) = self.tracked(record).await? else {
            return Ok(());
        };
        let target = &self.config.sync.not_planned_status;
        for t in stories.iter().map(|(_, t)| t).chain(std::iter::once(&epic)) {
            if t.progress != Progress::Done {
                self.tracker.move_to(&t.key, target).await?;
            }
        }
        let note = format!(
            "The SRE concern [{}#{}]({}) was closed as not planned on GitHub, so its open work moved to {target}.",
            record.repo, record.number, issue.html_url
        );
        self.tracker.comment(&epic.key, &note).await?;
        self.store
            .set_issue_state(
                &record.repo,
                record.number,
                store::IssueState::ClosedNotPlanned,
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn follow_reopened(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        if issue.state != IssueState::Open
            || record.issue_state != Some(store::IssueState::ClosedNotPlanned)
        {
            return Ok(());
        }
        let Some((epic, stories)) = self.tracked(record).await? else {
            return Ok(());
        };
        let (from, to) = (
            &self.config.sync.not_planned_status,
            &self.config.sync.reopen_status,
        );
        for t in stories.iter().map(|(_, t)| t).chain(std::iter::once(&epic)) {
            if t.status.eq_ignore_ascii_case(from) {
                self.tracker.move_to(&t.key, to).await?;
            }
        }
        let note = format!(
            "The SRE concern [{}#{}]({}) was reopened on GitHub, so the work moved back to {to}.",
            record.repo, record.number, issue.html_url
        );
        self.tracker.comment(&epic.key, &note).await?;
        self.store
            .set_issue_state(&record.repo, record.number, store::IssueState::Open)
            .await?;
        Ok(())
    }

    /// The epic's summary and description follow the issue's title and answers (when GitHub
    /// owns them). A hash of what was last written makes a repeated edit event a no-op.
    pub(crate) async fn follow_edit(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        let Some(epic_key) = &record.epic_key else {
            return Ok(());
        };
        let owners = &self.config.sync.owners;
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        let facts = IssueFacts {
            id: issue.id,
            number: record.number,
            repo: &record.repo,
            title: &issue.title,
            html_url: &issue.html_url,
        };
        let request = epic_request(&facts, &parsed, &self.form);
        let hash = digest(&format!("{}\n{}", request.summary, request.description_md));
        if record.synced_hash.as_deref() == Some(hash.as_str()) {
            return Ok(());
        }
        let summary = (owners.title == Owner::Github).then_some(request.summary.as_str());
        let description =
            (owners.answers == Owner::Github).then_some(request.description_md.as_str());
        if summary.is_some() || description.is_some() {
            self.tracker.update(epic_key, summary, description).await?;
        }
        self.store
            .set_synced_hash(&record.repo, record.number, &hash)
            .await?;
        Ok(())
    }

    /// The tracker account of GitHub user `login`: the tracker's own when it knows it
    /// ([`Tracker::account_for_github`]), else `[users]`.
    pub(crate) fn github_user_account(&self, login: &str) -> Option<String> {
        self.tracker
            .account_for_github(login)
            .or_else(|| self.config.users.get(login).cloned())
    }

    /// The epic's assignee follows the issue's first assignee through `[users]`; a login
    /// with no tracker account leaves the epic unassigned and is reported, not retried.
    pub(crate) async fn follow_assignees(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        let Some(epic_key) = &record.epic_key else {
            return Ok(());
        };
        if self.config.sync.owners.assignee != Owner::Github {
            return Ok(());
        }
        let (account, note) = match issue.assignees.first() {
            None => (None, None),
            Some(login) => match self.github_user_account(login) {
                Some(account) => (Some(account), None),
                None => (
                    None,
                    Some(format!(
                        "GitHub user @{login} has no {} account under [users], so the epic is left unassigned.",
                        self.tracker.name()
                    )),
                ),
            },
        };
        self.tracker.assign(epic_key, account.as_deref()).await?;
        let problem = record.last_error.as_deref();
        let stale_note = problem.is_some_and(|p| p.starts_with("GitHub user @"));
        if note.is_some() || stale_note {
            self.store
                .set_last_error(&record.repo, record.number, note.as_deref())
                .await?;
        }
        Ok(())
    }

    /// Records before/after results, copies them to the epic, and updates the labels.
    pub(crate) async fn record_results(
        &self,
        repo: &str,
        number: u64,
        text: &str,
        by: &str,
    ) -> Result<(), EngineError> {
        let Some(record) = self.store.get_concern(repo, number).await? else {
            return Ok(());
        };
        let text = text.trim();
        if text.is_empty() || record.results.as_deref() == Some(text) {
            return Ok(());
        }
        // Queued before the results are stored, under a key of the concern and the text: a
        // run that stops in between queues the same job again, and runs racing (the body's
        // Results section and a `/results` comment, a delivery's and a reconcile's, several
        // replicas) queue one, so the epic gets the text once.
        if record.epic_key.is_some() {
            self.enqueue_job(copy_results_job(repo, number, text, by))
                .await?;
        }
        self.store.set_results(repo, number, text, now_ms()).await?;
        self.sync_from_tracker(repo, number).await?;
        self.refresh_tracking(repo, number).await
    }

    /// Comments results on the concern's epic (the [`Job::CopyResults`] job).
    pub(crate) async fn copy_results(
        &self,
        repo: &str,
        number: u64,
        text: &str,
        by: &str,
    ) -> Result<(), EngineError> {
        let Some(epic) = self
            .store
            .get_concern(repo, number)
            .await?
            .and_then(|r| r.epic_key)
        else {
            return Ok(());
        };
        let note = format!("Before/after results presented on GitHub by @{by}:\n\n{text}");
        self.tracker.comment(&epic, &note).await?;
        Ok(())
    }

    /// Queues the epic and stories again when their job failed for good (a 4xx such as a
    /// missing project, fixed since, or teams unknown then) or was parked (it kept taking the
    /// process down). Only then: while the first job is pending or retrying, a second
    /// creator could race it past the marker check.
    ///
    /// A failed job is queued again by every reconcile pass and by an edit. A parked one only
    /// when its input changed: its retry key carries a digest of the issue's title and body,
    /// so a restart or a pass over the same input queues nothing, and an edit queues it at
    /// once. Returns whether it queued a retry.
    pub(crate) async fn retry_failed_materialize(
        &self,
        repo: &str,
        number: u64,
        stage: Stage,
        issue: &Issue,
    ) -> Result<bool, EngineError> {
        let keys = [
            format!("epic:{repo}#{number}"),
            format!("stories:{repo}#{number}"),
        ];
        let mut failed = false;
        let mut parked = false;
        for key in &keys {
            match self.store.outbox_state(key).await?.as_deref() {
                Some("failed") => failed = true,
                Some("parked") => parked = true,
                Some("pending" | "running") => return Ok(false),
                _ => {}
            }
        }
        let input = input_digest(issue);
        let mut same_input = false;
        for key in &keys {
            same_input |= self.store.parked_input(key).await?.as_deref() == Some(input.as_str());
        }
        if parked && same_input {
            return Ok(false);
        }
        let key = if parked {
            format!("epic:{repo}#{number}:retry:input-{input}")
        } else if failed {
            format!("epic:{repo}#{number}:retry:{}", now_ms())
        } else {
            return Ok(false);
        };
        let stories = !self.config.council.two_step || stage == Stage::Vetted;
        let job = Job::Materialize {
            repo: repo.into(),
            number,
            stories,
        };
        self.enqueue_job(KeyedJob::new(key, job)).await
    }
}

/// The marker key of the one request for before/after results a concern gets.
pub(crate) const RESULTS_REQUEST: &str = "results-request";

/// The job asking the issue's author for the before/after results. Its key names the
/// concern only (not the delivery, poll or pass that found the stories done), so however
/// many syncs decide to ask, concurrently or one after another, the outbox holds one job;
/// the job itself looks for its marker before posting (a retry after a lost answer).
pub(crate) fn results_request_job(repo: &str, number: u64, author: &str) -> KeyedJob {
    let reply = Reply::ResultsRequested {
        author: author.to_owned(),
    };
    KeyedJob::new(
        format!("reply:{repo}#{number}:{RESULTS_REQUEST}"),
        Job::Reply {
            repo: repo.to_owned(),
            number,
            marker_key: RESULTS_REQUEST.to_owned(),
            body: render_reply(&reply, RESULTS_REQUEST),
        },
    )
}

/// The job copying `text` to the concern's epic, keyed by the concern and the text.
pub(crate) fn copy_results_job(repo: &str, number: u64, text: &str, by: &str) -> KeyedJob {
    KeyedJob::new(
        format!("results-epic:{repo}#{number}:{}", digest(text)),
        Job::CopyResults {
            repo: repo.to_owned(),
            number,
            text: text.to_owned(),
            by: by.to_owned(),
        },
    )
}

/// A digest of what creating a concern's epic and stories reads from its issue (title and
/// body): a parked creation is queued again only when this changes.
pub(crate) fn input_digest(issue: &Issue) -> String {
    digest(&format!(
        "{}\n{}",
        issue.title,
        issue.body.as_deref().unwrap_or("")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::tracking::reply_marker;
    use crate::store::testing::on_each_backend;

    /// Syncs that all decide to ask (a delivery's, a poll's, a reconcile's), racing: the
    /// store admits one request job, and its body carries the marker its runner checks.
    #[tokio::test]
    async fn racing_syncs_queue_one_results_request() {
        on_each_backend(|store| async move {
            let racers = (0..8).map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let job = results_request_job("acme/x", 7, "alice");
                    let payload = job.payload().expect("payload");
                    store
                        .enqueue(&job.key, job.job.kind(), &payload)
                        .await
                        .expect("enqueue")
                })
            });
            let mut admitted = 0;
            for r in futures::future::join_all(racers).await {
                admitted += usize::from(r.expect("task"));
            }
            assert_eq!(admitted, 1, "one request queued");
            let rows = store.claim_due(now_ms(), 100).await.expect("claim");
            assert_eq!(rows.len(), 1);
            let job: Job = serde_json::from_value(rows[0].payload.clone()).expect("job");
            let Job::Reply {
                marker_key, body, ..
            } = job
            else {
                panic!("not a reply: {job:?}");
            };
            assert!(body.contains(&reply_marker(&marker_key)));
            assert!(body.contains("@alice") && body.contains("before/after"));
        })
        .await;
    }

    /// The key names the concern only: another concern gets its own request.
    #[test]
    fn results_request_key_is_per_concern() {
        let a = results_request_job("acme/x", 7, "alice");
        assert_eq!(a.key, results_request_job("acme/x", 7, "bob").key);
        assert_ne!(a.key, results_request_job("acme/x", 8, "alice").key);
        assert_ne!(a.key, results_request_job("acme/y", 7, "alice").key);
    }
}
