//! The sandbox's change counter, shared by its GitHub and Jira halves.
//!
//! Tests and the demo wait for "something changed" instead of sleeping: every state change
//! bumps the counter, and `GET /_sandbox/changes?after=V` long-polls until it exceeds `V`.
//! A `tokio::sync::watch` channel holds the value, so a waiter never misses a bump made
//! between reading the version and starting to wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// A monotonically increasing version, bumped on every state change in the sandbox.
/// Cheap to clone: clones share one counter (give one to the Jira half).
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    tx: Arc<watch::Sender<u64>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeFeed {
    /// A feed at version 0.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(0);
        Self { tx: Arc::new(tx) }
    }

    /// Records one state change; returns the new version.
    pub fn bump(&self) -> u64 {
        let mut now = 0;
        self.tx.send_modify(|v| {
            *v += 1;
            now = *v;
        });
        now
    }

    /// The current version.
    pub fn version(&self) -> u64 {
        *self.tx.borrow()
    }

    /// Waits until the version exceeds `after` or `timeout` passes; returns the version then.
    pub async fn wait_after(&self, after: u64, timeout: Duration) -> u64 {
        let mut rx = self.tx.subscribe();
        // A timeout is an ordinary answer here: the caller compares the version it gets.
        let _ = tokio::time::timeout(timeout, rx.wait_for(|v| *v > after)).await;
        *rx.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_on_bump_and_on_timeout() {
        let feed = ChangeFeed::new();
        assert_eq!(feed.wait_after(0, Duration::from_millis(1)).await, 0);
        let other = feed.clone();
        let waiter =
            tokio::spawn(async move { other.wait_after(0, Duration::from_secs(30)).await });
        assert_eq!(feed.bump(), 1);
        assert_eq!(waiter.await.ok(), Some(1));
        assert_eq!(feed.wait_after(0, Duration::from_secs(30)).await, 1);
    }
}
