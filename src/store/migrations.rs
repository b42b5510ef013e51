//! The schema migrations, compiled into the binary so a deployment needs no files beside it.
//!
//! Built with `include_str!` rather than `sqlx::migrate!`: that macro needs sqlx's `macros`
//! feature, which compiles the whole compile-time-query machinery (drivers included) as a
//! proc macro for one list of files. The migrator and its `_sqlx_migrations` table are
//! sqlx's own, so `sqlx migrate info` still reads the state. A new migration is a new file
//! in `migrations/sqlite/` and `migrations/postgres/` (the same change in each
//! database's words) and a new line in each list below.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)` of one backend's migrations, oldest first.
type Migrations = &'static [(i64, &'static str, &'static str)];

/// Every SQLite migration, oldest first.
const SQLITE: Migrations = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "sync state",
        include_str!("../../migrations/sqlite/0002_sync_state.sql"),
    ),
    (
        3,
        "stage history",
        include_str!("../../migrations/sqlite/0003_stage_history.sql"),
    ),
    (
        4,
        "stable ids",
        include_str!("../../migrations/sqlite/0004_stable_ids.sql"),
    ),
    (
        5,
        "create attempts",
        include_str!("../../migrations/sqlite/0005_create_attempts.sql"),
    ),
    (
        6,
        "moved from",
        include_str!("../../migrations/sqlite/0006_moved_from.sql"),
    ),
    (
        7,
        "out of scope",
        include_str!("../../migrations/sqlite/0007_out_of_scope.sql"),
    ),
    (
        8,
        "replicas",
        include_str!("../../migrations/sqlite/0008_replicas.sql"),
    ),
    (
        9,
        "delivery outcomes",
        include_str!("../../migrations/sqlite/0009_delivery_outcomes.sql"),
    ),
    (
        10,
        "tracking sent",
        include_str!("../../migrations/sqlite/0010_tracking_sent.sql"),
    ),
    (
        11,
        "delivery routing",
        include_str!("../../migrations/sqlite/0011_delivery_routing.sql"),
    ),
];

/// Every PostgreSQL migration, oldest first: the same versions as [`SQLITE`], each the same
/// schema change in PostgreSQL's words (identity keys, `BYTEA`, `BIGINT` throughout).
const POSTGRES: Migrations = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "sync state",
        include_str!("../../migrations/postgres/0002_sync_state.sql"),
    ),
    (
        3,
        "stage history",
        include_str!("../../migrations/postgres/0003_stage_history.sql"),
    ),
    (
        4,
        "stable ids",
        include_str!("../../migrations/postgres/0004_stable_ids.sql"),
    ),
    (
        5,
        "create attempts",
        include_str!("../../migrations/postgres/0005_create_attempts.sql"),
    ),
    (
        6,
        "moved from",
        include_str!("../../migrations/postgres/0006_moved_from.sql"),
    ),
    (
        7,
        "out of scope",
        include_str!("../../migrations/postgres/0007_out_of_scope.sql"),
    ),
    (
        8,
        "replicas",
        include_str!("../../migrations/postgres/0008_replicas.sql"),
    ),
    (
        9,
        "delivery outcomes",
        include_str!("../../migrations/postgres/0009_delivery_outcomes.sql"),
    ),
    (
        10,
        "tracking sent",
        include_str!("../../migrations/postgres/0010_tracking_sent.sql"),
    ),
    (
        11,
        "delivery routing",
        include_str!("../../migrations/postgres/0011_delivery_routing.sql"),
    ),
];

/// The migrator for a SQLite store.
pub(crate) fn sqlite() -> Migrator {
    up_to(SQLITE, SQLITE.len())
}

/// The migrator for a PostgreSQL store. sqlx holds a PostgreSQL advisory lock while it
/// migrates, so replicas started together apply each migration once.
pub(crate) fn postgres() -> Migrator {
    up_to(POSTGRES, POSTGRES.len())
}

/// The first `count` SQLite migrations (tests build databases of older versions with it).
#[cfg(test)]
fn sqlite_up_to(count: usize) -> Migrator {
    up_to(SQLITE, count)
}

/// The first `count` PostgreSQL migrations (tests build databases of older versions).
#[cfg(test)]
fn postgres_up_to(count: usize) -> Migrator {
    up_to(POSTGRES, count)
}

