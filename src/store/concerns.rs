//! Concerns: one row per GitHub issue raised as an SRE concern, with where it stands and
//! what was created for it. Upserted whole on (repo, number), the issue's natural key, so a
//! redelivered event rewrites the same row instead of adding one; the engine's tasks change
//! single columns through the narrow setters in `progress.rs` instead.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{from_db, to_db};
use super::stages::parse_stage;
use super::{Store, StoreError};
use crate::config::Progress;
use crate::council::Stage;

/// Every column of `concerns`, in the order [`ConcernRow::from_row`] reads them.
const COLUMNS: &str = "repo, number, issue_id, stage, tracking_comment_id, epic_key, epic_url, \
                       last_error, updated_at, progress, results, results_at, issue_state, \
                       synced_hash";

/// The GitHub issue's state as the daemon last saw or set it, so a reconcile can tell a
/// change made by someone from the daemon's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    /// Open.
    Open,
    /// Closed as completed.
    Closed,
    /// Closed as not planned (the council rejected it, or someone dropped it).
    ClosedNotPlanned,
}

impl IssueState {
    /// The value in the `issue_state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::ClosedNotPlanned => "closed_not_planned",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            "closed_not_planned" => Ok(Self::ClosedNotPlanned),
            other => Err(StoreError::Corrupt {
                what: "issue state",
                reason: format!("unknown state `{other}`"),
            }),
        }
    }
}

/// The value in the `progress` column (the names `[sync]` uses in the config).
pub(crate) fn progress_str(p: Progress) -> &'static str {
    match p {
        Progress::Todo => "todo",
        Progress::InProgress => "in_progress",
        Progress::Done => "done",
    }
}

fn parse_progress(s: &str) -> Result<Progress, StoreError> {
    match s {
        "todo" => Ok(Progress::Todo),
        "in_progress" => Ok(Progress::InProgress),
        "done" => Ok(Progress::Done),
        other => Err(StoreError::Corrupt {
            what: "progress",
            reason: format!("unknown progress `{other}`"),
        }),
    }
}

/// A concern's stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernRow {
    /// `owner/name`.
    pub repo: String,
    /// Issue number in the repository.
    pub number: u64,
    /// GitHub's global issue id.
    pub issue_id: u64,
    /// The council stage (stored as its `as_str` name, checked by the schema).
    pub stage: Stage,
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
    /// What the stories add up to, once the sync has looked at them.
    pub progress: Option<Progress>,
    /// The before/after figures presented, once recorded.
    pub results: Option<String>,
    /// When the results were recorded (ms since the epoch).
    pub results_at: Option<i64>,
    /// The GitHub issue's state as the daemon last saw or set it.
    pub issue_state: Option<IssueState>,
    /// Hash of the epic description the daemon last wrote.
    pub synced_hash: Option<String>,
}

