//! SQLite only: the inbox in a database file of its own, beside the store's.
//!
//! Why: SQLite has one writer per file. With the deliveries in the store's file, every
//! webhook's group commit waited for the engine's transactions (about four a delivery, each
//! fsync'd) and for SQLite's busy handler, which sleeps in steps of 1–100 ms: the ingest
//! profile of issue 13 saw 6 acks per fsync and a p99 of 92 ms at 16 senders. In a file of
//! its own the inbox has one writer, the webhook writer's connection, so a commit waits for
//! its own fsync only.
//!
//! The file is `<store>.inbox.db` (`council-sync.db` → `council-sync.inbox.db`); it holds
//! `deliveries` (the delivery as received, and `processed_at` as a hint, see below) and is
//! ATTACHed to every connection of the store's pool as `inbox`, so the engine reads it
//! beside its own tables. What the engine did with a delivery is recorded in the store's
//! file (`delivery_outcomes`), in the same transaction as its decision; that is what makes
//! a delivery handled exactly once. `inbox.deliveries.processed_at` is set afterwards, once
//! per round, only to keep the inbox's pending index short: a crash that loses it costs a
//! look-up, never a second handling.
//!
//! The inbox's `seq` (AUTOINCREMENT: never reused) names a delivery in
//! `delivery_outcomes`. At open the inbox's counter is raised above every `seq` the store
//! has an outcome for, so an inbox file lost or replaced never gives a new delivery the
//! `seq` of one already handled.

use std::path::{Path, PathBuf};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::StoreError;

/// Version of the inbox file's schema (`PRAGMA user_version`).
/// 1: the deliveries as received; 2: with their routing columns (`cue`, `repository`,
/// `issue_number`, `sender`: see `store::inbox::Routing`), NULL on rows stored before.
const INBOX_SCHEMA_VERSION: i64 = 2;

/// The columns schema 2 added, each added by itself to a file of schema 1 (so a file that
/// has some of them, after a crash between two, gets the rest).
const ROUTING_COLUMNS: [(&str, &str); 4] = [
    (
        "cue",
        "cue TEXT CHECK (cue IN ('issue', 'comment', 'transfer'))",
    ),
    ("repository", "repository TEXT"),
    ("issue_number", "issue_number BIGINT"),
    ("sender", "sender TEXT"),
];

/// The inbox file's schema: the delivery as received and the `processed_at` hint. The
/// columns are those of the store's `deliveries` before it moved (migration 0009), minus the
/// engine's counters, which are in `delivery_outcomes` now.
const INBOX_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS deliveries ( \
        seq          INTEGER PRIMARY KEY AUTOINCREMENT, \
        source       TEXT    NOT NULL CHECK (source IN ('github', 'jira')), \
        delivery_id  TEXT    NOT NULL, \
        event        TEXT    NOT NULL, \
        action       TEXT, \
        payload      BLOB    NOT NULL, \
        received_at  BIGINT  NOT NULL, \
        processed_at BIGINT, \
        cue          TEXT CHECK (cue IN ('issue', 'comment', 'transfer')), \
        repository   TEXT, \
        issue_number BIGINT, \
        sender       TEXT, \
        UNIQUE (source, delivery_id) \
    ); \
    CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (seq) WHERE processed_at IS NULL;";

/// Connections of the inbox's own pool: the webhook writer's, the checkpointer's and one for
/// `/readyz`, so neither of the others ever makes a commit wait for a connection.
const INBOX_CONNECTIONS: u32 = 3;

