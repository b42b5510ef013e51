//! The outbox loop's round: runs due jobs, each through the handler of its kind; each job is
//! idempotent, so running one again is safe.

use super::context::Ctx;
use super::handlers;
use super::jobs::{Job, KeyedJob};
use super::{BATCH, EngineError};
use crate::retry::RetryPolicy;
use crate::store::{OutboxJob, now_ms};
use crate::tracker::Tracker;

/// Concerns whose jobs run at the same time. Enough to keep one slow tracker call from
/// stalling the rest; few enough to stay well inside GitHub's secondary rate limits and
/// SQLite's single writer.
const CONCERNS_AT_ONCE: usize = 8;

/// Runs every due job once. Returns how many it claimed.
///
/// A job whose run ends in an error of the store (or of anything `run_job` cannot turn into
/// a retry or a failure) does not stop the other concerns' jobs of the round: every group
/// runs to its end, the jobs left unfinished are handed back as due
/// ([`crate::store::Store::release_claims`]), and the first error is returned. Without
/// that, a round cut short left its claimed jobs `running` under leases that later rounds
/// renewed, and a large backfill stalled with hundreds of jobs due and never claimed.
pub(crate) async fn run_due_jobs<T: Tracker + 'static>(cx: &Ctx<T>) -> Result<usize, EngineError> {
    use futures::StreamExt;
    // The claim marks the round's fresh jobs started (one commit for the round), as the
    // inbox counts a round's deliveries: a crash in the round counts one interruption for
    // each, so with a limit of 1 that would give innocent ones up, and each is started
    // alone then, just before it runs.
    let limit = cx.config.retry.interrupted_attempts.max(1);
    let rows = if limit > 1 {
        cx.store.claim_due_started(now_ms(), BATCH).await?
    } else {
        cx.store.claim_due(now_ms(), BATCH).await?
    };
    // One concern's jobs run in the order they were queued; different concerns run side
    // by side, so a slow or held tracker call does not hold up every other concern.
    let claimed = rows.len();
    if claimed > 0 {
        tracing::debug!(claimed, "outbox jobs claimed");
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut groups: Vec<(String, Vec<OutboxJob>)> = Vec::new();
    for row in rows {
        let concern = format!("{}#{}", row.payload["repo"], row.payload["number"]);
        match groups.iter_mut().find(|(c, _)| *c == concern) {
            Some((_, jobs)) => jobs.push(row),
            None => groups.push((concern, vec![row])),
        }
    }
    // A job whose earlier attempt was interrupted (the process went away while it ran)
    // runs alone first: if it takes the process down again, no other job is in flight.
    // The round's fresh jobs were marked started by the claim and count one interruption
    // then; from then on each of them is a suspect too, run alone and started just before.
    let mut suspects = Vec::new();
    for (_, jobs) in &mut groups {
        let (suspect, rest): (Vec<_>, Vec<_>) = std::mem::take(jobs)
            .into_iter()
            .partition(|j| j.interrupted > 0);
        suspects.extend(suspect);
        *jobs = rest;
    }
    let run_group = |jobs: Vec<OutboxJob>| async move {
        // The concern's issue is read once for all its jobs in this round.
        let concern = jobs.first().and_then(issue_of);
        let keys: Vec<&str> = jobs.iter().map(|row| row.idem_key.as_str()).collect();
        let _scope = concern.map(|(repo, number)| cx.issues.scope(repo, number, &keys));
        // A concern's later jobs wait on its earlier ones: after an error they are left
        // for the next round, in order. The one exception is a label edit queued just
        // before the epic and stories (an accept's `ready-for-council` removal): neither
        // reads what the other writes, so they run side by side.
        let kinds: Vec<&str> = jobs.iter().map(|r| r.kind.as_str()).collect();
        for step in steps(&kinds) {
            match step {
                Step::One(i) => run_job(cx, &jobs[i]).await?,
                Step::Beside(i, j) => {
                    let (a, b) = tokio::join!(run_job(cx, &jobs[i]), run_job(cx, &jobs[j]));
                    a?;
                    b?;
                }
            }
        }
        Ok::<(), EngineError>(())
    };
    let work = async {
        let mut first_error = None;
        for row in &suspects {
            // In a scope of its own: a decision reading the issue meanwhile sees that a
            // job of the concern ran ([`super::loaded`]).
            let _scope = issue_of(row)
                .map(|(repo, number)| cx.issues.scope(repo, number, &[row.idem_key.as_str()]));
            if let Err(e) = run_job(cx, row).await {
                first_error.get_or_insert(e);
            }
        }
        let results: Vec<Result<(), EngineError>> =
            futures::stream::iter(groups.into_iter().map(|(_, jobs)| jobs))
                .map(run_group)
                .buffer_unordered(CONCERNS_AT_ONCE)
                .collect()
                .await;
        for result in results {
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    };
    // The claimed jobs stay ours while they run, however long their retries take: the
    // lease is renewed, so no other replica takes one of them meanwhile.
    let done = while_renewing(work, crate::store::LEASE_RENEW, || async {
        if let Err(e) = cx.store.renew_leases(&ids).await {
            tracing::warn!(error = %e, "cannot renew the outbox leases");
        }
    })
    .await;
    if let Err(e) = done {
        match cx.store.release_claims(&ids).await {
            Ok(released) => {
                tracing::warn!(error = %e, released, "outbox round stopped on an error; its unfinished jobs are due again")
            }
            // Their leases are no longer renewed: they are claimed again once those end.
            Err(release) => {
                tracing::warn!(error = %e, %release, "outbox round stopped on an error; its unfinished jobs wait for their leases to end")
            }
        }
        return Err(e);
    }
    Ok(claimed)
}

/// The issue a claimed job is about (`repo`, `number` of its payload), when it names one.
fn issue_of(row: &OutboxJob) -> Option<(&str, u64)> {
    Some((
        row.payload["repo"].as_str()?,
        row.payload["number"].as_u64()?,
    ))
}

/// How one concern's claimed jobs run: one after another, or two side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The job at this index, alone.
    One(usize),
    /// These two at once.
    Beside(usize, usize),
}

