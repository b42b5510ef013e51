//! `create_attempts`: tracker creates whose outcome may be unknown.
//!
//! A create request that got no answer (a crash, a cut connection, a 5xx after the server
//! acted) may or may not have made the issue. Jira finds it again by its marker label, but
//! Jira Cloud's search trails creation, so "not found" right after the attempt proves
//! nothing. This table is the daemon's memory of attempts: a row is written *before* the
//! request goes out (outcome `unknown`), and completed when the answer, a search or the
//! created-issue webhook shows the issue (`created`, with its id, so later searches can ask
//! for it through `reconcileIssues`), or when the tracker refused the request (`absent`).
//! The tracker module decides from it whether it may create (see
//! `tracker::jira::attempts`); a job that gave up waiting is *parked* here and counted in
//! `/status`.

use sqlx::Row;

use super::{Store, StoreError, now_ms};

/// What is known of a marker's latest create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Sent; no answer seen yet.
    Unknown,
    /// The issue exists (its id and key).
    Created {
        /// Jira's numeric id, as text.
        id: String,
        /// Its key.
        key: String,
    },
    /// The tracker answered that it did not make it (a refusal: 4xx, 429).
    Absent,
}

/// One marker's attempt record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAttempt {
    /// The marker label.
    pub marker: String,
    /// When the first attempt of the current unknown run went out (ms since the epoch).
    pub first_at: i64,
    /// When the latest attempt went out (ms since the epoch).
    pub last_at: i64,
    /// Attempts sent for this marker.
    pub attempts: i64,
    /// What is known.
    pub outcome: CreateOutcome,
    /// When a job gave up waiting for the outcome (ms), while it is unresolved.
    pub parked_at: Option<i64>,
}

/// Records an issue found or made for a marker ($1 marker, $2 now, $3 id, $4 key).
const RECORD_CREATED: &str = "INSERT INTO create_attempts (marker, first_at, last_at, attempts, outcome, issue_id, issue_key, updated_at) \
     VALUES ($1, $2, $2, 0, 'created', $3, $4, $2) \
     ON CONFLICT (marker) DO UPDATE SET outcome = 'created', issue_id = excluded.issue_id, \
       issue_key = excluded.issue_key, parked_at = NULL, updated_at = excluded.updated_at";

/// Records that an unknown attempt made nothing ($1 marker, $2 now).
const RECORD_ABSENT: &str = "UPDATE create_attempts SET outcome = 'absent', issue_id = NULL, issue_key = NULL, \
     parked_at = NULL, updated_at = $2 WHERE marker = $1 AND outcome = 'unknown'";

