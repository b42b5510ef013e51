//! Durable state in SQL (SQLite by default, PostgreSQL for several replicas): the inbox of webhook deliveries, concerns,
//! council decisions, story links (with each story's tracker state), the outbox of pending
//! external writes, cursors, and each concern's stage history (`stage_transitions`, written
//! by the compare-and-set in `stages.rs` in the same transaction as the change).
//!
//! Queries are runtime `sqlx::query` calls through `AnyPool`, written in SQL that SQLite and
//! PostgreSQL both accept (`$n` placeholders, `ON CONFLICT`, `RETURNING`, timestamps as i64
//! milliseconds); each backend has its own migrations (`migrations/sqlite`,
//! `migrations/postgres`). The few places where replicas need more than one statement can
//! give (claims, leadership of periodic work) live in `replicas.rs`.
//! Every write is a single statement or a transaction that starts with a write, so SQLite's
//! `busy_timeout` covers lock waits (a read-then-write transaction could fail at once in WAL).

mod attempts;
mod concerns;
mod cursors;
mod decisions;
mod error;
mod inbox;
mod inbox_file;
mod links;
mod lock;
mod migrations;
mod outbox;
mod payload;
mod progress;
mod replicas;
mod stages;
mod views;
mod writer;

#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::Notify;

pub use attempts::{CreateAttempt, CreateOutcome};
pub use concerns::{ConcernRow, IssueState};
pub use decisions::{Decision, DecisionKind};
pub use error::StoreError;
pub use inbox::{Cue, Delivery, DeliveryHeader, NewDelivery, Routing, Source, Submitted};
pub use links::{StoryLink, StoryLinkAt, StoryState};
pub use lock::StoreLock;
pub use outbox::{CLAIM_LEASE, OutboxJob};
pub use progress::{Backlog, EpicRecord, ParkedJob, QueuedWrite};
pub use replicas::{LEASE_RENEW, Leadership, Role};
pub use stages::{StageChange, StageTransition};
pub use views::{AgendaClaim, ConcernSnapshot, FailedWrite, MetricCounts};
pub use writer::{InboxWriter, IngestPressure};

/// Set on every SQLite connection. `busy_timeout = 5000`: a connection waits up to 5 s for
/// the write lock, long enough to ride out a group commit of a few thousand deliveries,
/// short enough that a webhook still gets its 503 inside GitHub's 10 s delivery timeout.
/// WAL lets readers run beside the writer; `synchronous = FULL` makes a commit durable
/// before the 202 goes out.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// Set on every connection of a SQLite store's pool after the inbox file is attached as
/// `inbox`: the engine writes the inbox only to set `processed_at`, a hint (the outcome
/// that counts is in `delivery_outcomes`, committed with `FULL` in the store's file), so
/// those commits need not wait for the disk. The webhook writer's own connections keep
/// `synchronous = FULL` on the inbox.
const INBOX_ATTACHED_PRAGMAS: &str = "PRAGMA inbox.synchronous = NORMAL;";

/// Set on the connection of a SQLite store's relaxed pool ([`Store::relaxed_pool`]): as
/// [`SQLITE_PRAGMAS`] but `synchronous = NORMAL`, so its commits reach the WAL file (the
/// operating system's cache: a killed or crashed process keeps them) without waiting for
/// the disk. A power cut may lose the last of them, never out of order: the WAL is one
/// sequence, and the next `FULL` commit of any connection makes everything before it
/// durable. Only markers whose loss after a power cut equals a crash just before them
/// (already safe at every point) go through it.
const SQLITE_RELAXED_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                                      PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

/// The store's commits, by how they reached the disk (`sync`: `full` waited for the disk,
/// `relaxed` did not): what an accepted concern costs in commits is read from it
/// (benches/council/accept.rs). A statement that changed no row is not counted (SQLite
/// writes nothing for it).
pub const STORE_COMMITS: &str = "council_sync_store_commits_total";

/// Counts one commit of the store (`sync` as in [`STORE_COMMITS`]).
fn count_commit(sync: &'static str) {
    metrics::counter!(STORE_COMMITS, "sync" => sync).increment(1);
}

/// Counts a single-statement write on [`Store::pool`] (a commit of its own) that changed
/// something; for `Result::inspect`.
pub(crate) fn counted(done: &sqlx::any::AnyQueryResult) {
    if done.rows_affected() > 0 {
        count_commit("full");
    }
}

/// Counts a transaction committed on [`Store::pool`]; for `Result::inspect`.
pub(crate) fn committed(_: &()) {
    count_commit("full");
}

