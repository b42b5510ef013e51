//! The SQLite store's exclusive lock: one daemon per store file.
//!
//! A SQLite file serves one daemon. Two daemons on one file would each decide the same
//! deliveries and run the same outbox jobs (SQLite has no `SKIP LOCKED` and no advisory
//! locks), so the daemon takes an exclusive lock on a file beside the store
//! (`<store file>.lock`, `flock(2)` through `std::fs::File::try_lock`) before it opens it,
//! and holds it until it stops; a second daemon on the same file refuses to start, naming
//! `store.url`. The kernel drops the lock with the process, so a crash never leaves it
//! behind. One-shot commands (`reconcile --once`, `backfill`) do not take it: they run beside
//! a daemon by design (their outbox claims are leased, their keys idempotent). PostgreSQL
//! stores need no such lock: replicas share them (see `replicas.rs`).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use super::StoreError;

/// Held while the daemon runs; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the exclusive lock of the SQLite store at `url` (`sqlite://PATH[?…]`); `None`
    /// for a PostgreSQL URL or an in-memory SQLite database (nothing to share).
    ///
    /// Errors: [`StoreError::Locked`] when another process holds it, [`StoreError::Lock`]
    /// when the lock file cannot be created (a missing directory, no permission).
    pub fn acquire(url: &str) -> Result<Option<Self>, StoreError> {
        let Some(db) = sqlite_path(url) else {
            return Ok(None);
        };
        let path = PathBuf::from(format!("{}.lock", db.display()));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Lock {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file, path })),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
                url: url.to_owned(),
                path: path.display().to_string(),
            }),
            Err(TryLockError::Error(e)) => Err(StoreError::Lock {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// The file of a `sqlite:` URL (`sqlite://PATH`, `sqlite:PATH`, query string dropped);
/// `None` for other schemes and in-memory databases.
pub(crate) fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_file_is_refused_and_names_the_url() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
        let first = StoreLock::acquire(&url).expect("first").expect("a file");
        let err = StoreLock::acquire(&url).expect_err("held");
        let text = err.to_string();
        assert!(text.contains(&url), "{text}");
        assert!(
            text.contains("postgres://"),
            "says what to use instead: {text}"
        );
        drop(first);
        assert!(StoreLock::acquire(&url).expect("free again").is_some());
    }

    #[test]
    fn only_sqlite_files_are_locked() {
        assert!(
            StoreLock::acquire("postgres://u:p@h/db")
                .expect("pg")
                .is_none()
        );
        assert!(
            StoreLock::acquire("sqlite::memory:")
                .expect("mem")
                .is_none()
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/c.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/c.db"))
        );
        assert_eq!(sqlite_path("sqlite:c.db"), Some(PathBuf::from("c.db")));
    }

    #[test]
    fn an_unwritable_place_is_a_clear_error() {
        let err = StoreLock::acquire("sqlite:///nonexistent-dir/x/c.db").expect_err("no dir");
        assert!(
            err.to_string().contains("/nonexistent-dir/x/c.db.lock"),
            "{err}"
        );
    }
}
