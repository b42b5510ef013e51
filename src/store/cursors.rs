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
        .await
        .inspect(super::counted)?;
        Ok(())
    }
}

impl Store {
    /// The cursors named `prefix` + a suffix whose value is at least `from`, by suffix: a
    /// set of (item, position) seen, such as the tracker items a poll already handled with
    /// their `updated`. One query.
    pub async fn seen_since(
        &self,
        prefix: &str,
        from: i64,
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let rows =
            sqlx::query("SELECT name, value FROM cursors WHERE name LIKE $1 AND value >= $2")
                .bind(format!("{}%", like_escape(prefix)))
                .bind(from)
                .fetch_all(self.pool())
                .await?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let name: String = row.try_get("name")?;
            if let Some(item) = name.strip_prefix(prefix) {
                out.insert(item.to_owned(), row.try_get("value")?);
            }
        }
        Ok(out)
    }

    /// Records items as seen at their positions (each only moves forward, like any cursor)
    /// and forgets the items of `prefix` seen before `forget_before`, in one transaction.
    pub async fn remember_seen(
        &self,
        prefix: &str,
        items: &[(&str, i64)],
        forget_before: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (item, value) in items {
            sqlx::query(
                "INSERT INTO cursors (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value \
                 WHERE cursors.value < excluded.value",
            )
            .bind(format!("{prefix}{item}"))
            .bind(*value)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM cursors WHERE name LIKE $1 AND value < $2")
            .bind(format!("{}%", like_escape(prefix)))
            .bind(forget_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await.inspect(super::committed)?;
        Ok(())
    }
}

/// `s` with LIKE's wildcards taken literally (the default escape is none, so `_` and `%`
/// are avoided in prefixes instead: this only guards against a caller's mistake).
fn like_escape(s: &str) -> String {
    s.replace(['%', '_'], "")
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
    async fn a_seen_set_is_read_by_prefix_and_forgets_what_is_old() {
        on_each_backend(|store| async move {
            store
                .remember_seen("seen:", &[("PAY-1", 1_000), ("PAY-2", 5_000)], 0)
                .await
                .expect("remember");
            store.set_cursor("other", 9_000).await.expect("other");
            let all = store.seen_since("seen:", 0).await.expect("read");
            assert_eq!(all.len(), 2);
            assert_eq!(all.get("PAY-2"), Some(&5_000));
            let recent = store.seen_since("seen:", 2_000).await.expect("read");
            assert_eq!(recent.keys().collect::<Vec<_>>(), ["PAY-2"]);
            store
                .remember_seen("seen:", &[("PAY-1", 900), ("PAY-3", 6_000)], 4_000)
                .await
                .expect("again");
            let left = store.seen_since("seen:", 0).await.expect("read");
            assert_eq!(left.get("PAY-1"), None, "forgotten: older than 4,000");
            assert_eq!(left.get("PAY-3"), Some(&6_000));
            assert_eq!(store.get_cursor("other").await.expect("get"), Some(9_000));
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
