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
//! over ([`IssueMemo::hand_over`]) and the scope of exactly those jobs starts with it, so
//! an accept reads the issue once, not once to decide and again to act. A copy is handed
//! over only when nothing the daemon does can have changed the issue since it was read:
//!
//! - no job of the concern ran in this process from just before the read
//!   ([`IssueMemo::mark`]) to the hand-over: a job that ran meanwhile may have written
//!   labels, or closed the issue, after GitHub answered the read;
//! - the store is not shared with other replicas ([`IssueMemo::for_store`]): their jobs
//!   on the concern are not seen from here. (Found by `tests/replicas.rs`: a replica kept
//!   the read of a concern's *opening*, whose jobs another replica ran, and the jobs of the
//!   accept a moment later started from it, took `ready-for-council` for already gone, and
//!   left it on the issue.)
//! - the scope is for the jobs that decision queued and no others: jobs queued since (a
//!   tracker event's sync) read for themselves, and any scope of the concern opened in
//!   between drops the copy.
//!
//! Within those bounds the copy is as fresh as one the jobs would read themselves
//! (milliseconds older); a later edit comes as its own delivery, decided on a new read,
//! and queues the jobs that carry it over.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::concern::form::IssueForm;
use crate::concern::{self, Concern};
use crate::github::client::Issue;
use crate::store::Backend;

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

fn key(repo: &str, number: u64) -> Key {
    (repo.to_ascii_lowercase(), number)
}

/// How long an issue the inbox read for a decision stays good for the jobs that decision
/// queued ([`IssueMemo::hand_over`]). The outbox is woken when the decision commits and
/// claims its jobs within milliseconds; a copy older than this (the jobs waited for a
/// retry, the outbox was busy) is not used, and the jobs read the issue themselves.
pub(crate) const HANDOVER_TTL: Duration = Duration::from_secs(2);

/// How long this process remembers that jobs of a concern ran: a read marked longer ago
/// than this is never handed over (its decision took too long to be worth the risk).
const TOUCH_TTL: Duration = Duration::from_secs(30);

/// Issues handed over and not taken yet, at most: beyond it the expired ones are dropped
/// (each decision hands one over; the outbox takes it within milliseconds).
const HANDOVER_MAX: usize = 256;

/// Concerns remembered as touched before the old ones ([`TOUCH_TTL`]) are dropped.
const TOUCHED_PRUNE_AT: usize = 4096;

/// Where a decision's read of an issue stands against the jobs this process runs on the
/// same concern: taken just before the read ([`IssueMemo::mark`]) and given back with the
/// copy ([`IssueMemo::hand_over`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadMark {
    /// The memo's clock when the mark was taken (one tick per scope opened).
    tick: u64,
    /// When it was taken.
    at: Instant,
    /// A scope of the concern was open then: its jobs may write after the read.
    busy: bool,
}

/// An issue read for a decision, waiting for the scope of the jobs it queued.
#[derive(Debug)]
struct Handed {
    at: Instant,
    /// The idempotency keys of the jobs the decision queued.
    jobs: HashSet<String>,
    loaded: Arc<Loaded>,
}

#[derive(Debug, Default)]
struct State {
    /// The concerns whose jobs run now, each with its copy once loaded.
    open: HashMap<Key, Option<Arc<Loaded>>>,
    handed: HashMap<Key, Handed>,
    /// Counts the scopes opened, all concerns together.
    clock: u64,
    /// The clock and time at which a scope of the concern last opened, for at least
    /// [`TOUCH_TTL`].
    touched: HashMap<Key, (u64, Instant)>,
}

/// The issues loaded by the concerns whose jobs are running now (none outside a scope),
/// and those the inbox just read for a decision that queued jobs.
#[derive(Debug, Default)]
pub(crate) struct IssueMemo {
    state: Mutex<State>,
    /// Other replicas may run the concern's jobs: nothing is handed over.
    shared: bool,
}

impl IssueMemo {
    /// The memo of a daemon on `backend`: on a store other replicas can share
    /// (PostgreSQL), no read is handed over, since their jobs are not seen from here.
    pub(crate) fn for_store(backend: Backend) -> Self {
        Self {
            state: Mutex::default(),
            shared: backend == Backend::Postgres,
        }
    }

    /// Taken just before a decision reads `repo#number`, and handed over with that read.
    pub(crate) fn mark(&self, repo: &str, number: u64) -> ReadMark {
        let at = Instant::now();
        match self.state.lock() {
            Ok(state) => ReadMark {
                tick: state.clock,
                at,
                busy: state.open.contains_key(&key(repo, number)),
            },
            Err(_) => ReadMark {
                tick: u64::MAX,
                at,
                busy: true,
            },
        }
    }

