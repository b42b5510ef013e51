//! `council-sync backfill`: imports concerns that existed before the daemon, so they join
//! the same life (criteria check, decisions, epics) as new ones. Each is recorded at the
//! stage its labels show, with the jobs that stage implies; their idempotency keys are the
//! ones the live path uses, so a backfill run twice (or beside the daemon) does nothing twice.
//!
//! A large backfill is paced by `[limits]` like everything else the daemon sends: before
//! it writes, it says how long those limits make it take ([`BackfillEstimate`]), and while it
//! writes it reports progress and a measured estimate of what is left ([`DrainProgress`]).
//! It runs until the work is done, however long the limits make that; it gives up only
//! when nothing at all has run for [`STALL`] (a host that keeps failing every call).

use std::time::{Duration, Instant};

use super::jobs::{Job, KeyedJob, queued};
use super::{Engine, EngineError};
use crate::config::{GithubLimits, limits};
use crate::council::{Cause, Stage, same_label};
use crate::github::client::{Issue, IssueState};
use crate::store::StageChange;
use crate::tracker::Tracker;

/// One issue the backfill looked at.
#[derive(Debug, Clone)]
pub struct BackfillItem {
    pub repo: String,
    pub number: u64,
    pub title: String,
    /// The stage it is (or would be) recorded at; `None` when the store knew it already.
    pub stage: Option<Stage>,
}

impl BackfillItem {
    /// One line for a log or a plain progress line.
    pub fn describe(&self) -> String {
        match self.stage {
            Some(stage) => format!("{}#{} \"{}\" → {stage}", self.repo, self.number, self.title),
            None => format!(
                "{}#{} \"{}\": already known",
                self.repo, self.number, self.title
            ),
        }
    }
}

/// What a backfill found and did.
#[derive(Debug, Clone, Default)]
pub struct BackfillSummary {
    pub seen: usize,
    pub imported: usize,
    pub known: usize,
}

/// How long the drain waits with writes pending and none running before it gives up (the
/// retries of every pending job are spread further apart than this only when a host keeps
/// failing).
pub const STALL: Duration = Duration::from_secs(15 * 60);

/// GitHub writes an imported concern costs, by the stage it is recorded at: the tracking
/// comment; an undecided open one also gets its criteria label. An accepted one already
/// carries its labels, and its tracking comment is written once, after its epic and stories
/// exist: one write (measured by `BENCH_PARTS=backfill`: 60 accepted concerns, 60 GitHub
/// writes).
fn github_writes_for(stage: Stage) -> u64 {
    match stage {
        Stage::NeedsInfo | Stage::Ready => 2,
        _ => 1,
    }
}

/// Tracker calls (reads and writes) an accepted concern costs: three writes (the epic, the
/// stories in one bulk create, the link back) and three reads (measured by
/// `BENCH_PARTS=backfill`: 60 accepted concerns, Jira 181 reads and 180 writes; the one
/// extra read is the run's, not a concern's).
const TRACKER_CALLS_PER_ACCEPTED: u64 = 6;

/// What a backfill will cost, and how long `[limits]` make it take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillEstimate {
    /// Content-creating GitHub requests.
    pub github_writes: u64,
    /// Tracker requests.
    pub tracker_calls: u64,
    /// Time at the limits: the slower of the two hosts.
    pub takes: Duration,
}

impl BackfillEstimate {
    /// The estimate for concerns recorded at `stages`, under GitHub's `[limits.github]` and
    /// the tracker's pace (`tracker_take`: how long that many tracker calls take at its
    /// configured limit, given by whoever built the tracker, so no tracker is named here).
    /// Pure.
    pub fn new(
        stages: &[Stage],
        github: &GithubLimits,
        tracker_take: impl Fn(u64) -> Duration,
    ) -> Self {
        let github_writes = stages.iter().map(|s| github_writes_for(*s)).sum();
        let accepted = stages.iter().filter(|s| **s == Stage::Accepted).count() as u64;
        let tracker_calls = accepted * TRACKER_CALLS_PER_ACCEPTED;
        let takes =
            limits::github_writes_take(github, github_writes).max(tracker_take(tracker_calls));
        Self {
            github_writes,
            tracker_calls,
            takes,
        }
    }
}

/// Where the drain stands, reported after each round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainProgress {
    /// Jobs run so far.
    pub done: u64,
    /// Jobs still pending.
    pub pending: u64,
    /// Since the drain started.
    pub elapsed: Duration,
    /// What is left at the rate measured so far; `None` before anything ran.
    pub left: Option<Duration>,
}

impl DrainProgress {
    /// The measured estimate: `pending` at the rate `done / elapsed`. Pure.
    pub fn new(done: u64, pending: u64, elapsed: Duration) -> Self {
        let left = (done > 0).then(|| elapsed.mul_f64(pending as f64 / done as f64));
        Self {
            done,
            pending,
            elapsed,
            left,
        }
    }
}

