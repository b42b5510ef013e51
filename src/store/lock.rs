//! The SQLite store's exclusive lock: one daemon per store file.
//!
//! A SQLite file serves one daemon. Two daemons on one file would each decide the same
//! deliveries and run the same outbox jobs (SQLite has no `SKIP LOCKED` and no advisory
//! locks), so the daemon takes an exclusive lock on a file beside the store
//! (`<store file>.lock`, `flock(2)` through `std::fs::File::try_lock`) before it opens it,
//! and holds it until it stops; a second daemon on the same file refuses to start, naming
//! `store.url`. The kernel drops the lock with the process, so a crash never leaves it
//! held: the file a killed daemon leaves behind is only a file, which the next start locks
//! again. A clean stop (SIGTERM, Ctrl-C, the end of `demo`, a start that fails after the
//! lock) removes the file while still holding the lock ([`Drop`]); a start that raced
//! with that removal and locked the unlinked file sees that the path no longer names what
//! it locked, and locks the path anew, so two daemons never both hold "the" lock. One-shot commands (`reconcile --once`, `backfill`) do not take it: they run beside
//! a daemon by design (their outbox claims are leased, their keys idempotent). PostgreSQL
//! stores need no such lock: replicas share them (see `replicas.rs`).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::StoreError;

/// How often a start retries when the lock file it locked was removed meanwhile by a
/// daemon stopping cleanly: each retry needs another daemon to stop within microseconds,
/// so a few are plenty.
const RACE_RETRIES: u32 = 8;

/// Held while the daemon runs; dropping it removes the lock file and releases the lock.
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
        let lock_error = |e: std::io::Error| StoreError::Lock {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        for _ in 0..RACE_RETRIES {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(lock_error)?;
            match file.try_lock() {
                Ok(()) if still_names(&path, &file).map_err(lock_error)? => {
                    return Ok(Some(Self { _file: file, path }));
                }
                // Removed by a daemon that stopped between our open and our lock: the
                // lock we hold is on a file nobody else will open. Try the path again.
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        url: url.to_owned(),
                        path: path.display().to_string(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(lock_error(e)),
            }
        }
        Err(lock_error(std::io::Error::other(
            "the lock file kept being removed while this start locked it",
        )))
    }

    /// The lock file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for StoreLock {
    /// Removes the lock file, then (as `_file` drops) releases the lock: a clean stop leaves
    /// nothing beside the store. Removal is best effort (a file already gone, or a directory
    /// made read-only meanwhile, changes nothing: the lock is released either way).
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "the store's lock file could not be removed");
        }
    }
}

/// Whether `path` still names the file `file` has open (same device and inode), i.e. it was
/// not removed (or removed and made anew) since it was opened.
#[cfg(unix)]
fn still_names(path: &Path, file: &File) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Elsewhere an open file cannot be removed, so the path always names it.
#[cfg(not(unix))]
fn still_names(_path: &Path, _file: &File) -> std::io::Result<bool> {
    Ok(true)
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
        let file = dir.path().join("c.db.lock");
        assert!(file.exists());
        drop(first);
        assert!(!file.exists(), "a clean release removes the file");
        let again = StoreLock::acquire(&url)
            .expect("free again")
            .expect("a file");
        assert!(file.exists());
        drop(again);
    }

    /// A file left by a killed daemon (no process holds its lock) does not block a start.
    #[test]
    fn a_stale_lock_file_does_not_block_a_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        std::fs::write(dir.path().join("c.db.lock"), b"").expect("stale file");
        let lock = StoreLock::acquire(&url).expect("stale").expect("a file");
        assert!(StoreLock::acquire(&url).is_err(), "still one holder");
        drop(lock);
    }

    /// A start that locked the file a stopping daemon then removed takes the path anew: the
    /// file it ends up holding is the one the path names.
    #[test]
    fn a_lock_on_a_removed_file_is_not_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.db.lock");
        let file = File::create(&path).expect("create");
        assert!(still_names(&path, &file).expect("stat"));
        std::fs::remove_file(&path).expect("remove");
        assert!(!still_names(&path, &file).expect("stat"));
        File::create(&path).expect("anew");
        assert!(
            !still_names(&path, &file).expect("stat"),
            "another file now"
        );
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
