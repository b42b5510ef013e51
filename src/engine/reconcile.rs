//! The reconcile pass: derives what should be from the current state of GitHub and the
//! tracker, not only from the deliveries the daemon happened to receive.
//!
//! A pass (every `sync.reconcile_interval`, and `council-sync reconcile --once`) lists, for
//! each watched repository, the issues changed since its cursor (GitHub's `since`, every
//! page, labelled or not, so a lost `opened` is found too), and queues a reconcile job for
//! each concern issue among them and for every concern the store still has work on. A job
//! brings its concern to the state the events would have produced:
//! * an issue the store has never seen is checked as if just opened;
//! * a decision label the store has no decision for is checked against who applied it, read
//!   from the issue's events API: a council member's decision is recorded with its real time
//!   and acted on (epic, stories, close), anyone else's label is removed with a reply;
//! * an undecided concern's labels are re-derived from its body (a lost `edited`/`unlabeled`);
//! * an accepted one's GitHub-side changes (closed as not planned, reopened, edits, results
//!   in the body or in a `/results` comment) are carried to the tracker, and the tracker's
//!   state to GitHub.
//!
//! Each step compares before it writes, so a pass over concerns that are in step writes
//! nothing; every decision goes through the same compare-and-set as a delivery's.

use chrono::{DateTime, Utc};

use super::handlers::{self, decide::IssueCue};
use super::jobs::{Job, KeyedJob};
use super::{Ctx, EngineError};
use crate::concern;
use crate::council::{Stage, Trigger};
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, ConcernRow, now_ms};
use crate::tracker::Tracker;

/// The store cursor of a repository's issue listing: the newest `updated_at` seen (ms).
fn cursor_name(repo: &str) -> String {
    format!("github-issues-since:{repo}")
}

/// The stages whose concerns every pass walks, whatever changed on GitHub: undecided ones
/// (criteria), and accepted ones whose epic or stories are missing (a create that failed
/// for good may succeed now). Concerns with an epic are walked too (see `reconcile_pass`).
const WALKED: [Stage; 5] = [
    Stage::NeedsInfo,
    Stage::Ready,
    Stage::Accepted,
    Stage::Vetted,
    Stage::EpicCreated,
];