/// Set on every connection of the inbox's own pool, in this order (`page_size` first: it
/// only takes effect before the file's first page is written, which `journal_mode = WAL`
/// does).
///
/// - `page_size = 16384`: a delivery is 5–30 KB (the bench's is 14 KB). At SQLite's
///   default 4 KB it spans a chain of overflow pages, each a WAL frame of its own (two
///   `pwrite`s: header and page); at 16 KB most deliveries fit their leaf page, which cut
///   the frames per stored delivery about threefold in the measurement of issue 13
///   (README "What stands in the way"). A file created with another size keeps it
///   (SQLite changes it only by a `VACUUM` outside WAL mode).
/// - `synchronous = FULL` in WAL mode: every commit is fsync'd before it returns, so a
///   202 means the delivery survives a power cut.
/// - `wal_autocheckpoint = 0`: no checkpoint inside a commit. SQLite's default runs one
///   in the committing connection after every commit that leaves more than 1,000 frames
///   in the WAL: reading them back, writing the database file and fsyncing it while the
///   submitters of that batch wait for their answer. The writer asks a checkpointer of
///   its own instead (see [`Checkpointer`]).
/// - `journal_size_limit = 64 MiB`: the WAL file is reused from its start after a
///   checkpoint (overwriting blocks already allocated is a cheaper fsync than growing the
///   file) and cut back to 64 MiB only after a burst made it longer.
const INBOX_PRAGMAS: &str = "PRAGMA page_size = 16384; PRAGMA busy_timeout = 5000; \
                             PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA wal_autocheckpoint = 0; \
                             PRAGMA journal_size_limit = 67108864;";

/// The inbox file of the SQLite store at `db` (`x.db` → `x.inbox.db`, `x` → `x.inbox.db`).
pub(crate) fn inbox_path(db: &Path) -> PathBuf {
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = match name.as_deref().and_then(|n| n.strip_suffix(".db")) {
        Some(stem) => format!("{stem}.inbox.db"),
        None => format!("{}.inbox.db", name.as_deref().unwrap_or("council-sync")),
    };
    db.with_file_name(name)
}

/// Opens (creating if needed) the inbox file at `path` with [`INBOX_PRAGMAS`]
/// (`synchronous = FULL`: a 202 means the delivery survives a power cut) and its schema.
pub(crate) async fn open_pool(
    path: &Path,
    store: &super::StoreOptions,
) -> Result<AnyPool, StoreError> {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let options: AnyConnectOptions = url.parse()?;
    let pool = AnyPoolOptions::new()
        .max_connections(INBOX_CONNECTIONS)
        .acquire_timeout(store.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(INBOX_PRAGMAS).await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(super::named_pool("inbox", store))?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&pool)
        .await?;
    if version > INBOX_SCHEMA_VERSION {
        return Err(StoreError::Corrupt {
            what: "inbox file",
            reason: format!(
                "schema version {version} is newer than this council-sync knows \
                 ({INBOX_SCHEMA_VERSION}); run the newer version"
            ),
        });
    }
    pool.execute(INBOX_SCHEMA).await?;
    // A file of schema 1 keeps its table: the routing columns are added to it.
    for (name, definition) in ROUTING_COLUMNS {
        let present: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pragma_table_info('deliveries') WHERE name = $1",
        )
        .bind(name)
        .fetch_one(&pool)
        .await?;
        if present == 0 {
            pool.execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE deliveries ADD COLUMN {definition}"
            )))
            .await?;
        }
    }
    if version < INBOX_SCHEMA_VERSION {
        pool.execute(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {INBOX_SCHEMA_VERSION}"
        )))
        .await?;
    }
    Ok(pool)
}

/// The inbox file's checkpoints, off the commit path: the writer asks for one after each
/// [`CHECKPOINT_AFTER_BYTES`] of deliveries it committed, and one task runs SQLite's
/// `PASSIVE` checkpoint on a connection of its own. A passive checkpoint never takes the
/// write lock, so the writer's commits go on beside it; once it has copied every frame,
/// the next commit starts the WAL over from its beginning. Requests made while one runs
/// fold into one more.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    due: mpsc::Sender<()>,
    done: watch::Receiver<u64>,
}

/// Delivery bytes committed after which the writer asks for a checkpoint: about SQLite's
/// own default (1,000 frames, 4 MB at its default page size).
pub(crate) const CHECKPOINT_AFTER_BYTES: usize = 4 << 20;

