//! Health of the daemon's dependencies (GitHub, Jira), as `GET /status` and the logs show it.
//!
//! The daemon starts and receives webhooks whatever GitHub and Jira do (DESIGN.md: an
//! outage upstream must never stop the receiver). What it cannot do while a dependency
//! fails (resolve its own identities, act on stored work) is reported here instead: each
//! dependency is `ok` or failing *since* the first failure of the current outage, with the
//! last error. A transition is logged once (warn when it starts failing, info when it is
//! back), not on every probe, so an outage does not flood the log.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// The GitHub API, as named in `/status`.
pub const GITHUB: &str = "github";
/// The tracker (Jira), as named in `/status`.
pub const JIRA: &str = "jira";

/// One dependency's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyHealth {
    /// Whether the last check or call succeeded.
    pub ok: bool,
    /// Since when (ms since the Unix epoch) it has been in this state: the first failure of
    /// the current outage, or the first success after it.
    pub since_ms: i64,
    /// The last failure, while failing (never a token: errors name statuses and paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was last checked (ms since the Unix epoch).
    pub checked_ms: i64,
}

/// The registry the daemon's checks write and `/status` reads. Cheap to share in an `Arc`.
#[derive(Debug, Default)]
pub struct Health {
    deps: Mutex<BTreeMap<&'static str, DependencyHealth>>,
    /// Whether the engine acts on stored work (false while it waits for its identities).
    engine_running: Mutex<bool>,
}

impl Health {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<&'static str, DependencyHealth>) -> T) -> T {
        let mut deps = self.deps.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut deps)
    }

    /// Records a success of `dep` at `now_ms`.
    pub fn ok(&self, dep: &'static str, now_ms: i64) {
        let was_failing = self.with(|deps| {
            let entry = deps.entry(dep).or_insert(DependencyHealth {
                ok: true,
                since_ms: now_ms,
                error: None,
                checked_ms: now_ms,
            });
            let was_failing = !entry.ok;
            if was_failing {
                entry.ok = true;
                entry.since_ms = now_ms;
                entry.error = None;
            }
            entry.checked_ms = now_ms;
            was_failing
        });
        if was_failing {
            tracing::info!(dependency = dep, "dependency is back");
        }
    }

    /// Records a failure of `dep` at `now_ms`; `error` is the reason shown in `/status`.
    pub fn failing(&self, dep: &'static str, error: &str, now_ms: i64) {
        let started = self.with(|deps| {
            let entry = deps.entry(dep).or_insert(DependencyHealth {
                ok: false,
                since_ms: now_ms,
                error: None,
                checked_ms: now_ms,
            });
            let started = entry.ok || entry.error.is_none();
            if entry.ok {
                entry.ok = false;
                entry.since_ms = now_ms;
            }
            entry.error = Some(error.to_owned());
            entry.checked_ms = now_ms;
            started.then_some(entry.since_ms)
        });
        if let Some(since_ms) = started {
            tracing::warn!(dependency = dep, since_ms, error, "dependency is failing");
        }
    }

    /// Every dependency checked so far, by name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, DependencyHealth> {
        self.with(|deps| deps.clone())
    }

    /// Marks the engine as acting on stored work (its identities are known).
    pub fn set_engine_running(&self, running: bool) {
        *self
            .engine_running
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = running;
    }

    /// Whether the engine acts on stored work.
    pub fn engine_running(&self) -> bool {
        *self
            .engine_running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_keeps_its_first_failure_time_until_it_ends() {
        let h = Health::default();
        h.ok(GITHUB, 1);
        h.failing(GITHUB, "503", 10);
        h.failing(GITHUB, "503 again", 20);
        let g = &h.snapshot()[GITHUB];
        assert_eq!(
            (g.ok, g.since_ms, g.error.as_deref(), g.checked_ms),
            (false, 10, Some("503 again"), 20)
        );
        h.ok(GITHUB, 30);
        h.ok(GITHUB, 40);
        let g = &h.snapshot()[GITHUB];
        assert_eq!((g.ok, g.since_ms, g.error.as_deref()), (true, 30, None));
    }

    #[test]
    fn a_dependency_failing_from_the_start_is_failing_since_its_first_check() {
        let h = Health::default();
        h.failing(JIRA, "connection refused", 5);
        h.failing(JIRA, "connection refused", 9);
        let j = &h.snapshot()[JIRA];
        assert_eq!((j.ok, j.since_ms, j.checked_ms), (false, 5, 9));
        assert!(!h.snapshot().contains_key(GITHUB));
    }
}
