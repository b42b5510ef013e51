//! Cursors: named positions that only move forward, such as the newest Jira `updated` a
//! poll has seen. Polls can overlap (a slow one finishing after a newer one) and a restart
//! can re-run one: taking the larger value keeps a stale writer from moving a cursor back,
//! which would only cost a re-read, but moving it forward too far would lose changes, so
//! callers store what they have fully processed.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The cursor's value, `None` before it was first set.
    pub async fn get_cursor(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT value FROM cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get("value").map_err(StoreError::from))
            .transpose()
    }

    /// Moves the cursor to `value` unless it is already further (the larger value stays).
    /// One statement, so concurrent setters cannot interleave a read and a write.
    pub async fn set_cursor(&self, name: &str, value: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cursors (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value \
             WHERE cursors.value < excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::on_each_backend;

    #[tokio::test]
    async fn cursors_only_move_forward() {
        on_each_backend(|store| async move {
            assert_eq!(store.get_cursor("jira.poll").await.expect("get"), None);
            store.set_cursor("jira.poll", 1_000).await.expect("set");
            assert_eq!(
                store.get_cursor("jira.poll").await.expect("get"),
                Some(1_000)
            );
            store.set_cursor("jira.poll", 500).await.expect("older");
            assert_eq!(
                store.get_cursor("jira.poll").await.expect("get"),
                Some(1_000),
                "never backwards"
            );
            store.set_cursor("jira.poll", 1_000).await.expect("same");
            store.set_cursor("jira.poll", 2_500).await.expect("newer");
            assert_eq!(
                store.get_cursor("jira.poll").await.expect("get"),
                Some(2_500)
            );
            // Cursors are independent; negative values (before the epoch) are values too.
            store.set_cursor("github.poll", -5).await.expect("other");
            assert_eq!(
                store.get_cursor("github.poll").await.expect("get"),
                Some(-5)
            );
            assert_eq!(
                store.get_cursor("jira.poll").await.expect("get"),
                Some(2_500)
            );
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_setters_keep_the_largest() {
        on_each_backend(|store| async move {
            let mut tasks = Vec::new();
            for v in (0..40_i64).map(|i| (i * 37) % 40) {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    store.set_cursor("c", v).await.expect("set");
                }));
            }
            for t in tasks {
                t.await.expect("task");
            }
            assert_eq!(store.get_cursor("c").await.expect("get"), Some(39));
        })
        .await;
    }
}