    /// Opens a scope for `repo#number` until the guard drops: loads inside it are shared.
    /// `jobs` are the idempotency keys of the jobs about to run in it. The scope starts
    /// with the issue the inbox handed over for the concern when that is younger than
    /// [`HANDOVER_TTL`] and was handed over for every one of `jobs`; any other hand-over
    /// of the concern is dropped (these jobs may change the issue it shows).
    pub(crate) fn scope(&self, repo: &str, number: u64, jobs: &[&str]) -> MemoScope<'_> {
        let key = key(repo, number);
        if let Ok(mut state) = self.state.lock() {
            let handed = state
                .handed
                .remove(&key)
                .filter(|h| h.at.elapsed() < HANDOVER_TTL)
                .filter(|h| !jobs.is_empty() && jobs.iter().all(|j| h.jobs.contains(*j)))
                .map(|h| h.loaded);
            state.clock += 1;
            let now = Instant::now();
            if state.touched.len() >= TOUCHED_PRUNE_AT {
                state
                    .touched
                    .retain(|_, (_, at)| now.duration_since(*at) < TOUCH_TTL);
            }
            let tick = state.clock;
            state.touched.insert(key.clone(), (tick, now));
            state.open.insert(key.clone(), handed);
        }
        MemoScope { memo: self, key }
    }

    /// Hands the issue a decision was just made on (and committed with `jobs`, their
    /// idempotency keys) to the scope those jobs will run in, so they do not read the
    /// same issue again a few milliseconds later. `mark` is the one taken before the read:
    /// when a scope of the concern was open then or opened since, or the store is shared,
    /// nothing is handed over (see the module doc). A newer hand-over replaces an older one.
    pub(crate) fn hand_over(
        &self,
        repo: &str,
        number: u64,
        mark: ReadMark,
        jobs: impl IntoIterator<Item = String>,
        loaded: Arc<Loaded>,
    ) {
        let key = key(repo, number);
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let touched_since = state
            .touched
            .get(&key)
            .is_some_and(|(tick, _)| *tick > mark.tick);
        if self.shared || mark.busy || touched_since || mark.at.elapsed() >= TOUCH_TTL {
            // A copy from before may be just as stale: the jobs read for themselves.
            state.handed.remove(&key);
            return;
        }
        if state.handed.len() >= HANDOVER_MAX {
            state.handed.retain(|_, h| h.at.elapsed() < HANDOVER_TTL);
        }
        if state.handed.len() < HANDOVER_MAX {
            let handed = Handed {
                at: Instant::now(),
                jobs: jobs.into_iter().collect(),
                loaded,
            };
            state.handed.insert(key, handed);
        }
    }

    /// The issue loaded in the open scope of `repo#number`, if any.
    pub(crate) fn get(&self, repo: &str, number: u64) -> Option<Arc<Loaded>> {
        let state = self.state.lock().ok()?;
        state.open.get(&key(repo, number))?.clone()
    }

    /// Keeps `loaded` for the rest of the scope of `repo#number` (no-op outside one).
    pub(crate) fn keep(&self, repo: &str, number: u64, loaded: &Arc<Loaded>) {
        if let Ok(mut state) = self.state.lock()
            && let Some(slot) = state.open.get_mut(&key(repo, number))
        {
            *slot = Some(loaded.clone());
        }
    }

    /// Applies the daemon's own change to the kept copy of `repo#number` (no-op when none).
    pub(crate) fn amend(&self, repo: &str, number: u64, change: impl FnOnce(&mut Issue)) {
        if let Ok(mut state) = self.state.lock()
            && let Some(Some(kept)) = state.open.get_mut(&key(repo, number))
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
        if let Ok(mut state) = self.memo.state.lock() {
            state.open.remove(&self.key);
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

    fn jobs(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    /// The labels the scope of `jobs` on acme/x#7 starts with; `None`: its jobs read.
    fn starts_with(memo: &IssueMemo, jobs: &[&str]) -> Option<Vec<String>> {
        let _scope = memo.scope("acme/x", 7, jobs);
        memo.get("acme/x", 7).map(|k| k.issue.labels.clone())
    }

    #[test]
    fn kept_only_inside_a_scope_and_forgotten_when_it_ends() {
        let memo = IssueMemo::default();
        memo.keep("acme/x", 7, &loaded(&["a"]));
        assert!(memo.get("acme/x", 7).is_none(), "no scope: nothing kept");
        {
            let _scope = memo.scope("acme/x", 7, &["j"]);
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
    fn a_handed_over_issue_starts_the_scope_of_its_jobs_once() {
        let memo = IssueMemo::default();
        let first = memo.mark("acme/x", 7);
        memo.hand_over("Acme/X", 7, first, jobs(&["a"]), loaded(&["old"]));
        let second = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, second, jobs(&["b", "c"]), loaded(&["new"]));
        assert!(memo.get("acme/x", 7).is_none(), "not kept outside a scope");
        {
            let _other = memo.scope("acme/x", 8, &["b"]);
            assert!(
                memo.get("acme/x", 8).is_none(),
                "another issue starts empty"
            );
        }
        assert_eq!(
            starts_with(&memo, &["c", "b"]),
            Some(jobs(&["new"])),
            "the newest hand-over wins, for the jobs it was made for"
        );
        assert_eq!(starts_with(&memo, &["b"]), None, "taken once");
    }

    #[test]
    fn a_read_made_while_the_concerns_jobs_ran_is_not_handed_over() {
        let memo = IssueMemo::default();
        // A scope of the concern opened between the mark and the hand-over.
        let mark = memo.mark("acme/x", 7);
        drop(memo.scope("acme/x", 7, &["earlier"]));
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&["stale"]));
        assert_eq!(starts_with(&memo, &["a"]), None, "ran since the read");

        // A scope of the concern open when the read began.
        let running = memo.scope("acme/x", 7, &["earlier"]);
        let mark = memo.mark("acme/x", 7);
        drop(running);
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&["stale"]));
        assert_eq!(starts_with(&memo, &["a"]), None, "running at the read");

        // It also drops an older copy: that one is no fresher.
        let clean = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, clean, jobs(&["a"]), loaded(&["older"]));
        let late = memo.mark("acme/x", 7);
        drop(memo.scope("acme/x", 7, &["x"]));
        memo.hand_over("acme/x", 7, late, jobs(&["b"]), loaded(&["stale"]));
        assert_eq!(starts_with(&memo, &["a"]), None);

        // Another concern's jobs do not count.
        let mark = memo.mark("acme/x", 7);
        drop(memo.scope("acme/x", 8, &["other"]));
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&["fresh"]));
        assert_eq!(starts_with(&memo, &["a"]), Some(jobs(&["fresh"])));
    }

    #[test]
    fn jobs_the_decision_did_not_queue_read_for_themselves() {
        let memo = IssueMemo::default();
        let mark = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, mark, jobs(&["a", "b"]), loaded(&["r"]));
        assert_eq!(starts_with(&memo, &["a", "sync"]), None, "a job of its own");
        assert_eq!(starts_with(&memo, &["a"]), None, "dropped by that scope");

        let mark = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, mark, jobs(&["a", "b"]), loaded(&["r"]));
        assert_eq!(starts_with(&memo, &[]), None, "no job named");
        let mark = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, mark, jobs(&["a", "b"]), loaded(&["r"]));
        assert_eq!(
            starts_with(&memo, &["b"]),
            Some(jobs(&["r"])),
            "some of them (the rest were queued before)"
        );
    }

    #[test]
    fn a_shared_store_hands_nothing_over() {
        let memo = IssueMemo::for_store(Backend::Postgres);
        let mark = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&["r"]));
        assert_eq!(starts_with(&memo, &["a"]), None);
        let memo = IssueMemo::for_store(Backend::Sqlite);
        let mark = memo.mark("acme/x", 7);
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&["r"]));
        assert_eq!(starts_with(&memo, &["a"]), Some(jobs(&["r"])));
    }

    #[test]
    fn an_expired_hand_over_is_not_used_and_the_maps_stay_bounded() {
        let memo = IssueMemo::default();
        let old = Instant::now()
            .checked_sub(HANDOVER_TTL)
            .expect("a clock past the TTL");
        memo.state.lock().expect("lock").handed.insert(
            key("acme/x", 7),
            Handed {
                at: old,
                jobs: jobs(&["a"]).into_iter().collect(),
                loaded: loaded(&[]),
            },
        );
        assert_eq!(starts_with(&memo, &["a"]), None, "expired: the jobs read");
        let long_ago = Instant::now()
            .checked_sub(TOUCH_TTL)
            .expect("a clock past the TTL");
        let mark = ReadMark {
            at: long_ago,
            ..memo.mark("acme/x", 7)
        };
        memo.hand_over("acme/x", 7, mark, jobs(&["a"]), loaded(&[]));
        assert_eq!(
            starts_with(&memo, &["a"]),
            None,
            "a read marked too long ago"
        );
        for n in 0..(HANDOVER_MAX as u64 + 10) {
            let mark = memo.mark("acme/x", n);
            memo.hand_over("acme/x", n, mark, jobs(&["a"]), loaded(&[]));
        }
        assert!(memo.state.lock().expect("lock").handed.len() <= HANDOVER_MAX);
    }
}
