//! The periodic work: the tracker poll (issues updated since the cursor), the reconcile
//! pass (GitHub issues updated since each repository's cursor) and, rarely, the full sweep;
//! each led by one replica at a time.
//!
//! The tracker's `updated_since` keeps an overlap before the cursor (Jira's JQL compares
//! `updated` at the minute), so every poll lists again what the last one saw in that
//! minute. Those items are dropped by (key, `updated`) before anything is looked up or
//! queued: an item is handled again only when its `updated` moved. The set of items handled
//! is kept in the store (cursors named `tracker-seen:<key>`, so a restart or a one-shot
//! `reconcile` knows it too), written after the jobs are queued, and trimmed to what the
//! overlap can list again. A first start (no cursor) lists the overlap once and records it
//! as seen without queuing anything: what changed before the start is the full sweep's.

use std::collections::HashMap;
use std::sync::Arc;

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

/// Prefix of the store cursors holding the tracker items the poll handled, by key.
const SEEN_PREFIX: &str = "tracker-seen:";

/// The items of `listed` not handled yet at their `updated` (`seen`: key → `updated`
/// handled), in listing order. Pure.
pub fn unseen<'a>(
    seen: &HashMap<String, i64>,
    listed: &'a [TrackedIssue],
) -> Vec<&'a TrackedIssue> {
    let mut out: Vec<&TrackedIssue> = Vec::new();
    for t in listed {
        let handled = seen.get(&t.key).is_some_and(|&at| at >= t.updated_ms);
        let repeated = out
            .iter()
            .any(|o| o.key == t.key && o.updated_ms >= t.updated_ms);
        if !handled && !repeated {
            out.push(t);
        }
    }
    out
}

impl<T: Tracker + 'static> Engine<T> {
    /// Asks the tracker for the concern issues updated since the cursor, drops those already
    /// handled at the same `updated` (the overlap), and enqueues a sync of each concern the
    /// rest belong to; then moves the cursor (the jobs are durable first). Returns how many
    /// syncs it queued.
    pub async fn poll_tracker(&self) -> Result<usize, EngineError> {
        let (since, first) = match self.store.get_cursor(TRACKER_CURSOR).await? {
            Some(since) => (since, false),
            None => (crate::store::now_ms(), true),
        };
        let seen = self
            .store
            .seen_since(SEEN_PREFIX, since.saturating_sub(SEEN_KEEP_MS))
            .await?;
        let updated = self.tracker.changed_since(since, &seen).await?;
        let fresh = unseen(&seen, &updated);
        let newest = updated.iter().map(|t| t.updated_ms).fold(since, i64::max);
        let mut queued = 0;
        // A first start records the overlap as seen and queues nothing: what changed before
        // the start is the full sweep's (and `backfill`'s).
        for t in fresh.iter().filter(|_| !first) {
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
        let handled: Vec<(&str, i64)> = fresh
            .iter()
            .map(|t| (t.key.as_str(), t.updated_ms))
            .collect();
        self.store
            .remember_seen(SEEN_PREFIX, &handled, newest.saturating_sub(SEEN_KEEP_MS))
            .await?;
        self.store.set_cursor(TRACKER_CURSOR, newest).await?;
        tracing::debug!(
            listed = updated.len(),
            fresh = fresh.len(),
            queued,
            first,
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
        let first = [item("PAY-1", 1_000), item("PAY-2", 2_000)];
        let mut seen = HashMap::new();
        let fresh = unseen(&seen, &first);
        assert_eq!(fresh.len(), 2);
        for t in fresh {
            seen.insert(t.key.clone(), t.updated_ms);
        }
        // The next poll lists both again (same minute) and PAY-1 once more, changed.
        let second = [
            item("PAY-1", 1_000),
            item("PAY-2", 2_000),
            item("PAY-1", 2_500),
            item("PAY-3", 2_400),
            item("PAY-3", 2_400),
        ];
        let keys: Vec<(&str, i64)> = unseen(&seen, &second)
            .iter()
            .map(|t| (t.key.as_str(), t.updated_ms))
            .collect();
        assert_eq!(keys, [("PAY-1", 2_500), ("PAY-3", 2_400)]);
    }

    proptest::proptest! {
        /// Whatever was polled before, listing the same items again yields nothing, and an
        /// item listed with a later `updated` always comes through.
        #[test]
        fn a_repeat_is_dropped_and_a_change_is_not(
            times in proptest::collection::vec(0_i64..100_000, 1..40),
            bump in 1_i64..1_000,
        ) {
            let listed: Vec<TrackedIssue> = times
                .iter()
                .enumerate()
                .map(|(i, t)| item(&format!("K-{}", i % 7), *t))
                .collect();
            let mut seen: HashMap<String, i64> = HashMap::new();
            for t in unseen(&seen, &listed) {
                let at = seen.entry(t.key.clone()).or_insert(t.updated_ms);
                *at = (*at).max(t.updated_ms);
            }
            proptest::prop_assert!(unseen(&seen, &listed).is_empty());
            let newest = times.iter().copied().max().unwrap_or(0);
            let later = [item("K-0", newest + bump)];
            proptest::prop_assert_eq!(unseen(&seen, &later).len(), 1);
        }
    }
}
