//! The periodic work: the tracker poll (issues updated since the cursor), the reconcile
//! pass (GitHub issues updated since each repository's cursor) and, rarely, the full sweep;
//! each led by one replica at a time.
//!
//! The tracker's `updated_since` keeps an overlap before the cursor (Jira's JQL compares
//! `updated` at the minute), so every poll lists again what the last one saw in that
//! minute. Those items are dropped by (key, `updated`) before anything is looked up or
//! queued: an item is handled again only when its `updated` moved. The set lives in memory
//! (a restart forgets it: the outbox's idempotency keys, which name the same (key,
//! `updated`), then drop the repeats) and keeps only what the overlap can list again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

use super::jobs::{Job, KeyedJob};
use super::{Engine, EngineError};
use crate::store::Role;
use crate::tracker::{TrackedIssue, Tracker};

/// The store cursor of the tracker poll: the newest `updated` seen (ms).
const TRACKER_CURSOR: &str = "tracker-updated";

/// How far before the newest `updated` seen the seen set is kept (ms): the trackers'
/// overlap (Jira: a minute before the cursor, rounded down to the minute, so under two
/// minutes), with a margin.
const SEEN_KEEP_MS: i64 = 3 * 60_000;

/// Tracker items already handled, by key, with the `updated` (ms) handled.
#[derive(Debug, Default)]
pub struct SeenItems(Mutex<HashMap<String, i64>>);