impl<T: Tracker + 'static> Engine<T> {
    /// Runs due jobs until none is pending, calling `report` after each round. Gives up
    /// only when jobs stay pending and none has run for `stall` (see [`STALL`]).
    pub async fn drain_reporting(
        &self,
        stall: Duration,
        mut report: impl FnMut(&DrainProgress),
    ) -> Result<(), EngineError> {
        let start = Instant::now();
        let mut last_ran = Instant::now();
        let mut done: u64 = 0;
        loop {
            // A failed round (the store busy under load, a pool timeout) is not the end of a
            // long backfill: its jobs stay pending and the next round takes them again; only
            // `stall` without a job run ends the drain.
            let ran = match super::outbox::run_due_jobs(&self.cx).await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::warn!(error = %e, "a backfill round failed; trying again");
                    0
                }
            };
            let pending = u64::try_from(self.store.pending_count().await?).unwrap_or(0);
            done += ran as u64;
            if ran > 0 {
                last_ran = Instant::now();
                report(&DrainProgress::new(done, pending, start.elapsed()));
            }
            if pending == 0 {
                return Ok(());
            }
            if ran == 0 {
                if last_ran.elapsed() >= stall {
                    return Err(EngineError::Invalid(format!(
                        "{pending} write(s) still pending and none ran for {}",
                        humantime::format_duration(stall)
                    )));
                }
                // Only retries scheduled for later remain: wait for the earliest tick.
                tokio::time::sleep(super::IDLE_TICK).await;
            }
        }
    }

    /// The stage an existing issue's labels show.
    pub fn stage_from_labels(&self, issue: &Issue) -> Stage {
        let l = &self.config.labels;
        let has = |name: &str| issue.labels.iter().any(|x| same_label(x, name));
        if has(&l.rejected) {
            Stage::Rejected
        } else if has(&l.out_of_scope) {
            Stage::OutOfScope
        } else if has(&l.accepted) {
            Stage::Accepted
        } else if has(&l.ready) {
            Stage::Ready
        } else {
            Stage::NeedsInfo
        }
    }

    /// The concern issues of every watched repository (all pages), with their repository
    /// ([`Ctx::concern_issues`]).
    pub async fn backfill_candidates(&self) -> Result<Vec<(String, Issue)>, EngineError> {
        self.concern_issues().await
    }

    /// Imports one issue (or, with `dry_run`, says what it would do).
    pub async fn backfill_one(
        &self,
        repo: &str,
        issue: &Issue,
        dry_run: bool,
    ) -> Result<BackfillItem, EngineError> {
        let mut item = BackfillItem {
            repo: repo.to_owned(),
            number: issue.number,
            title: issue.title.clone(),
            stage: None,
        };
        if self.store.get_concern(repo, issue.number).await?.is_some() {
            return Ok(item);
        }
        let stage = self.stage_from_labels(issue);
        item.stage = Some(stage);
        if dry_run {
            return Ok(item);
        }
        let n = issue.number;
        let mut jobs = Vec::new();
        match stage {
            Stage::Accepted => jobs.push(KeyedJob::new(
                format!("epic:{repo}#{n}"),
                Job::Materialize {
                    repo: repo.into(),
                    number: n,
                    stories: !self.config.council.two_step,
                },
            )),
            // Undecided: the reconcile re-runs the criteria check (labels, tracking comment).
            Stage::NeedsInfo | Stage::Ready if issue.state == IssueState::Open => {
                jobs.push(KeyedJob::new(
                    format!("reconcile:{repo}#{n}:backfill"),
                    Job::Reconcile {
                        repo: repo.into(),
                        number: n,
                    },
                ))
            }
            _ => {}
        }
        jobs.push(KeyedJob::new(
            format!("tracking:{repo}#{n}:backfill"),
            Job::Tracking {
                repo: repo.into(),
                number: n,
            },
        ));
        let writes = queued(&jobs)?;
        let update = StageChange {
            repo,
            number: n,
            issue_id: issue.id,
            expected: None,
            to: stage,
            cause: Cause::Backfill,
            actor: None,
            at_ms: crate::store::now_ms(),
        };
        match self
            .store
            .commit_decision(None, Some(&update), None, &writes)
            .await
        {
            // Recorded meanwhile (the daemon got a delivery for it): already known.
            Err(crate::store::StoreError::StageConflict { .. }) => item.stage = None,
            other => other?,
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tracker paced at 10 calls a second after a burst of 20 (the daemon hands in the
    /// configured tracker's own pace).
    fn tracker_take(calls: u64) -> Duration {
        Duration::from_secs_f64(calls.saturating_sub(20) as f64 / 10.0)
    }

    #[test]
    fn the_estimate_counts_writes_by_stage_and_the_slower_host_decides() {
        let stages = [
            Stage::NeedsInfo,
            Stage::Ready,
            Stage::Accepted,
            Stage::Rejected,
        ];
        let e = BackfillEstimate::new(&stages, &GithubLimits::default(), tracker_take);
        assert_eq!((e.github_writes, e.tracker_calls), (2 + 2 + 1 + 1, 6));
        assert_eq!(e.takes, Duration::ZERO, "within both bursts");
        // 1,000 accepted concerns at the published limits: 1,000 GitHub writes, 500 of
        // them beyond the hour's burst of 500, at 500 an hour: 1 h (the tracker's 6,000
        // calls take 598 s at 10 a second).
        let many = vec![Stage::Accepted; 1000];
        let e = BackfillEstimate::new(&many, &GithubLimits::default(), tracker_take);
        assert_eq!((e.github_writes, e.tracker_calls), (1000, 6000));
        assert_eq!(e.takes, Duration::from_secs(3600));
    }

    #[test]
    fn progress_extrapolates_the_measured_rate() {
        let p = DrainProgress::new(10, 30, Duration::from_secs(5));
        assert_eq!(p.left, Some(Duration::from_secs(15)));
        assert_eq!(DrainProgress::new(0, 30, Duration::from_secs(5)).left, None);
        assert_eq!(
            DrainProgress::new(10, 0, Duration::from_secs(5)).left,
            Some(Duration::ZERO)
        );
    }
}
