//! Jira status → neutral [`Progress`]: the status's name first (`[sync.statuses]`, compared
//! case-insensitively), then its category (`[sync.status_categories]`: Jira's `new`,
//! `indeterminate`, `done`); an unknown status counts as not started.
//!
//! Jira's category keys are the same on Cloud (REST v3) and Data Center (REST v2):
//! <https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-workflow-status-categories/>.

use std::collections::BTreeMap;

use crate::config::SyncConfig;
use crate::tracker::Progress;

/// The configured mapping, held by the Jira tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressRules {
    /// Status name → progress (names as configured; compared case-insensitively).
    statuses: BTreeMap<String, Progress>,
    /// Status category key → progress.
    categories: BTreeMap<String, Progress>,
}

impl ProgressRules {
    /// The rules of `[sync.statuses]` and `[sync.status_categories]`.
    pub fn from_config(sync: &SyncConfig) -> Self {
        Self {
            statuses: sync.statuses.clone(),
            categories: sync.status_categories.clone(),
        }
    }

    /// What a status of this name and category means on the GitHub side.
    pub fn progress(&self, status: &str, category: &str) -> Progress {
        self.statuses
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(status))
            .map(|(_, p)| *p)
            .or_else(|| self.categories.get(category).copied())
            .unwrap_or(Progress::Todo)
    }
}

impl Default for ProgressRules {
    /// The defaults of [`SyncConfig`]: categories only.
    fn default() -> Self {
        Self::from_config(&SyncConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::jira::model::Issue;

    /// The status and category of a fetched issue, as Jira's answer carries them.
    fn status_of(body: &str) -> (String, String) {
        let issue: Issue = serde_json::from_str(body).expect("issue json");
        let s = issue.fields.status.expect("status");
        (s.name, s.status_category.key)
    }

    fn rules() -> ProgressRules {
        let mut sync = SyncConfig::default();
        sync.statuses
            .insert("In Review".into(), Progress::InProgress);
        sync.statuses.insert("Won't Do".into(), Progress::Done);
        sync.statuses.insert("Blocked".into(), Progress::Todo);
        ProgressRules::from_config(&sync)
    }

    #[test]
    fn categories_decide_by_default_in_both_flavours() {
        let r = ProgressRules::default();
        // Cloud (REST v3): statusCategory carries id, key, colorName, name.
        let cloud = r#"{"id":"10001","key":"PAY-1","fields":{"status":{"id":"3","name":"In Progress","statusCategory":{"id":4,"key":"indeterminate","colorName":"yellow","name":"In Progress"}}}}"#;
        // Data Center (REST v2): the same keys, plus self links.
        let dc = r#"{"id":"20001","key":"PAY-2","fields":{"status":{"self":"https://jira/rest/api/2/status/10001","id":"10001","name":"Done","statusCategory":{"self":"https://jira/rest/api/2/statuscategory/3","id":3,"key":"done","colorName":"green","name":"Done"}}}}"#;
        let todo = r#"{"id":"1","key":"PAY-3","fields":{"status":{"id":"1","name":"To Do","statusCategory":{"id":2,"key":"new","name":"To Do"}}}}"#;
        for (body, want) in [
            (cloud, Progress::InProgress),
            (dc, Progress::Done),
            (todo, Progress::Todo),
        ] {
            let (name, category) = status_of(body);
            assert_eq!(r.progress(&name, &category), want, "{body}");
        }
    }

    #[test]
    fn the_name_wins_over_the_category_case_insensitively() {
        let r = rules();
        // "Won't Do" sits in the done category anyway; "Blocked" in indeterminate.
        assert_eq!(r.progress("won't do", "done"), Progress::Done);
        assert_eq!(r.progress("BLOCKED", "indeterminate"), Progress::Todo);
        assert_eq!(r.progress("In Review", "done"), Progress::InProgress);
        // Not named: the category decides.
        assert_eq!(r.progress("Doing", "indeterminate"), Progress::InProgress);
    }

    #[test]
    fn an_unknown_status_and_category_is_not_started() {
        let r = rules();
        assert_eq!(r.progress("Triage", "undefined"), Progress::Todo);
        assert_eq!(r.progress("", ""), Progress::Todo);
        let mut sync = SyncConfig::default();
        sync.status_categories.clear();
        let bare = ProgressRules::from_config(&sync);
        assert_eq!(bare.progress("Done", "done"), Progress::Todo);
    }
}
