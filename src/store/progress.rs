//! The engine's writes to the store: a decision and everything it implies committed in one
//! transaction with the delivery that caused it, and narrow updates of one concern column.
//!
//! Narrow updates (not whole-row upserts) because the inbox task and the outbox task both
//! update concerns: a whole-row write from one would undo the other's change.

use super::concerns::progress_str;
use super::error::to_db;
use super::{IssueState, Store, StoreError, now_ms};
use crate::config::Progress;
use crate::store::{DecisionKind, StageChange};

/// What the daemon has still to do, and what it gave up running.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    /// Stored deliveries not yet decided.
    pub deliveries: i64,
    /// Outbox writes pending or running.
    pub writes: i64,
    /// Jobs parked because they kept taking the process down, newest first (at most 100).
    pub parked: Vec<ParkedJob>,
}

/// A parked outbox job, as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParkedJob {
    /// Its idempotency key (names the issue, e.g. `epic:acme/ops#12`).
    pub key: String,
    /// The job's kind.
    pub kind: String,
    /// Why it was parked.
    pub reason: String,
}

/// An epic made in the tracker, as [`Store::record_epic`] records it.
#[derive(Debug, Clone, Copy)]
pub struct EpicRecord<'a> {
    /// Its tracker key.
    pub key: &'a str,
    /// Its browser URL.
    pub url: &'a str,
    /// Its stable tracker id, when the tracker gave one.
    pub id: Option<&'a str>,
    /// The digest of what it says (summary and description).
    pub hash: &'a str,
}

/// An outbox write to enqueue with a decision.
#[derive(Debug, Clone)]
pub struct QueuedWrite<'a> {
    pub idem_key: &'a str,
    pub kind: &'a str,
    pub payload: serde_json::Value,
}

