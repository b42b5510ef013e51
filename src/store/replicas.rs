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
    /// Polling the tracker for issues updated since its cursor.
    Poll,
    /// Reconciling every concern.
    Reconcile,
    /// Posting and refreshing the council's agenda issue.
    Agenda,
}

impl Role {
    /// Its name in logs and in the cursor of its last round.
    pub fn name(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Poll => "poll",
            Self::Reconcile => "reconcile",
            Self::Agenda => "agenda",
        }
    }

    /// The advisory lock key: `council-sync` in ASCII in the high bytes, the role below, so
    /// it is unlikely to meet another application's keys on a shared server.
    fn key(self) -> i64 {
        const BASE: i64 = 0x636f_756e_6369_0000; // "counci" then the role
        BASE + match self {
            Self::Inbox => 1,
            Self::Poll => 2,
            Self::Reconcile => 3,
            Self::Agenda => 4,
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

    /// Like [`Store::lead`], for work that should run once per `every` across all replicas
    /// (reconcile, the tracker poll, the agenda): `Some` only when this process leads and no
    /// replica started the same role's round within the last nine tenths of `every` (the
    /// start is recorded in the cursor `lead:<role>`). On SQLite, always `Some`: the one
    /// daemon keeps its own timing.
    ///
    /// A process's first reconcile round is due whatever the cursor says: it repairs what
    /// was missed while this process was down (a delivery GitHub never redelivers), as the
    /// SQLite daemon's start-up pass does. Without it, a daemon restarted within the
    /// interval of its previous life's pass skipped the repair until the next interval.
    pub async fn lead_due(
        &self,
        role: Role,
        every: Duration,
    ) -> Result<Option<Leadership>, StoreError> {
        let Some(lead) = self.lead(role).await? else {
            return Ok(None);
        };
        if self.backend() == Backend::Sqlite {
            return Ok(Some(lead));
        }
        let start_up = role == Role::Reconcile
            && !self
                .reconciled_once
                .swap(true, std::sync::atomic::Ordering::SeqCst);
        let name = format!("lead:{}", role.name());
        let now = now_ms();
        let gap = i64::try_from(every.mul_f64(0.9).as_millis()).unwrap_or(i64::MAX);
        if !start_up
            && let Some(last) = self.get_cursor(&name).await?
            && now.saturating_sub(last) < gap
        {
            lead.release().await;
            return Ok(None);
        }
        self.set_cursor(&name, now).await?;
        Ok(Some(lead))
    }

    /// Extends the lease of the jobs `ids` (claimed by this process in the round that runs
    /// them, and still `running`) to a full lease from now. Returns how many it renewed.
    ///
    /// Only the round's own ids: a job a failed round left behind is not kept alive by a
    /// later round's renewals, so its lease ends and it is claimed again (see
    /// [`Store::release_claims`], which normally hands it back at once).
    pub async fn renew_leases(&self, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        // Built from integers only (no input text in it).
        let sql = format!(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE state = 'running' AND claimed_by = $2 AND id IN ({})",
            id_list(ids)
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now.saturating_add(lease_ms()))
            .bind(self.replica_id())
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(done.rows_affected())
    }

    /// Hands the jobs `ids` that this process claimed and did not finish (still `running`:
    /// their round stopped on an error before they ran or while they ran) back as due now,
    /// without counting an interrupted attempt: the process did not go away. Returns how
    /// many it released. Each job is idempotent, so running one again is safe.
    pub async fn release_claims(&self, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        // Built from integers only (no input text in it).
        let sql = format!(
            "UPDATE outbox SET state = 'pending', started_at = NULL, next_attempt_at = $1, \
                    updated_at = $1 \
             WHERE state = 'running' AND claimed_by = $2 AND id IN ({})",
            id_list(ids)
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(self.replica_id())
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(done.rows_affected())
    }

    /// This process's id in `outbox.claimed_by`.
    pub(crate) fn replica_id(&self) -> &str {
        &self.replica
    }
}

/// `ids` as a SQL list (`1, 2, 3`): integers only, so safe to write into the statement.
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The concern an outbox payload names (`owner/name#number`), for `outbox.concern`: the
/// engine's jobs all carry `repo` and `number`.
pub(crate) fn concern_of(payload: &serde_json::Value) -> Option<String> {
    let repo = payload.get("repo")?.as_str()?;
    let number = payload.get("number")?.as_u64()?;
    Some(format!("{repo}#{number}"))
}

/// PostgreSQL only: several `Store`s on one database stand for several replicas.
#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;
    use crate::store::testing::temp_pg_store;

    /// Two handles on one fresh database (two replicas), or `None` without PostgreSQL.
    async fn two_replicas() -> Option<(Store, Store)> {
        let (a, url) = temp_pg_store().await?;
        let b = Store::open(&url).await.expect("second replica");
        assert_ne!(a.replica_id(), b.replica_id());
        Some((a, b))
    }

    #[tokio::test]
    async fn replicas_claiming_at_once_never_take_the_same_job() {
        let Some((a, b)) = two_replicas().await else {
            return;
        };
        for i in 0..240 {
            let payload = json!({"repo": "acme/ops", "number": i % 24});
            a.enqueue(&format!("job-{i}"), "comment", &payload)
                .await
                .expect("enqueue");
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let worker = |store: Store, seen: Arc<Mutex<Vec<i64>>>| async move {
            loop {
                let jobs = store.claim_due(now_ms(), 7).await.expect("claim");
                if jobs.is_empty() {
                    if store.pending_count().await.expect("count") == 0 {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                for job in jobs {
                    seen.lock().expect("lock").push(job.id);
                    store.complete(job.id).await.expect("complete");
                }
            }
        };
        let workers: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
            .into_iter()
            .map(|s| tokio::spawn(worker(s, seen.clone())))
            .collect();
        for w in workers {
            w.await.expect("worker");
        }
        let seen = seen.lock().expect("lock").clone();
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), 240, "every job claimed");
        assert_eq!(unique.len(), 240, "no job claimed twice");
    }

    #[tokio::test]
    async fn one_concerns_jobs_stay_in_order_across_replicas() {
        let Some((a, b)) = two_replicas().await else {
            return;
        };
        let x = json!({"repo": "acme/ops", "number": 1});
        let y = json!({"repo": "acme/ops", "number": 2});
        for (key, payload) in [("x1", &x), ("x2", &x), ("y1", &y)] {
            a.enqueue(key, "comment", payload).await.expect("enqueue");
        }
        let first = a.claim_due(now_ms(), 1).await.expect("claim");
        assert_eq!(first[0].idem_key, "x1");
        // x1 runs on replica a: b may not start x2 before it ends, only the other concern.
        let other = b.claim_due(now_ms(), 10).await.expect("claim");
        let keys: Vec<_> = other.iter().map(|j| j.idem_key.as_str()).collect();
        assert_eq!(keys, ["y1"]);
        a.complete(first[0].id).await.expect("complete");
        let next = b.claim_due(now_ms(), 10).await.expect("claim");
        assert_eq!(next[0].idem_key, "x2");
    }

    #[tokio::test]
    async fn a_live_lease_is_left_alone_and_renewed_a_dead_one_is_taken() {
        let Some((a, b)) = two_replicas().await else {
            return;
        };
        a.enqueue("k", "comment", &json!({"repo": "acme/ops", "number": 3}))
            .await
            .expect("enqueue");
        let claimed = a.claim_due(now_ms(), 10).await.expect("claim");
        a.start_job(claimed[0].id).await.expect("start");
        // b starting meanwhile requeues nothing of a's.
        assert_eq!(b.requeue_running().await.expect("requeue"), 0);
        assert!(b.claim_due(now_ms(), 10).await.expect("claim").is_empty());
        // a renews; b, a little before the renewed lease ends, still finds nothing.
        let ids = [claimed[0].id];
        assert_eq!(a.renew_leases(&ids).await.expect("renew"), 1);
        assert_eq!(b.renew_leases(&ids).await.expect("renew"), 0, "not b's job");
        let almost = now_ms() + lease_ms() - 1_000;
        assert!(b.claim_due(almost, 10).await.expect("claim").is_empty());
        // a dies (no more renewals): one lease later b takes the job, counted interrupted.
        a.close().await;
        let later = now_ms() + lease_ms() + 1;
        let taken = b.claim_due(later, 10).await.expect("claim");
        assert_eq!(taken.len(), 1);
        assert_eq!((taken[0].attempts, taken[0].interrupted), (2, 1));
    }

    #[tokio::test]
    async fn one_replica_leads_each_role_and_a_dead_leader_lets_go() {
        let Some((a, b)) = two_replicas().await else {
            return;
        };
        let lead = a.lead(Role::Inbox).await.expect("lead").expect("a leads");
        assert!(b.lead(Role::Inbox).await.expect("lead").is_none());
        // Roles are independent.
        let poll = b.lead(Role::Poll).await.expect("lead").expect("b polls");
        lead.release().await;
        let lead = b
            .lead(Role::Inbox)
            .await
            .expect("lead")
            .expect("b leads now");
        assert!(a.lead(Role::Inbox).await.expect("lead").is_none());
        // b's process goes away: its connections close and the locks with them. The server
        // ends b's sessions after the pool closed its sockets (a moment later under load),
        // so a takes the lead once PostgreSQL has released the lock, within a bound.
        drop((lead, poll));
        b.close().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if a.lead(Role::Inbox).await.expect("lead").is_some() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "b's sessions ended 20 s ago and a still cannot lead"
            );
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn periodic_work_runs_once_per_interval_across_replicas() {
        let Some((a, b)) = two_replicas().await else {
            return;
        };
        let every = Duration::from_secs(60);
        let lead = a
            .lead_due(Role::Poll, every)
            .await
            .expect("lead")
            .expect("first pass");
        lead.release().await;
        assert!(
            b.lead_due(Role::Poll, every).await.expect("lead").is_none(),
            "a ran it just now"
        );
        assert!(
            b.lead_due(Role::Agenda, every)
                .await
                .expect("lead")
                .is_some(),
            "another role has its own clock"
        );
        assert!(
            b.lead_due(Role::Poll, Duration::from_millis(1))
                .await
                .expect("lead")
                .is_some(),
            "due again once the interval has passed"
        );
        // Reconcile: each process's first round is due (it repairs what was missed while
        // that process was down, e.g. a daemon restarted within the interval), later ones
        // follow the shared clock.
        for store in [&a, &b] {
            store
                .lead_due(Role::Reconcile, every)
                .await
                .expect("lead")
                .expect("start-up pass")
                .release()
                .await;
        }
        assert!(
            a.lead_due(Role::Reconcile, every)
                .await
                .expect("lead")
                .is_none(),
            "b ran it just now"
        );
    }

    #[test]
    fn concern_of_reads_the_jobs_issue() {
        assert_eq!(
            concern_of(&json!({"repo": "acme/ops", "number": 7, "x": 1})).as_deref(),
            Some("acme/ops#7")
        );
        assert_eq!(concern_of(&json!({"number": 7})), None);
        assert_eq!(concern_of(&json!({"repo": "a/b", "number": "7"})), None);
    }
}
