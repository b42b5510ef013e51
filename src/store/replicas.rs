//! What several replicas on one PostgreSQL database need beyond single statements: who leads
//! a kind of periodic work, and keeping a running job's lease while it runs.
//!
//! * **Leadership** ([`Store::lead`]): the inbox round, the tracker poll and reconcile, and
//!   the agenda poster are each done by one replica at a time. On PostgreSQL the leader holds
//!   a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`) on a connection of its
//!   own for the round; the lock goes with the transaction, so a replica killed mid-round
//!   loses it the moment its connection closes, and another replica takes the next round.
//!   On SQLite the daemon holds the store file's exclusive lock, so it always leads.
//! * **Leases**: a claimed outbox row is `running` until `next_attempt_at` (the lease, see
//!   [`CLAIM_LEASE`](super::CLAIM_LEASE)); the process that claimed it (`claimed_by`) renews
//!   it every [`LEASE_RENEW`] while the job runs, so a slow job is never taken by another
//!   replica, and a killed replica's jobs are due again one lease after it died.
//!
//! PostgreSQL: advisory locks,
//! <https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS>.

use std::time::Duration;

use sqlx::{Any, Transaction};

use super::outbox::lease_ms;
use super::{Backend, Store, StoreError, now_ms};

/// How often a process renews the leases of the jobs it runs; a third of the lease, so two
/// renewals may fail (a slow database) before another replica could take the job.
pub const LEASE_RENEW: Duration = Duration::from_secs(5);

/// A kind of work one replica does at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Deciding stored deliveries, in arrival order.
    Inbox,
    /// Polling the tracker and reconciling every concern.
    Periodic,
    /// Posting and refreshing the council's agenda issue.
    Agenda,
}

impl Role {
    /// The advisory lock key: `council-sync` in ASCII in the high bytes, the role below, so
    /// it is unlikely to meet another application's keys on a shared server.
    fn key(self) -> i64 {
        const BASE: i64 = 0x636f_756e_6369_0000; // "counci" then the role
        BASE + match self {
            Self::Inbox => 1,
            Self::Periodic => 2,
            Self::Agenda => 3,
        }
    }
}

/// The advisory lock key that serialises outbox claims (see `Store::claim_due`).
pub(crate) const CLAIM_KEY: i64 = 0x636f_756e_6369_0010;

/// Held while this process does a [`Role`]'s work; dropping it (or [`Leadership::release`])
/// lets another replica lead.
#[derive(Debug)]
pub struct Leadership {
    /// The transaction holding the advisory lock (PostgreSQL); `None` on SQLite.
    tx: Option<Transaction<'static, Any>>,
}

impl Leadership {
    /// Gives the role up now (ends the lock's transaction).
    pub async fn release(self) {
        if let Some(tx) = self.tx
            && let Err(e) = tx.rollback().await
        {
            // The connection is gone, and with it the lock.
            tracing::debug!(error = %e, "releasing a leadership");
        }
    }
}

impl Store {
    /// Whether this process may do `role`'s work now: `Some` while it leads (keep the value
    /// for the round), `None` when another replica does. Never waits for the lock.
    pub async fn lead(&self, role: Role) -> Result<Option<Leadership>, StoreError> {
        match self.backend() {
            Backend::Sqlite => Ok(Some(Leadership { tx: None })),
            Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(role.key())
                    .fetch_one(&mut *tx)
                    .await?;
                if got {
                    Ok(Some(Leadership { tx: Some(tx) }))
                } else {
                    tx.rollback().await?;
                    Ok(None)
                }
            }
        }
    }

    /// Extends the lease of every job this process has claimed and still runs, to a full
    /// lease from now. Returns how many it renewed.
    pub async fn renew_leases(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE state = 'running' AND claimed_by = $2",
        )
        .bind(now.saturating_add(lease_ms()))
        .bind(self.replica_id())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// This process's id in `outbox.claimed_by`.
    pub(crate) fn replica_id(&self) -> &str {
        &self.replica
    }
}

/// The concern an outbox payload names (`owner/name#number`), for `outbox.concern`: the
/// engine's jobs all carry `repo` and `number`.
pub(crate) fn concern_of(payload: &serde_json::Value) -> Option<String> {
    let repo = payload.get("repo")?.as_str()?;
    let number = payload.get("number")?.as_u64()?;
    Some(format!("{repo}#{number}"))
}