/// The order a concern's jobs (their kinds, as queued) run in: in turn, except that a
/// `labels` job directly followed by a `materialize` runs beside it. A label edit on the
/// GitHub issue and the tracker's epic and stories touch different things (the epic reads
/// the issue's title and body, the label edit writes labels), so an accept's
/// `ready-for-council` removal does not delay the epic by a round trip and two commits.
fn steps(kinds: &[&str]) -> Vec<Step> {
    let mut out = Vec::with_capacity(kinds.len());
    let mut i = 0;
    while i < kinds.len() {
        if kinds[i] == "labels" && kinds.get(i + 1) == Some(&"materialize") {
            out.push(Step::Beside(i, i + 1));
            i += 2;
        } else {
            out.push(Step::One(i));
            i += 1;
        }
    }
    out
}

/// Runs `work` to its end with `renew` run every `every` *beside* it, and returns what
/// `work` returned.
///
/// Both are polled whenever either can go on, so a renewal waiting for a pooled connection
/// (or for SQLite's write lock) never stops `work` from finishing the statements, and
/// giving back the connections, it holds. The round's renewal used to be awaited inside a
/// `select!` arm, where the round's own jobs were not polled: every connection of the
/// pool sat with a job whose answer was ready but unread (or a job's transaction stayed open
/// holding the write lock), the renewal waited its 30 s for a connection, missed ticks
/// fired it again at once, and a large backfill stalled for minutes ("cannot renew the
/// outbox leases: pool timed out"). Missed ticks are delayed, not fired in a burst, so a
/// slow renewal is followed by one renewal, not a catch-up.
pub(crate) async fn while_renewing<W, R, F>(
    work: W,
    every: std::time::Duration,
    mut renew: R,
) -> W::Output
where
    W: std::future::Future,
    R: FnMut() -> F,
    F: std::future::Future<Output = ()>,
{
    let renewing = async {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once: the lease was just taken.
        tick.tick().await;
        loop {
            tick.tick().await;
            renew().await;
        }
    };
    tokio::pin!(work);
    tokio::pin!(renewing);
    tokio::select! {
        done = &mut work => done,
        () = &mut renewing => work.await,
    }
}