fn up_to(all: Migrations, count: usize) -> Migrator {
    Migrator::with_migrations(
        all.iter()
            .take(count)
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use sqlx::Row;
    use sqlx::any::AnyPoolOptions;

    use super::*;
    use crate::store::{Store, StoryState};

    /// A database made by the first release (0001 only), with data, is upgraded in place:
    /// rows kept, new columns NULL, new lookups working.
    #[tokio::test]
    async fn version_1_database_upgrades_with_its_rows() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        sqlite_up_to(1).run(&pool).await.expect("0001");
        for sql in [
            "INSERT INTO concerns (repo, number, issue_id, stage, epic_key, epic_url, updated_at) \
             VALUES ('acme/ops', 9, 900, 'stories-created', 'SRE-5', 'https://j/SRE-5', 1)",
            "INSERT INTO links (repo, number, team, story_key, story_url) \
             VALUES ('acme/ops', 9, 'payments', 'PAY-3', 'https://j/PAY-3')",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("seed");
        }
        pool.close().await;

        let store = Store::open(&url).await.expect("upgrade");
        let versions: Vec<i64> =
            sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .expect("versions")
                .iter()
                .map(|r| r.try_get("version").expect("version"))
                .collect();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(
            store
                .concern_moved_from("acme/ops", 9)
                .await
                .expect("moved from"),
            None
        );
        let concern = store
            .get_concern("acme/ops", 9)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(concern.epic_key.as_deref(), Some("SRE-5"));
        assert_eq!((concern.progress, concern.issue_state), (None, None));
        let links = store.story_links("acme/ops", 9).await.expect("links");
        assert_eq!(links[0].state, StoryState::default());
        assert_eq!(
            store
                .concern_for_tracker_key("PAY-3")
                .await
                .expect("lookup"),
            Some(("acme/ops".into(), 9))
        );
        assert_eq!(store.get_cursor("jira.poll").await.expect("cursor"), None);
    }

    /// A database of the 0002 schema with a linked concern is upgraded to 0004, and a story
    /// moved in Jira (new key, same id) is found under its new key with its state kept.
    #[tokio::test]
    async fn version_2_database_upgrades_and_follows_a_moved_story() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("v2.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        sqlite_up_to(2).run(&pool).await.expect("0001+0002");
        for sql in [
            "INSERT INTO concerns (repo, number, issue_id, stage, epic_key, epic_url, updated_at) \
             VALUES ('acme/ops', 9, 900, 'in-progress', 'SRE-5', 'https://j/browse/SRE-5', 1)",
            "INSERT INTO links (repo, number, team, story_key, story_url, status) \
             VALUES ('acme/ops', 9, 'payments', 'PAY-14', 'https://j/browse/PAY-14', 'In Progress')",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("seed");
        }
        pool.close().await;

        let store = Store::open(&url).await.expect("upgrade");
        let moved = store
            .follow_tracker_move("PAY-14", "PLAT-31", Some("77256"))
            .await
            .expect("move");
        assert_eq!(moved, 1);
        let links = store.story_links("acme/ops", 9).await.expect("links");
        assert_eq!(links[0].story_key, "PLAT-31");
        assert_eq!(links[0].story_url, "https://j/browse/PLAT-31");
        assert_eq!(
            links[0].state.status.as_deref(),
            Some("In Progress"),
            "state kept"
        );
        assert_eq!(
            store
                .concern_for_tracker_key("PLAT-31")
                .await
                .expect("lookup"),
            Some(("acme/ops".into(), 9))
        );
        assert_eq!(
            store
                .concern_for_tracker_key("PAY-14")
                .await
                .expect("lookup"),
            None
        );
        // Moved again (PLAT-31 -> NET-2): found by the id recorded the first time, even if
        // the webhook named a key the store never had.
        let moved = store
            .follow_tracker_move("XX-1", "NET-2", Some("77256"))
            .await
            .expect("move");
        assert_eq!(moved, 1);
        assert_eq!(
            store.story_links("acme/ops", 9).await.expect("links")[0].story_key,
            "NET-2"
        );
        // The epic moves the same way.
        store
            .follow_tracker_move("SRE-5", "OPS-1", Some("1"))
            .await
            .expect("epic");
        let concern = store
            .get_concern("acme/ops", 9)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(concern.epic_key.as_deref(), Some("OPS-1"));
        assert_eq!(concern.epic_url.as_deref(), Some("https://j/browse/OPS-1"));
    }

    /// A PostgreSQL database of the previous schema (0001..0005, before replicas), with
    /// a concern, a delivery and a job left running, is upgraded in place: rows kept, the
    /// identity keys go on numbering, and the old job is claimable.
    #[tokio::test]
    async fn postgres_previous_schema_upgrades_with_its_rows() {
        let Some(url) = crate::store::testing::pg_cluster::database_url().await else {
            return;
        };
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        postgres_up_to(5).run(&pool).await.expect("0001..0005");
        for sql in [
            "INSERT INTO concerns (repo, number, issue_id, stage, epic_key, epic_url, updated_at) \
             VALUES ('acme/ops', 9, 900, 'stories-created', 'SRE-5', 'https://j/SRE-5', 1)",
            "INSERT INTO deliveries (source, delivery_id, event, payload, received_at) \
             VALUES ('github', 'd-1', 'issues', '\\x7b7d'::bytea, 1)",
            "INSERT INTO outbox (idem_key, kind, payload, state, attempts, next_attempt_at, \
                                 created_at, updated_at) \
             VALUES ('old', 'tracking', '{\"repo\":\"acme/ops\",\"number\":9}', 'running', 1, 0, 0, 0)",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("seed");
        }
        pool.close().await;

        let store = Store::open(&url).await.expect("upgrade");
        let versions: Vec<i64> =
            sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(store.pool())
                .await
                .expect("versions")
                .iter()
                .map(|r| r.try_get("version").expect("version"))
                .collect();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let concern = store
            .get_concern("acme/ops", 9)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(concern.epic_key.as_deref(), Some("SRE-5"));
        let pending = store.pending_deliveries(10).await.expect("pending");
        assert_eq!(pending[0].payload, b"{}");
        // The old running job (its lease long over, no concern recorded) is due.
        let jobs = store
            .claim_due(crate::store::now_ms(), 10)
            .await
            .expect("claim");
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].idem_key, "old");
        // New rows go on numbering after the old ones; new jobs record their concern.
        assert!(
            store
                .enqueue(
                    "new",
                    "tracking",
                    &serde_json::json!({"repo": "acme/ops", "number": 9})
                )
                .await
                .expect("enqueue")
        );
        let concern_col: Option<String> =
            sqlx::query_scalar("SELECT concern FROM outbox WHERE idem_key = 'new'")
                .fetch_one(store.pool())
                .await
                .expect("concern");
        assert_eq!(concern_col.as_deref(), Some("acme/ops#9"));
        // Reopening runs nothing twice.
        store.close().await;
        Store::open(&url).await.expect("reopen");
    }

    /// A SQLite store of the previous schema (0001..0008, deliveries in the store's file)
    /// opens with its deliveries moved into the inbox file: a handled one stays handled, a
    /// failed one keeps its attempts and error, one interrupted keeps its start, and new
    /// deliveries are numbered after them. Reopening moves nothing twice.
    #[tokio::test]
    async fn sqlite_previous_schema_moves_its_deliveries_to_the_inbox_file() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("v8.db");
        let url = format!("sqlite://{}?mode=rwc", db.display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        sqlite_up_to(8).run(&pool).await.expect("0001..0008");
        for sql in [
            "INSERT INTO deliveries (source, delivery_id, event, payload, received_at, processed_at, attempts, started) \
             VALUES ('github', 'done', 'issues', x'7b7d', 1, 2, 1, 1)",
            "INSERT INTO deliveries (source, delivery_id, event, payload, received_at, attempts, last_error, started) \
             VALUES ('github', 'failed', 'issues', x'7b7d', 1, 2, 'jira 503', 2)",
            "INSERT INTO deliveries (source, delivery_id, event, action, payload, received_at, started) \
             VALUES ('jira', 'crashed', 'jira:issue_updated', NULL, x'7b7d', 1, 1)",
            "INSERT INTO deliveries (source, delivery_id, event, action, payload, received_at) \
             VALUES ('github', 'new', 'issues', 'edited', x'7b7d', 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.expect("seed");
        }
        pool.close().await;

        for _ in 0..2 {
            let store = Store::open(&url).await.expect("upgrade");
            let pending = store.pending_deliveries(10).await.expect("pending");
            let got: Vec<_> = pending
                .iter()
                .map(|d| (d.delivery_id.as_str(), d.attempts, d.interrupted))
                .collect();
            assert_eq!(got, [("failed", 2, 0), ("crashed", 0, 1), ("new", 0, 0)]);
            assert_eq!(pending[0].last_error.as_deref(), Some("jira 503"));
            assert_eq!(pending[2].action.as_deref(), Some("edited"));
            assert_eq!(pending[2].payload, b"{}");
            let left: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM main.sqlite_master WHERE name = 'deliveries'",
            )
            .fetch_one(store.pool())
            .await
            .expect("old table");
            assert_eq!(left, 0, "the store's own deliveries table is gone");
            let (writer, _task) = crate::store::InboxWriter::spawn(store.clone());
            let again = writer
                .submit(crate::store::NewDelivery {
                    source: crate::store::Source::Github,
                    delivery_id: "new".into(),
                    event: "issues".into(),
                    action: None,
                    payload: bytes::Bytes::from_static(b"{}"),
                })
                .await
                .expect("redelivery");
            assert_eq!(
                again,
                crate::store::Submitted::Duplicate,
                "still deduplicated"
            );
            store.close().await;
        }
        assert!(dir.path().join("v8.inbox.db").exists());
    }

    /// The same on SQLite: a 0005 database with a job left running opens at the latest version.
    #[tokio::test]
    async fn sqlite_previous_schema_upgrades_with_a_running_job() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("v5.db").display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        sqlite_up_to(5).run(&pool).await.expect("0001..0005");
        sqlx::query(
            "INSERT INTO outbox (idem_key, kind, payload, state, attempts, next_attempt_at, \
                                 created_at, updated_at) \
             VALUES ('old', 'tracking', '{}', 'running', 1, 0, 0, 0)",
        )
        .execute(&pool)
        .await
        .expect("seed");
        pool.close().await;
        let store = Store::open(&url).await.expect("upgrade");
        assert_eq!(store.requeue_running().await.expect("requeue"), 1);
        let jobs = store
            .claim_due(crate::store::now_ms(), 10)
            .await
            .expect("claim");
        assert_eq!(jobs[0].idem_key, "old");
    }
}
