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
//!
//! The inbox reads the issue to decide; when the decision queues jobs it hands that copy
//! over ([`IssueMemo::hand_over`]) and the scope its jobs run in starts with it, so an
//! accept reads the issue once, not once to decide and again to act. The copy is as fresh
//! as one the jobs would read themselves (milliseconds older); a later edit comes as its
//! own delivery, decided on a new read, and queues the jobs that carry it over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// How long an issue the inbox read for a decision stays good for the jobs that decision
/// queued ([`IssueMemo::hand_over`]). The outbox is woken when the decision commits and
/// claims its jobs within milliseconds; a copy older than this (the jobs waited for a
/// retry, the outbox was busy) is not used, and the jobs read the issue themselves.
pub(crate) const HANDOVER_TTL: Duration = Duration::from_secs(2);

/// Issues handed over and not taken yet, at most: beyond it the expired ones are dropped
/// (each decision hands one over; the outbox takes it within milliseconds).
const HANDOVER_MAX: usize = 256;

/// The issues loaded by the concerns whose jobs are running now (none outside a scope),
/// and those the inbox just read for a decision that queued jobs.
#[derive(Debug, Default)]
pub(crate) struct IssueMemo {
    open: Mutex<HashMap<Key, Option<Arc<Loaded>>>>,
    handed: Mutex<HashMap<Key, (Instant, Arc<Loaded>)>>,
}

impl IssueMemo {
    /// Opens a scope for `repo#number` until the guard drops: loads inside it are shared.
    /// The scope starts with the issue the inbox handed over for it, when that is younger
    /// than [`HANDOVER_TTL`]: the decision that queued these jobs read it a moment ago.
    pub(crate) fn scope(&self, repo: &str, number: u64) -> MemoScope<'_> {
        let key = (repo.to_ascii_lowercase(), number);
        let handed = self
            .handed
            .lock()
            .ok()
            .and_then(|mut h| h.remove(&key))
            .filter(|(at, _)| at.elapsed() < HANDOVER_TTL)
            .map(|(_, loaded)| loaded);
        if let Ok(mut open) = self.open.lock() {
            open.insert(key.clone(), handed);
        }
        MemoScope { memo: self, key }
    }

    /// Hands the issue a decision was just made on (and committed with its jobs) to the
    /// next scope of `repo#number`, so the jobs do not read the same issue again a few
    /// milliseconds later. A newer hand-over replaces an older one.
    pub(crate) fn hand_over(&self, repo: &str, number: u64, loaded: Arc<Loaded>) {
        let key = (repo.to_ascii_lowercase(), number);
        if let Ok(mut handed) = self.handed.lock() {
            if handed.len() >= HANDOVER_MAX {
                handed.retain(|_, (at, _)| at.elapsed() < HANDOVER_TTL);
            }
            if handed.len() < HANDOVER_MAX {
                handed.insert(key, (Instant::now(), loaded));
            }
        }
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

    #[test]
    fn a_handed_over_issue_starts_the_next_scope_once() {
        let memo = IssueMemo::default();
        memo.hand_over("Acme/X", 7, loaded(&["old"]));
        memo.hand_over("acme/x", 7, loaded(&["new"]));
        assert!(memo.get("acme/x", 7).is_none(), "not kept outside a scope");
        {
            let _other = memo.scope("acme/x", 8);
            assert!(
                memo.get("acme/x", 8).is_none(),
                "another issue starts empty"
            );
        }
        {
            let _scope = memo.scope("acme/x", 7);
            let kept = memo
                .get("acme/x", 7)
                .expect("the hand-over starts the scope");
            assert_eq!(kept.issue.labels, ["new"], "the newest hand-over wins");
        }
        let _again = memo.scope("acme/x", 7);
        assert!(memo.get("acme/x", 7).is_none(), "taken once");
    }

    #[test]
    fn an_expired_hand_over_is_not_used_and_the_map_stays_bounded() {
        let memo = IssueMemo::default();
        let old = Instant::now()
            .checked_sub(HANDOVER_TTL)
            .expect("a clock past the TTL");
        memo.handed
            .lock()
            .expect("lock")
            .insert(("acme/x".into(), 7), (old, loaded(&[])));
        {
            let _scope = memo.scope("acme/x", 7);
            assert!(memo.get("acme/x", 7).is_none(), "expired: the jobs read");
        }
        for n in 0..(HANDOVER_MAX as u64 + 10) {
            memo.hand_over("acme/x", n, loaded(&[]));
        }
        assert!(memo.handed.lock().expect("lock").len() <= HANDOVER_MAX);
    }
}
