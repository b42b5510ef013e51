//! The full sweep: a rare pass (every `sync.full_sweep_interval`, default daily) that reads
//! every concern issue and every item the daemon made in the tracker, in pages of 100 on
//! each side, and queues a reconcile only for the concerns whose listed state disagrees with
//! the store. It is the safety net under the cursors of the periodic pass (a change a
//! cursor skipped, a config change that moves the criteria): its cost is pages, about
//! N / 100 calls on each side, never a call per concern that is in step.
//!
//! What is compared from a listing alone (no call per concern):
//! * GitHub: a concern issue the store does not know; an open/closed state that differs
//!   from the one the daemon last saw or set (none recorded: closed while the stage means
//!   open); an undecided concern whose `needs-info` /
//!   `ready` label disagrees with its stage, or that carries a decision label the store has
//!   no decision for (two-step: `vetted` on an accepted concern); no tracking comment yet.
//! * Tracker: a story whose progress differs, or that is newer than the one stored and
//!   differs in what a reconcile carries to GitHub (status, assignee, sprint: a change of
//!   anything else, e.g. a move or a description edit, changes nothing there, and the
//!   reconcile records nothing for it, so comparing `updated` alone would queue it on every
//!   sweep); an epic or story the store links that the listing no longer has (deleted or
//!   moved: the reconcile reports or follows it). One that moved (Jira's "Move" to another
//!   project: a new key, the same id, the old key still resolving) is followed in the store
//!   here, as the webhook path does ([`crate::store::Store::follow_tracker_move`]): else
//!   every later sweep would find it missing again under its old key.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::jobs::{Job, KeyedJob};
use super::{Ctx, EngineError};
use crate::config::LabelsConfig;
use crate::council::{Stage, same_label};
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, ConcernRow, StoryState, now_ms};
use crate::tracker::{TrackedIssue, Tracker};

/// The store cursor holding when the last full sweep finished (ms); the next is due one
/// `sync.full_sweep_interval` later.
pub(super) const SWEEP_CURSOR: &str = "full-sweep-at";

/// Story links or epics read from the store at a time when the listing's counts show some
/// are missing from the tracker: a keyset page, so the sweep never holds every link.
const LINKS_PAGE: u32 = 500;

/// Why a listed concern issue needs a reconcile; `None` when the listing agrees with the
/// store. Pure: `two_step` is `[council] two_step`.
pub fn github_drift(
    record: Option<&ConcernRow>,
    issue: &Issue,
    labels: &LabelsConfig,
    two_step: bool,
) -> Option<&'static str> {
    let Some(record) = record else {
        return Some("unknown to the store");
    };
    let has = |name: &str| issue.labels.iter().any(|l| same_label(l, name));
    let state = match (issue.state, issue.state_reason) {
        (IssueState::Open, _) => store::IssueState::Open,
        (IssueState::Closed, Some(StateReason::NotPlanned)) => store::IssueState::ClosedNotPlanned,
        (IssueState::Closed, _) => store::IssueState::Closed,
    };
    let stage = record.stage;
    match record.issue_state {
        Some(recorded) if recorded != state => return Some("open/closed state changed"),
        // Not recorded (a row from a backfill or an older version): a closed issue is drift
        // where the stage means an open one (undecided, or accepted and not done yet).
        None if state != store::IssueState::Open
            && (stage.is_undecided() || (stage.is_accepted() && stage < Stage::Done)) =>
        {
            return Some("closed, its stage expects it open");
        }
        _ => {}
    }
    if stage.is_undecided() {
        if has(&labels.accepted) || has(&labels.rejected) || has(&labels.out_of_scope) {
            return Some("decision label not recorded");
        }
        let (want, not) = match stage {
            Stage::Ready => (&labels.ready, &labels.needs_info),
            _ => (&labels.needs_info, &labels.ready),
        };
        if state == store::IssueState::Open && (!has(want) || has(not)) {
            return Some("criteria labels disagree with the stage");
        }
    }
    if two_step && matches!(stage, Stage::Accepted | Stage::EpicCreated) && has(&labels.vetted) {
        return Some("vetted label not recorded");
    }
    if record.tracking_comment_id.is_none() {
        return Some("no tracking comment");
    }
    None
}

/// Whether a listed story disagrees with its stored state: another progress, or newer in
/// the tracker with another status, assignee or sprint (what the reconcile would write to
/// GitHub and record). Pure.
pub fn story_drift(stored: &StoryState, listed: &TrackedIssue) -> bool {
    let newer = stored.updated_ms.is_none_or(|u| u < listed.updated_ms);
    let differs = stored.status.as_deref() != Some(listed.status.as_str())
        || stored.assignee != listed.assignee
        || stored.sprint != super::handlers::sync_from_tracker::sprint_text(listed);
    stored.progress != Some(listed.progress) || (newer && differs)
}

