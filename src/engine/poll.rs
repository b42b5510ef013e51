//! The periodic work: the tracker poll (issues updated since the cursor) and the reconcile
//! pass, each led by one replica at a time.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::jobs::{Job, KeyedJob};
use super::{Engine, EngineError};
use crate::store::Role;
use crate::tracker::Tracker;

/// The store cursor of the tracker poll: the newest `updated` seen (ms).
const TRACKER_CURSOR: &str = "tracker-updated";

impl<T: Tracker + 'static> Engine<T> {
    /// Asks the tracker for the concern issues updated since the cursor and enqueues a sync
    /// of each concern they belong to; moves the cursor. Returns how many syncs it queued.
    pub async fn poll_tracker(&self) -> Result<usize, EngineError> {
        let now = crate::store::now_ms();
        let Some(since) = self.store.get_cursor(TRACKER_CURSOR).await? else {
            // First start: webhooks and reconcile cover the past; poll from now on.
            self.store.set_cursor(TRACKER_CURSOR, now).await?;
            return Ok(0);
        };
        let updated = self.tracker.updated_since(since).await?;
        let mut queued = 0;
        let mut newest = since;
        for t in &updated {
            newest = newest.max(t.updated_ms);
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
        Ok(queued)
    }

    /// The periodic loop: the tracker poll every `sync.poll_interval` and the reconcile pass
    /// every `sync.reconcile_interval`, until `stop` turns true; wakes the outbox when either
    /// queued work.
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
                _ = reconcile.tick() => me.led(Role::Reconcile, me.config.sync.reconcile_interval, me.reconcile_pass()).await,
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
