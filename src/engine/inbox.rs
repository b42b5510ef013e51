//! The inbox loop's round: takes stored deliveries oldest first and hands each to the
//! handler of its source ([`handlers::issues_event`], [`handlers::tracker_event`]). A run
//! of edits of one issue in the round is handled once, at its first delivery, and every
//! delivery of the run gets that outcome ([`coalesce`]).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::coalesce::{self, Role};
use super::context::Ctx;
use super::handlers;
use super::{BATCH, EngineError};
use crate::config::Scope;
use crate::github::webhook::events::{self, GithubEvent};
use crate::store::{DeliveryHeader, IngestPressure, Source};
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
///
/// The round reads every pending delivery without its body, places each among the runs by
/// the routing columns stored at ingest (a row stored without them: by its decoded body),
/// and reads, decompresses and decodes the bodies of the deliveries it acts on only: a run
/// of N edits costs one body, not N.
pub(crate) async fn process_pending<T: Tracker + 'static>(
    cx: &Ctx<T>,
) -> Result<usize, EngineError> {
    let batch = cx.store.pending_headers(BATCH).await?;
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
    let mut bodies: HashMap<i64, Vec<u8>> = HashMap::new();
    // GitHub deliveries decoded so far (rows stored without routing columns, for their
    // role), each once: for its role and for its handler.
    let mut decoded: HashMap<i64, GithubEvent> = HashMap::new();
    // Deliveries counted alone (limit 1) are never folded: each start is its own commit.
    let heads = if counted_together {
        let unrouted: Vec<i64> = batch
            .iter()
            .filter(|d| d.source == Source::Github && d.routing.is_none())
            .map(|d| d.seq)
            .collect();
        bodies = cx.store.delivery_bodies(&unrouted).await?;
        for d in batch.iter().filter(|d| unrouted.contains(&d.seq)) {
            if let Some(event) = bodies
                .get(&d.seq)
                .and_then(|body| events::decode(&d.event, body).ok())
            {
                decoded.insert(d.seq, event);
            }
        }
        let scope = Scope::of(&cx.config);
        let me = cx.bot_login().await?;
        let roles: Vec<Role> = batch
            .iter()
            .map(|d| {
                let routing = match (d.source, &d.routing) {
                    (Source::Tracker, _) => None,
                    (Source::Github, Some(r)) => Some(r.clone()),
                    (Source::Github, None) => decoded.get(&d.seq).and_then(coalesce::routing_of),
                };
                match routing {
                    Some(r) => coalesce::role(
                        &r,
                        &d.event,
                        d.action.as_deref(),
                        d.interrupted > 0,
                        &scope,
                        me,
                    ),
                    // A tracker's delivery, an ignored event, one that does not decode.
                    None => Role::Apart,
                }
            })
            .collect();
        coalesce::runs(&roles)
    } else {
        (0..batch.len()).collect()
    };
    // The bodies of the deliveries acted on (those of a run's rest are never read).
    let unread: Vec<i64> = batch
        .iter()
        .enumerate()
        .filter(|&(i, d)| heads[i] == i && !bodies.contains_key(&d.seq))
        .map(|(_, d)| d.seq)
        .collect();
    bodies.extend(cx.store.delivery_bodies(&unread).await?);
    for (i, header) in batch.iter().enumerate() {
        if heads[i] != i {
            // Handled with the head of its run, just below (or already).
            continue;
        }
        let Some(body) = bodies.remove(&header.seq) else {
            return Err(EngineError::Store(crate::store::StoreError::Corrupt {
                what: "inbox",
                reason: format!("pending delivery {} has no body", header.seq),
            }));
        };
        let delivery = &header.clone().with_body(body);
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
        let outcome = match (delivery.source, decoded.remove(&delivery.seq)) {
            (Source::Github, Some(event)) => {
                handlers::issues_event::process_decoded(cx, delivery, event).await
            }
            // Decoded by its handler (which says why when it does not decode).
            (Source::Github, None) => handlers::issues_event::process_github(cx, delivery).await,
            (Source::Tracker, _) => handlers::tracker_event::process_tracker(cx, delivery).await,
        };
        // The rest of its run: the edits this reading and decision stood for.
        let run: Vec<&DeliveryHeader> = batch
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
                for (source, received_at) in
                    std::iter::once((delivery.source, delivery.received_at))
                        .chain(run.iter().map(|d| (d.source, d.received_at)))
                {
                    crate::metrics::observe_webhook_lag(
                        match source {
                            Source::Github => "github",
                            Source::Tracker => "tracker",
                        },
                        received_at,
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