impl SeenItems {
    /// The items of `listed` not handled yet at their `updated`, in listing order.
    pub fn unseen<'a>(&self, listed: &'a [TrackedIssue]) -> Vec<&'a TrackedIssue> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        listed
            .iter()
            .filter(|t| seen.get(&t.key).is_none_or(|&at| at < t.updated_ms))
            .collect()
    }

    /// Records `handled` and forgets what is older than [`SEEN_KEEP_MS`] before `newest`
    /// (no overlap can list it again).
    pub fn remember(&self, handled: &[&TrackedIssue], newest: i64) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for t in handled {
            let at = seen.entry(t.key.clone()).or_insert(t.updated_ms);
            *at = (*at).max(t.updated_ms);
        }
        seen.retain(|_, at| *at >= newest.saturating_sub(SEEN_KEEP_MS));
    }

    /// How many items are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl<T: Tracker + 'static> Engine<T> {
    /// Asks the tracker for the concern issues updated since the cursor, drops those already
    /// handled at the same `updated` (the overlap), and enqueues a sync of each concern the
    /// rest belong to; then moves the cursor (the jobs are durable first). Returns how many
    /// syncs it queued.
    pub async fn poll_tracker(&self) -> Result<usize, EngineError> {
        let now = crate::store::now_ms();
        let Some(since) = self.store.get_cursor(TRACKER_CURSOR).await? else {
            // First start: webhooks and the full sweep cover the past; poll from now on.
            self.store.set_cursor(TRACKER_CURSOR, now).await?;
            return Ok(0);
        };
        let updated = self.tracker.updated_since(since).await?;
        let fresh = self.poll_seen.unseen(&updated);
        let mut queued = 0;
        let newest = updated.iter().map(|t| t.updated_ms).fold(since, i64::max);
        for t in &fresh {
            if let Some((repo, number)) = self.store.concern_for_tracker_key(&t.key).await? {
                let key = format!("sync:{repo}#{number}:poll:{}:{}", t.key, t.updated_ms);
                if self
                    .enqueue_job(KeyedJob::new(
                        key,
                        Job::SyncFromTracker {
                            repo: repo.clone(),
                            number,
                        },
                    ))
                    .await?
                {
                    queued += 1;
                }
            }
        }
        self.store.set_cursor(TRACKER_CURSOR, newest).await?;
        self.poll_seen.remember(&fresh, newest);
        tracing::debug!(
            listed = updated.len(),
            fresh = fresh.len(),
            queued,
            "tracker poll"
        );
        Ok(queued)
    }

    /// The reconcile pass, then the full sweep when one is due.
    async fn reconcile_round(&self) -> Result<usize, EngineError> {
        let queued = self.reconcile_pass().await?;
        Ok(queued + self.sweep_if_due().await?)
    }

    /// The periodic loop: the tracker poll every `sync.poll_interval` and the reconcile pass
    /// (and, when due, the full sweep) every `sync.reconcile_interval`, until `stop` turns
    /// true; wakes the outbox when either queued work. Both run once at start: only what
    /// changed since their cursors.
    pub(super) async fn periodic(
        self: Arc<Self>,
        mut stop: watch::Receiver<bool>,
        outbox_wake: Arc<Notify>,
    ) {
        let me = self;
        let mut poll = tokio::time::interval(me.config.sync.poll_interval);
        let mut reconcile = tokio::time::interval(me.config.sync.reconcile_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() {
            let result = tokio::select! {
                _ = poll.tick() => me.led(Role::Poll, me.config.sync.poll_interval, me.poll_tracker()).await,
                _ = reconcile.tick() => me.led(Role::Reconcile, me.config.sync.reconcile_interval, me.reconcile_round()).await,
                _ = stop.changed() => Ok(0),
            };
            match result {
                Ok(n) if n > 0 => outbox_wake.notify_one(),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "periodic sync round failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::Progress;

    fn item(key: &str, updated_ms: i64) -> TrackedIssue {
        TrackedIssue {
            key: key.into(),
            id: key.into(),
            url: String::new(),
            summary: String::new(),
            status: String::new(),
            progress: Progress::Todo,
            assignee: None,
            assignee_account: None,
            iteration: None,
            updated_ms,
        }
    }

    #[test]
    fn the_overlap_is_dropped_and_a_newer_update_is_not() {
        let seen = SeenItems::default();
        let first = [item("PAY-1", 1_000), item("PAY-2", 2_000)];
        let fresh = seen.unseen(&first);
        assert_eq!(fresh.len(), 2);
        seen.remember(&fresh, 2_000);
        // The next poll lists both again (same minute) and PAY-1 once more, changed.
        let second = [
            item("PAY-1", 1_000),
            item("PAY-2", 2_000),
            item("PAY-1", 2_500),
            item("PAY-3", 2_400),
        ];
        let keys: Vec<(&str, i64)> = seen
            .unseen(&second)
            .iter()
            .map(|t| (t.key.as_str(), t.updated_ms))
            .collect();
        assert_eq!(keys, [("PAY-1", 2_500), ("PAY-3", 2_400)]);
    }

    #[test]
    fn what_no_overlap_can_list_again_is_forgotten() {
        let seen = SeenItems::default();
        let old = [item("PAY-1", 0)];
        seen.remember(&seen.unseen(&old), 0);
        let new = [item("PAY-2", SEEN_KEEP_MS + 1)];
        seen.remember(&seen.unseen(&new), SEEN_KEEP_MS + 1);
        assert_eq!(seen.len(), 1);
    }

    proptest::proptest! {
        /// Whatever was polled before, listing the same items again yields nothing, and an
        /// item listed with a later `updated` always comes through.
        #[test]
        fn a_repeat_is_dropped_and_a_change_is_not(
            times in proptest::collection::vec(0_i64..100_000, 1..40),
            bump in 1_i64..1_000,
        ) {
            let seen = SeenItems::default();
            let listed: Vec<TrackedIssue> = times
                .iter()
                .enumerate()
                .map(|(i, t)| item(&format!("K-{}", i % 7), *t))
                .collect();
            let newest = times.iter().copied().max().unwrap_or(0);
            seen.remember(&seen.unseen(&listed), newest);
            proptest::prop_assert!(seen.unseen(&listed).is_empty());
            let later = [item("K-0", newest + bump)];
            proptest::prop_assert_eq!(seen.unseen(&later).len(), 1);
        }
    }
}
