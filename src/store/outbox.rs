//! The outbox: every external write (a comment, a label, an epic, a story) as a row with an
//! idempotency key, executed by the engine's workers and retried until done or failed.
//!
//! Claiming marks rows `running` and leases them for [`CLAIM_LEASE`]: a row still `running`
//! when its lease ends (the daemon crashed or was killed mid-call) is due again, on this
//! process after a restart or on another replica. A retried write may follow one that did
//! land, which is why the writers look up their marker before creating anything.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// How long a claimed row belongs to its worker before it counts as abandoned and is due
/// again. The worker's process renews it every [`LEASE_RENEW`](super::replicas::LEASE_RENEW)
/// while the job runs, however long its retries take, so a slow but live worker is never
/// doubled; a replica that died leaves its jobs to the others within this time.
pub const CLAIM_LEASE: Duration = Duration::from_secs(20);

/// [`CLAIM_LEASE`] in the store's milliseconds.
pub(crate) fn lease_ms() -> i64 {
    i64::try_from(CLAIM_LEASE.as_millis()).unwrap_or(i64::MAX)
}

/// A claimed outbox row, to be executed by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxJob {
    /// Row id, for `complete` / `retry_later` / `fail`.
    pub id: i64,
    /// The idempotency key it was enqueued with.
    pub idem_key: String,
    /// What kind of write (the engine's own names).
    pub kind: String,
    /// The write's parameters.
    pub payload: serde_json::Value,
    /// Claims so far, this one included (counted, and committed, before the job runs).
    pub attempts: i64,
    /// Whether the claim marked it started ([`Store::claim_due_started`]); if not, the
    /// worker calls [`Store::start_job`] just before it runs the job.
    pub started: bool,
    /// Earlier claims that never finished: the process stopped (killed, crashed, aborted)
    /// while running the job. Counted when the row is claimed again.
    pub interrupted: i64,
}

impl OutboxJob {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let payload: String = row.try_get("payload")?;
        Ok(Self {
            id: row.try_get("id")?,
            idem_key: row.try_get("idem_key")?,
            kind: row.try_get("kind")?,
            payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt {
                what: "outbox payload",
                reason: e.to_string(),
            })?,
            attempts: row.try_get("attempts")?,
            interrupted: row.try_get("interrupted")?,
            started: row.try_get::<Option<i64>, _>("started_at")?.is_some(),
        })
    }
}

impl Store {
    /// Queues a write; `false` (and nothing changes) when `idem_key` was queued before, so
    /// deciding the same thing twice never writes twice.
    pub async fn enqueue(
        &self,
        idem_key: &str,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        let done = sqlx::query(
            "INSERT INTO outbox (idem_key, kind, payload, state, attempts, next_attempt_at, \
                                 created_at, updated_at, concern) \
             VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4, $5) ON CONFLICT (idem_key) DO NOTHING",
        )
        .bind(idem_key)
        .bind(kind)
        .bind(payload.to_string())
        .bind(now)
        .bind(super::replicas::concern_of(payload))
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        let queued = done.rows_affected() == 1;
        if queued {
            self.wake_outbox();
        }
        Ok(queued)
    }

    /// Claims up to `limit` rows due at `now` (pending ones whose time has come, and running
    /// ones whose lease ended), oldest due first: marks them running under this process's
    /// lease and counts the attempt in the same statement, so the count is committed before
    /// the job runs. A row still `running` and started ([`Store::start_job`]) when claimed had
    /// an attempt that never finished: `interrupted` counts it.
    ///
    /// One concern's jobs keep their order across replicas: no job is claimed while another
    /// job of its concern runs under a live lease. On PostgreSQL the claim takes a
    /// transaction-scoped advisory lock first (claims are short; this makes "no live job of
    /// the concern" exact between replicas claiming at once), and the rows with `FOR UPDATE
    /// SKIP LOCKED`, so a row another statement holds is left for a later claim instead of
    /// waited for.
    pub async fn claim_due(&self, now: i64, limit: u32) -> Result<Vec<OutboxJob>, StoreError> {
        self.claim(now, limit, false).await
    }

    /// [`Store::claim_due`], and the claimed rows that were never interrupted marked started
    /// in the same statement ([`OutboxJob::started`]): one commit for the round instead of
    /// the claim and one [`Store::start_job`] a job. A crash in the round then counts one
    /// interruption for each of them, the innocent ones too, as the inbox counts the
    /// deliveries of a round ([`Store::begin_deliveries`]); so a row interrupted before is
    /// not started by the claim (the engine runs it alone and starts it just before), and a
    /// row counted once as an innocent runs alone from then on: only its own crashes take
    /// it on towards the limit. On SQLite the claim commits through
    /// [`Store::relaxed_pool`]: a power cut that loses it leaves the rows as they were
    /// before it (due, attempts and starts uncounted, which the cut did not cause); a job
    /// about to create something first commits the create's attempt record, which waits
    /// for the disk (and with it everything before it), before the create goes out.
    pub async fn claim_due_started(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        self.claim(now, limit, true).await
    }

