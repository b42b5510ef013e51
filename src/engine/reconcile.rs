//! The reconcile pass: derives what should be from the current state of GitHub and the
//! tracker, not only from the deliveries the daemon happened to receive.
//!
//! A pass (every `sync.reconcile_interval`, and `council-sync reconcile --once`) lists, for
//! each watched repository, the issues changed since its cursor (GitHub's `since`, every
//! page, labelled or not, so a lost `opened` is found too), and queues a reconcile job for
//! each concern issue among them and for every concern whose create failed or was parked.
//! What changed in the tracker comes from the poll's cursor (`poll.rs`); what no cursor saw
//! is the rare full sweep's (`sweep.rs`). Nothing here costs a call per concern in step. A
//! job brings its concern to the state the events would have produced:
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

/// The first whole second (ms) after `ms`.
fn next_whole_second(ms: i64) -> i64 {
    ms.div_euclid(1000).saturating_add(1).saturating_mul(1000)
}

/// The stages where a create may have failed for good (epic or stories), to try again on
/// every pass: only the concerns among them whose create job failed or was parked are walked,
/// found from the store alone (see `create_stalled`).
const RETRIED: [Stage; 3] = [Stage::Accepted, Stage::Vetted, Stage::EpicCreated];

/// The outbox keys of a concern's creates, as the decision path queues them.
fn create_keys(repo: &str, number: u64) -> [String; 2] {
    [
        format!("epic:{repo}#{number}"),
        format!("stories:{repo}#{number}"),
    ]
}

/// One repository's listing since its cursor: the concern issues changed, each with its
/// `updated_at` (ms), and the newest `updated_at` listed (the cursor's next value).
struct Changed {
    cursor: String,
    issues: Vec<(u64, i64)>,
    newest: Option<i64>,
}

