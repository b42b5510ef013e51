//! The inbox loop's round: takes stored deliveries oldest first and hands each to the
//! handler of its source ([`handlers::issues_event`], [`handlers::tracker_event`]). A run
//! of edits of one issue in the round is handled once, at its first delivery, and every
//! delivery of the run gets that outcome ([`coalesce`]).

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::coalesce::{self, Role, issue_key};
use super::context::Ctx;
use super::handlers;
use super::{BATCH, EngineError};
use crate::config::Scope;
use crate::github::webhook::events::{self, GithubEvent, IssuesAction};
use crate::store::{Delivery, IngestPressure, Source};
use crate::tracker::Tracker;

/// Longest the inbox loop yields to a busy webhook writer before it runs a round anyway.
/// The bound on how long a burst of webhooks holds the engine back: however long the
/// burst, a round of up to [`BATCH`] deliveries (a run of edits counting as one) starts at
/// least this often, and the backlog is handled at full pace once the burst ends. A second
/// keeps the engine's lag within the poll's own cadence while giving the burst the CPU.
pub(crate) const MAX_YIELD: Duration = Duration::from_secs(1);

/// How often a yielding inbox loop looks again whether the writer is still busy.
const YIELD_STEP: Duration = Duration::from_millis(10);

/// Waits while the webhook writer is busy ([`IngestPressure::busy`]: webhooks queueing
/// behind each other's commits), until [`MAX_YIELD`] after `last_round` began at most, or
/// until `stop` turns true. Why: acks wait for CPU that the engine's rounds take (the
/// ingest bench saw the engine eat the writer's CPU on two cores); a backlog in the inbox
/// is durable and costs nothing but lag.
pub(crate) async fn yield_to_ingest(
    pressure: &IngestPressure,
    last_round: Instant,
    stop: &mut watch::Receiver<bool>,
) {
    while pressure.busy() && last_round.elapsed() < MAX_YIELD && !*stop.borrow() {
        tokio::select! {
            _ = tokio::time::sleep(YIELD_STEP) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Handles every pending delivery, oldest first. Returns how many were handled.
pub(crate) async fn process_pending<T: Tracker + 'static>(
    cx: &Ctx<T>,
) -> Result<usize, EngineError> {
    let batch = cx.store.pending_deliveries(BATCH).await?;
    let limit = i64::from(cx.config.retry.interrupted_attempts.max(1));
    // One commit counts the start of every delivery of the round never interrupted before
    // (one fsync'd transaction per round instead of one per delivery). A crash in the round
    // then counts one interruption for each of them, the innocent ones too; so a delivery
    // interrupted before is counted alone, just before it runs, and one that kills the
    // process again takes only itself towards the limit. With a limit of 1 that one
    // interruption would give innocent ones up: each is counted alone then.
    let counted_together = limit > 1;
    if counted_together {
        let fresh: Vec<i64> = batch
            .iter()
            .filter(|d| d.interrupted == 0)
            .map(|d| d.seq)
            .collect();
        cx.store.begin_deliveries(&fresh).await?;
    }
    // Each GitHub delivery decoded once: for its role in the runs and for its handler.
    let mut decoded: Vec<Option<GithubEvent>> = batch
        .iter()
        .map(|d| match d.source {
            Source::Github => events::decode(&d.event, &d.payload).ok(),
            Source::Tracker => None,
        })
        .collect();
    // Deliveries counted alone (limit 1) are never folded: each start is its own commit.
    let heads = if counted_together {
        let scope = Scope::of(&cx.config);
        let me = cx.bot_login().await?;
        let roles: Vec<Role> = batch
            .iter()
            .zip(&decoded)
            .map(|(d, e)| role(d, e.as_ref(), &scope, me))
            .collect();
        coalesce::runs(&roles)
    } else {
        (0..batch.len()).collect()
    };
    for (i, delivery) in batch.iter().enumerate() {
        if heads[i] != i {
            // Handled with the head of its run, just below (or already).
            continue;
        }
        if delivery.interrupted >= limit {
            let reason = format!(
                "given up: processing it stopped the daemon {} times",
                delivery.interrupted
            );
            tracing::error!(delivery = %delivery.delivery_id, interrupted = delivery.interrupted, "delivery given up");
            cx.store.abandon_delivery(delivery.seq, &reason).await?;
            continue;
        }
        if !counted_together || delivery.interrupted > 0 {
            cx.store.begin_deliveries(&[delivery.seq]).await?;
        }
        #[cfg(debug_assertions)]
        if std::env::var("COUNCIL_DEBUG_ABORT_DELIVERY")
            .is_ok_and(|e| delivery.action.as_deref() == Some(e.as_str()))
        {
            eprintln!("COUNCIL_DEBUG_ABORT_DELIVERY: aborting while deciding a delivery");
            std::process::abort();
        }
        let outcome = match (delivery.source, decoded[i].take()) {
            (Source::Github, Some(event)) => {
                handlers::issues_event::process_decoded(cx, delivery, event).await
            }
            // A delivery that does not decode: its handler says why.
            (Source::Github, None) => handlers::issues_event::process_github(cx, delivery).await,
            (Source::Tracker, _) => handlers::tracker_event::process_tracker(cx, delivery).await,
        };
        // The rest of its run: the edits this reading and decision stood for.
        let run: Vec<&Delivery> = batch
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i && heads[j] == i)
            .map(|(_, d)| d)
            .collect();
        let run_seqs: Vec<i64> = run.iter().map(|d| d.seq).collect();
        match outcome {
            Ok(()) => {
                cx.store.finish_deliveries(&run_seqs, Ok(())).await?;
                if !run.is_empty() {
                    crate::metrics::count_coalesced(run.len());
                }
                for d in std::iter::once(delivery).chain(run.iter().copied()) {
                    crate::metrics::observe_webhook_lag(
                        match d.source {
                            Source::Github => "github",
                            Source::Tracker => "tracker",
                        },
                        d.received_at,
                    );
                }
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(delivery = %delivery.delivery_id, run = run.len(), error = %e, "delivery will be retried");
                cx.store
                    .finish_delivery(delivery.seq, Err(e.to_string()))
                    .await?;
                cx.store
                    .finish_deliveries(&run_seqs, Err(e.to_string()))
                    .await?;
            }
            Err(e) => {
                tracing::error!(delivery = %delivery.delivery_id, run = run.len(), error = %e, "delivery failed");
                for seq in std::iter::once(delivery.seq).chain(run_seqs) {
                    cx.store.abandon_delivery(seq, &e.to_string()).await?;
                }
            }
        }
    }
    if let Some(last) = batch.last() {
        // The inbox's hint, once a round (the outcomes above are what counts).
        cx.store.mark_handled(last.seq).await?;
    }
    Ok(batch.len())
}

/// What `delivery` (decoded as `event`) is to the round's runs: only an edit of a watched
/// issue by someone else than the daemon reads the issue's state and nothing more, and
/// only a delivery never interrupted before may be folded into another's handling.
fn role(delivery: &Delivery, event: Option<&GithubEvent>, scope: &Scope, bot: &str) -> Role {
    let e = match event {
        Some(GithubEvent::Issues(e)) => e,
        Some(GithubEvent::IssueComment(c)) => {
            return Role::Touches(issue_key(&c.repo, c.issue.number));
        }
        Some(GithubEvent::Ignored { .. }) | None => return Role::Apart,
    };
    if e.transfer.is_some() || e.action == IssuesAction::Transferred {
        return Role::Barrier;
    }
    let key = issue_key(&e.repo, e.issue.number);
    let plain_edit = e.action == IssuesAction::Edited
        && e.sender != bot
        && delivery.interrupted == 0
        && scope.watches_repo(&e.repo)
        // A story changing on GitHub Projects is the tracker's cue as well: alone.
        && !scope.tracker_reads(&delivery.event, Some(&e.repo));
    if plain_edit {
        Role::Reads(key)
    } else {
        Role::Touches(key)
    }
}

pub(crate) async fn done<T: Tracker + 'static>(cx: &Ctx<T>, seq: i64) -> Result<(), EngineError> {
    Ok(cx.store.finish_delivery(seq, Ok(())).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy writer holds the inbox loop back for [`MAX_YIELD`] at most (never starved),
    /// an idle one not at all, and a stop ends the wait at once.
    #[tokio::test(start_paused = true)]
    async fn the_inbox_loop_yields_to_a_busy_writer_for_a_bounded_time() {
        let pressure = IngestPressure::default();
        let (stop_tx, mut stop) = watch::channel(false);

        let start = Instant::now();
        yield_to_ingest(&pressure, start, &mut stop).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "an idle writer: no wait");

        // Busy for longer than the bound: the round starts at the bound.
        pressure.busy_for(3_600_000);
        let start = Instant::now();
        yield_to_ingest(&pressure, start, &mut stop).await;
        let waited = start.elapsed();
        assert!(
            waited >= MAX_YIELD && waited <= MAX_YIELD + YIELD_STEP,
            "waited {waited:?}"
        );
        // A round that began long ago: no further wait.
        let start = Instant::now();
        yield_to_ingest(&pressure, start - MAX_YIELD, &mut stop).await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        stop_tx.send(true).expect("stop");
        let start = Instant::now();
        yield_to_ingest(&pressure, start, &mut stop).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "stopping: no wait");
    }
}