impl Store {
    /// Claims the right to send a create for each of `markers` and records that it is about
    /// to go out (before the request: a crash after this leaves an `unknown` outcome
    /// behind). A marker is claimed when it has no record, its outcome is known, or its
    /// unknown attempt is older than `window` (search is trusted by then); otherwise another
    /// worker (a replica, `reconcile --once` beside the daemon) is creating it right now and
    /// it is not claimed. Returns the claimed markers. One compare-and-set statement per
    /// marker, so two workers cannot both claim one.
    pub async fn begin_create_attempts(
        &self,
        markers: &[&str],
        window: std::time::Duration,
    ) -> Result<Vec<String>, StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        let trusted_before =
            now.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        let mut claimed = Vec::new();
        let mut tx = self.pool().begin().await?;
        for marker in markers {
            let done = sqlx::query(
                "INSERT INTO create_attempts (marker, first_at, last_at, attempts, outcome, updated_at) \
                 VALUES ($1, $2, $2, 1, 'unknown', $2) \
                 ON CONFLICT (marker) DO UPDATE SET \
                   first_at = CASE WHEN create_attempts.outcome = 'unknown' \
                                   THEN create_attempts.first_at ELSE excluded.first_at END, \
                   last_at = excluded.last_at, attempts = create_attempts.attempts + 1, \
                   outcome = 'unknown', issue_id = NULL, issue_key = NULL, \
                   updated_at = excluded.updated_at \
                 WHERE create_attempts.outcome <> 'unknown' OR create_attempts.last_at <= $3",
            )
            .bind(*marker)
            .bind(now)
            .bind(trusted_before)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                claimed.push((*marker).to_owned());
            }
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(claimed)
    }

    /// Records that the issue of `marker` exists (from the create's answer, a search or the
    /// created-issue webhook); clears a park. Creates the row when there was none (an
    /// issue found before any attempt of this daemon).
    pub async fn record_created(
        &self,
        marker: &str,
        id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        sqlx::query(RECORD_CREATED)
            .bind(marker)
            .bind(now)
            .bind(id)
            .bind(key)
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(())
    }

    /// [`Store::record_created`] for each of `created` (marker, id, key) and
    /// [`Store::record_absent`] for each of `absent`, in one transaction: a bulk create's
    /// answers cost one commit, not one per story.
    pub async fn record_outcomes(
        &self,
        created: &[(&str, &str, &str)],
        absent: &[&str],
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        if created.is_empty() && absent.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        for (marker, id, key) in created {
            sqlx::query(RECORD_CREATED)
                .bind(*marker)
                .bind(now)
                .bind(*id)
                .bind(*key)
                .execute(&mut *tx)
                .await?;
        }
        for marker in absent {
            sqlx::query(RECORD_ABSENT)
                .bind(*marker)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(())
    }

    /// Records that the latest attempt for `marker` made nothing (the tracker refused it,
    /// or search was trusted after the consistency window); clears a park.
    pub async fn record_absent(&self, marker: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(RECORD_ABSENT)
            .bind(marker)
            .bind(now_ms())
            .execute(self.pool())
            .await
            .inspect(super::counted)?;
        Ok(())
    }

    /// Marks `marker`'s unknown attempt as parked (a job gave up waiting for its outcome).
    pub async fn park_create_attempt(&self, marker: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let now = now_ms();
        sqlx::query(
            "UPDATE create_attempts SET parked_at = COALESCE(parked_at, $2), updated_at = $2 \
             WHERE marker = $1 AND outcome = 'unknown'",
        )
        .bind(marker)
        .bind(now)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// The attempt record of each marker that has one.
    pub async fn create_attempts(
        &self,
        markers: &[&str],
    ) -> Result<Vec<CreateAttempt>, StoreError> {
        let mut out = Vec::with_capacity(markers.len());
        for marker in markers {
            let row = sqlx::query(
                "SELECT marker, first_at, last_at, attempts, outcome, issue_id, issue_key, parked_at \
                 FROM create_attempts WHERE marker = $1",
            )
            .bind(*marker)
            .fetch_optional(self.pool())
            .await?;
            let Some(row) = row else { continue };
            let outcome: String = row.try_get("outcome")?;
            let id: Option<String> = row.try_get("issue_id")?;
            let key: Option<String> = row.try_get("issue_key")?;
            let outcome = match (outcome.as_str(), id, key) {
                ("created", Some(id), Some(key)) => CreateOutcome::Created { id, key },
                ("absent", _, _) => CreateOutcome::Absent,
                _ => CreateOutcome::Unknown,
            };
            out.push(CreateAttempt {
                marker: row.try_get("marker")?,
                first_at: row.try_get("first_at")?,
                last_at: row.try_get("last_at")?,
                attempts: row.try_get("attempts")?,
                outcome,
                parked_at: row.try_get("parked_at")?,
            });
        }
        Ok(out)
    }

    /// How many creates are parked with an unknown outcome (`/status`).
    pub async fn parked_create_count(&self) -> Result<i64, StoreError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM create_attempts \
             WHERE outcome = 'unknown' AND parked_at IS NOT NULL",
        )
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[tokio::test]
    async fn an_attempt_is_unknown_until_resolved_and_parks_are_counted() {
        on_each_backend(|store| async move {
            let window = std::time::Duration::from_secs(60);
            let claimed = store
                .begin_create_attempts(&["m1", "m2"], window)
                .await
                .expect("begin");
            assert_eq!(claimed, ["m1", "m2"]);
            let claimed = store
                .begin_create_attempts(&["m1"], window)
                .await
                .expect("again");
            assert!(
                claimed.is_empty(),
                "an unknown attempt inside the window is not claimed twice"
            );
            let claimed = store
                .begin_create_attempts(&["m1"], std::time::Duration::ZERO)
                .await
                .expect("after the window");
            assert_eq!(claimed, ["m1"], "search is trusted after the window");
            let got = store
                .create_attempts(&["m1", "m2", "m3"])
                .await
                .expect("read");
            assert_eq!(got.len(), 2, "m3 was never attempted");
            assert_eq!(
                (got[0].attempts, &got[0].outcome),
                (2, &CreateOutcome::Unknown)
            );
            assert!(got[0].first_at <= got[0].last_at);

            store.park_create_attempt("m1").await.expect("park");
            store.park_create_attempt("m2").await.expect("park");
            assert_eq!(store.parked_create_count().await.expect("count"), 2);
            store
                .record_created("m1", "10001", "E-1")
                .await
                .expect("created");
            store.record_absent("m2").await.expect("absent");
            assert_eq!(store.parked_create_count().await.expect("count"), 0);
            let got = store.create_attempts(&["m1", "m2"]).await.expect("read");
            assert_eq!(
                got[0].outcome,
                CreateOutcome::Created {
                    id: "10001".into(),
                    key: "E-1".into()
                }
            );
            assert_eq!(got[1].outcome, CreateOutcome::Absent);
            // A created outcome is not undone by a late "absent" (only unknown ones are).
            store.record_absent("m1").await.expect("absent");
            let got = store.create_attempts(&["m1"]).await.expect("read");
            assert!(matches!(got[0].outcome, CreateOutcome::Created { .. }));
        })
        .await;
    }
}