impl<T: Tracker + 'static> Ctx<T> {
    /// The periodic pass: asks GitHub what changed since each repository's cursor (the
    /// issues list with `since`, sorted by update, pages of 100) and queues a reconcile of
    /// each concern issue among them, plus of every concern whose create failed or was
    /// parked (from the store alone). Its cost is the pages of what changed, never a call
    /// per concern that is in step; the tracker side is the poll's (`poll_tracker`), and
    /// the rare full sweep (`full_sweep`) reads everything in pages. Each cursor moves only
    /// after the jobs it covers are queued (durable). Returns how many it queued.
    ///
    /// A job's key names the issue's `updated_at`, so the same change listed again (GitHub's
    /// `since` is inclusive and has whole seconds) is dropped by the outbox, not re-read.
    pub async fn reconcile_pass(&self) -> Result<usize, EngineError> {
        let pass = now_ms();
        let mut jobs: Vec<KeyedJob> = Vec::new();
        for c in self.store.concerns_in_stage(&RETRIED).await? {
            if self.create_stalled(&c.repo, c.number).await? {
                let key = format!("reconcile:{}#{}:retry:{pass}", c.repo, c.number);
                jobs.push(KeyedJob::new(
                    key,
                    Job::Reconcile {
                        repo: c.repo,
                        number: c.number,
                    },
                ));
            }
        }
        let mut cursors = Vec::new();
        for repo in &self.config.github.repos {
            let changed = self.changed_concern_issues(repo, pass).await?;
            for &(number, updated) in &changed.issues {
                let key = format!("reconcile:{repo}#{number}:gh:{updated}");
                jobs.push(KeyedJob::new(
                    key,
                    Job::Reconcile {
                        repo: repo.clone(),
                        number,
                    },
                ));
            }
            cursors.push(changed);
        }
        let mut queued = 0;
        for job in jobs {
            if self.enqueue_job(job).await? {
                queued += 1;
            }
        }
        for c in cursors {
            if let Some(newest) = c.newest {
                self.store.set_cursor(&c.cursor, newest).await?;
            }
        }
        self.schedule_first_sweep(pass).await?;
        tracing::info!(concerns = queued, "reconcile pass queued");
        Ok(queued)
    }

    /// Whether the concern's epic or stories create failed for good or was parked (and is
    /// not queued again already): the pass then walks it, so it may succeed now.
    async fn create_stalled(&self, repo: &str, number: u64) -> Result<bool, EngineError> {
        let mut stalled = false;
        for key in create_keys(repo, number) {
            match self.store.outbox_state(&key).await?.as_deref() {
                Some("failed" | "parked") => stalled = true,
                Some("pending" | "running") => return Ok(false),
                _ => {}
            }
        }
        Ok(stalled)
    }

    /// The concern issues of `repo` changed since its cursor. With no cursor yet (a first
    /// start), nothing is listed: the cursor starts at the second after `pass` (GitHub's
    /// `since` has whole seconds and is inclusive, so a cursor inside the current second
    /// would list again, one by one, everything written earlier in it, e.g. the end of a
    /// `backfill`); what came before is the full sweep's (and `backfill`'s), and a log line
    /// says when that sweep is due.
    async fn changed_concern_issues(&self, repo: &str, pass: i64) -> Result<Changed, EngineError> {
        let cursor = cursor_name(repo);
        let Some(since) = self.store.get_cursor(&cursor).await? else {
            self.store
                .set_cursor(&cursor, next_whole_second(pass))
                .await?;
            tracing::info!(repo, "no cursor yet: changes are read from now on");
            return Ok(Changed {
                cursor,
                issues: Vec::new(),
                newest: None,
            });
        };
        let since = DateTime::<Utc>::from_timestamp_millis(since);
        let issues = self.github.list_issues(repo, &[], since).await?;
        let mut newest = None::<i64>;
        let mut out = Vec::new();
        for issue in issues.iter().filter(|i| !i.is_pull_request) {
            let updated = issue.updated_at.timestamp_millis();
            newest = Some(newest.map_or(updated, |n| n.max(updated)));
            if self.is_concern(issue) {
                out.push((issue.number, updated));
            }
        }
        Ok(Changed {
            cursor,
            issues: out,
            newest,
        })
    }

    /// With no sweep recorded yet (a first start), records `pass` as the last sweep, so the
    /// first one runs a whole `sync.full_sweep_interval` later, never at start; says so.
    async fn schedule_first_sweep(&self, pass: i64) -> Result<(), EngineError> {
        if self
            .store
            .get_cursor(super::sweep::SWEEP_CURSOR)
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.store
            .set_cursor(super::sweep::SWEEP_CURSOR, pass)
            .await?;
        let every = self.config.sync.full_sweep_interval;
        let at = DateTime::<Utc>::from_timestamp_millis(pass)
            .and_then(|t| chrono::Duration::from_std(every).ok().map(|d| t + d));
        tracing::info!(
            due = %at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            every = %humantime::format_duration(every),
            "first start: a full sweep is scheduled"
        );
        Ok(())
    }

    /// Runs the full sweep when one is due (the last one finished a whole
    /// `sync.full_sweep_interval` ago); `Ok(0)` otherwise.
    pub async fn sweep_if_due(&self) -> Result<usize, EngineError> {
        let every =
            i64::try_from(self.config.sync.full_sweep_interval.as_millis()).unwrap_or(i64::MAX);
        match self.store.get_cursor(super::sweep::SWEEP_CURSOR).await? {
            Some(last) if now_ms().saturating_sub(last) >= every => self.full_sweep().await,
            _ => Ok(0),
        }
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

#[cfg(test)]
mod tests {
    use super::next_whole_second;

    #[test]
    fn a_first_cursor_starts_at_the_next_whole_second() {
        assert_eq!(next_whole_second(1_796_027_670_000), 1_796_027_671_000);
        assert_eq!(next_whole_second(1_796_027_670_999), 1_796_027_671_000);
        assert_eq!(next_whole_second(0), 1_000);
        assert_eq!(next_whole_second(i64::MAX), i64::MAX);
    }
}