impl Checkpointer {
    /// Starts the checkpoint task on `pool` (the inbox file's own). It ends when the
    /// `Checkpointer` is dropped, after the checkpoint it may be running.
    pub(crate) fn spawn(pool: AnyPool) -> (Self, JoinHandle<()>) {
        let (due, mut requests) = mpsc::channel::<()>(1);
        let (count, done) = watch::channel(0);
        let task = tokio::spawn(async move {
            while requests.recv().await.is_some() {
                match checkpoint(&pool).await {
                    Ok((busy, frames, copied)) => {
                        count.send_modify(|n| *n += 1);
                        tracing::debug!(busy, frames, copied, "inbox checkpoint");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "inbox checkpoint failed; asked again after the next writes");
                    }
                }
            }
        });
        (Self { due, done }, task)
    }

    /// How many checkpoints have run so far (a test awaits it instead of sleeping).
    pub(crate) fn done(&self) -> watch::Receiver<u64> {
        self.done.clone()
    }

    /// Asks for a checkpoint; never waits (one already asked for covers this one).
    pub(crate) fn request(&self) {
        let _ = self.due.try_send(());
    }
}

/// One `PASSIVE` checkpoint of the inbox file: (1 if it could not finish for a reader or
/// writer, frames in the WAL, frames copied into the database file), as SQLite reports.
pub(crate) async fn checkpoint(pool: &AnyPool) -> Result<(i64, i64, i64), StoreError> {
    Ok(sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?)
}

