//! The inbox loop's round: takes stored deliveries oldest first and hands each to the
//! handler of its source ([`handlers::issues_event`], [`handlers::tracker_event`]).

use super::context::Ctx;
use super::handlers;
use super::{BATCH, EngineError};
use crate::store::Source;
use crate::tracker::Tracker;

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
    for delivery in &batch {
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
        let outcome = match delivery.source {
            Source::Github => handlers::issues_event::process_github(cx, delivery).await,
            Source::Tracker => handlers::tracker_event::process_tracker(cx, delivery).await,
        };
        match outcome {
            Ok(()) => crate::metrics::observe_webhook_lag(
                match delivery.source {
                    Source::Github => "github",
                    Source::Tracker => "tracker",
                },
                delivery.received_at,
            ),
            Err(e) if e.is_transient() => {
                tracing::warn!(delivery = %delivery.delivery_id, error = %e, "delivery will be retried");
                cx.store
                    .finish_delivery(delivery.seq, Err(e.to_string()))
                    .await?;
            }
            Err(e) => {
                tracing::error!(delivery = %delivery.delivery_id, error = %e, "delivery failed");
                cx.store
                    .abandon_delivery(delivery.seq, &e.to_string())
                    .await?;
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
