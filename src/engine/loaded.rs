//! The issue and its parsed concern, loaded once per run of a concern's jobs.
//!
//! The outbox runs one concern's claimed jobs one after another (an accept queues the label
//! change, the epic and stories, and the tracking comment together). Each of them needs the
//! issue as GitHub has it and the concern parsed from its body; read per job, an accepted
//! concern fetched and parsed the same issue four times in a few milliseconds. While a
//! concern's jobs run ([`IssueMemo::scope`]), the first [`Ctx::load`](super::Ctx::load)
//! reads and parses, the next ones reuse it; what the daemon itself writes to the issue
//! meanwhile (labels, closing) is applied to the copy. Outside a scope (the
//! inbox deciding on a webhook, which must see the issue as it is now) every load reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::concern::form::IssueForm;
use crate::concern::{self, Concern};
use crate::github::client::Issue;

/// An issue as GitHub answered, with the concern parsed from its body.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    /// The issue.
    pub(crate) issue: Issue,
    /// Its body parsed with the configured form.
    pub(crate) parsed: Concern,
}

impl Loaded {
    /// Parses `issue`'s body with `form`.
    pub(crate) fn new(issue: Issue, form: &IssueForm) -> Self {
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), form);
        Self { issue, parsed }
    }
}

type Key = (String, u64);

/// The issues loaded by the concerns whose jobs are running now (none outside a scope).
#[derive(Debug, Default)]
pub(crate) struct IssueMemo {
    open: Mutex<HashMap<Key, Option<Arc<Loaded>>>>,
}

impl IssueMemo {
    /// Opens a scope for `repo#number` until the guard drops: loads inside it are shared.
    pub(crate) fn scope(&self, repo: &str, number: u64) -> MemoScope<'_> {
        let key = (repo.to_ascii_lowercase(), number);
        if let Ok(mut open) = self.open.lock() {
            open.insert(key.clone(), None);
        }
        MemoScope { memo: self, key }
    }

    /// The issue loaded in the open scope of `repo#number`, if any.
    pub(crate) fn get(&self, repo: &str, number: u64) -> Option<Arc<Loaded>> {
        let open = self.open.lock().ok()?;
        open.get(&(repo.to_ascii_lowercase(), number))?.clone()
    }

    /// Keeps `loaded` for the rest of the scope of `repo#number` (no-op outside one).
    pub(crate) fn keep(&self, repo: &str, number: u64, loaded: &Arc<Loaded>) {
        if let Ok(mut open) = self.open.lock()
            && let Some(slot) = open.get_mut(&(repo.to_ascii_lowercase(), number))
        {
            *slot = Some(loaded.clone());
        }
    }

    /// Applies the daemon's own change to the kept copy of `repo#number` (no-op when none).
    pub(crate) fn amend(&self, repo: &str, number: u64, change: impl FnOnce(&mut Issue)) {
        if let Ok(mut open) = self.open.lock()
            && let Some(Some(kept)) = open.get_mut(&(repo.to_ascii_lowercase(), number))
        {
            change(&mut Arc::make_mut(kept).issue);
        }
    }
}

/// An open scope; dropping it forgets the concern's issue.
pub(crate) struct MemoScope<'a> {
    memo: &'a IssueMemo,
    key: Key,
}

impl Drop for MemoScope<'_> {
    fn drop(&mut self) {
        if let Ok(mut open) = self.memo.open.lock() {
            open.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::client::IssueState;

    fn issue(labels: &[&str]) -> Issue {
        Issue {
            id: 1,
            number: 7,
            title: "t".into(),
            body: None,
            state: IssueState::Open,
            state_reason: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            author: "alice".into(),
            html_url: "https://github.com/acme/x/issues/7".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            is_pull_request: false,
            assignees: vec![],
            comments: 0,
        }
    }

    fn loaded(labels: &[&str]) -> Arc<Loaded> {
        Arc::new(Loaded {
            issue: issue(labels),
            parsed: Concern::default(),
        })
    }

    #[test]
    fn kept_only_inside_a_scope_and_forgotten_when_it_ends() {
        let memo = IssueMemo::default();
        memo.keep("acme/x", 7, &loaded(&["a"]));
        assert!(memo.get("acme/x", 7).is_none(), "no scope: nothing kept");
        {
            let _scope = memo.scope("acme/x", 7);
            assert!(memo.get("acme/x", 7).is_none());
            memo.keep("acme/x", 7, &loaded(&["a"]));
            assert!(memo.get("Acme/X", 7).is_some(), "any case");
            assert!(memo.get("acme/x", 8).is_none(), "another issue");
            memo.amend("acme/x", 7, |i| i.labels.push("b".into()));
            let kept = memo.get("acme/x", 7).expect("kept");
            assert_eq!(kept.issue.labels, ["a", "b"]);
        }
        assert!(memo.get("acme/x", 7).is_none(), "scope ended");
    }
}