impl ConcernRow {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let comment: Option<i64> = row.try_get("tracking_comment_id")?;
        let progress: Option<String> = row.try_get("progress")?;
        let issue_state: Option<String> = row.try_get("issue_state")?;
        Ok(Self {
            repo: row.try_get("repo")?,
            number: from_db("issue number", row.try_get("number")?)?,
            issue_id: from_db("issue id", row.try_get("issue_id")?)?,
            stage: parse_stage(&row.try_get::<String, _>("stage")?)?,
            tracking_comment_id: comment.map(|c| from_db("comment id", c)).transpose()?,
            epic_key: row.try_get("epic_key")?,
            epic_url: row.try_get("epic_url")?,
            last_error: row.try_get("last_error")?,
            updated_at: row.try_get("updated_at")?,
            progress: progress.as_deref().map(parse_progress).transpose()?,
            results: row.try_get("results")?,
            results_at: row.try_get("results_at")?,
            issue_state: issue_state.as_deref().map(IssueState::parse).transpose()?,
            synced_hash: row.try_get("synced_hash")?,
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
        let sql = format!("SELECT {COLUMNS} FROM concerns WHERE repo = $1 AND number = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(repo)
            .bind(to_db("issue number", number)?)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(ConcernRow::from_row).transpose()
    }

    /// Writes the whole row, inserting or replacing the one for (repo, number). Only for
    /// creating a row or in tests: two tasks update concerns concurrently, and a whole-row
    /// write from one would undo the other's change (they use the narrow setters).
    pub async fn upsert_concern(&self, concern: &ConcernRow) -> Result<(), StoreError> {
        let comment = concern
            .tracking_comment_id
            .map(|c| to_db("comment id", c))
            .transpose()?;
        sqlx::query(
            "INSERT INTO concerns (repo, number, issue_id, stage, tracking_comment_id, epic_key, \
                                   epic_url, last_error, updated_at, progress, results, \
                                   results_at, issue_state, synced_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (repo, number) DO UPDATE SET \
                 issue_id = excluded.issue_id, stage = excluded.stage, \
                 tracking_comment_id = excluded.tracking_comment_id, \
                 epic_key = excluded.epic_key, epic_url = excluded.epic_url, \
                 last_error = excluded.last_error, updated_at = excluded.updated_at, \
                 progress = excluded.progress, results = excluded.results, \
                 results_at = excluded.results_at, issue_state = excluded.issue_state, \
                 synced_hash = excluded.synced_hash",
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
        .bind(concern.progress.map(progress_str))
        .bind(concern.results.as_deref())
        .bind(concern.results_at)
        .bind(concern.issue_state.map(IssueState::as_str))
        .bind(concern.synced_hash.as_deref())
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(())
    }

    /// The concern a tracker issue belongs to, by the issue's key: its epic, or one of its
    /// stories. How a Jira webhook, which names only the issue, finds its concern.
    pub async fn concern_for_tracker_key(
        &self,
        key: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        // Epic first, then stories: two indexed lookups, and an epic key never doubles as a
        // story key (both are Jira issue keys, unique per site).
        self.first_concern(
            [
                "SELECT repo, number FROM concerns WHERE epic_key = $1 ORDER BY repo, number LIMIT 1",
                "SELECT repo, number FROM links WHERE story_key = $1 ORDER BY repo, number LIMIT 1",
            ],
            key,
        )
        .await
    }

    /// The concern a tracker issue belongs to, by the issue's stable id
    /// ([`crate::tracker::TrackerIssue::id`], kept by [`Store::set_tracker_ids`]): its
    /// epic, or one of its stories. How a delivery that names an item by id alone (GitHub's
    /// `projects_v2_item`, by the issue's node id) finds its concern.
    pub async fn concern_for_tracker_id(
        &self,
        id: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        self.first_concern(
            [
                "SELECT repo, number FROM concerns WHERE epic_id = $1 ORDER BY repo, number LIMIT 1",
                "SELECT repo, number FROM links WHERE story_id = $1 ORDER BY repo, number LIMIT 1",
            ],
            id,
        )
        .await
    }

    /// The `(repo, number)` the first of `queries` (each `SELECT repo, number … $1`, bound
    /// to `value`) finds, trying them in order.
    async fn first_concern(
        &self,
        queries: [&'static str; 2],
        value: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        for sql in queries {
            let row = sqlx::query(sql)
                .bind(value)
                .fetch_optional(self.pool())
                .await?;
            if let Some(row) = row {
                let number = from_db("issue number", row.try_get("number")?)?;
                return Ok(Some((row.try_get("repo")?, number)));
            }
        }
        Ok(None)
    }

    /// Whether some epic or story was linked before the store kept tracker ids (its id is
    /// unknown, so [`Store::concern_for_tracker_id`] cannot find it).
    pub async fn has_links_without_ids(&self) -> Result<bool, StoreError> {
        for sql in [
            "SELECT 1 AS one FROM concerns WHERE epic_key IS NOT NULL AND epic_id IS NULL LIMIT 1",
            "SELECT 1 AS one FROM links WHERE story_key IS NOT NULL AND story_id IS NULL LIMIT 1",
        ] {
            if sqlx::query(sql)
                .fetch_optional(self.pool())
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every concern that has an epic (what polling and reconcile walk), by repo and number.
    pub async fn linked_concerns(&self) -> Result<Vec<ConcernRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM concerns WHERE epic_key IS NOT NULL ORDER BY repo, number"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ConcernRow::from_row).collect()
    }

    /// The concerns of `repo` with these issue numbers (those the store knows), by number:
    /// what the full sweep compares one page of listed issues with. None for no numbers.
    pub async fn concerns_numbered(
        &self,
        repo: &str,
        numbers: &[u64],
    ) -> Result<Vec<ConcernRow>, StoreError> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are formatted in; the numbers are bound.
        let placeholders: Vec<String> = (2..=numbers.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM concerns WHERE repo = $1 AND number IN ({}) ORDER BY number",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo);
        for n in numbers {
            query = query.bind(super::error::to_db("issue number", *n)?);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(ConcernRow::from_row).collect()
    }

    /// The concerns whose epic key is one of `keys`, as given or in upper case (tracker
    /// keys are upper case; the `concerns_epic_key` index answers it), by repo and number;
    /// none for no keys.
    pub async fn concerns_with_epics(
        &self,
        keys: &[String],
    ) -> Result<Vec<ConcernRow>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = as_given_and_upper(keys);
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM concerns WHERE epic_key IN ({}) ORDER BY repo, number",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in keys {
            query = query.bind(k);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(ConcernRow::from_row).collect()
    }

    /// How many concerns have an epic.
    pub async fn count_epics(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM concerns WHERE epic_key IS NOT NULL")
            .fetch_one(self.pool())
            .await?;
        super::error::from_db("epic count", n)
    }

    /// One keyset page of the concerns that have an epic, in (repo, number) order: at most
    /// `limit` after `after` (`None`: from the start). An empty page is the end.
    pub async fn epics_page(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ConcernRow>, StoreError> {
        let (repo, number) = after.unwrap_or(("", 0));
        let started = after.is_some();
        let sql = format!(
            "SELECT {COLUMNS} FROM concerns WHERE epic_key IS NOT NULL \
             AND ($1 = 0 OR repo > $2 OR (repo = $2 AND number > $3)) \
             ORDER BY repo, number LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(started))
            .bind(repo)
            .bind(super::error::to_db("issue number", number)?)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(ConcernRow::from_row).collect()
    }

    /// Every concern in one of `stages`, by repo and number; none for an empty list.
    pub async fn concerns_in_stage(&self, stages: &[Stage]) -> Result<Vec<ConcernRow>, StoreError> {
        if stages.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are formatted in; the stage names are bound.
        let placeholders: Vec<String> = (1..=stages.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM concerns WHERE stage IN ({}) ORDER BY repo, number",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for stage in stages {
            query = query.bind(stage.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(ConcernRow::from_row).collect()
    }
}

/// `keys` as given and in upper case, each once (an `IN` list that an index on the column
/// answers, where `UPPER(column) IN` would scan every row).
pub(super) fn as_given_and_upper(keys: &[String]) -> Vec<String> {
    let mut out: Vec<String> = keys
        .iter()
        .flat_map(|k| [k.clone(), k.to_ascii_uppercase()])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    fn concern() -> ConcernRow {
        ConcernRow {
            repo: "acme/ops".into(),
            number: 42,
            issue_id: 4_445_000_041,
            stage: Stage::Ready,
            tracking_comment_id: None,
            epic_key: None,
            epic_url: None,
            last_error: None,
            updated_at: 1_000,
            progress: None,
            results: None,
            results_at: None,
            issue_state: None,
            synced_hash: None,
        }
    }

    #[tokio::test]
    async fn upsert_inserts_then_replaces() {
        on_each_backend(|store| async move {
            assert_eq!(store.get_concern("acme/ops", 42).await.expect("get"), None);

            store.upsert_concern(&concern()).await.expect("insert");
            assert_eq!(
                store.get_concern("acme/ops", 42).await.expect("get"),
                Some(concern())
            );

            let moved = ConcernRow {
                stage: Stage::EpicCreated,
                progress: Some(Progress::InProgress),
                results: Some("p99 1.2s → 300ms".into()),
                results_at: Some(5_000),
                issue_state: Some(IssueState::ClosedNotPlanned),
                synced_hash: Some("ab12".into()),
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
        })
        .await;
    }

    #[tokio::test]
    async fn numbers_beyond_i64_are_refused() {
        on_each_backend(|store| async move {
            let huge = ConcernRow {
                issue_id: u64::MAX,
                ..concern()
            };
            assert!(matches!(
                store.upsert_concern(&huge).await,
                Err(StoreError::OutOfRange { .. })
            ));
        })
        .await;
    }

    fn at(number: u64, stage: Stage, epic: Option<&str>) -> ConcernRow {
        ConcernRow {
            number,
            issue_id: 4_445_000_000 + number,
            stage,
            epic_key: epic.map(str::to_owned),
            epic_url: epic.map(|k| format!("https://j/browse/{k}")),
            ..concern()
        }
    }

    #[tokio::test]
    async fn tracker_keys_lead_to_their_concern() {
        on_each_backend(|store| async move {
            store
                .upsert_concern(&at(7, Stage::StoriesCreated, Some("SRE-3")))
                .await
                .expect("insert");
            store
                .upsert_concern(&ConcernRow {
                    repo: "acme/web".into(),
                    ..at(2, Stage::StoriesCreated, Some("SRE-4"))
                })
                .await
                .expect("insert");
            store
                .set_story_link(
                    "acme/ops",
                    7,
                    "payments",
                    "PAY-14",
                    "https://j/browse/PAY-14",
                )
                .await
                .expect("link");
            store
                .set_story_link(
                    "acme/web",
                    2,
                    "payments",
                    "PAY-15",
                    "https://j/browse/PAY-15",
                )
                .await
                .expect("link");
            let find = |key: &'static str| {
                let store = store.clone();
                async move { store.concern_for_tracker_key(key).await.expect("lookup") }
            };
            assert_eq!(find("SRE-3").await, Some(("acme/ops".into(), 7)));
            assert_eq!(find("SRE-4").await, Some(("acme/web".into(), 2)));
            assert_eq!(find("PAY-14").await, Some(("acme/ops".into(), 7)));
            assert_eq!(find("PAY-15").await, Some(("acme/web".into(), 2)));
            assert_eq!(find("PAY-16").await, None);
            assert_eq!(find("pay-14").await, None, "keys compare exactly");
        })
        .await;
    }

    #[tokio::test]
    async fn linked_concerns_are_those_with_an_epic() {
        on_each_backend(|store| async move {
            for row in [
                at(3, Stage::StoriesCreated, Some("SRE-2")),
                at(1, Stage::EpicCreated, Some("SRE-1")),
                at(2, Stage::Ready, None),
            ] {
                store.upsert_concern(&row).await.expect("insert");
            }
            let linked = store.linked_concerns().await.expect("linked");
            let numbers: Vec<u64> = linked.iter().map(|c| c.number).collect();
            assert_eq!(
                numbers,
                [1, 3],
                "by number, without the one lacking an epic"
            );
            assert_eq!(linked[1], at(3, Stage::StoriesCreated, Some("SRE-2")));
        })
        .await;
    }

    #[tokio::test]
    async fn concerns_by_stage() {
        on_each_backend(|store| async move {
            for row in [
                at(1, Stage::NeedsInfo, None),
                at(2, Stage::Ready, None),
                at(3, Stage::StoriesCreated, Some("SRE-1")),
                at(4, Stage::Ready, None),
            ] {
                store.upsert_concern(&row).await.expect("insert");
            }
            let numbers = |rows: Vec<ConcernRow>| rows.iter().map(|c| c.number).collect::<Vec<_>>();
            assert_eq!(
                numbers(
                    store
                        .concerns_in_stage(&[Stage::Ready])
                        .await
                        .expect("query")
                ),
                [2, 4]
            );
            assert_eq!(
                numbers(
                    store
                        .concerns_in_stage(&[
                            Stage::StoriesCreated,
                            Stage::NeedsInfo,
                            Stage::Rejected
                        ])
                        .await
                        .expect("query")
                ),
                [1, 3]
            );
            assert!(
                store
                    .concerns_in_stage(&[])
                    .await
                    .expect("empty")
                    .is_empty()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn unknown_stored_values_are_corrupt_not_guessed() {
        on_each_backend(|store| async move {
            store.upsert_concern(&concern()).await.expect("insert");
            // The CHECK constraint keeps unknown values out ...
            let refused = sqlx::query("UPDATE concerns SET progress = 'started'")
                .execute(store.pool())
                .await;
            assert!(refused.is_err(), "CHECK on progress");
            let refused = sqlx::query("UPDATE concerns SET stage = 'ready-for-council'")
                .execute(store.pool())
                .await;
            assert!(
                refused.is_err(),
                "CHECK on stage: only council::Stage names"
            );
            // ... and one that got in anyway (written by hand, constraint off) is reported
            // rather than read as something else.
            let mut conn = store.pool().acquire().await.expect("conn");
            let constraint_off = match store.backend() {
                crate::store::Backend::Sqlite => "PRAGMA ignore_check_constraints = ON",
                crate::store::Backend::Postgres => {
                    "ALTER TABLE concerns DROP CONSTRAINT concerns_checked_issue_state_check"
                }
            };
            sqlx::query(constraint_off)
                .execute(&mut *conn)
                .await
                .expect("constraint off");
            sqlx::query("UPDATE concerns SET issue_state = 'reopened'")
                .execute(&mut *conn)
                .await
                .expect("write");
            drop(conn);
            assert!(matches!(
                store.get_concern("acme/ops", 42).await,
                Err(StoreError::Corrupt {
                    what: "issue state",
                    ..
                })
            ));
        })
        .await;
    }
}
