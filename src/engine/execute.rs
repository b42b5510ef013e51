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
        let run_group = |jobs: Vec<OutboxJob>| async move {
            for row in &jobs {
                self.run_job(row).await?;
            }
            Ok::<(), EngineError>(())
        };
        futures::stream::iter(groups.into_iter().map(|(_, jobs)| jobs))
            .map(run_group)
            .buffer_unordered(CONCERNS_AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(claimed)
    }

    async fn run_job(&self, row: &OutboxJob) -> Result<(), EngineError> {
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
            Job::Reconcile { repo, number } => self.reconcile_one(repo, *number).await,
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
        let unknown: Vec<&str> = parsed
            .teams
            .iter()
            .filter(|t| !self.config.teams.contains_key(*t))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(EngineError::Invalid(format!(
                "no tracker project is configured for team(s) {}; add them under [teams]",
                unknown.join(", ")
            )));
        }
        let made: Vec<TrackerIssue> = self
            .tracker
            .ensure_stories(&epic, &story_requests(&facts, &parsed, &self.form))
            .await?;
        for story in &made {
            let team = story.team.as_deref().unwrap_or_default();
            self.store
                .set_story_link(repo, number, team, &story.key, &story.url)
                .await?;
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
