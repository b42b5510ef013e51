//! Test helpers: a fresh, migrated store in its own temporary directory (SQLite) or its own
//! database on the tests' shared PostgreSQL cluster (`tests/common/pg_cluster.rs`).

use std::future::Future;

use tempfile::TempDir;

use super::Store;

#[path = "../../tests/common/pg_cluster.rs"]
pub(crate) mod pg_cluster;

/// A new store; keep the `TempDir` alive for as long as the store is used.
pub(crate) async fn temp_store() -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("council-sync.db").display());
    let store = Store::open(&url).await.expect("open store");
    (store, dir)
}

/// A new store on a database of its own on the shared PostgreSQL cluster, with its URL;
/// `None` when PostgreSQL is not installed (said on stderr).
pub(crate) async fn temp_pg_store() -> Option<(Store, String)> {
    let url = pg_cluster::database_url().await?;
    let store = Store::open(&url).await.expect("open PostgreSQL store");
    Some((store, url))
}

/// Runs `test` on a fresh SQLite store, then on a fresh PostgreSQL store (skipped, said on
/// stderr, when PostgreSQL is not installed): the store's behaviour is the same on both.
pub(crate) async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let (store, _dir) = temp_store().await;
    test(store.clone()).await;
    store.close().await;
    if let Some((store, url)) = temp_pg_store().await {
        test(store.clone()).await;
        store.close().await;
        pg_cluster::drop_database(&url).await;
    }
}
