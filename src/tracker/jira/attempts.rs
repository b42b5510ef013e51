//! No second epic or story while an earlier create's outcome is unknown.
//!
//! The daemon finds what it made by the marker label (`council-sync-<id>`), so a retry after
//! a lost answer (a crash, a cut connection, a 5xx after Jira acted) searches before it
//! creates. On Jira Cloud that search alone is not enough: `/search/jql` reads an index that
//! trails creation for seconds to minutes (Atlassian's "search and reconcile" guide), so
//! "not found" right after an attempt does not mean "not made". The protocol:
//!
//! 1. **Attempt record first.** Before a create request goes out, its markers are written
//!    to `create_attempts` with outcome `unknown` (see `store::attempts`). A crash at any
//!    point after that leaves the record behind.
//! 2. **Answer, webhook, search.** The answer records `created` with the id; so do
//!    the created-issue webhook (`jira:issue_created` names the marker in its labels) and
//!    any search that finds it. A refusal that proves nothing was made (a 4xx, a 429)
//!    records `absent`.
//! 3. **Reconcile what is known.** A marker search names the ids of every attempt known to
//!    be `created` in `reconcileIssues` (read-after-write consistent, at most 50; Cloud); on
//!    Data Center, whose `/search` has no such parameter, those issues are read directly.
//! 4. **Bounded consistency wait.** When search does not find a marker whose latest attempt
//!    is `unknown`, the daemon does not create. It searches again (every [`SEARCH_POLL`])
//!    for up to `jira.search_consistency_wait`; if the issue shows, done.
//! 5. **Park, never re-create blindly.** If the wait runs out while the attempt is younger
//!    than `jira.search_consistency_window`, the job fails with a *parked* reason: the
//!    tracking comment shows it, `/status` counts it (`parked_creates`), and a later
//!    reconcile pass (or the created-issue webhook, which records the id for step 3)
//!    resolves it. Only once the window has passed since the latest attempt is search
//!    trusted: "not found" then means the attempt made nothing, the record turns `absent`
//!    and the create is sent again.
//!
//! Without a store (the tracker's own end-to-end tests) steps 1–5 are skipped and a marker
//! search alone guards the create, as on a consistent search.

use std::time::Duration;

use crate::store::{CreateAttempt, CreateOutcome, Store, StoreError};
use crate::tracker::TrackerError;

use super::error::JiraError;

/// How often a consistency wait searches again.
pub const SEARCH_POLL: Duration = Duration::from_millis(250);

/// The attempt record and its limits, from `[jira]`.
#[derive(Debug, Clone)]
pub struct CreateAttempts {
    /// Where the records live.
    pub store: Store,
    /// After this long since an attempt, search is trusted to show what it made.
    pub window: Duration,
    /// How long one job waits for an unknown outcome before it parks.
    pub wait: Duration,
}

/// What may be done for a marker that search did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No earlier attempt, or it is known to have made nothing: create.
    Create,
    /// An earlier attempt's outcome is unknown and search cannot be trusted yet: wait.
    Wait,
    /// An earlier attempt's outcome is unknown, but the window has passed since it: search
    /// is trusted, so it made nothing; record that and create.
    TrustSearch,
}

/// The gate of a marker search did not find, `now_ms` milliseconds since the epoch.
/// An issue known to be `created` that search (with `reconcileIssues`) no longer shows was
/// deleted or lost its marker: it is created again.
pub fn gate(attempt: Option<&CreateAttempt>, now_ms: i64, window: Duration) -> Gate {
    match attempt.map(|a| (&a.outcome, a.last_at)) {
        None | Some((CreateOutcome::Absent | CreateOutcome::Created { .. }, _)) => Gate::Create,
        Some((CreateOutcome::Unknown, last_at)) => {
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            if now_ms.saturating_sub(last_at) >= window_ms {
                Gate::TrustSearch
            } else {
                Gate::Wait
            }
        }
    }
}

/// Whether a failed create proves Jira made nothing: it answered with a 4xx (a refusal,
/// 429 included: rate limiting happens before the request is acted on). A 5xx, a transport
/// error or an unreadable success leaves the outcome unknown.
pub fn proves_nothing_made(err: &JiraError) -> bool {
    err.status().is_some_and(|s| (400..500).contains(&s))
}

/// The ids of the attempts known to have made their issue (for `reconcileIssues`).
pub fn known_ids(attempts: &[CreateAttempt]) -> Vec<u64> {
    attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            CreateOutcome::Created { id, .. } => id.parse().ok(),
            _ => None,
        })
        .collect()
}

/// The error of a parked job: what is unknown, since when, and what resolves it.
pub fn parked(markers: &[&str], window: Duration) -> TrackerError {
    TrackerError::Permanent {
        status: None,
        reason: format!(
            "parked: an earlier create of {} has an unknown outcome and search does not show it yet; \
             not creating again until the created-issue webhook or a later pass finds it, or search \
             can be trusted ({} after the attempt)",
            markers.join(", "),
            humantime::format_duration(window)
        ),
    }
}

impl From<StoreError> for JiraError {
    fn from(e: StoreError) -> Self {
        JiraError::Deferred {
            call: "create attempt record".into(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryHint;

    fn attempt(outcome: CreateOutcome, last_at: i64) -> CreateAttempt {
        CreateAttempt {
            marker: "m".into(),
            first_at: last_at,
            last_at,
            attempts: 1,
            outcome,
            parked_at: None,
        }
    }

    #[test]
    fn only_an_unknown_outcome_inside_the_window_blocks_a_create() {
        let w = Duration::from_secs(60);
        assert_eq!(gate(None, 1_000, w), Gate::Create);
        assert_eq!(
            gate(Some(&attempt(CreateOutcome::Absent, 1_000)), 1_001, w),
            Gate::Create
        );
        let created = CreateOutcome::Created {
            id: "1".into(),
            key: "E-1".into(),
        };
        assert_eq!(gate(Some(&attempt(created, 1_000)), 1_001, w), Gate::Create);
        let unknown = attempt(CreateOutcome::Unknown, 1_000);
        assert_eq!(gate(Some(&unknown), 1_000, w), Gate::Wait);
        assert_eq!(gate(Some(&unknown), 60_999, w), Gate::Wait);
        assert_eq!(gate(Some(&unknown), 61_000, w), Gate::TrustSearch);
        assert_eq!(
            gate(Some(&unknown), i64::MIN, w),
            Gate::Wait,
            "clock went back"
        );
    }

    #[test]
    fn only_a_refusal_proves_nothing_was_made() {
        let status = |s: u16| JiraError::Status {
            call: "POST /issue".into(),
            status: s,
            reason: String::new(),
            hint: RetryHint::Backoff,
        };
        assert!(proves_nothing_made(&status(400)));
        assert!(proves_nothing_made(&status(429)));
        assert!(!proves_nothing_made(&status(500)));
        assert!(!proves_nothing_made(&status(502)));
        assert!(!proves_nothing_made(&JiraError::Transport {
            call: "POST /issue".into(),
            reason: "reset".into(),
            unreachable: false,
        }));
        assert!(!proves_nothing_made(&JiraError::Decode {
            call: "POST /issue".into(),
            reason: "eof".into()
        }));
    }
}
