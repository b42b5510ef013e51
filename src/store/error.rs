//! The store's error type.

use std::sync::Arc;

/// Why a store operation failed. Callers mostly log it and retry later (the webhook
/// receiver answers 503 so GitHub redelivers); `WriterClosed` means the daemon is stopping.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Db(Arc<sqlx::Error>),
    /// A schema migration failed at start-up.
    #[error("migration failed: {0}")]
    Migrate(Arc<sqlx::migrate::MigrateError>),
    /// The URL names a database this build cannot use.
    #[error(
        "unsupported store url scheme `{scheme}` (expected sqlite://PATH or postgres://USER@HOST/DB)"
    )]
    UnsupportedUrl {
        /// Only the scheme, so a password in the URL never reaches a log.
        scheme: String,
    },
    /// An in-memory SQLite URL (`sqlite::memory:`, `mode=memory`): the inbox lives in a file
    /// beside the store's, so the store needs a path.
    #[error(
        "store.url names an in-memory SQLite database; give it a file (sqlite://PATH): the \
         webhook inbox is kept in a file beside it"
    )]
    InMemory,
    /// Another process holds the SQLite store's lock: a second daemon on the same file.
    #[error(
        "store.url = \"{url}\" is in use by another council-sync daemon (it holds {path}); \
         a SQLite store serves one daemon: stop the other one, give this one its own file, \
         or use PostgreSQL (store.url = \"postgres://…\") to run several replicas"
    )]
    Locked {
        /// The SQLite URL (a file path; SQLite URLs carry no password).
        url: String,
        /// The lock file.
        path: String,
    },
    /// The SQLite store's lock file cannot be created or locked.
    #[error("store.url: cannot lock the store: {path}: {reason}")]
    Lock {
        /// The lock file.
        path: String,
        /// What the system said.
        reason: String,
    },
    /// No connection of a pool came free within `store.acquire_timeout`: the database is
    /// unreachable, or every connection is busy (a machine so loaded that connections open
    /// slowly). Names the pool when the caller knew it.
    #[error(
        "no free connection in the {} pool within {} (store.acquire_timeout): the database is \
         unreachable or every connection is busy; raise store.acquire_timeout on a loaded machine",
        pool.unwrap_or("store's"),
        waited.map_or_else(|| "store.acquire_timeout".to_owned(), |w| humantime::format_duration(w).to_string())
    )]
    PoolTimedOut {
        /// `store` (the engine's and the board's queries), `inbox` (the webhook writer's
        /// file, SQLite) or `relaxed` (markers committed without waiting for the disk).
        pool: Option<&'static str>,
        /// The timeout it waited, when known.
        waited: Option<std::time::Duration>,
    },
    /// The inbox writer task is gone (shutdown or a panic), so nothing can be stored.
    #[error("inbox writer has stopped")]
    WriterClosed,
    /// A number does not fit a signed 64-bit column (or a stored one is negative).
    #[error("{what} {value} is out of range for the store")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value, as text.
        value: String,
    },
    /// A stored value that our own code wrote cannot be read back.
    #[error("stored {what} is invalid: {reason}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why it does not parse.
        reason: String,
    },
    /// A compare-and-set of a concern's stage lost a race: the stage stored is no longer the
    /// one the change was decided on. Decide again from the stage there now.
    #[error("the stage of {repo}#{number} is no longer {expected}")]
    StageConflict {
        /// `owner/name`.
        repo: String,
        /// Issue number.
        number: u64,
        /// The stage the change was decided on.
        expected: &'static str,
    },
    /// The state machine's rule forbids this move for this cause (`council::may_move`).
    #[error("a {cause} change may not move a concern from {from} to {to}")]
    StageRefused {
        /// The stage before.
        from: &'static str,
        /// The stage asked for.
        to: &'static str,
        /// The cause's name.
        cause: &'static str,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => Self::PoolTimedOut {
                pool: None,
                waited: None,
            },
            e => Self::Db(Arc::new(e)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(Arc::new(e))
    }
}

/// A GitHub number or id as the `BIGINT` the store keeps.
pub(crate) fn to_db(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange {
        what,
        value: value.to_string(),
    })
}

/// A stored `BIGINT` back as the unsigned number GitHub uses.
pub(crate) fn from_db(what: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::OutOfRange {
        what,
        value: value.to_string(),
    })
}
