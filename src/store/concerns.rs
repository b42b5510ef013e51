//! Concerns: one row per GitHub issue raised as an SRE concern, with where it stands and
//! what was created for it. Upserted whole on (repo, number), the issue's natural key, so a
//! redelivered event rewrites the same row instead of adding one.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{from_db, to_db};
use super::{Store, StoreError};

/// A concern's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernRow {
    /// `owner/name`.
    pub repo: String,
    /// Issue number in the repository.
    pub number: u64,
    /// GitHub's global issue id.
    pub issue_id: u64,
    /// The council stage (`council`'s state machine names it; stored as text).
    pub stage: String,
    /// Our tracking comment on the issue, once posted.
    pub tracking_comment_id: Option<u64>,
    /// The epic's key (e.g. `SRE-12`), once created.
    pub epic_key: Option<String>,
    /// The epic's browser URL.
    pub epic_url: Option<String>,
    /// The last sync error shown on the tracking comment, if any.
    pub last_error: Option<String>,
    /// When this row last changed (ms since the epoch).
    pub updated_at: i64,
}

impl ConcernRow {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let comment: Option<i64> = row.try_get("tracking_comment_id")?;
        Ok(Self {
            repo: row.try_get("repo")?,
            number: from_db("issue number", row.try_get("number")?)?,
            issue_id: from_db("issue id", row.try_get("issue_id")?)?,
            stage: row.try_get("stage")?,
            tracking_comment_id: comment.map(|c| from_db("comment id", c)).transpose()?,
            epic_key: row.try_get("epic_key")?,
            epic_url: row.try_get("epic_url")?,
            last_error: row.try_get("last_error")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl Store {
    /// The concern for this issue, if the daemon has seen it.
    pub async fn get_concern(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Option<ConcernRow>, StoreError> {
        let row = sqlx::query(
            "SELECT repo, number, issue_id, stage, tracking_comment_id, epic_key, epic_url, \
                    last_error, updated_at \
             FROM concerns WHERE repo = $1 AND number = $2",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ConcernRow::from_row).transpose()
    }

    /// Writes the whole row, inserting or replacing the one for (repo, number).
    pub async fn upsert_concern(&self, concern: &ConcernRow) -> Result<(), StoreError> {
        let comment = concern
            .tracking_comment_id
            .map(|c| to_db("comment id", c))
            .transpose()?;
        sqlx::query(
            "INSERT INTO concerns (repo, number, issue_id, stage, tracking_comment_id, epic_key, \
                                   epic_url, last_error, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (repo, number) DO UPDATE SET \
                 issue_id = excluded.issue_id, stage = excluded.stage, \
                 tracking_comment_id = excluded.tracking_comment_id, \
                 epic_key = excluded.epic_key, epic_url = excluded.epic_url, \
                 last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(concern.repo.as_str())
        .bind(to_db("issue number", concern.number)?)
        .bind(to_db("issue id", concern.issue_id)?)
        .bind(concern.stage.as_str())
        .bind(comment)
        .bind(concern.epic_key.as_deref())
        .bind(concern.epic_url.as_deref())
        .bind(concern.last_error.as_deref())
        .bind(concern.updated_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    fn concern() -> ConcernRow {
        ConcernRow {
            repo: "acme/ops".into(),
            number: 42,
            issue_id: 4_445_000_041,
            stage: "ready-for-council".into(),
            tracking_comment_id: None,
            epic_key: None,
            epic_url: None,
            last_error: None,
            updated_at: 1_000,
        }
    }

    #[tokio::test]
    async fn upsert_inserts_then_replaces() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.get_concern("acme/ops", 42).await.expect("get"), None);

        store.upsert_concern(&concern()).await.expect("insert");
        assert_eq!(
            store.get_concern("acme/ops", 42).await.expect("get"),
            Some(concern())
        );

        let moved = ConcernRow {
            stage: "epic-created".into(),
            tracking_comment_id: Some(9_000_000_001),
            epic_key: Some("SRE-7".into()),
            epic_url: Some("https://acme.atlassian.net/browse/SRE-7".into()),
            last_error: Some("story for team db: 503".into()),
            updated_at: 2_000,
            ..concern()
        };
        store.upsert_concern(&moved).await.expect("update");
        assert_eq!(
            store.get_concern("acme/ops", 42).await.expect("get"),
            Some(moved.clone())
        );
        // Another issue number is another concern.
        assert_eq!(store.get_concern("acme/ops", 43).await.expect("get"), None);
        // Clearing optional fields really clears them (whole-row upsert).
        store.upsert_concern(&concern()).await.expect("reset");
        assert_eq!(
            store.get_concern("acme/ops", 42).await.expect("get"),
            Some(concern())
        );
    }

    #[tokio::test]
    async fn numbers_beyond_i64_are_refused() {
        let (store, _dir) = temp_store().await;
        let huge = ConcernRow {
            issue_id: u64::MAX,
            ..concern()
        };
        assert!(matches!(
            store.upsert_concern(&huge).await,
            Err(StoreError::OutOfRange { .. })
        ));
    }
}
