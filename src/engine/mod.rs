//! The sync loop: inbox → decide (council) → outbox → GitHub and trackers.
//!
//! Two tasks share the store. The *inbox* task takes stored webhook deliveries in order,
//! re-reads the issue from GitHub (a webhook is a cue, not the truth), asks `council::decide`,
//! and records the new stage, the decision and the outbox jobs in one transaction together
//! with marking the delivery done. The *outbox* task runs due jobs; each job is idempotent
//! (label changes, marker-checked comments, marker-checked tracker creates), so running one
//! again after a crash is safe. Both wake on a `Notify` and also tick, so a retry scheduled
//! for later is picked up without a new event: the inbox on the store's notifier for new
//! deliveries, the outbox on the store's notifier for queued jobs
//! ([`Store::outbox_notify`], woken by the commit that queued them). A third task polls the tracker for issues
//! updated since its cursor (JQL `updated >=`) and, less often, enqueues a reconcile of every
//! concern: together they repair whatever lost webhooks left behind.
//!
//! Replicas on one PostgreSQL store: each inbox round, tracker poll and reconcile pass is
//! led by one replica at a time (`Store::lead`), outbox jobs are claimed under leases that
//! the claiming process renews while it runs them (`Store::renew_leases`).

mod backfill;
pub(crate) mod coalesce;
mod context;
mod describe;
mod error;
mod handlers;
mod inbox;
mod jobs;
mod loaded;
mod outbox;
mod plan;
mod poll;
mod reconcile;
mod routing;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

pub use backfill::{BackfillEstimate, BackfillItem, BackfillSummary, DrainProgress, STALL};
pub use context::Ctx;
pub use describe::{epic_marker, story_marker};
pub use error::EngineError;
pub use jobs::{IssueChange, Job, KeyedJob};

use crate::concern::form::IssueForm;
use crate::config::Config;
use crate::github::client::GithubClient;
use crate::store::{Role, Store};
use crate::tracker::Tracker;

/// How often the loops look for due work when nothing wakes them: retries scheduled for
/// later are picked up within this time.
pub const IDLE_TICK: Duration = Duration::from_millis(500);

/// Deliveries and jobs taken per round; bounds one transaction and one claim.
const BATCH: u32 = 50;

/// The identities the daemon writes as, so their events are recognised as its own.
#[derive(Debug, Clone)]
pub struct OwnAccounts {
    /// GitHub login.
    pub github: String,
    /// Tracker account, as the tracker spells accounts ([`Tracker::own_account`]).
    pub tracker: String,
}

/// The loops (inbox, outbox, periodic) over the handlers' context.
pub struct Engine<T> {
    /// What the handlers work with.
    pub(crate) cx: Ctx<T>,
    /// Woken when new deliveries are stored or jobs enqueued.
    pub(crate) wake: Arc<Notify>,
}

impl<T> std::ops::Deref for Engine<T> {
    type Target = Ctx<T>;

    fn deref(&self) -> &Ctx<T> {
        &self.cx
    }
}

impl<T: Tracker + 'static> Engine<T> {
    /// Wires the engine; `wake` is the store's notifier for new deliveries. `accounts`:
    /// the daemon's own, when asked at start (`run`); `None` asks each when first needed
    /// (the one-shot commands, see [`Ctx::bot_login`](context::Ctx::bot_login)).
    pub fn new(
        store: Store,
        github: GithubClient,
        tracker: T,
        config: Arc<Config>,
        form: IssueForm,
        accounts: Option<OwnAccounts>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            cx: Ctx::new(store, github, tracker, config, form, accounts),
            wake,
        }
    }

    /// Runs due outbox jobs until none is left due (for `reconcile --once`); gives up after
    /// `deadline` so a job that keeps failing cannot hang the command.
    pub async fn drain(&self, deadline: std::time::Instant) -> Result<(), EngineError> {
        loop {
            let ran = outbox::run_due_jobs(&self.cx).await?;
            if ran == 0 && self.store.pending_count().await? == 0 {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(EngineError::Invalid(format!(
                    "{} write(s) still pending when the time ran out",
                    self.store.pending_count().await?
                )));
            }
            if ran == 0 {
                // Only retries scheduled for later remain: wait for the earliest tick.
                tokio::time::sleep(IDLE_TICK).await;
            }
        }
    }

    /// One inbox round, when this replica leads the inbox (always with SQLite; on PostgreSQL
    /// one replica at a time decides deliveries, in arrival order). Returns how many
    /// deliveries it handled (0 when another replica leads).
    async fn inbox_round(&self) -> Result<usize, EngineError> {
        let Some(lead) = self.store.lead(Role::Inbox).await? else {
            return Ok(0);
        };
        let handled = inbox::process_pending(&self.cx).await;
        lead.release().await;
        handled
    }

    /// Runs `work` when this replica leads `role` and no replica ran it within `every`
    /// (see `Store::lead_due`); `Ok(0)` otherwise.
    async fn led(
        &self,
        role: Role,
        every: Duration,
        work: impl std::future::Future<Output = Result<usize, EngineError>>,
    ) -> Result<usize, EngineError> {
        let Some(lead) = self.store.lead_due(role, every).await? else {
            return Ok(0);
        };
        let done = work.await;
        lead.release().await;
        done
    }

    /// Runs both loops until `stop` turns true. A round in progress (a delivery being
    /// decided, a job being executed) finishes first, so shutdown never cuts a write in half.
    pub async fn run(self: Arc<Self>, stop: watch::Receiver<bool>) {
        // Woken by the store itself when a commit queues jobs (a decision's, or one job
        // queued alone), so the first write of an accept starts as soon as the decision is
        // durable, not when the inbox round that made it ends; the inbox round and the
        // periodic loop still wake it after a round that handled something.
        let outbox_wake = self.store.outbox_notify();
        let inbox = {
            let me = self.clone();
            let outbox_wake = outbox_wake.clone();
            let mut stop = stop.clone();
            let pressure = me.store.ingest_pressure();
            async move {
                let mut last_round = tokio::time::Instant::now();
                while !*stop.borrow() {
                    inbox::yield_to_ingest(&pressure, last_round, &mut stop).await;
                    if *stop.borrow() {
                        break;
                    }
                    last_round = tokio::time::Instant::now();
                    match me.inbox_round().await {
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
            let outbox_wake = outbox_wake.clone();
            async move {
                while !*stop.borrow() {
                    match outbox::run_due_jobs(&me.cx).await {
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
        let periodic = self.clone().periodic(stop.clone(), outbox_wake.clone());
        tokio::join!(inbox, outbox, periodic);
        tracing::info!("engine stopped");
    }
}