    async fn claim(&self, now: i64, limit: u32, start: bool) -> Result<Vec<OutboxJob>, StoreError> {
        let _turn = self.write_turn().await;
        let skip_locked = match self.backend() {
            super::Backend::Sqlite => "",
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        // The rows are picked in a materialised CTE, evaluated once: as an `IN (subquery)`
        // PostgreSQL may rescan a `LIMIT … FOR UPDATE SKIP LOCKED` subquery per outer row and
        // claim more than `limit`. The state/time test is repeated in the update so that a
        // row changed between the pick and the update is re-checked, not claimed twice.
        let sql = format!(
            "WITH picked AS MATERIALIZED ( \
                 SELECT o.id FROM outbox o \
                 WHERE o.state IN ('pending', 'running') AND o.next_attempt_at <= $1 \
                   AND (o.concern IS NULL OR NOT EXISTS ( \
                       SELECT 1 FROM outbox r WHERE r.concern = o.concern \
                       AND r.state = 'running' AND r.next_attempt_at > $1)) \
                 ORDER BY o.next_attempt_at, o.id LIMIT $3{skip_locked}) \
             UPDATE outbox SET state = 'running', attempts = attempts + 1, \
                    interrupted = interrupted + \
                        CASE WHEN state = 'running' AND started_at IS NOT NULL THEN 1 ELSE 0 END, \
                    started_at = CASE WHEN $5 = 1 AND interrupted = 0 \
                        AND NOT (state = 'running' AND started_at IS NOT NULL) \
                        THEN $1 ELSE NULL END, \
                    claimed_by = $4, next_attempt_at = $2, updated_at = $1 \
             WHERE state IN ('pending', 'running') AND next_attempt_at <= $1 \
               AND id IN (SELECT id FROM picked) \
             RETURNING id, idem_key, kind, payload, attempts, interrupted, started_at"
        );
        // Built only from the constant text above (no input in it).
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(now.saturating_add(lease_ms()))
            .bind(i64::from(limit))
            .bind(self.replica_id())
            .bind(i64::from(start));
        let rows = match self.backend() {
            super::Backend::Sqlite => {
                let rows = query.fetch_all(self.relaxed_pool()).await?;
                self.count_on_relaxed(rows.len() as u64);
                rows
            }
            super::Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(super::replicas::CLAIM_KEY)
                    .execute(&mut *tx)
                    .await?;
                let rows = query.fetch_all(&mut *tx).await?;
                tx.commit().await.inspect(super::committed)?;
                rows
            }
        };
        let mut jobs = rows
            .iter()
            .map(OutboxJob::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// The job starts running now: committed before it runs, so that if the process goes
    /// away during it, the next claim counts the attempt as interrupted.
    pub async fn start_job(&self, id: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query("UPDATE outbox SET started_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(())
    }

    /// The write is done. Committed through [`Store::relaxed_pool`]: a power cut that loses
    /// it leaves the job due again, as a crash just before it would, and the job, run
    /// again, finds what it made by its marker (every job is idempotent). A crash of the
    /// process keeps it.
    pub async fn complete(&self, id: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'done', last_error = NULL, started_at = NULL, \
                    updated_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(self.relaxed_pool())
        .await?;
        self.count_on_relaxed(done.rows_affected());
        Ok(())
    }

    /// [`Store::complete`], and in the same commit that the concern's tracking comment
    /// (`comment_id`) now reads the text of `digest` ([`Store::set_tracking_sent`]): the
    /// job that edited the comment records both at once. Through
    /// [`Store::relaxed_pool`] as `complete` is, for the same reason: a power cut (or a
    /// crash before it) that loses it leaves the job due again and the digest as it was,
    /// so the job, run again, finds what it made by its markers and edits the comment once
    /// more with the same text; nothing is made twice and no edit is lost.
    pub async fn complete_with_tracking(
        &self,
        id: i64,
        repo: &str,
        number: u64,
        comment_id: u64,
        digest: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.relaxed_pool().begin().await?;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'done', last_error = NULL, started_at = NULL, \
                    updated_at = $1 WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let sent = sqlx::query(
            "UPDATE concerns SET tracking_sent_id = $1, tracking_sent_digest = $2 \
             WHERE repo = $3 AND number = $4",
        )
        .bind(super::error::to_db("comment id", comment_id)?)
        .bind(digest)
        .bind(repo)
        .bind(super::error::to_db("issue number", number)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.count_on_relaxed(done.rows_affected() + sent.rows_affected());
        Ok(())
    }

    /// The write failed in a way that may pass (timeout, 5xx, rate limit): try again at `at`.
    pub async fn retry_later(&self, id: i64, at: i64, error: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, last_error = $2, \
                    started_at = NULL, updated_at = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// The job kept taking the process down: stop running it, keep why. It stays `failed`
    /// with `parked_at` set, so a restart or a reconcile never replays it; a changed input
    /// queues it again under a new key.
    /// `input` is a digest of what the job ran on, when known.
    pub async fn park(&self, id: i64, reason: &str, input: Option<&str>) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = $1, parked_at = $2, updated_at = $2, \
                    parked_input = $3, started_at = NULL WHERE id = $4",
        )
        .bind(reason)
        .bind(now)
        .bind(input)
        .bind(id)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// Parked jobs, newest first: (idempotency key, kind, reason), for `/status`.
    pub async fn parked_jobs(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT idem_key, kind, last_error FROM outbox WHERE parked_at IS NOT NULL \
             ORDER BY parked_at DESC, id DESC LIMIT 100",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let reason: Option<String> = r.try_get("last_error")?;
                Ok((
                    r.try_get("idem_key")?,
                    r.try_get("kind")?,
                    reason.unwrap_or_default(),
                ))
            })
            .collect()
    }

    /// The write cannot succeed (a 4xx that retrying will not fix): stop trying, keep why.
    pub async fn fail(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = $1, started_at = NULL, \
                    updated_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// Writes not yet done or failed (pending or running): for `/metrics`, `/readyz` and
    /// draining on shutdown.
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        let n =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'running')")
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::{Cause, Stage};
    use crate::store::testing::on_each_backend;
    use crate::store::{StageChange, StoryState};
    use crate::tracker::Progress;
    use futures::FutureExt;
    use serde_json::json;

    /// Whether the outbox was woken since the last look (a `Notify` keeps one permit,
    /// which a first poll of `notified()` takes at once).
    fn woken(store: &Store) -> bool {
        store.outbox_notify().notified().now_or_never().is_some()
    }

    /// A commit that queues jobs wakes the outbox; one that queues nothing does not, nor a
    /// key queued before, nor a decision committed unwoken (its caller wakes it).
    #[tokio::test]
    async fn committed_jobs_wake_the_outbox() {
        on_each_backend(|store| async move {
            assert!(!woken(&store));
            let job = crate::store::QueuedWrite {
                idem_key: "k1",
                kind: "labels",
                payload: json!({"repo": "acme/ops", "number": 1}),
            };
            store
                .commit_decision(None, None, None, &[])
                .await
                .expect("nothing queued");
            assert!(!woken(&store), "nothing queued, nothing to wake for");
            store
                .commit_decision(None, None, None, std::slice::from_ref(&job))
                .await
                .expect("queued");
            assert!(woken(&store), "the decision's job wakes the outbox");
            let again = crate::store::QueuedWrite {
                idem_key: "k2",
                ..job.clone()
            };
            store
                .commit_decision_unwoken(None, None, None, &[again])
                .await
                .expect("queued unwoken");
            assert!(!woken(&store), "left to the caller");
            store.wake_outbox();
            assert!(woken(&store));
            assert!(
                store
                    .enqueue("k3", "labels", &json!({}))
                    .await
                    .expect("enqueue")
            );
            assert!(woken(&store), "a job queued alone wakes it");
            assert!(
                !store
                    .enqueue("k3", "labels", &json!({}))
                    .await
                    .expect("again")
            );
            assert!(!woken(&store), "a key queued before queues nothing");
        })
        .await;
    }

    /// The epic, the stories, their first state and progress in one commit; the job done and the
    /// tracking comment's new text in one commit, which leaves the text as it was while
    /// the job is not done (a crash before it edits the comment again with the same text).
    #[tokio::test]
    async fn stories_with_their_state_and_a_job_with_its_tracking_text_commit_together() {
        on_each_backend(|store| async move {
            let (repo, n) = ("acme/ops", 4);
            let accepted = StageChange {
                repo,
                number: n,
                issue_id: 44,
                expected: None,
                to: Stage::Accepted,
                cause: Cause::Backfill,
                actor: None,
                at_ms: 1,
            };
            store
                .commit_decision(None, Some(&accepted), None, &[])
                .await
                .expect("concern");
            let todo = StoryState {
                status: Some("To Do".into()),
                progress: Some(Progress::Todo),
                assignee: None,
                sprint: None,
                updated_ms: Some(5),
            };
            store
                .record_stories_seen(
                    repo,
                    n,
                    Some(&crate::store::EpicRecord {
                        key: "EP-1",
                        url: "http://j/EP-1",
                        id: Some("10000"),
                        hash: "h",
                    }),
                    &[("dba", "DB-1", "http://j/DB-1", Some("10001"))],
                    true,
                    &[("dba", todo.clone())],
                    Some(Progress::Todo),
                )
                .await
                .expect("stories");
            let links = store.story_links(repo, n).await.expect("links");
            assert_eq!(links.len(), 1);
            assert_eq!(
                (links[0].story_key.as_str(), &links[0].state),
                ("DB-1", &todo)
            );
            let row = store.get_concern(repo, n).await.expect("get").expect("row");
            assert_eq!(
                (row.stage, row.progress, row.epic_key.as_deref()),
                (Stage::StoriesCreated, Some(Progress::Todo), Some("EP-1")),
                "the epic, its stories, their state and the stage in one commit"
            );

            store
                .set_tracking_comment(repo, n, 77, "before")
                .await
                .expect("comment");
            store
                .enqueue(
                    "epic:acme/ops#4",
                    "materialize",
                    &json!({"repo": repo, "number": n}),
                )
                .await
                .expect("enqueue");
            let job = store.claim_due_started(now_ms(), 10).await.expect("claim");
            assert_eq!(
                store.tracking_sent(repo, n).await.expect("sent").as_deref(),
                Some("before"),
                "the old text is known until the job is done"
            );
            store
                .complete_with_tracking(job[0].id, repo, n, 77, "after")
                .await
                .expect("complete");
            assert_eq!(
                store.tracking_sent(repo, n).await.expect("sent").as_deref(),
                Some("after")
            );
            assert_eq!(
                store
                    .outbox_state("epic:acme/ops#4")
                    .await
                    .expect("state")
                    .as_deref(),
                Some("done")
            );
            assert!(
                store
                    .claim_due(now_ms() + lease_ms() + 1, 10)
                    .await
                    .expect("claim")
                    .is_empty()
            );
        })
        .await;
    }

    /// A round that stopped on an error hands its unfinished jobs back at once, without
    /// counting an interrupted attempt; renewing a round's leases touches only that round's
    /// jobs, so one a failed round left behind is not kept alive by later rounds.
    #[tokio::test]
    async fn unfinished_claims_are_released_and_only_a_rounds_own_leases_renewed() {
        on_each_backend(|store| async move {
            for (key, n) in [("a", 1), ("b", 2), ("c", 3)] {
                let payload = json!({"repo": "acme/ops", "number": n});
                store
                    .enqueue(key, "comment", &payload)
                    .await
                    .expect("enqueue");
            }
            let jobs = store.claim_due(now_ms(), 10).await.expect("claim");
            assert_eq!(jobs.len(), 3);
            let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
            store.start_job(ids[0]).await.expect("start");
            store.complete(ids[1]).await.expect("complete");
            // Job 0 ran and job 2 never started: both are handed back; the finished one is not.
            assert_eq!(store.release_claims(&ids).await.expect("release"), 2);
            let again = store.claim_due(now_ms(), 10).await.expect("claim again");
            let mut keys: Vec<(&str, i64)> = again
                .iter()
                .map(|j| (j.idem_key.as_str(), j.interrupted))
                .collect();
            keys.sort();
            assert_eq!(keys, [("a", 0), ("c", 0)]);
            // Renewing the round of job "a" leaves job "c"'s lease as it was.
            let a = again.iter().find(|j| j.idem_key == "a").expect("a").id;
            assert_eq!(store.renew_leases(&[a]).await.expect("renew"), 1);
            assert_eq!(store.renew_leases(&[]).await.expect("renew none"), 0);
            let after_lease = now_ms() + lease_ms() + 1;
            let expired: Vec<String> = store
                .claim_due(after_lease, 10)
                .await
                .expect("claim after the lease")
                .into_iter()
                .map(|j| j.idem_key)
                .collect();
            assert!(expired.contains(&"c".to_owned()), "{expired:?}");
        })
        .await;
    }

    /// The round's claim marks fresh rows started (no `start_job` for them): a crash in the
    /// round counts them interrupted on the next claim, which does not mark them started
    /// again (they run alone, started just before); `claim_due` marks nothing.
    #[tokio::test]
    async fn a_started_claim_marks_only_fresh_rows_started() {
        on_each_backend(|store| async move {
            for key in ["a", "b"] {
                store
                    .enqueue(key, "comment", &json!({}))
                    .await
                    .expect("enqueue");
            }
            let plain = store.claim_due(now_ms(), 1).await.expect("claim");
            assert!(!plain[0].started, "claim_due leaves the start to start_job");
            let jobs = store.claim_due_started(now_ms(), 10).await.expect("claim");
            assert_eq!(jobs.len(), 1);
            assert!(jobs[0].started, "a fresh row is started by the claim");
            // The process went away during both: their leases end.
            let later = now_ms() + lease_ms() + 1;
            let again = store.claim_due_started(later, 10).await.expect("again");
            let seen: Vec<(&str, i64, bool)> = again
                .iter()
                .map(|j| (j.idem_key.as_str(), j.interrupted, j.started))
                .collect();
            // "a" was never started (claim_due without start_job): not interrupted, and
            // started by this claim; "b" was started by the claim: interrupted, not started.
            assert_eq!(seen, [("a", 0, true), ("b", 1, false)]);
        })
        .await;
    }

    #[tokio::test]
    async fn enqueue_is_idempotent_per_key() {
        on_each_backend(|store| async move {
            assert!(
                store
                    .enqueue("epic:acme/ops#1", "create_epic", &json!({"n": 1}))
                    .await
                    .expect("enqueue")
            );
            assert!(
                !store
                    .enqueue("epic:acme/ops#1", "create_epic", &json!({"n": 2}))
                    .await
                    .expect("again")
            );
            assert_eq!(store.pending_count().await.expect("count"), 1);
            let jobs = store.claim_due(now_ms(), 10).await.expect("claim");
            assert_eq!(jobs.len(), 1);
            assert_eq!(jobs[0].payload, json!({"n": 1}), "first payload kept");
            assert_eq!(jobs[0].kind, "create_epic");
            assert_eq!(jobs[0].attempts, 1);
        })
        .await;
    }

    #[tokio::test]
    async fn claim_complete_retry_fail() {
        on_each_backend(|store| async move {
            for key in ["a", "b", "c"] {
                store
                    .enqueue(key, "comment", &json!({}))
                    .await
                    .expect("enqueue");
            }
            let now = now_ms();
            let jobs = store.claim_due(now, 2).await.expect("claim");
            let keys: Vec<_> = jobs.iter().map(|j| j.idem_key.as_str()).collect();
            assert_eq!(keys, ["a", "b"], "limit respected, oldest first");
            // Claimed rows are not handed out again while their lease runs.
            let rest = store.claim_due(now, 10).await.expect("claim rest");
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].idem_key, "c");
            assert!(store.claim_due(now, 10).await.expect("none").is_empty());

            store.complete(jobs[0].id).await.expect("complete");
            store
                .retry_later(jobs[1].id, now + 1_000, "503 from jira")
                .await
                .expect("retry");
            store.fail(rest[0].id, "400 bad field").await.expect("fail");
            assert_eq!(store.pending_count().await.expect("count"), 1);

            assert!(
                store
                    .claim_due(now + 999, 10)
                    .await
                    .expect("early")
                    .is_empty()
            );
            let again = store.claim_due(now + 1_000, 10).await.expect("due");
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].idem_key, "b");
            assert_eq!(again[0].attempts, 2);
        })
        .await;
    }

    #[tokio::test]
    async fn rows_left_running_are_due_again_after_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let now;
        {
            let store = Store::open(&url).await.expect("open");
            store
                .enqueue("k1", "label", &json!({"l": 1}))
                .await
                .expect("enqueue");
            store
                .enqueue("k2", "label", &json!({"l": 2}))
                .await
                .expect("enqueue");
            now = now_ms();
            let claimed = store.claim_due(now, 10).await.expect("claim");
            assert_eq!(claimed.len(), 2);
            store.complete(claimed[0].id).await.expect("complete");
            // "Crash": k2 is left running.
            store.close().await;
        }
        let store = Store::open(&url).await.expect("reopen");
        assert_eq!(store.pending_count().await.expect("count"), 1);
        assert!(
            store
                .claim_due(now + 1, 10)
                .await
                .expect("leased")
                .is_empty(),
            "still leased to the crashed worker"
        );
        let again = store.claim_due(now + lease_ms(), 10).await.expect("due");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].idem_key, "k2");
        assert_eq!(again[0].payload, json!({"l": 2}));
        assert_eq!(again[0].attempts, 2);
    }
}
