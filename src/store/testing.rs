//! Test helper: a fresh, migrated SQLite store in its own temporary directory.

use tempfile::TempDir;

use super::Store;

/// A new store; keep the `TempDir` alive for as long as the store is used.
pub(crate) async fn temp_store() -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("council-sync.db").display());
    let store = Store::open(&url).await.expect("open store");
    (store, dir)
}