impl<T: Tracker + 'static> Ctx<T> {
    /// Enqueues a reconcile of every concern the store has work on and of every concern
    /// issue changed on GitHub since the last pass; returns how many it queued.
    pub async fn reconcile_pass(&self) -> Result<usize, EngineError> {
        let pass = now_ms();
        let mut targets: Vec<(String, u64)> = Vec::new();
        for c in self.store.linked_concerns().await? {
            targets.push((c.repo, c.number));
        }
        for c in self.store.concerns_in_stage(&WALKED).await? {
            targets.push((c.repo, c.number));
        }
        for repo in &self.config.github.repos {
            targets.extend(self.changed_concern_issues(repo).await?);
        }
        targets.sort();
        targets.dedup();
        let mut queued = 0;
        for (repo, number) in targets {
            let key = format!("reconcile:{repo}#{number}:{pass}");
            if self
                .enqueue_job(KeyedJob::new(key, Job::Reconcile { repo, number }))
                .await?
            {
                queued += 1;
            }
        }
        tracing::info!(concerns = queued, "reconcile pass queued");
        Ok(queued)
    }

    /// The concern issues of `repo` changed since its cursor (all of them on the first
    /// pass); moves the cursor to the newest change seen.
    async fn changed_concern_issues(&self, repo: &str) -> Result<Vec<(String, u64)>, EngineError> {
        let name = cursor_name(repo);
        let since = self
            .store
            .get_cursor(&name)
            .await?
            .and_then(DateTime::<Utc>::from_timestamp_millis);
        // `since` is inclusive and has whole seconds: an issue changed in the same second
        // as the cursor is listed again, which costs a comparison, never a write.
        let issues = self.github.list_issues(repo, &[], since).await?;
        let mut newest = None::<i64>;
        let mut out = Vec::new();
        for issue in issues.iter().filter(|i| !i.is_pull_request) {
            let updated = issue.updated_at.timestamp_millis();
            newest = Some(newest.map_or(updated, |n| n.max(updated)));
            if self.is_concern(issue) {
                out.push((repo.to_owned(), issue.number));
            }
        }
        if let Some(newest) = newest {
            self.store.set_cursor(&name, newest).await?;
        }
        Ok(out)
    }

    fn is_concern(&self, issue: &Issue) -> bool {
        let concern = &self.config.labels.concern;
        issue.labels.iter().any(|l| l.eq_ignore_ascii_case(concern))
    }

    /// Compares one concern's issue (and tracker side) with the store and repairs whatever
    /// drifted while deliveries were lost.
    pub(crate) async fn reconcile_one(&self, repo: &str, number: u64) -> Result<(), EngineError> {
        let record = match self.store.get_concern(repo, number).await? {
            Some(r) => r,
            None => {
                // Never seen (its `opened` was lost, or it predates the daemon): checked as
                // if just opened, then its labels are looked at like any other's.
                handlers::decide::recheck(self, repo, number).await?;
                match self.store.get_concern(repo, number).await? {
                    Some(r) => r,
                    None => return Ok(()),
                }
            }
        };
        let issue = self.github.get_issue(repo, number).await?;
        if self.adopt_decision_labels(&record, &issue).await? {
            // The decision's own jobs (labels, epic, tracking comment) do the rest.
            return Ok(());
        }
        let stage = record.stage;
        if stage.is_undecided() {
            return handlers::decide::recheck(self, repo, number).await;
        }
        if stage.is_accepted() && !stage.is_syncing() {
            handlers::materialize::retry_failed_materialize(self, repo, number, stage, &issue)
                .await?;
        }
        if record.epic_key.is_some() && stage.is_accepted() {
            self.follow_github_side(&record, &issue).await?;
            handlers::sync_from_tracker::sync_from_tracker(self, repo, number).await?;
        }
        if record.tracking_comment_id.is_none() {
            handlers::tracking::refresh_tracking(self, repo, number).await?;
        }
        Ok(())
    }

    /// Carries GitHub-side changes the tracker has not followed: closed as not planned,
    /// reopened, title/answers edits, results in the body or a `/results` comment.
    async fn follow_github_side(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        let (repo, number) = (record.repo.as_str(), record.number);
        let closed_np = issue.state == IssueState::Closed
            && issue.state_reason == Some(StateReason::NotPlanned);
        let was_np = record.issue_state == Some(store::IssueState::ClosedNotPlanned);
        if closed_np && !was_np {
            handlers::follow_issue::follow_not_planned(self, record, issue).await?;
        } else if issue.state == IssueState::Open && was_np {
            handlers::follow_issue::follow_reopened(self, record, issue).await?;
        }
        handlers::follow_issue::follow_edit(self, record, issue).await?;
        self.follow_assignee_drift(record, issue).await?;
        if !record.stage.is_syncing() || record.results.is_some() {
            return Ok(());
        }
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        if let Some(results) = parsed.results.as_deref().filter(|r| !r.trim().is_empty()) {
            return handlers::results::record_results(self, repo, number, results, &issue.author)
                .await;
        }
        // A `/results` comment whose delivery was lost: the newest one from a person.
        let comments = self.github.list_comments(repo, number).await?;
        let found = comments.iter().rev().find_map(|c| {
            let body = c.body.trim_start();
            let is_results = body
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("/results"));
            let text = body.get(8..).unwrap_or("").trim();
            (c.author != self.bot_login && is_results && !text.is_empty())
                .then(|| (text.to_owned(), c.author.clone()))
        });
        if let Some((text, by)) = found {
            handlers::results::record_results(self, repo, number, &text, &by).await?;
        }
        Ok(())
    }

    /// The epic's assignee when it disagrees with the issue's first assignee (through
    /// `[users]`), as a lost `assigned` / `unassigned` delivery leaves it. A login with no
    /// tracker account is left as the delivery path left it (reported there, never retried).
    async fn follow_assignee_drift(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        if self.config.sync.owners.assignee != crate::config::Owner::Github {
            return Ok(());
        }
        let want = match issue.assignees.first() {
            None => None,
            Some(login) => match self.github_user_account(login) {
                Some(account) => Some(account),
                None => return Ok(()),
            },
        };
        let Some((epic, _)) = handlers::sync_from_tracker::tracked(self, record).await? else {
            return Ok(());
        };
        if epic.assignee_account != want {
            handlers::follow_issue::follow_assignees(self, record, issue).await?;
        }
        Ok(())
    }

    /// Decision labels on the issue that the store has no decision for (their `labeled`
    /// delivery was lost, or came while the daemon was down): each is decided on as if its
    /// delivery had come, with the actor and time read from the issue's events. Returns
    /// whether it decided anything.
    async fn adopt_decision_labels(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<bool, EngineError> {
        let l = &self.config.labels;
        let stage = record.stage;
        let mut candidates: Vec<&str> = Vec::new();
        if stage.is_undecided() {
            candidates.extend([
                l.accepted.as_str(),
                l.rejected.as_str(),
                l.out_of_scope.as_str(),
            ]);
        }
        if self.config.council.two_step && matches!(stage, Stage::Accepted | Stage::EpicCreated) {
            candidates.push(l.vetted.as_str());
        }
        let present: Vec<&str> = candidates
            .into_iter()
            .filter(|c| issue.labels.iter().any(|x| x.eq_ignore_ascii_case(c)))
            .collect();
        if present.is_empty() {
            return Ok(false);
        }
        let events = self
            .github
            .list_issue_events(&record.repo, record.number)
            .await?;
        let mut decided = false;
        for label in present {
            // The newest application of the label is the one that stands.
            let Some(applied) = events.iter().rev().find(|e| {
                e.event == "labeled"
                    && e.label
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(label))
            }) else {
                tracing::warn!(repo = %record.repo, number = record.number, label, "decision label with no labeled event; left for the next pass");
                continue;
            };
            // A deleted account (`actor: null`) cannot be on the council.
            let actor = applied.actor.clone().unwrap_or_else(|| "ghost".into());
            let member = applied.actor.is_some() && self.is_council_member(&actor).await?;
            let at = applied.created_at;
            tracing::info!(repo = %record.repo, number = record.number, label, actor, member, "decision label found by reconcile");
            let cue = IssueCue {
                repo: &record.repo,
                number: record.number,
                // The same identity a delivery of this event would plan its jobs under
                // (label, who, when), so a late delivery of it repeats nothing.
                event_key: handlers::issues_event::labeled_key(label, &actor, &at.to_rfc3339()),
                trigger: Some(Trigger::LabelAdded {
                    label: label.to_owned(),
                    actor: actor.clone(),
                    actor_is_member: member,
                }),
                follow: None,
                actor: Some(actor.clone()),
                at_ms: Some(at.timestamp_millis()),
            };
            handlers::decide::decide_and_commit(self, None, cue).await?;
            decided = true;
        }
        Ok(decided)
    }
}
