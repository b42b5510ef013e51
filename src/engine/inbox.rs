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
        cx.store.begin_delivery(delivery.seq).await?;
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
