//! The outbox side: run due jobs; each is idempotent, so running it again is safe.

use std::collections::BTreeSet;

use super::describe::{IssueFacts, epic_request, story_requests};
use super::jobs::{Job, KeyedJob};
use super::{BATCH, Engine, EngineError};
use crate::concern::{self, criteria};
use crate::council::tracking::{self, DecisionView, IssueLinkView, TrackingView};
use crate::council::{Cause, Stage};
use crate::github::client::StateReason;
use crate::retry::RetryPolicy;
use crate::store::{OutboxJob, now_ms};
use crate::tracker::{Tracker, TrackerIssue};

/// Concerns whose jobs run at the same time. Enough to keep one slow tracker call from
/// stalling the rest; few enough to stay well inside GitHub's secondary rate limits and
/// SQLite's single writer.
const CONCERNS_AT_ONCE: usize = 8;

impl<T: Tracker + 'static> Engine<T> {
    /// Runs every due job once. Returns how many ran.
    pub(crate) async fn run_due_jobs(&self) -> Result<usize, EngineError> {
        use futures::{StreamExt, TryStreamExt};
        let rows = self.store.claim_due(now_ms(), BATCH).await?;
        // One concern's jobs run in the order they were queued; different concerns run side
        // by side, so a slow or held tracker call does not hold up every other concern.
        let claimed = rows.len();
        let mut groups: Vec<(String, Vec<OutboxJob>)> = Vec::new();
        for row in rows {
            let concern = format!("{}#{}", row.payload["repo"], row.payload["number"]);
            match groups.iter_mut().find(|(c, _)| *c == concern) {
                Some((_, jobs)) => jobs.push(row),
                None => groups.push((concern, vec![row])),
            }
        }
        // A job whose earlier attempt was interrupted (the process went away while it ran)
        // runs alone first: if it takes the process down again, no other job is in flight
        // to be counted as interrupted with it.
        let mut suspects = Vec::new();
        for (_, jobs) in &mut groups {
            let (suspect, rest): (Vec<_>, Vec<_>) = std::mem::take(jobs)
                .into_iter()
                .partition(|j| j.interrupted > 0);
            suspects.extend(suspect);
            *jobs = rest;
        }
        let run_group = |jobs: Vec<OutboxJob>| async move {
            for row in &jobs {
                self.run_job(row).await?;
            }
            Ok::<(), EngineError>(())
        };
        let work = async {
            for row in &suspects {
                self.run_job(row).await?;
            }
            futures::stream::iter(groups.into_iter().map(|(_, jobs)| jobs))
                .map(run_group)
                .buffer_unordered(CONCERNS_AT_ONCE)
                .try_collect::<Vec<()>>()
                .await
        };
        // The claimed jobs stay ours while they run, however long their retries take: the
        // lease is renewed, so no other replica takes one of them meanwhile.
        tokio::pin!(work);
        let mut renew = tokio::time::interval(crate::store::LEASE_RENEW);
        renew.tick().await;
        loop {
            tokio::select! {
                done = &mut work => {
                    done?;
                    break;
                }
                _ = renew.tick() => {
                    if let Err(e) = self.store.renew_leases().await {
                        tracing::warn!(error = %e, "cannot renew the outbox leases");
                    }
                }
            }
        }
        Ok(claimed)
    }

    async fn run_job(&self, row: &OutboxJob) -> Result<(), EngineError> {
        let limit = i64::from(self.config.retry.interrupted_attempts.max(1));
        if row.interrupted >= limit {
            return self.park(row).await;
        }
        let job: Job = match serde_json::from_value(row.payload.clone()) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(key = %row.idem_key, error = %e, "unreadable outbox job");
                return Ok(self
                    .store
                    .fail(row.id, &format!("unreadable job: {e}"))
                    .await?);
            }
        };
        self.store.start_job(row.id).await?;
        debug_fault_hook(&job);
        match self.execute(&job, row.id).await {
            Ok(()) => {
                tracing::info!(key = %row.idem_key, kind = job.kind(), "job done");
                self.store.complete(row.id).await?;
            }
            Err(e) if e.is_transient() && (row.attempts as u32) < self.job_attempts() => {
                let policy = RetryPolicy::from(&self.config.retry);
                let wait =
                    policy.delay(row.attempts.max(1) as u32, crate::retry::RetryHint::Backoff);
                tracing::warn!(key = %row.idem_key, error = %e, wait_ms = wait.as_millis() as u64, "job will be retried");
                self.store
                    .retry_later(row.id, now_ms() + wait.as_millis() as i64, &e.to_string())
                    .await?;
            }
            Err(e) => {
                tracing::error!(key = %row.idem_key, kind = job.kind(), error = %e, "job failed");
                self.store.fail(row.id, &e.to_string()).await?;
                self.report_failure(&job, row.id, &e).await?;
            }
        }
        Ok(())
    }

    /// Parks a job whose attempts kept ending with the process gone: it is not run again
    /// (not by a restart, not by reconcile) until its input changes, and the reason shows in
    /// the tracking comment and `/status`.
    async fn park(&self, row: &OutboxJob) -> Result<(), EngineError> {
        let reason = format!(
            "parked after {} attempts that each stopped the daemon before finishing; \
             it runs again when the issue's title or body is edited",
            row.interrupted
        );
        tracing::error!(key = %row.idem_key, kind = %row.kind, interrupted = row.interrupted, "job parked");
        let Ok(job) = serde_json::from_value::<Job>(row.payload.clone()) else {
            self.store.park(row.id, &reason, None).await?;
            return Ok(());
        };
        let (repo, number) = job.issue();
        // The input it ran on, so that only a changed one queues it again. Unknown when
        // GitHub cannot be read now: then the next reconcile may try it once more.
        let input = match self.github.get_issue(repo, number).await {
            Ok(issue) => Some(super::sync::input_digest(&issue)),
            Err(e) => {
                tracing::warn!(error = %e, "parking without the input's digest");
                None
            }
        };
        self.store.park(row.id, &reason, input.as_deref()).await?;
        if matches!(job, Job::Tracking { .. }) {
            return Ok(());
        }
        self.store
            .set_last_error(repo, number, Some(&format!("{} {reason}", job.kind())))
            .await?;
        self.enqueue_tracking(repo, number, &format!("parked-{}", row.id))
            .await
    }

    /// Job-level attempts on top of each call's own retries: a transient outage longer than
    /// one call's retry budget still ends in a success, not a lost write.
    fn job_attempts(&self) -> u32 {
        self.config.retry.attempts.max(1) * 4
    }

    /// Shows a failure that retrying cannot fix in the tracking comment.
    async fn report_failure(
        &self,
        job: &Job,
        row_id: i64,
        err: &EngineError,
    ) -> Result<(), EngineError> {
        let (repo, number) = job.issue();
        if matches!(job, Job::Tracking { .. }) {
            return Ok(());
        }
        self.store
            .set_last_error(repo, number, Some(&format!("{} failed: {err}", job.kind())))
            .await?;
        self.enqueue_tracking(repo, number, &format!("failed-{row_id}"))
            .await
    }

    async fn enqueue_tracking(
        &self,
        repo: &str,
        number: u64,
        why: &str,
    ) -> Result<(), EngineError> {
        let job = Job::Tracking {
            repo: repo.into(),
            number,
        };
        self.enqueue_job(KeyedJob::new(
            format!("tracking:{repo}#{number}:{why}"),
            job,
        ))
        .await?;
        Ok(())
    }

    async fn execute(&self, job: &Job, row_id: i64) -> Result<(), EngineError> {
        match job {
            Job::Labels {
                repo,
                number,
                add,
                remove,
            } => {
                if !add.is_empty() {
                    self.github.add_labels(repo, *number, add).await?;
                }
                for label in remove {
                    self.github.remove_label(repo, *number, label).await?;
                }
                Ok(())
            }
            Job::Reply {
                repo,
                number,
                marker_key,
                body,
            } => {
                let marker = tracking::reply_marker(marker_key);
                let comments = self.github.list_comments(repo, *number).await?;
                if !comments.iter().any(|c| c.body.contains(&marker)) {
                    self.github.create_comment(repo, *number, body).await?;
                }
                Ok(())
            }
            Job::CloseNotPlanned { repo, number } => Ok(self
                .github
                .close_issue(repo, *number, StateReason::NotPlanned)
                .await?),
            Job::Tracking { repo, number } => self.refresh_tracking(repo, *number).await,
            Job::Materialize {
                repo,
                number,
                stories,
            } => {
                self.materialize(repo, *number, *stories).await?;
                // Read the new stories' status at once, so the tracking comment shows it
                // (issue 8); a failed read is repaired by the next sync.
                if *stories && let Err(e) = self.sync_from_tracker(repo, *number).await {
                    tracing::warn!(repo, number, error = %e, "reading the new stories failed");
                }
                self.enqueue_tracking(repo, *number, &format!("job-{row_id}"))
                    .await
            }
            Job::SyncFromTracker { repo, number } => self.sync_from_tracker(repo, *number).await,
            Job::FollowIssue {
                repo,
                number,
                change,
            } => self.follow_issue(repo, *number, *change).await,
            Job::RecordResults {
                repo,
                number,
                text,
                by,
            } => self.record_results(repo, *number, text, by).await,
            Job::CopyResults {
                repo,
                number,
                text,
                by,
            } => self.copy_results(repo, *number, text, by).await,
            Job::Reconcile { repo, number } => self.reconcile_one(repo, *number).await,
            Job::Relink {
                repo,
                number,
                from_repo,
                from_number,
            } => self.relink(repo, *number, from_repo, *from_number).await,
        }
    }

    /// Makes sure the epic (and with `stories`, one story per team) exists, and records it.
    async fn materialize(&self, repo: &str, number: u64, stories: bool) -> Result<(), EngineError> {
        let issue = self.github.get_issue(repo, number).await?;
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        let facts = IssueFacts {
            id: issue.id,
            number,
            repo,
            title: &issue.title,
            html_url: &issue.html_url,
        };
        let request = epic_request(&facts, &parsed, &self.form);
        let epic = self.tracker.ensure_epic(&request).await?;
        // What the epic says now: an edit event that changes nothing will not rewrite it.
        let hash = super::plan::digest(&format!("{}\n{}", request.summary, request.description_md));
        self.store.set_synced_hash(repo, number, &hash).await?;
        self.store
            .set_epic(repo, number, &epic.key, &epic.url)
            .await?;
        self.store
            .advance_stage(repo, number, Stage::EpicCreated, Cause::Created, None)
            .await?;
        if !stories {
            return Ok(());
        }
        if parsed.teams.is_empty() {
            return Err(EngineError::Invalid("the concern names no team".into()));
        }
        // The stories of known teams never wait on an unknown one: they are made now, and
        // the unknown teams are reported (an edit that fixes them re-runs this job at once).
        let known = |team: &str| self.config.teams.contains_key(team);
        let unknown: Vec<&str> = parsed
            .teams
            .iter()
            .map(String::as_str)
            .filter(|t| !known(t))
            .collect();
        let submitter = self.store.submitter(repo, number).await?;
        let requests: Vec<_> = story_requests(&facts, &parsed, &self.form, submitter.as_deref())
            .into_iter()
            .filter(|r| known(&r.team))
            .collect();
        if !requests.is_empty() {
            let made: Vec<TrackerIssue> = self.tracker.ensure_stories(&epic, &requests).await?;
            for story in &made {
                let team = story.team.as_deref().unwrap_or_default();
                self.store
                    .set_story_link(repo, number, team, &story.key, &story.url)
                    .await?;
            }
        }
        if !unknown.is_empty() {
            return Err(EngineError::Invalid(format!(
                "no tracker project is configured for team(s) {}; add them under [teams] \
                 or fix the team names in the issue",
                unknown.join(", ")
            )));
        }
        self.store
            .advance_stage(repo, number, Stage::StoriesCreated, Cause::Created, None)
            .await?;
        Ok(())
    }

    /// Renders the tracking comment from the stored state and edits it in place (or creates it).
    pub(crate) async fn refresh_tracking(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<(), EngineError> {
        let Some(record) = self.store.get_concern(repo, number).await? else {
            return Ok(());
        };
        let issue = self.github.get_issue(repo, number).await?;
        // Transferred, and the delivery saying so not processed yet (or lost): GitHub
        // answered from the new address, and the tracking comment moved with the issue.
        // Follow it there instead of editing the comment under the old name.
        if let Some((to_repo, to_number)) = issue.moved_from(repo, number) {
            let followed = self
                .follow_transfer((repo, number), (&to_repo, to_number), None)
                .await?;
            if followed {
                return Box::pin(self.refresh_tracking(&to_repo, to_number)).await;
            }
            return Ok(());
        }
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        let report = criteria::check_with_form(&parsed, &self.config.criteria, &self.form);
        let stage = record.stage;
        let decisions = self.store.decisions_for(repo, number).await?;
        let links = self.store.story_links(repo, number).await?;
        let linked: BTreeSet<&str> = links.iter().map(|l| l.team.as_str()).collect();
        let view = TrackingView {
            stage,
            criteria_md: criteria::render_report(&report, &self.form),
            decisions: decisions
                .iter()
                .map(|d| DecisionView {
                    kind: d.kind,
                    actor: d.actor.clone(),
                    at: rfc3339(d.decided_at),
                })
                .collect(),
            epic: record.epic_key.clone().map(|key| IssueLinkView {
                key,
                url: record.epic_url.clone().unwrap_or_default(),
                ..Default::default()
            }),
            stories: links
                .iter()
                .map(|l| IssueLinkView {
                    key: l.story_key.clone(),
                    url: l.story_url.clone(),
                    team: Some(l.team.clone()),
                    status: l.state.status.clone(),
                    assignee: l.state.assignee.clone(),
                    sprint: l.state.sprint.clone(),
                })
                .collect(),
            pending_teams: if stage.is_accepted() {
                parsed
                    .teams
                    .iter()
                    .filter(|t| !linked.contains(t.as_str()))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            },
            last_error: record.last_error.clone(),
            results: record.results.clone(),
            moved_from: self.store.concern_moved_from(repo, number).await?,
        };
        let body = tracking::render(&view);
        if let Some(id) = record.tracking_comment_id {
            match self.github.update_comment(repo, id, &body).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let comments = self.github.list_comments(repo, number).await?;
        let id = match comments
            .iter()
            .find(|c| tracking::is_tracking_comment(&c.body) && c.author == self.bot_login)
        {
            Some(existing) => {
                self.github.update_comment(repo, existing.id, &body).await?;
                existing.id
            }
            None => self.github.create_comment(repo, number, &body).await?,
        };
        self.store.set_tracking_comment(repo, number, id).await?;
        Ok(())
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Test-only fault hook, compiled into debug builds only: with
/// `COUNCIL_DEBUG_ABORT_JOB=<kind>` in the environment, the process aborts as it starts a
/// job of that kind (what a stack overflow or an OOM kill does to it), so the tests can prove
/// that such a job is parked after a few restarts. Release builds have no such switch.
#[cfg(debug_assertions)]
fn debug_fault_hook(job: &Job) {
    if std::env::var("COUNCIL_DEBUG_ABORT_JOB").is_ok_and(|k| k == job.kind()) {
        eprintln!(
            "COUNCIL_DEBUG_ABORT_JOB: aborting while running a {} job",
            job.kind()
        );
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
fn debug_fault_hook(_job: &Job) {}