/// Counts a single-statement write that changed something and commits without waiting for
/// the disk; for `Result::inspect`.
pub(crate) fn counted_relaxed(done: &sqlx::any::AnyQueryResult) {
    if done.rows_affected() > 0 {
        count_commit("relaxed");
    }
}

/// Connections in the pool. SQLite has one writer at a time anyway; the rest serve the
/// engine's and the board's reads, which WAL lets run beside the writer.
const MAX_CONNECTIONS: u32 = 4;

/// Connections per replica on PostgreSQL: the webhook writer, the engine's loops (each
/// leading loop holds one for its round, see [`Store::lead`]) and the board's reads.
const PG_MAX_CONNECTIONS: u32 = 10;

/// How long a query waits for a free connection of any store pool (on PostgreSQL sqlx
/// also retries a failing connect until then), unless `store.acquire_timeout` says
/// otherwise: as SQLite's `busy_timeout`, short enough that a webhook still gets its 503
/// inside GitHub's 10 s delivery timeout while the database is unreachable.
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the store's pools behave (`[store]` in the config, see
/// [`crate::config::StoreConfig::options`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a query waits for a free connection before it fails with
    /// [`StoreError::PoolTimedOut`] naming the pool.
    pub acquire_timeout: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

/// Maps sqlx's `PoolTimedOut` to [`StoreError::PoolTimedOut`] naming `pool`; any other
/// error as it is.
pub(crate) fn named_pool(
    pool: &'static str,
    options: &StoreOptions,
) -> impl Fn(sqlx::Error) -> StoreError {
    let waited = options.acquire_timeout;
    move |e| match e {
        sqlx::Error::PoolTimedOut => StoreError::PoolTimedOut {
            pool: Some(pool),
            waited: Some(waited),
        },
        e => StoreError::from(e),
    }
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one daemon (it holds the file's lock, see [`StoreLock`]).
    Sqlite,
    /// A server that several replicas share.
    Postgres,
}

/// Handle on the database; cheap to clone (a pool, a `Notify`, this process's claim id).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where the webhook writer commits: on SQLite the inbox file's own pool (see
    /// `inbox_file.rs`), so a webhook never waits for the engine's write lock; on
    /// PostgreSQL the same pool as `pool`.
    inbox_pool: AnyPool,
    /// Where markers that need not wait for the disk commit (see [`Store::relaxed_pool`]).
    relaxed: AnyPool,
    /// The deliveries table as the engine's queries (on `pool`) name it: `inbox.deliveries`
    /// (the attached inbox file) on SQLite, `deliveries` on PostgreSQL.
    inbox_table: &'static str,
    inbox_notify: Arc<Notify>,
    /// Woken when a commit queued outbox jobs ([`Store::outbox_notify`]).
    outbox_notify: Arc<Notify>,
    /// How busy the webhook writer is (see [`IngestPressure`]): the engine yields to it.
    ingest_pressure: Arc<IngestPressure>,
    backend: Backend,
    /// Written into `outbox.claimed_by` by this process's claims (`pid-<pid>-<random>`, new
    /// per open), so a process renews only its own leases and a person (or a test) can tell
    /// which process holds a job.
    replica: Arc<str>,
    /// Whether this process has started its own start-up reconcile round (see
    /// [`Store::lead_due`]).
    reconciled_once: Arc<std::sync::atomic::AtomicBool>,
    /// On SQLite, whose turn it is to write the store's file ([`Store::write_turn`]);
    /// `None` on PostgreSQL, whose server orders writers itself without sleeping.
    write_turns: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://PATH` opens in WAL mode with `synchronous=FULL` (a 202 means the delivery
    /// survives a power cut) and `busy_timeout`. `postgres://` (or `postgresql://`, any
    /// libpq-style URL sqlx accepts: `user:password@host:port/db?sslmode=…`) connects to an
    /// existing database; the migrations create the tables. Errors never show the URL, which
    /// may hold a password.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &StoreOptions::default()).await
    }

    /// [`Self::open`] with the pools set as `options` says (`[store]` in the config).
    pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let wait = options.acquire_timeout;
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        let backend = match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            _ => {
                return Err(StoreError::UnsupportedUrl {
                    scheme: scheme.to_owned(),
                });
            }
        };
        let (pool, inbox_pool, relaxed, inbox_table) = match backend {
            Backend::Sqlite => {
                let db = lock::sqlite_path(url).ok_or(StoreError::InMemory)?;
                let inbox = inbox_file::inbox_path(&db);
                let inbox_pool = inbox_file::open_pool(&inbox, options).await?;
                let inbox: Arc<str> = inbox.display().to_string().into();
                let connect: AnyConnectOptions = with_create_mode(url).parse()?;
                let pool = AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(wait)
                    .after_connect(move |conn, _meta| {
                        let inbox = Arc::clone(&inbox);
                        Box::pin(async move {
                            conn.execute(SQLITE_PRAGMAS).await?;
                            sqlx::query("ATTACH DATABASE $1 AS inbox")
                                .bind(&*inbox)
                                .execute(&mut *conn)
                                .await?;
                            conn.execute(INBOX_ATTACHED_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await
                    .map_err(named_pool("store", options))?;
                migrations::sqlite().run(&pool).await?;
                inbox_file::settle(&pool).await?;
                // One connection: SQLite has one writer, and each use is one short statement.
                let relaxed = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(wait)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(SQLITE_RELAXED_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(with_create_mode(url).parse()?)
                    .await
                    .map_err(named_pool("relaxed", options))?;
                (pool, inbox_pool, relaxed, "inbox.deliveries")
            }
            Backend::Postgres => {
                let connect: AnyConnectOptions = url.parse()?;
                let pool = AnyPoolOptions::new()
                    .max_connections(PG_MAX_CONNECTIONS)
                    .acquire_timeout(wait)
                    .connect_with(connect)
                    .await
                    .map_err(named_pool("store", options))?;
                migrations::postgres().run(&pool).await?;
                // Every commit waits for the server's WAL flush (`synchronous_commit` as
                // the server has it): replicas share the claims, so none is relaxed here.
                (pool.clone(), pool.clone(), pool, "deliveries")
            }
        };
        Ok(Self {
            pool,
            inbox_pool,
            relaxed,
            inbox_table,
            inbox_notify: Arc::new(Notify::new()),
            outbox_notify: Arc::new(Notify::new()),
            ingest_pressure: Arc::default(),
            backend,
            replica: format!(
                "pid-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            )
            .into(),
            reconciled_once: Arc::default(),
            write_turns: (backend == Backend::Sqlite).then(Arc::default),
        })
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Woken after every inbox commit that stored something new: the engine waits on it
    /// instead of polling the deliveries table.
    pub fn inbox_notify(&self) -> Arc<Notify> {
        Arc::clone(&self.inbox_notify)
    }

    /// Woken right after every commit that queued outbox jobs (a decision's, or one job
    /// queued alone): the engine's outbox loop waits on it, so a decision's writes start
    /// as soon as they are durable, not at the end of the inbox round that made them nor
    /// at the loop's idle tick. A `Notify` keeps one permit, so a wake that comes while
    /// the loop is busy is not lost.
    pub fn outbox_notify(&self) -> Arc<Notify> {
        Arc::clone(&self.outbox_notify)
    }

    /// How busy the webhook writer is: set by the writer after each commit, read by the
    /// engine's inbox loop, which yields to ingest while it is busy.
    pub fn ingest_pressure(&self) -> Arc<IngestPressure> {
        Arc::clone(&self.ingest_pressure)
    }

    /// Closes the pools, waiting for connections in use to come back (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
        self.relaxed.close().await;
        self.inbox_pool.close().await;
    }

    /// One trivial query: whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    /// Whether the inbox answers (readiness: a delivery could be stored now). On SQLite the
    /// inbox file and the store's file are both asked: the engine needs the store's.
    pub async fn ping_inbox(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.inbox_pool()).await?;
        self.ping().await
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where a marker commits whose loss in a power cut is the same as a crash just before
    /// it, which the store and the engine are safe against at every point (a delivery's or
    /// a job's start, counted so a poison one is given up: a power cut is no fault of the
    /// one in flight; a job done: running it again finds its marker). On SQLite a
    /// connection with `synchronous = NORMAL` (see `SQLITE_RELAXED_PRAGMAS`): the commit
    /// survives the process, is ordered before every later commit, and does not wait for
    /// the disk. On PostgreSQL the store's own pool (every commit flushed).
    pub(crate) fn relaxed_pool(&self) -> &AnyPool {
        &self.relaxed
    }

    /// Waits for this process's turn to write the SQLite file, and holds it until the guard
    /// drops (`None` on PostgreSQL). Taken by the engine's writes on the accept path (before
    /// its connection or transaction, never while holding another turn).
    ///
    /// Why: SQLite has one writer per file, and a connection that finds the lock taken
    /// does not queue: its busy handler sleeps 1, 2, 5, 10 … ms and tries again
    /// (`sqliteDefaultBusyCallback`). The pool's connections and the relaxed one are five
    /// such writers in one process; traced with `strace -e clock_nanosleep` during the
    /// accept bench, 14 sleeps of 1–2 ms fell inside 3 accepts, each a gap in which
    /// nothing ran (the lock was long free when the sleeper woke). Waiting here instead
    /// hands the turn over the moment the holder commits. Only one daemon writes the
    /// file (it holds its lock), so every other writer is in this process; the webhook
    /// writer has a file of its own.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_turns {
            Some(turns) => Some(turns.lock().await),
            None => None,
        }
    }

    /// Counts `changed` rows written on [`Store::relaxed_pool`] as one commit (none when 0):
    /// `relaxed` on SQLite, `full` on PostgreSQL where that pool is the store's own.
    pub(crate) fn count_on_relaxed(&self, changed: u64) {
        if changed > 0 {
            count_commit(match self.backend {
                Backend::Sqlite => "relaxed",
                Backend::Postgres => "full",
            });
        }
    }

    /// The pool the webhook writer commits to (see [`Store::inbox_table`]).
    pub(crate) fn inbox_pool(&self) -> &AnyPool {
        &self.inbox_pool
    }

    /// `sql` with `{inbox}` replaced by the deliveries table as [`Store::pool`] names it
    /// (`inbox.deliveries` on SQLite, `deliveries` on PostgreSQL). Only that constant goes
    /// into the text; values are still bound.
    pub(crate) fn inbox_sql(&self, sql: &str) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(sql.replace("{inbox}", self.inbox_table))
    }
}

/// `sqlite://PATH` as `sqlite://PATH?mode=rwc` unless a mode is given, so the default
/// configuration works on a fresh machine.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Now, as the milliseconds since the Unix epoch that every timestamp column holds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[tokio::test]
    async fn sqlite_is_durable_and_concurrent() {
        let (store, _dir) = temp_store().await;
        // Every pooled connection gets the pragmas, so ask several at once.
        let mut conns = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            conns.push(store.pool().acquire().await.expect("acquire"));
        }
        for conn in &mut conns {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .expect("journal_mode");
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .expect("synchronous");
            assert_eq!(sync, 2, "FULL");
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut **conn)
                .await
                .expect("busy_timeout");
            assert_eq!(busy, 5000);
        }
    }

    /// `store.acquire_timeout` reaches the pools: with every connection held, a query fails
    /// after that wait (not sqlx's 30 s) as `PoolTimedOut`; a timeout while opening names
    /// the pool and the wait.
    #[tokio::test]
    async fn a_busy_pool_times_out_as_configured_and_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let options = StoreOptions {
            acquire_timeout: std::time::Duration::from_millis(300),
        };
        let store = Store::open_with(&url, &options).await.expect("open");
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            held.push(store.pool().acquire().await.expect("acquire"));
        }
        let started = std::time::Instant::now();
        let err = store
            .decisions_for("a/b", 1)
            .await
            .expect_err("no connection free");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{err}"
        );
        assert!(matches!(err, StoreError::PoolTimedOut { .. }), "{err}");
        assert!(err.to_string().contains("store.acquire_timeout"), "{err}");
        drop(held);
        store.decisions_for("a/b", 1).await.expect("free again");

        let named = named_pool("inbox", &options)(sqlx::Error::PoolTimedOut);
        let text = named.to_string();
        assert!(
            text.contains("inbox pool within 300ms") && text.contains("store.acquire_timeout"),
            "{text}"
        );
        assert!(matches!(
            named_pool("store", &options)(sqlx::Error::RowNotFound),
            StoreError::Db(_)
        ));
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_schema() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("x.db").display());
        let store = Store::open(&url).await.expect("create");
        store
            .record_decision("a/b", 1, DecisionKind::Accept, "carol", 1)
            .await
            .expect("write");
        store.close().await;
        let store = Store::open(&url)
            .await
            .expect("reopen runs no migration twice");
        assert_eq!(store.decisions_for("a/b", 1).await.expect("read").len(), 1);
    }

    #[tokio::test]
    async fn other_databases_are_refused_without_leaking_the_url() {
        let err = Store::open("mysql://user:hunter2@db/council")
            .await
            .expect_err("not supported");
        let text = err.to_string();
        assert!(text.contains("`mysql`"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    /// An unreachable PostgreSQL server is an error within the acquire timeout, and the
    /// error never shows the URL's password.
    #[tokio::test]
    async fn unreachable_postgres_fails_fast_without_leaking_the_password() {
        let started = std::time::Instant::now();
        let err = Store::open("postgres://council:hunter2@127.0.0.1:9/council")
            .await
            .expect_err("nothing listens on port 9");
        assert!(
            started.elapsed() < DEFAULT_ACQUIRE_TIMEOUT * 3,
            "{:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn create_mode_is_added_once() {
        assert_eq!(with_create_mode("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            with_create_mode("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            with_create_mode("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