/// After the migrations, on a connection of the store's pool (the inbox attached as
/// `inbox`): moves the deliveries of a store from before migration 0009 into the inbox file,
/// then raises the inbox's `seq` counter above every outcome the store records.
///
/// The move is two commits of one file each (SQLite makes a transaction over attached WAL
/// databases atomic per file only): copy into the inbox (rows already there are kept), then
/// drop the store's old table. A crash between them repeats the copy at the next open.
pub(crate) async fn settle(pool: &AnyPool) -> Result<(), StoreError> {
    let legacy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM main.sqlite_master WHERE type = 'table' AND name = 'deliveries'",
    )
    .fetch_one(pool)
    .await?;
    if legacy > 0 {
        sqlx::query(
            "INSERT OR IGNORE INTO inbox.deliveries \
                 (seq, source, delivery_id, event, action, payload, received_at, processed_at) \
             SELECT seq, source, delivery_id, event, action, payload, received_at, processed_at \
             FROM main.deliveries",
        )
        .execute(pool)
        .await?;
        sqlx::query("DROP TABLE main.deliveries")
            .execute(pool)
            .await?;
    }
    let handled: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM delivery_outcomes")
        .fetch_one(pool)
        .await?;
    let Some(handled) = handled else {
        return Ok(());
    };
    let next: Option<i64> = sqlx::query_scalar::<_, i64>(
        "SELECT seq FROM inbox.sqlite_sequence WHERE name = 'deliveries'",
    )
    .fetch_optional(pool)
    .await?;
    match next {
        Some(seq) if seq >= handled => {}
        Some(_) => {
            sqlx::query("UPDATE inbox.sqlite_sequence SET seq = $1 WHERE name = 'deliveries'")
                .bind(handled)
                .execute(pool)
                .await?;
        }
        None => {
            sqlx::query("INSERT INTO inbox.sqlite_sequence (name, seq) VALUES ('deliveries', $1)")
                .bind(handled)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::store::testing::temp_store;
    use crate::store::{InboxWriter, NewDelivery, Source, Store, Submitted};

    fn delivery(id: &str) -> NewDelivery {
        NewDelivery {
            source: Source::Github,
            delivery_id: id.to_owned(),
            event: "issues".into(),
            action: Some("edited".into()),
            payload: Bytes::from_static(b"{}"),
        }
    }

    async fn inserted(writer: &InboxWriter, id: &str) -> i64 {
        match writer.submit(delivery(id)).await.expect("submit") {
            Submitted::Inserted { seq } => seq,
            Submitted::Duplicate => panic!("{id}: duplicate"),
        }
    }

    /// An inbox file of schema 1 (no routing columns), with a pending delivery in it, is
    /// upgraded in place at open: the row reads back without routing, and new rows are
    /// stored with theirs.
    #[tokio::test]
    async fn a_schema_1_inbox_file_gets_the_routing_columns_and_keeps_its_rows() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("s.db");
        let inbox = inbox_path(&db);
        {
            let url = format!("sqlite://{}?mode=rwc", inbox.display());
            let pool = sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("schema 1 file");
            let v1 = "CREATE TABLE deliveries ( \
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, \
                    source TEXT NOT NULL CHECK (source IN ('github', 'jira')), \
                    delivery_id TEXT NOT NULL, event TEXT NOT NULL, action TEXT, \
                    payload BLOB NOT NULL, received_at BIGINT NOT NULL, processed_at BIGINT, \
                    UNIQUE (source, delivery_id)); \
                PRAGMA user_version = 1; \
                INSERT INTO deliveries (source, delivery_id, event, action, payload, received_at) \
                VALUES ('github', 'old', 'issues', 'edited', X'7B7D', 1);";
            pool.execute(v1).await.expect("schema 1");
            pool.close().await;
        }
        let store = Store::open(&format!("sqlite://{}", db.display()))
            .await
            .expect("open upgrades");
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(store.inbox_pool())
            .await
            .expect("version");
        assert_eq!(version, INBOX_SCHEMA_VERSION);
        let (writer, _task) = InboxWriter::spawn(store.clone());
        let routing = crate::store::Routing {
            cue: crate::store::Cue::Issue,
            repo: "acme/ops".into(),
            issue_number: 3,
            sender: "alice".into(),
        };
        writer
            .submit_routed(delivery("new"), Some(routing.clone()))
            .await
            .expect("stored with routing");
        let got: Vec<_> = store
            .pending_deliveries(10)
            .await
            .expect("pending")
            .into_iter()
            .map(|d| (d.delivery_id, d.routing, d.payload))
            .collect();
        assert_eq!(
            got,
            [
                ("old".to_owned(), None, b"{}".to_vec()),
                ("new".to_owned(), Some(routing), b"{}".to_vec())
            ]
        );
        // Opened again: nothing to add, nothing lost.
        drop(writer);
        store.close().await;
        let store = Store::open(&format!("sqlite://{}", db.display()))
            .await
            .expect("reopen");
        assert_eq!(
            store.pending_deliveries(10).await.expect("pending").len(),
            2
        );
    }

    /// The point of the file of its own: while the engine holds the store's write lock (a
    /// transaction that has written and not committed), a webhook's delivery still commits,
    /// well inside the 5 s `busy_timeout` it would otherwise have waited out.
    #[tokio::test]
    async fn a_delivery_commits_while_the_engine_holds_the_store_write_lock() {
        let (store, _dir) = temp_store().await;
        let (writer, _task) = InboxWriter::spawn(store.clone());
        let mut engine = store.pool().begin().await.expect("begin");
        sqlx::query("INSERT INTO delivery_outcomes (seq, started) VALUES (-7, 1)")
            .execute(&mut *engine)
            .await
            .expect("the engine's write");
        let submitted = tokio::time::timeout(Duration::from_secs(2), writer.submit(delivery("a")))
            .await
            .expect("the webhook did not wait for the engine's lock")
            .expect("stored");
        assert!(matches!(submitted, Submitted::Inserted { .. }));
        engine.rollback().await.expect("rollback");
        assert_eq!(
            store.pending_deliveries(10).await.expect("pending").len(),
            1
        );
    }

    /// An outcome committed with its decision makes the delivery handled whether or not the
    /// inbox's hint was written after it (a crash between the two): never offered again.
    /// And a decision that never committed leaves it pending.
    #[tokio::test]
    async fn the_outcome_decides_not_the_hint() {
        let (store, _dir) = temp_store().await;
        let (writer, _task) = InboxWriter::spawn(store.clone());
        let a = inserted(&writer, "a").await;
        let b = inserted(&writer, "b").await;
        store.begin_deliveries(&[a]).await.expect("begin");
        store
            .commit_decision(Some(a), None, None, &[])
            .await
            .expect("decided");
        // No `mark_handled`: the process went away before it.
        let pending = store.pending_deliveries(10).await.expect("pending");
        assert_eq!(pending.iter().map(|d| d.seq).collect::<Vec<_>>(), [b]);
        let hinted: Option<i64> =
            sqlx::query_scalar("SELECT processed_at FROM inbox.deliveries WHERE seq = $1")
                .bind(a)
                .fetch_one(store.pool())
                .await
                .expect("hint");
        assert_eq!(hinted, None);
        store.mark_handled(b).await.expect("hint");
        let hinted: Vec<i64> =
            sqlx::query_scalar("SELECT seq FROM inbox.deliveries WHERE processed_at IS NOT NULL")
                .fetch_all(store.pool())
                .await
                .expect("hints");
        assert_eq!(hinted, [a], "only what the outcomes say is handled");
        assert_eq!(store.backlog().await.expect("backlog").deliveries, 1);
    }

    /// An inbox file lost (or replaced by an empty one) while the store keeps its outcomes:
    /// new deliveries are numbered after every handled one, so none is taken for handled.
    #[tokio::test]
    async fn a_new_inbox_file_never_reuses_a_handled_seq() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("council-sync.db");
        let url = format!("sqlite://{}", db.display());
        let store = Store::open(&url).await.expect("open");
        let (writer, task) = InboxWriter::spawn(store.clone());
        let mut last = 0;
        for id in ["a", "b", "c"] {
            last = inserted(&writer, id).await;
            store
                .commit_decision(Some(last), None, None, &[])
                .await
                .expect("handled");
        }
        drop(writer);
        task.await.expect("writer ends");
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", inbox_path(&db).display()));
        }
        let store = Store::open(&url).await.expect("reopen");
        let (writer, _task) = InboxWriter::spawn(store.clone());
        let next = inserted(&writer, "d").await;
        assert!(next > last, "{next} after {last}");
        let pending = store.pending_deliveries(10).await.expect("pending");
        assert_eq!(pending.iter().map(|d| d.seq).collect::<Vec<_>>(), [next]);
    }

    /// Every connection of the inbox's own pool commits durably (WAL, `synchronous =
    /// FULL`) and never checkpoints inside a commit; a new file has 16 KB pages.
    #[tokio::test]
    async fn the_inbox_file_is_durable_and_checkpoints_apart() {
        let (store, _dir) = temp_store().await;
        let mut conns = Vec::new();
        for _ in 0..INBOX_CONNECTIONS {
            conns.push(store.inbox_pool().acquire().await.expect("acquire"));
        }
        for conn in &mut conns {
            let mut ask = async |pragma: &'static str| -> i64 {
                sqlx::query_scalar(pragma)
                    .fetch_one(&mut **conn)
                    .await
                    .expect(pragma)
            };
            assert_eq!(ask("PRAGMA synchronous").await, 2, "FULL");
            assert_eq!(ask("PRAGMA wal_autocheckpoint").await, 0);
            assert_eq!(ask("PRAGMA page_size").await, 16384);
            assert_eq!(ask("PRAGMA journal_size_limit").await, 64 << 20);
            assert_eq!(ask("PRAGMA busy_timeout").await, 5000);
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .expect("journal_mode");
            assert_eq!(mode, "wal");
        }
    }

    /// An in-memory SQLite URL is refused with a clear error (the inbox needs a file).
    #[tokio::test]
    async fn an_in_memory_store_is_refused() {
        let err = Store::open("sqlite::memory:").await.expect_err("no file");
        assert!(matches!(err, StoreError::InMemory), "{err}");
    }

    #[test]
    fn inbox_file_sits_beside_the_store() {
        assert_eq!(
            inbox_path(Path::new("/var/lib/council-sync.db")),
            PathBuf::from("/var/lib/council-sync.inbox.db")
        );
        assert_eq!(
            inbox_path(Path::new("state/store")),
            PathBuf::from("state/store.inbox.db")
        );
        assert_eq!(inbox_path(Path::new("c.db")), PathBuf::from("c.inbox.db"));
    }
}