impl<T: Tracker + 'static> Ctx<T> {
    /// Reads both sides in pages and queues a reconcile of each concern whose listed state
    /// disagrees with the store (see the module note); records the sweep's time in
    /// [`SWEEP_CURSOR`] once the jobs are queued. Returns how many it queued.
    ///
    /// Memory does not grow with the number of concerns: each page of a listing (100
    /// GitHub issues, or up to 100 tracker items) is compared with the store rows it names,
    /// read for that page alone; only the concerns found to drift are kept.
    pub async fn full_sweep(&self) -> Result<usize, EngineError> {
        let pass = now_ms();
        let mut targets: BTreeSet<(String, u64)> = BTreeSet::new();
        for repo in &self.config.github.repos {
            // A page at a time: the sweep never holds every concern issue.
            let concern = std::slice::from_ref(&self.config.labels.concern);
            let mut pages = self.github.issue_pages(repo, concern, None)?;
            while let Some(page) = pages.next_page().await? {
                let listed: Vec<&Issue> = page.iter().filter(|i| !i.is_pull_request).collect();
                let numbers: Vec<u64> = listed.iter().map(|i| i.number).collect();
                let stored: HashMap<u64, ConcernRow> = self
                    .store
                    .concerns_numbered(repo, &numbers)
                    .await?
                    .into_iter()
                    .map(|c| (c.number, c))
                    .collect();
                for issue in listed {
                    if let Some(why) = github_drift(
                        stored.get(&issue.number),
                        issue,
                        &self.config.labels,
                        self.config.council.two_step,
                    ) {
                        tracing::debug!(repo = %repo, number = issue.number, why, "sweep: drift");
                        targets.insert((repo.clone(), issue.number));
                    }
                }
            }
        }
        targets.extend(self.tracker_drift().await?);
        let mut queued = 0;
        for (repo, number) in targets {
            let key = format!("reconcile:{repo}#{number}:sweep:{pass}");
            if self
                .enqueue_job(KeyedJob::new(key, Job::Reconcile { repo, number }))
                .await?
            {
                queued += 1;
            }
        }
        self.store.set_cursor(SWEEP_CURSOR, pass).await?;
        tracing::info!(concerns = queued, "full sweep queued");
        Ok(queued)
    }

    /// The concerns whose tracker items disagree with the store. The listing is read a page
    /// at a time ([`Tracker::list_page`]); each page's stories and epics are looked up in the
    /// store by key and compared. A stored story or epic the listing lacks is found by
    /// counting: when every stored link and epic was matched, none is missing (the usual
    /// case, no more calls); otherwise [`Self::missing_from_listing`] asks for the stored
    /// keys directly.
    async fn tracker_drift(&self) -> Result<BTreeSet<(String, u64)>, EngineError> {
        let mut out = BTreeSet::new();
        let (mut links_matched, mut epics_matched) = (0u64, 0u64);
        let mut cursor: Option<String> = None;
        loop {
            let page = self.tracker.list_page(cursor.as_deref()).await?;
            let keys: Vec<String> = page.items.iter().map(|t| t.key.clone()).collect();
            let by_key: HashMap<String, &TrackedIssue> = page
                .items
                .iter()
                .map(|t| (t.key.to_ascii_uppercase(), t))
                .collect();
            for at in self.store.story_links_keyed(&keys).await? {
                links_matched += 1;
                let listed = by_key.get(&at.link.story_key.to_ascii_uppercase());
                if listed.is_some_and(|t| story_drift(&at.link.state, t)) {
                    out.insert((at.repo, at.number));
                }
            }
            epics_matched += self.store.concerns_with_epics(&keys).await?.len() as u64;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let links = self.store.count_story_links().await?;
        let epics = self.store.count_epics().await?;
        if links_matched < links || epics_matched < epics {
            tracing::info!(
                links,
                links_matched,
                epics,
                epics_matched,
                "sweep: stored items missing from the tracker's listing; reading them"
            );
            out.extend(self.missing_from_listing().await?);
        }
        Ok(out)
    }

    /// The concerns with a stored story or epic that the tracker no longer has (deleted, or
    /// moved out of the listing: the reconcile reports or follows it): the stored keys in
    /// keyset pages, each page asked for with [`Tracker::fetch`]. Only run when the
    /// listing's counts show something is missing.
    async fn missing_from_listing(&self) -> Result<BTreeSet<(String, u64)>, EngineError> {
        let mut out = BTreeSet::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .story_links_page(after.as_ref(), LINKS_PAGE)
                .await?;
            let keys: Vec<String> = page.iter().map(|at| at.link.story_key.clone()).collect();
            let (found, moved) = self.found_keys(&keys).await?;
            for at in &page {
                let key = &at.link.story_key;
                if !found.contains(&key.to_ascii_uppercase()) {
                    if moved {
                        self.follow_move(key).await?;
                    }
                    out.insert((at.repo.clone(), at.number));
                }
            }
            match page.into_iter().last() {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        let mut after: Option<(String, u64)> = None;
        loop {
            let page = self
                .store
                .epics_page(after.as_ref().map(|(r, n)| (r.as_str(), *n)), LINKS_PAGE)
                .await?;
            let keys: Vec<String> = page.iter().filter_map(|c| c.epic_key.clone()).collect();
            let (found, moved) = self.found_keys(&keys).await?;
            for c in &page {
                let Some(key) = &c.epic_key else { continue };
                if !found.contains(&key.to_ascii_uppercase()) {
                    if moved {
                        self.follow_move(key).await?;
                    }
                    out.insert((c.repo.clone(), c.number));
                }
            }
            match page.into_iter().last() {
                Some(last) => after = Some((last.repo, last.number)),
                None => break,
            }
        }
        Ok(out)
    }

    /// Which of `keys` the tracker has under those keys (upper case), and whether it
    /// answered with an item under a key not asked for: an old key that resolves to a moved
    /// issue (Jira answers `key in (OLD)` and `GET /issue/OLD` with the issue under its new
    /// key). Only then are the keys not found asked for one by one ([`Self::follow_move`]).
    async fn found_keys(&self, keys: &[String]) -> Result<(HashSet<String>, bool), EngineError> {
        let asked: HashSet<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
        let got: HashSet<String> = self
            .tracker
            .fetch(keys)
            .await?
            .into_iter()
            .map(|t| t.key.to_ascii_uppercase())
            .collect();
        let moved = got.iter().any(|k| !asked.contains(k));
        Ok((got.intersection(&asked).cloned().collect(), moved))
    }

    /// Follows `old_key` in the store when the tracker now answers it under another key
    /// (the same issue: its id is recorded too); nothing when it is gone. One read.
    async fn follow_move(&self, old_key: &str) -> Result<(), EngineError> {
        let now = self.tracker.fetch(&[old_key.to_owned()]).await?;
        if let Some(t) = now.first().filter(|t| !t.key.eq_ignore_ascii_case(old_key)) {
            let followed = self
                .store
                .follow_tracker_move(old_key, &t.key, Some(&t.id))
                .await?;
            tracing::info!(old_key, new_key = %t.key, followed, "sweep: followed a moved item");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::Progress;
    use chrono::Utc;

    fn issue(labels: &[&str], state: IssueState, reason: Option<StateReason>) -> Issue {
        Issue {
            id: 1,
            number: 7,
            title: "t".into(),
            body: None,
            state,
            state_reason: reason,
            labels: labels.iter().map(|s| s.to_string()).collect(),
            author: "alice".into(),
            html_url: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            is_pull_request: false,
            assignees: Vec::new(),
            comments: 0,
        }
    }

    fn record(stage: Stage, state: Option<store::IssueState>) -> ConcernRow {
        ConcernRow {
            repo: "acme/sre".into(),
            number: 7,
            issue_id: 1,
            stage,
            tracking_comment_id: Some(3),
            epic_key: None,
            epic_url: None,
            last_error: None,
            updated_at: 0,
            progress: None,
            results: None,
            results_at: None,
            issue_state: state,
            synced_hash: None,
        }
    }

    #[test]
    fn a_listing_in_step_with_the_store_needs_nothing() {
        let l = LabelsConfig::default();
        let open = Some(store::IssueState::Open);
        let cases = [
            (
                record(Stage::Ready, open),
                issue(&["sre-concern", &l.ready], IssueState::Open, None),
            ),
            (
                record(Stage::NeedsInfo, open),
                issue(&["sre-concern", &l.needs_info], IssueState::Open, None),
            ),
            (
                record(Stage::StoriesCreated, open),
                issue(&["sre-concern", &l.accepted], IssueState::Open, None),
            ),
            (
                record(Stage::Rejected, Some(store::IssueState::ClosedNotPlanned)),
                issue(
                    &["sre-concern", &l.rejected],
                    IssueState::Closed,
                    Some(StateReason::NotPlanned),
                ),
            ),
            // The state not recorded yet (an old row): nothing to compare.
            (
                record(Stage::Done, None),
                issue(&["sre-concern"], IssueState::Closed, None),
            ),
        ];
        for (r, i) in &cases {
            assert_eq!(github_drift(Some(r), i, &l, false), None, "{r:?}");
        }
    }

    #[test]
    fn each_kind_of_drift_is_named() {
        let l = LabelsConfig::default();
        let open = Some(store::IssueState::Open);
        let ready = issue(&["sre-concern", &l.ready], IssueState::Open, None);
        assert_eq!(
            github_drift(None, &ready, &l, false),
            Some("unknown to the store")
        );
        let closed = issue(&["sre-concern", &l.accepted], IssueState::Closed, None);
        assert_eq!(
            github_drift(Some(&record(Stage::InProgress, open)), &closed, &l, false),
            Some("open/closed state changed")
        );
        let np = issue(
            &["sre-concern", &l.accepted],
            IssueState::Closed,
            Some(StateReason::NotPlanned),
        );
        assert_eq!(
            github_drift(
                Some(&record(Stage::InProgress, Some(store::IssueState::Closed))),
                &np,
                &l,
                false
            ),
            Some("open/closed state changed")
        );
        let labelled = issue(
            &["sre-concern", &l.ready, &l.accepted],
            IssueState::Open,
            None,
        );
        assert_eq!(
            github_drift(Some(&record(Stage::Ready, open)), &labelled, &l, false),
            Some("decision label not recorded")
        );
        assert_eq!(
            github_drift(Some(&record(Stage::NeedsInfo, open)), &ready, &l, false),
            Some("criteria labels disagree with the stage")
        );
        let vetted = issue(
            &["sre-concern", &l.accepted, &l.vetted],
            IssueState::Open,
            None,
        );
        assert_eq!(
            github_drift(Some(&record(Stage::EpicCreated, open)), &vetted, &l, true),
            Some("vetted label not recorded")
        );
        assert_eq!(
            github_drift(Some(&record(Stage::EpicCreated, open)), &vetted, &l, false),
            None
        );
        // No state recorded (a backfilled row): closed while the stage expects it open.
        for stage in [Stage::Ready, Stage::StoriesCreated, Stage::InProgress] {
            assert_eq!(
                github_drift(Some(&record(stage, None)), &closed, &l, false),
                Some("closed, its stage expects it open"),
                "{stage:?}"
            );
        }
        for stage in [Stage::Done, Stage::Rejected, Stage::ResultsPresented] {
            assert_eq!(
                github_drift(Some(&record(stage, None)), &closed, &l, false),
                None,
                "{stage:?}"
            );
        }
        let mut no_comment = record(Stage::Ready, open);
        no_comment.tracking_comment_id = None;
        assert_eq!(
            github_drift(Some(&no_comment), &ready, &l, false),
            Some("no tracking comment")
        );
    }

    fn tracked(updated_ms: i64, progress: Progress) -> TrackedIssue {
        TrackedIssue {
            key: "PAY-1".into(),
            id: "10001".into(),
            url: String::new(),
            summary: String::new(),
            status: String::new(),
            progress,
            assignee: None,
            assignee_account: None,
            iteration: None,
            updated_ms,
        }
    }

    #[test]
    fn a_story_drifts_when_newer_and_different_or_of_another_progress() {
        let stored = StoryState {
            status: Some(String::new()),
            progress: Some(Progress::InProgress),
            updated_ms: Some(1_000),
            ..StoryState::default()
        };
        assert!(!story_drift(&stored, &tracked(1_000, Progress::InProgress)));
        assert!(!story_drift(&stored, &tracked(900, Progress::InProgress)));
        assert!(story_drift(&stored, &tracked(1_000, Progress::Done)));
        // Newer, but nothing the reconcile carries changed (moved, description edited).
        assert!(!story_drift(&stored, &tracked(1_001, Progress::InProgress)));
        let reviewed = TrackedIssue {
            status: "In Review".into(),
            ..tracked(1_001, Progress::InProgress)
        };
        assert!(story_drift(&stored, &reviewed));
        let assigned = TrackedIssue {
            assignee: Some("Dana".into()),
            ..tracked(1_001, Progress::InProgress)
        };
        assert!(story_drift(&stored, &assigned));
        assert!(
            !story_drift(
                &stored,
                &TrackedIssue {
                    updated_ms: 999,
                    ..assigned
                }
            ),
            "an older listing does not overrule the store"
        );
        assert!(story_drift(
            &StoryState::default(),
            &tracked(1, Progress::Todo)
        ));
    }

    proptest::proptest! {
        /// Whatever the times, a story listed as stored never drifts, and one listed later
        /// with another status always does.
        #[test]
        fn story_drift_follows_updated(stored in 0_i64..1_000_000, later in 1_i64..1_000) {
            let state = StoryState {
                status: Some(String::new()),
                progress: Some(Progress::Todo),
                updated_ms: Some(stored),
                ..StoryState::default()
            };
            proptest::prop_assert!(!story_drift(&state, &tracked(stored, Progress::Todo)));
            proptest::prop_assert!(!story_drift(&state, &tracked(stored + later, Progress::Todo)));
            let moved_on = TrackedIssue {
                status: "Doing".into(),
                ..tracked(stored + later, Progress::Todo)
            };
            proptest::prop_assert!(story_drift(&state, &moved_on));
        }
    }
}
