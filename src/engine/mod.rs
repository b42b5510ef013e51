//! The sync loop: inbox → decide (council) → outbox → GitHub and trackers.
//!
//! Two tasks share the store. The *inbox* task takes stored webhook deliveries in order,
//! re-reads the issue from GitHub (a webhook is a cue, not the truth), asks `council::decide`,
//! and records the new stage, the decision and the outbox jobs in one transaction together
//! with marking the delivery done. The *outbox* task runs due jobs; each job is idempotent
//! (label changes, marker-checked comments, marker-checked tracker creates), so running one
//! again after a crash is safe. Both wake on a `Notify` and also tick, so a retry scheduled
//! for later is picked up without a new event.

mod describe;
mod error;
mod execute;
mod jobs;
mod plan;
mod process;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

pub use describe::{epic_marker, story_marker};
pub use error::EngineError;
pub use jobs::{Job, KeyedJob};

use crate::concern::form::IssueForm;
use crate::config::Config;
use crate::github::client::GithubClient;
use crate::store::Store;
use crate::tracker::Tracker;

/// How often the loops look for due work when nothing wakes them: retries scheduled for
/// later are picked up within this time.
pub const IDLE_TICK: Duration = Duration::from_millis(500);

/// Deliveries and jobs taken per round; bounds one transaction and one claim.
const BATCH: u32 = 50;

/// Everything the loops need, shared between them.
pub struct Engine<T> {
    pub(crate) store: Store,
    pub(crate) github: GithubClient,
    pub(crate) tracker: T,
    pub(crate) config: Arc<Config>,
    pub(crate) form: IssueForm,
    /// The daemon's own login: events it caused are not reacted to.
    pub(crate) bot_login: String,
    /// Woken when new deliveries are stored or jobs enqueued.
    pub(crate) wake: Arc<Notify>,
}

impl<T: Tracker + 'static> Engine<T> {
    /// Wires the engine; `wake` is the store's notifier for new deliveries.
    pub fn new(
        store: Store,
        github: GithubClient,
        tracker: T,
        config: Arc<Config>,
        form: IssueForm,
        bot_login: String,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            github,
            tracker,
            config,
            form,
            bot_login,
            wake,
        }
    }

    /// Runs both loops until `stop` turns true. A round in progress (a delivery being
    /// decided, a job being executed) finishes first, so shutdown never cuts a write in half.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        let outbox_wake = Arc::new(Notify::new());
        let inbox = {
            let me = self.clone();
            let outbox_wake = outbox_wake.clone();
            let mut stop = stop.clone();
            async move {
                while !*stop.borrow() {
                    match me.process_pending().await {
                        Ok(n) if n > 0 => {
                            outbox_wake.notify_one();
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "inbox round failed"),
                    }
                    tokio::select! {
                        _ = me.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_TICK) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        };
        let outbox = {
            let me = self.clone();
            let mut stop = stop.clone();
            async move {
                while !*stop.borrow() {
                    match me.run_due_jobs().await {
                        Ok(n) if n > 0 => continue,
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "outbox round failed"),
                    }
                    tokio::select! {
                        _ = outbox_wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_TICK) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        };
        tokio::join!(inbox, outbox);
        tracing::info!("engine stopped");
    }
}