pub(crate) async fn run_job<T: Tracker + 'static>(
    cx: &Ctx<T>,
    row: &OutboxJob,
) -> Result<(), EngineError> {
    let limit = i64::from(cx.config.retry.interrupted_attempts.max(1));
    if row.interrupted >= limit {
        return park(cx, row).await;
    }
    let job: Job = match serde_json::from_value(row.payload.clone()) {
        Ok(job) => job,
        Err(e) => {
            tracing::error!(key = %row.idem_key, error = %e, "unreadable outbox job");
            return Ok(cx
                .store
                .fail(row.id, &format!("unreadable job: {e}"))
                .await?);
        }
    };
    if !row.started {
        cx.store.start_job(row.id).await?;
    }
    debug_fault_hook(&job);
    tracing::debug!(key = %row.idem_key, kind = job.kind(), "job starts");
    match execute(cx, &job, row.id).await {
        Ok(sent) => {
            tracing::info!(key = %row.idem_key, kind = job.kind(), "job done");
            match sent {
                // The tracking comment's new text and the job done: one commit.
                Some(s) => {
                    cx.store
                        .complete_with_tracking(row.id, &s.repo, s.number, s.comment_id, &s.digest)
                        .await?
                }
                None => cx.store.complete(row.id).await?,
            }
        }
        Err(e) if e.is_transient() && (row.attempts as u32) < job_attempts(cx) => {
            let policy = RetryPolicy::from(&cx.config.retry);
            let wait = policy.delay(row.attempts.max(1) as u32, crate::retry::RetryHint::Backoff);
            tracing::warn!(key = %row.idem_key, error = %e, wait_ms = wait.as_millis() as u64, "job will be retried");
            cx.store
                .retry_later(row.id, now_ms() + wait.as_millis() as i64, &e.to_string())
                .await?;
        }
        Err(e) => {
            tracing::error!(key = %row.idem_key, kind = job.kind(), error = %e, "job failed");
            cx.store.fail(row.id, &e.to_string()).await?;
            report_failure(cx, &job, row.id, &e).await?;
        }
    }
    Ok(())
}

/// Parks a job whose attempts kept ending with the process gone: it is not run again
/// (not by a restart, not by reconcile) until its input changes, and the reason shows in
/// the tracking comment and `/status`.
pub(crate) async fn park<T: Tracker + 'static>(
    cx: &Ctx<T>,
    row: &OutboxJob,
) -> Result<(), EngineError> {
    let reason = format!(
        "parked after {} attempts that each stopped the daemon before finishing; \
         it runs again when the issue's title or body is edited",
        row.interrupted
    );
    tracing::error!(key = %row.idem_key, kind = %row.kind, interrupted = row.interrupted, "job parked");
    let Ok(job) = serde_json::from_value::<Job>(row.payload.clone()) else {
        cx.store.park(row.id, &reason, None).await?;
        return Ok(());
    };
    let (repo, number) = job.issue();
    // The input it ran on, so that only a changed one queues it again. Unknown when
    // GitHub cannot be read now: then the next reconcile may try it once more.
    let input = match cx.github.get_issue(repo, number).await {
        Ok(issue) => Some(handlers::materialize::input_digest(&issue)),
        Err(e) => {
            tracing::warn!(error = %e, "parking without the input's digest");
            None
        }
    };
    cx.store.park(row.id, &reason, input.as_deref()).await?;
    if matches!(job, Job::Tracking { .. }) {
        return Ok(());
    }
    cx.store
        .set_last_error(repo, number, Some(&format!("{} {reason}", job.kind())))
        .await?;
    enqueue_tracking(cx, repo, number, &format!("parked-{}", row.id)).await
}

/// Job-level attempts on top of each call's own retries: a transient outage longer than
/// one call's retry budget still ends in a success, not a lost write.
pub(crate) fn job_attempts<T: Tracker + 'static>(cx: &Ctx<T>) -> u32 {
    cx.config.retry.attempts.max(1) * 4
}

/// Shows a failure that retrying cannot fix in the tracking comment.
pub(crate) async fn report_failure<T: Tracker + 'static>(
    cx: &Ctx<T>,
    job: &Job,
    row_id: i64,
    err: &EngineError,
) -> Result<(), EngineError> {
    let (repo, number) = job.issue();
    if matches!(job, Job::Tracking { .. }) {
        return Ok(());
    }
    cx.store
        .set_last_error(repo, number, Some(&format!("{} failed: {err}", job.kind())))
        .await?;
    enqueue_tracking(cx, repo, number, &format!("failed-{row_id}")).await
}

pub(crate) async fn enqueue_tracking<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    why: &str,
) -> Result<(), EngineError> {
    let job = Job::Tracking {
        repo: repo.into(),
        number,
    };
    cx.enqueue_job(KeyedJob::new(
        format!("tracking:{repo}#{number}:{why}"),
        job,
    ))
    .await?;
    Ok(())
}

