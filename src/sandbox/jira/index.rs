//! The sandbox's search index: Jira Cloud's eventual consistency, on demand.
//!
//! Jira Cloud's `/rest/api/3/search/jql` reads an index that trails the issues: an issue
//! created or changed a moment ago may be missing from the results, or match as it was
//! before the change, "for seconds to minutes" (Atlassian's *search and reconcile* guide,
//! <https://developer.atlassian.com/cloud/jira/platform/search-and-reconcile/>). A search
//! may name up to 50 issue ids in `reconcileIssues`; those are read-after-write
//! consistent. A daemon that finds what a crashed attempt made by searching for its marker
//! can only be tested against that behaviour, so the sandbox reproduces it.
//!
//! With a lag of 0 (the default) searches see the live state, as before. With a lag of N ms
//! every change of an issue (creation included) becomes visible to search N ms after it
//! happened: the index keeps, per issue, the versions not yet superseded by a visible one,
//! each with the instant it becomes visible, and a search matches an issue as its newest
//! visible version shows it (not at all before its creation is visible). The v2 `/search`
//! (Data Center) gets the same lag when asked for, so both flavours can be tested; it has no
//! `reconcileIssues`. Direct reads (`GET /issue/{key}`) are always consistent, as in Jira.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::state::StoredIssue;

/// Most ids one search may reconcile (`SearchAndReconcileRequestBean.reconcileIssues`,
/// `maxItems: 50`).
pub const MAX_RECONCILE_IDS: usize = 50;

/// One issue version as the index holds it.
#[derive(Debug, Clone)]
struct Version {
    visible_at: Instant,
    issue: StoredIssue,
}

/// The lagging index (see the module note).
#[derive(Debug, Default)]
pub struct SearchIndex {
    lag: Duration,
    versions: BTreeMap<u64, VecDeque<Version>>,
}

impl SearchIndex {
    /// The current lag.
    pub fn lag(&self) -> Duration {
        self.lag
    }

    /// Sets the lag. Turning it on indexes every existing issue as visible now; turning it
    /// off drops the versions (searches see the live state again).
    pub fn set_lag(&mut self, lag: Duration, issues: &[StoredIssue], now: Instant) {
        self.lag = lag;
        self.versions.clear();
        if !lag.is_zero() {
            for issue in issues {
                self.versions.insert(
                    issue.id,
                    VecDeque::from([Version {
                        visible_at: now,
                        issue: issue.clone(),
                    }]),
                );
            }
        }
    }

    /// Records the issues that changed since the last call (called after every write, with
    /// the positions in `issues` that were written through; the others are as last seen):
    /// each new version becomes visible `lag` after `now`.
    pub fn observe(&mut self, issues: &[StoredIssue], touched: &[usize], now: Instant) {
        if self.lag.is_zero() {
            return;
        }
        for issue in touched.iter().filter_map(|&at| issues.get(at)) {
            let versions = self.versions.entry(issue.id).or_default();
            let changed = versions.back().is_none_or(|v| differs(&v.issue, issue));
            if changed {
                versions.push_back(Version {
                    visible_at: now + self.lag,
                    issue: issue.clone(),
                });
            }
            // Versions older than the newest visible one can never be seen again.
            while versions.len() > 1 && versions[1].visible_at <= now {
                versions.pop_front();
            }
        }
    }

    /// The version of `issue` a search sees at `now`: the live issue when the index is off
    /// or the id is reconciled, its newest visible version otherwise, `None` before its
    /// creation is visible.
    pub fn visible<'a>(
        &'a self,
        issue: &'a StoredIssue,
        reconcile: &[u64],
        now: Instant,
    ) -> Option<&'a StoredIssue> {
        if self.lag.is_zero() || reconcile.contains(&issue.id) {
            return Some(issue);
        }
        let versions = self.versions.get(&issue.id)?;
        versions
            .iter()
            .rev()
            .find(|v| v.visible_at <= now)
            .map(|v| &v.issue)
    }
}

/// Whether a change is one search could see (what JQL matches on, and `updated`).
fn differs(a: &StoredIssue, b: &StoredIssue) -> bool {
    a.updated != b.updated
        || a.labels != b.labels
        || a.status != b.status
        || a.parent != b.parent
        || a.project != b.project
        || a.issue_type != b.issue_type
        || a.sprints != b.sprints
        || a.summary != b.summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(id: u64, labels: &[&str]) -> StoredIssue {
        StoredIssue::sample(id, "Epic", labels)
    }

    #[test]
    fn a_new_issue_shows_after_the_lag_or_at_once_when_reconciled() {
        let t0 = Instant::now();
        let mut index = SearchIndex::default();
        index.set_lag(Duration::from_millis(500), &[], t0);
        let a = issue(1, &["m"]);
        index.observe(std::slice::from_ref(&a), &[0], t0);
        assert!(index.visible(&a, &[], t0).is_none());
        assert!(
            index
                .visible(&a, &[], t0 + Duration::from_millis(499))
                .is_none()
        );
        assert!(index.visible(&a, &[1], t0).is_some(), "reconciled");
        assert!(
            index
                .visible(&a, &[], t0 + Duration::from_millis(500))
                .is_some()
        );
    }

    #[test]
    fn a_change_shows_the_old_version_until_the_lag_passed() {
        let t0 = Instant::now();
        let mut index = SearchIndex::default();
        let a = issue(1, &["old"]);
        index.set_lag(Duration::from_millis(100), std::slice::from_ref(&a), t0);
        let mut b = a.clone();
        b.labels = vec!["new".into()];
        index.observe(
            std::slice::from_ref(&b),
            &[0],
            t0 + Duration::from_millis(10),
        );
        let seen = index
            .visible(&b, &[], t0 + Duration::from_millis(50))
            .map(|i| i.labels.clone());
        assert_eq!(seen, Some(vec!["old".to_owned()]));
        let seen = index
            .visible(&b, &[], t0 + Duration::from_millis(110))
            .map(|i| i.labels.clone());
        assert_eq!(seen, Some(vec!["new".to_owned()]));
    }

    #[test]
    fn without_lag_search_is_live() {
        let index = SearchIndex::default();
        let a = issue(7, &[]);
        assert!(index.visible(&a, &[], Instant::now()).is_some());
    }
}