impl Store {
    /// Records the outcome of one delivery atomically: the concern's stage (a
    /// compare-and-set on the stage the decision was made on, with its history row), the
    /// decision (stamped with the change's time), the outbox writes (each key at most once),
    /// and the delivery as processed. A crash before the commit leaves the delivery pending,
    /// to be decided again; after it, the writes are queued. Either way nothing is lost or
    /// done twice. A stage that moved meanwhile rolls everything back with
    /// [`StoreError::StageConflict`], so the caller decides again.
    ///
    /// Queued writes wake the outbox ([`Store::outbox_notify`]) once committed.
    pub async fn commit_decision(
        &self,
        seq: Option<i64>,
        stage: Option<&StageChange<'_>>,
        decision: Option<(DecisionKind, &str)>,
        writes: &[QueuedWrite<'_>],
    ) -> Result<(), StoreError> {
        self.commit_decision_unwoken(seq, stage, decision, writes)
            .await?;
        if !writes.is_empty() {
            self.wake_outbox();
        }
        Ok(())
    }

    /// [`Store::commit_decision`] without waking the outbox: for a caller with something
    /// to do between the commit and the jobs' start (the engine hands its read of the
    /// issue to the jobs, then calls [`Store::wake_outbox`]).
    pub async fn commit_decision_unwoken(
        &self,
        seq: Option<i64>,
        stage: Option<&StageChange<'_>>,
        decision: Option<(DecisionKind, &str)>,
        writes: &[QueuedWrite<'_>],
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        // The first statement writes, so SQLite takes the write lock at once (busy_timeout
        // applies) instead of failing a read-to-write upgrade. Without a delivery (a
        // reconcile pass), no row matches `seq = -1` and the statement only takes the lock.
        match seq {
            Some(seq) => sqlx::query(super::inbox::RECORD_OUTCOME)
                .bind(Some(now))
                .bind(None::<String>)
                .bind(seq),
            None => sqlx::query("UPDATE delivery_outcomes SET attempts = attempts WHERE seq = -1"),
        }
        .execute(&mut *tx)
        .await?;
        if let Some(s) = stage {
            super::stages::apply(&mut tx, s).await?;
            if let Some((kind, actor)) = decision {
                sqlx::query(
                    "INSERT INTO decisions (repo, number, kind, actor, decided_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (repo, number, kind) DO NOTHING",
                )
                .bind(s.repo)
                .bind(to_db("issue number", s.number)?)
                .bind(kind.as_str())
                .bind(actor)
                .bind(s.at_ms)
                .execute(&mut *tx)
                .await?;
            }
        }
        for w in writes {
            sqlx::query(
                "INSERT INTO outbox (idem_key, kind, payload, state, attempts, next_attempt_at, created_at, updated_at, concern) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4, $5) ON CONFLICT (idem_key) DO NOTHING",
            )
            .bind(w.idem_key)
            .bind(w.kind)
            .bind(w.payload.to_string())
            .bind(now)
            .bind(super::replicas::concern_of(&w.payload))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(())
    }

    /// Wakes the outbox loop: jobs were queued ([`Store::outbox_notify`]).
    pub fn wake_outbox(&self) {
        self.outbox_notify.notify_one();
    }

    /// Marks a delivery processed with an error that retrying cannot fix, so it is kept
    /// (with the reason) but no longer offered.
    pub async fn abandon_delivery(&self, seq: i64, reason: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(super::inbox::RECORD_OUTCOME)
            .bind(Some(now_ms()))
            .bind(Some(reason))
            .bind(seq)
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(())
    }

    /// Records the concern's epic (and clears a previous error: the epic exists now).
    pub async fn set_epic(
        &self,
        repo: &str,
        number: u64,
        key: &str,
        url: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE concerns SET epic_key = $1, epic_url = $2, last_error = NULL, updated_at = $3 \
             WHERE repo = $4 AND number = $5",
        )
        .bind(key)
        .bind(url)
        .bind(now_ms())
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// The epic made and what it says ([`Store::set_epic`] and [`Store::set_synced_hash`]
    /// in one statement) and, in the same commit, the stage moved to
    /// [`crate::council::Stage::EpicCreated`] (as [`Store::advance_stage`] would, cause
    /// `Created`): the epic recorded costs one commit, not two. `id` is the epic's stable
    /// tracker id when the tracker gave one, kept so a delivery naming the epic by id finds
    /// its concern ([`Store::concern_for_tracker_id`]).
    pub async fn record_epic(
        &self,
        repo: &str,
        number: u64,
        key: &str,
        url: &str,
        id: Option<&str>,
        hash: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool().begin().await?;
        let epic = EpicRecord { key, url, id, hash };
        Self::record_epic_in(&mut tx, repo, number, &epic).await?;
        tx.commit().await.inspect(super::committed)?;
        Ok(())
    }

    /// [`Store::record_epic`]'s statements, in a transaction of the caller's.
    pub(super) async fn record_epic_in(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        repo: &str,
        number: u64,
        epic: &EpicRecord<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE concerns SET epic_key = $1, epic_url = $2, synced_hash = $3, \
                                 last_error = NULL, updated_at = $4, \
                                 epic_id = COALESCE($7, epic_id) \
             WHERE repo = $5 AND number = $6",
        )
        .bind(epic.key)
        .bind(epic.url)
        .bind(epic.hash)
        .bind(now_ms())
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .bind(epic.id)
        .execute(&mut **tx)
        .await?;
        super::stages::advance_in(
            tx,
            repo,
            number,
            crate::council::Stage::EpicCreated,
            crate::council::Cause::Created,
            None,
        )
        .await?;
        Ok(())
    }

    /// Records (or clears) the problem shown in the tracking comment.
    pub async fn set_last_error(
        &self,
        repo: &str,
        number: u64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set_concern_column("last_error", error.map(str::to_owned), repo, number)
            .await
    }

    /// Remembers the tracking comment's id, so the next refresh edits it directly, and
    /// (`digest`, see [`crate::engine`]'s plan digest) the text just written into it, so
    /// an unchanged text is not written again, nor read back, by this process after a
    /// restart or by another replica. One statement, one commit.
    pub async fn set_tracking_comment(
        &self,
        repo: &str,
        number: u64,
        comment_id: u64,
        digest: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let id = to_db("comment id", comment_id)?;
        sqlx::query(
            "UPDATE concerns SET tracking_comment_id = $1, tracking_sent_id = $1, \
                                 tracking_sent_digest = $2, updated_at = $3 \
             WHERE repo = $4 AND number = $5",
        )
        .bind(id)
        .bind(digest)
        .bind(now_ms())
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// Records that tracking comment `comment_id` now reads the text of `digest` (after an
    /// edit, or after reading it back and finding it so). Kept only while `comment_id` is
    /// the concern's tracking comment (see [`Store::tracking_sent`]).
    pub async fn set_tracking_sent(
        &self,
        repo: &str,
        number: u64,
        comment_id: u64,
        digest: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE concerns SET tracking_sent_id = $1, tracking_sent_digest = $2 \
             WHERE repo = $3 AND number = $4",
        )
        .bind(to_db("comment id", comment_id)?)
        .bind(digest)
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// The digest of the text the daemon last wrote into the concern's tracking comment,
    /// when it is known for the comment the concern names now (`None`: no comment yet, a
    /// row from before the digest was kept, or the id changed since).
    pub async fn tracking_sent(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Option<String>, StoreError> {
        let digest: Option<Option<String>> = sqlx::query_scalar(
            "SELECT tracking_sent_digest FROM concerns \
             WHERE repo = $1 AND number = $2 AND tracking_sent_id = tracking_comment_id",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_optional(self.pool())
        .await?;
        Ok(digest.flatten())
    }

    /// Records what the concern's stories add up to.
    pub async fn set_progress(
        &self,
        repo: &str,
        number: u64,
        progress: Progress,
    ) -> Result<(), StoreError> {
        self.set_concern_column("progress", Some(progress_str(progress)), repo, number)
            .await
    }

    /// Records the before/after figures and when they were given; both columns in one
    /// statement, so a reader never sees figures without their time.
    pub async fn set_results(
        &self,
        repo: &str,
        number: u64,
        results: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE concerns SET results = $1, results_at = $2, updated_at = $3 \
             WHERE repo = $4 AND number = $5",
        )
        .bind(results)
        .bind(at_ms)
        .bind(now_ms())
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// Records the GitHub issue's state as the daemon just saw or set it.
    pub async fn set_issue_state(
        &self,
        repo: &str,
        number: u64,
        state: IssueState,
    ) -> Result<(), StoreError> {
        self.set_concern_column("issue_state", Some(state.as_str()), repo, number)
            .await
    }

    /// Records the hash of the epic description the daemon just wrote.
    pub async fn set_synced_hash(
        &self,
        repo: &str,
        number: u64,
        hash: &str,
    ) -> Result<(), StoreError> {
        self.set_concern_column("synced_hash", Some(hash.to_owned()), repo, number)
            .await
    }

    /// One column of one concern, and its `updated_at`. `column` is always one of ours,
    /// never input, so formatting it into the statement is safe.
    async fn set_concern_column<'q, T>(
        &self,
        column: &'static str,
        value: Option<T>,
        repo: &str,
        number: u64,
    ) -> Result<(), StoreError>
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        let _turn = self.write_turn().await;
        let sql = format!(
            "UPDATE concerns SET {column} = $1, updated_at = $2 WHERE repo = $3 AND number = $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(now_ms())
            .bind(repo)
            .bind(to_db("issue number", number)?)
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(())
    }

    /// Work not done yet: deliveries still to decide (not given up on) and writes still to
    /// make. Both zero means the daemon is caught up.
    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let deliveries: i64 = sqlx::query_scalar(self.inbox_sql(
            "SELECT COUNT(*) FROM {inbox} d LEFT JOIN delivery_outcomes o ON o.seq = d.seq \
             WHERE d.processed_at IS NULL AND o.processed_at IS NULL \
               AND COALESCE(o.attempts, 0) < $1",
        ))
        .bind(super::inbox::MAX_DELIVERY_ATTEMPTS)
        .fetch_one(self.pool())
        .await?;
        let parked = self
            .parked_jobs()
            .await?
            .into_iter()
            .map(|(key, kind, reason)| ParkedJob { key, kind, reason })
            .collect();
        Ok(Backlog {
            deliveries,
            writes: self.pending_count().await?,
            parked,
        })
    }

    /// The keys of the failed (or parked: they stay `failed`) outbox rows whose key starts
    /// with one of `prefixes`, each once: one query, so a caller finds which of many
    /// concerns have a failed write without asking concern by concern (then
    /// [`Store::outbox_state`] tells whether a retry is queued since). Usually few rows.
    pub async fn failed_keys(&self, prefixes: &[&str]) -> Result<Vec<String>, StoreError> {
        if prefixes.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are formatted in; the prefixes are bound.
        let likes: Vec<String> = (1..=prefixes.len())
            .map(|i| format!("idem_key LIKE ${i} ESCAPE '\\'"))
            .collect();
        let sql = format!(
            "SELECT DISTINCT idem_key FROM outbox WHERE state = 'failed' AND ({}) \
             ORDER BY idem_key",
            likes.join(" OR ")
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for p in prefixes {
            query = query.bind(format!("{}%", p.replace('%', "\\%").replace('_', "\\_")));
        }
        Ok(query.fetch_all(self.pool()).await?)
    }

    /// The state (`pending`, `running`, `done`, `failed`, or `parked` for a failed row that
    /// was parked) of the newest outbox row whose key
    /// is `key` or starts with `key:` (retries of it), if any.
    pub async fn outbox_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT CASE WHEN parked_at IS NULL THEN state ELSE 'parked' END FROM outbox \
             WHERE idem_key = $1 OR idem_key LIKE $2 ESCAPE '\\' ORDER BY id DESC LIMIT 1",
        )
        .bind(key)
        .bind(format!("{}:%", key.replace('%', "\\%").replace('_', "\\_")))
        .fetch_optional(self.pool())
        .await?;
        Ok(state)
    }

    /// The input digest recorded with the newest parked row whose key is `key` or starts
    /// with `key:`, if any.
    pub async fn parked_input(&self, key: &str) -> Result<Option<String>, StoreError> {
        let input: Option<Option<String>> = sqlx::query_scalar(
            "SELECT parked_input FROM outbox WHERE parked_at IS NOT NULL \
             AND (idem_key = $1 OR idem_key LIKE $2 ESCAPE '\\') ORDER BY id DESC LIMIT 1",
        )
        .bind(key)
        .bind(format!("{}:%", key.replace('%', "\\%").replace('_', "\\_")))
        .fetch_optional(self.pool())
        .await?;
        Ok(input.flatten())
    }

    /// Makes outbox rows left `running` by a previous process due now. Called once at start.
    /// On SQLite the daemon holds the store file's lock, so the process that claimed them is
    /// gone, its claims are void, and waiting out the lease would only delay the work. On
    /// PostgreSQL another replica may be running them under a live lease: only rows whose
    /// lease has ended are requeued (a claim would take them anyway), never a live one.
    pub async fn requeue_running(&self) -> Result<u64, StoreError> {
        let live_leases_too = match self.backend() {
            super::Backend::Sqlite => "",
            super::Backend::Postgres => " AND next_attempt_at <= $1",
        };
        // Their attempt never finished: counted as interrupted, so a job that takes the
        // process down is parked after a few starts instead of replayed on every one.
        let sql = format!(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, \
                    interrupted = interrupted + CASE WHEN started_at IS NOT NULL THEN 1 ELSE 0 END, \
                    started_at = NULL, claimed_by = NULL WHERE state = 'running'{live_leases_too}"
        );
        // Built only from the constant text above.
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms())
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::{Cause, Stage};
    use crate::store::testing::on_each_backend;
    use crate::store::{InboxWriter, NewDelivery, Source};

    #[tokio::test]
    async fn decision_commits_with_its_delivery_and_writes_once() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            for id in ["d1", "d2"] {
                writer
                    .submit(NewDelivery {
                        source: Source::Github,
                        delivery_id: id.into(),
                        event: "issues".into(),
                        action: Some("labeled".into()),
                        payload: bytes::Bytes::from_static(b"{}"),
                    })
                    .await
                    .expect("submit");
            }
            let pending = store.pending_deliveries(10).await.expect("pending");
            let stage = StageChange {
                repo: "a/b",
                number: 3,
                issue_id: 99,
                expected: None,
                to: Stage::Accepted,
                cause: Cause::Accept,
                actor: Some("carol"),
                at_ms: 1_234,
            };
            let write = QueuedWrite {
                idem_key: "epic:a/b#3",
                kind: "materialize",
                payload: serde_json::json!({"x": 1}),
            };
            let mut expected = None;
            for d in &pending {
                let change = StageChange {
                    expected,
                    ..stage.clone()
                };
                store
                    .commit_decision(
                        Some(d.seq),
                        Some(&change),
                        Some((DecisionKind::Accept, "carol")),
                        std::slice::from_ref(&write),
                    )
                    .await
                    .expect("commit");
                expected = Some(Stage::Accepted);
            }
            assert!(
                store
                    .pending_deliveries(10)
                    .await
                    .expect("pending")
                    .is_empty()
            );
            assert_eq!(store.pending_count().await.expect("count"), 1);
            assert_eq!(
                store
                    .decisions_for("a/b", 3)
                    .await
                    .expect("decisions")
                    .len(),
                1
            );
            let concern = store
                .get_concern("a/b", 3)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(concern.stage, Stage::Accepted);
            assert_eq!(
                store.decisions_for("a/b", 3).await.expect("decisions")[0].decided_at,
                1_234,
                "the decision keeps the time it was made"
            );
            store
                .set_epic("a/b", 3, "SRE-1", "http://j/SRE-1")
                .await
                .expect("epic");
            assert_eq!(
                store
                    .advance_stage("a/b", 3, Stage::EpicCreated, Cause::Created, None)
                    .await
                    .expect("stage"),
                Some(Stage::Accepted)
            );
            assert_eq!(
                store
                    .advance_stage("a/b", 3, Stage::Ready, Cause::Criteria, None)
                    .await
                    .expect("no-op"),
                None,
                "a criteria check never undoes a decision"
            );
            let concern = store
                .get_concern("a/b", 3)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(
                (concern.stage, concern.epic_key.as_deref()),
                (Stage::EpicCreated, Some("SRE-1"))
            );
        })
        .await;
    }

    #[tokio::test]
    async fn sync_setters_change_only_their_columns() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            writer
                .submit(NewDelivery {
                    source: Source::Github,
                    delivery_id: "d".into(),
                    event: "issues".into(),
                    action: Some("labeled".into()),
                    payload: bytes::Bytes::from_static(b"{}"),
                })
                .await
                .expect("submit");
            let seq = store.pending_deliveries(1).await.expect("pending")[0].seq;
            let stage = StageChange {
                repo: "a/b",
                number: 3,
                issue_id: 99,
                expected: None,
                to: Stage::StoriesCreated,
                cause: Cause::Backfill,
                actor: None,
                at_ms: 1,
            };
            store
                .commit_decision(Some(seq), Some(&stage), None, &[])
                .await
                .expect("commit");
            store
                .set_epic("a/b", 3, "SRE-1", "http://j/SRE-1")
                .await
                .expect("epic");
            let before = store
                .get_concern("a/b", 3)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(
                (
                    before.progress,
                    before.results.as_deref(),
                    before.results_at,
                    before.issue_state,
                    before.synced_hash.as_deref()
                ),
                (None, None, None, None, None),
                "NULL until set"
            );

            store
                .set_progress("a/b", 3, Progress::InProgress)
                .await
                .expect("progress");
            store
                .set_issue_state("a/b", 3, IssueState::Open)
                .await
                .expect("state");
            store
                .set_synced_hash("a/b", 3, "9f86d081")
                .await
                .expect("hash");
            store
                .set_results("a/b", 3, "MTTR 4h → 20min", 7_000)
                .await
                .expect("results");
            // Another task's narrow update in between is kept.
            store
                .set_last_error("a/b", 3, Some("jira 503"))
                .await
                .expect("error");
            store
                .set_progress("a/b", 3, Progress::Done)
                .await
                .expect("progress");
            store
                .set_issue_state("a/b", 3, IssueState::ClosedNotPlanned)
                .await
                .expect("state");

            let after = store
                .get_concern("a/b", 3)
                .await
                .expect("get")
                .expect("row");
            assert_eq!(after.progress, Some(Progress::Done));
            assert_eq!(after.issue_state, Some(IssueState::ClosedNotPlanned));
            assert_eq!(after.synced_hash.as_deref(), Some("9f86d081"));
            assert_eq!(after.results.as_deref(), Some("MTTR 4h → 20min"));
            assert_eq!(after.results_at, Some(7_000));
            assert_eq!(after.last_error.as_deref(), Some("jira 503"));
            assert_eq!(
                (after.stage, after.epic_key.as_deref()),
                (Stage::StoriesCreated, Some("SRE-1")),
                "untouched"
            );
            assert!(after.updated_at >= before.updated_at);

            // Every progress and issue state round-trips through its column.
            for p in [Progress::Todo, Progress::InProgress, Progress::Done] {
                store.set_progress("a/b", 3, p).await.expect("progress");
                let row = store
                    .get_concern("a/b", 3)
                    .await
                    .expect("get")
                    .expect("row");
                assert_eq!(row.progress, Some(p));
            }
            for s in [
                IssueState::Open,
                IssueState::Closed,
                IssueState::ClosedNotPlanned,
            ] {
                store.set_issue_state("a/b", 3, s).await.expect("state");
                let row = store
                    .get_concern("a/b", 3)
                    .await
                    .expect("get")
                    .expect("row");
                assert_eq!(row.issue_state, Some(s));
            }

            // A concern the store does not know: nothing is created.
            store
                .set_progress("a/b", 4, Progress::Done)
                .await
                .expect("no row");
            assert_eq!(store.get_concern("a/b", 4).await.expect("get"), None);
        })
        .await;
    }

    /// The failed and parked rows under the given prefixes come back once each; pending,
    /// running and done rows, and other prefixes, do not; `_` and `%` in a prefix are
    /// literal.
    #[tokio::test]
    async fn failed_keys_lists_failed_and_parked_rows_under_the_prefixes() {
        on_each_backend(|store| async move {
            let v = serde_json::json!({});
            for key in [
                "epic:a/b#1",
                "stories:a/b#2",
                "epic:a/b#3",
                "comment:a/b#4",
                "epicx:a/b#5",
                "stories:a/b#6",
            ] {
                store
                    .enqueue(key, "materialize", &v)
                    .await
                    .expect("enqueue");
            }
            let jobs = store.claim_due(now_ms(), 10).await.expect("claim");
            let id = |key: &str| jobs.iter().find(|j| j.idem_key == key).expect("claimed").id;
            store.fail(id("epic:a/b#1"), "400").await.expect("fail");
            store
                .park(id("stories:a/b#2"), "crashed", None)
                .await
                .expect("park");
            store.fail(id("comment:a/b#4"), "400").await.expect("fail");
            store.fail(id("epicx:a/b#5"), "400").await.expect("fail");
            store.complete(id("stories:a/b#6")).await.expect("done");
            assert_eq!(
                store
                    .failed_keys(&["epic:", "stories:"])
                    .await
                    .expect("failed"),
                vec!["epic:a/b#1".to_owned(), "stories:a/b#2".to_owned()]
            );
            assert!(store.failed_keys(&[]).await.expect("none").is_empty());
            assert!(
                store
                    .failed_keys(&["ep_c:"])
                    .await
                    .expect("literal")
                    .is_empty()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn outbox_state_sees_the_newest_retry_of_a_key() {
        on_each_backend(|store| async move {
            let v = serde_json::json!({});
            assert_eq!(store.outbox_state("epic:a/b#1").await.expect("state"), None);
            store
                .enqueue("epic:a/b#1", "materialize", &v)
                .await
                .expect("enqueue");
            store
                .enqueue("epic:a/b#12", "materialize", &v)
                .await
                .expect("enqueue");
            let jobs = store.claim_due(now_ms(), 10).await.expect("claim");
            store.fail(jobs[0].id, "400").await.expect("fail");
            assert_eq!(
                store
                    .outbox_state("epic:a/b#1")
                    .await
                    .expect("state")
                    .as_deref(),
                Some("failed")
            );
            store
                .enqueue("epic:a/b#1:retry:5", "materialize", &v)
                .await
                .expect("enqueue");
            assert_eq!(
                store
                    .outbox_state("epic:a/b#1")
                    .await
                    .expect("state")
                    .as_deref(),
                Some("pending")
            );
            assert_eq!(
                store
                    .outbox_state("epic:a/b#12")
                    .await
                    .expect("state")
                    .as_deref(),
                Some("running")
            );
        })
        .await;
    }

    #[tokio::test]
    async fn running_rows_are_requeued_at_start() {
        on_each_backend(|store| async move {
            store
                .enqueue("k", "tracking", &serde_json::json!({}))
                .await
                .expect("enqueue");
            let now = now_ms();
            assert_eq!(store.claim_due(now, 10).await.expect("claim").len(), 1);
            assert!(
                store.claim_due(now, 10).await.expect("claim").is_empty(),
                "leased"
            );
            let again = match store.backend() {
                // The file's lock proves the claimer is gone: requeued at once.
                crate::store::Backend::Sqlite => {
                    assert_eq!(store.requeue_running().await.expect("requeue"), 1);
                    store.claim_due(now_ms(), 10).await.expect("claim")
                }
                // Another replica may hold the lease: left alone until it ends.
                crate::store::Backend::Postgres => {
                    assert_eq!(store.requeue_running().await.expect("requeue"), 0);
                    assert!(
                        store
                            .claim_due(now_ms(), 10)
                            .await
                            .expect("claim")
                            .is_empty()
                    );
                    let after = now_ms() + crate::store::outbox::lease_ms();
                    store.claim_due(after, 10).await.expect("claim")
                }
            };
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].attempts, 2);
        })
        .await;
    }
}