/// Runs `job`. `Some` when it edited the tracking comment and left recording the new text
/// to the job's completion ([`handlers::tracking::Sent`]).
pub(crate) async fn execute<T: Tracker + 'static>(
    cx: &Ctx<T>,
    job: &Job,
    row_id: i64,
) -> Result<Option<handlers::tracking::Sent>, EngineError> {
    if let Job::Materialize {
        repo,
        number,
        stories,
    } = job
    {
        return handlers::materialize::run(cx, repo, *number, *stories, row_id).await;
    }
    execute_other(cx, job).await.map(|()| None)
}

/// [`execute`] for every kind but [`Job::Materialize`].
async fn execute_other<T: Tracker + 'static>(cx: &Ctx<T>, job: &Job) -> Result<(), EngineError> {
    match job {
        Job::Labels {
            repo,
            number,
            add,
            remove,
        } => handlers::issue_writes::labels(cx, repo, *number, add, remove).await,
        Job::Reply {
            repo,
            number,
            marker_key,
            body,
        } => handlers::issue_writes::reply(cx, repo, *number, marker_key, body).await,
        Job::CloseNotPlanned { repo, number } => {
            handlers::issue_writes::close_not_planned(cx, repo, *number).await
        }
        Job::Tracking { repo, number } => {
            handlers::tracking::refresh_tracking(cx, repo, *number).await
        }
        // Run by `execute` itself (it returns what the tracking comment now reads).
        Job::Materialize { .. } => Ok(()),
        Job::SyncFromTracker { repo, number } => {
            handlers::sync_from_tracker::sync_from_tracker(cx, repo, *number).await
        }
        Job::FollowIssue {
            repo,
            number,
            change,
        } => handlers::follow_issue::follow_issue(cx, repo, *number, *change).await,
        Job::RecordResults {
            repo,
            number,
            text,
            by,
        } => handlers::results::record_results(cx, repo, *number, text, by).await,
        Job::CopyResults {
            repo,
            number,
            text,
            by,
        } => handlers::results::copy_results(cx, repo, *number, text, by).await,
        Job::Reconcile { repo, number } => cx.reconcile_one(repo, *number).await,
        Job::Relink {
            repo,
            number,
            from_repo,
            from_number,
        } => handlers::transfer::relink(cx, repo, *number, from_repo, *from_number).await,
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;
    use crate::store::testing::temp_store;

    #[test]
    fn only_a_label_edit_just_before_the_epic_runs_beside_it() {
        use Step::{Beside, One};
        // An accept: the label removal beside the epic, then the tracking comment.
        assert_eq!(
            steps(&["labels", "materialize", "tracking"]),
            [Beside(0, 1), One(2)]
        );
        // Anything else keeps its turn: two label edits stay in order, a reply or a
        // tracking refresh before the epic waits, and a label edit after it waits for it.
        assert_eq!(
            steps(&["labels", "labels", "materialize"]),
            [One(0), Beside(1, 2)]
        );
        assert_eq!(steps(&["reply", "materialize"]), [One(0), One(1)]);
        assert_eq!(steps(&["materialize", "labels"]), [One(0), One(1)]);
        assert_eq!(steps(&["tracking", "labels"]), [One(0), One(1)]);
        assert_eq!(steps(&[]), []);
    }

    /// The stall of a large backfill, small: the round's work holds every pooled connection
    /// (a job's statement answered but not yet read back, a transaction between two of its
    /// statements) when a lease renewal starts and waits for a connection. The work must go
    /// on beside the waiting renewal, give its connections back and finish; awaited instead
    /// of it, the renewal waited out the pool's 30 s acquire timeout while nothing ran.
    #[tokio::test]
    async fn a_renewal_waiting_for_a_connection_never_stops_the_work_holding_them() {
        let (store, _dir) = temp_store().await;
        let pool_size = store.pool().options().get_max_connections();
        let renewal_started = Arc::new(Notify::new());
        let work = async {
            let mut held = Vec::new();
            for _ in 0..pool_size {
                held.push(store.pool().acquire().await.expect("acquire"));
            }
            // Every connection is ours until a renewal is under way.
            renewal_started.notified().await;
            drop(held);
            store.ping().await
        };
        let renew = || async {
            renewal_started.notify_one();
            // Needs a connection: it waits until the work gives one back.
            store.ping().await.expect("renewal");
        };
        let done = tokio::time::timeout(
            Duration::from_secs(10),
            while_renewing(work, Duration::from_millis(10), renew),
        )
        .await
        .expect("the work finished beside the waiting renewal (not starved by it)");
        done.expect("the work's last statement");
    }
}
