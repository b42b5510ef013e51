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
//! * Tracker: a story whose `updated` is newer than the one stored, or whose progress
//!   differs; an epic or story the store links that the listing no longer has (deleted or
//!   moved: the reconcile reports or follows it).

use std::collections::{BTreeSet, HashMap};

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

/// Story links read from the store at a time while comparing them with the tracker's
/// listing: a keyset page, so the sweep never holds every link.
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

/// Whether a listed story disagrees with its stored state: newer in the tracker, or another
/// progress. Pure.
pub fn story_drift(stored: &StoryState, listed: &TrackedIssue) -> bool {
    stored.updated_ms.is_none_or(|u| u < listed.updated_ms)
        || stored.progress != Some(listed.progress)
}

impl<T: Tracker + 'static> Ctx<T> {
    /// Reads both sides in pages and queues a reconcile of each concern whose listed state
    /// disagrees with the store (see the module note); records the sweep's time in
    /// [`SWEEP_CURSOR`] once the jobs are queued. Returns how many it queued.
    pub async fn full_sweep(&self) -> Result<usize, EngineError> {
        let pass = now_ms();
        let concerns: HashMap<(String, u64), ConcernRow> = self
            .store
            .concerns_in_stage(&Stage::ALL)
            .await?
            .into_iter()
            .map(|c| ((c.repo.clone(), c.number), c))
            .collect();
        let mut targets: BTreeSet<(String, u64)> = BTreeSet::new();
        for repo in &self.config.github.repos {
            // A page at a time: the sweep never holds every concern issue.
            let concern = std::slice::from_ref(&self.config.labels.concern);
            let mut pages = self.github.issue_pages(repo, concern, None)?;
            while let Some(page) = pages.next_page().await? {
                for issue in page.iter().filter(|i| !i.is_pull_request) {
                    let at = (repo.clone(), issue.number);
                    let record = concerns.get(&at);
                    if let Some(why) = github_drift(
                        record,
                        issue,
                        &self.config.labels,
                        self.config.council.two_step,
                    ) {
                        tracing::debug!(repo = %at.0, number = issue.number, why, "sweep: drift");
                        targets.insert(at);
                    }
                }
            }
        }
        targets.extend(self.tracker_drift(&concerns).await?);
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

    /// The concerns whose tracker items, as listed in pages, disagree with the store.
    async fn tracker_drift(
        &self,
        concerns: &HashMap<(String, u64), ConcernRow>,
    ) -> Result<BTreeSet<(String, u64)>, EngineError> {
        let listed = self.tracker.list_all().await?;
        let by_key: HashMap<String, &TrackedIssue> = listed
            .iter()
            .map(|t| (t.key.to_ascii_uppercase(), t))
            .collect();
        let mut out = BTreeSet::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .story_links_page(after.as_ref(), LINKS_PAGE)
                .await?;
            for at in &page {
                let drift = match by_key.get(&at.link.story_key.to_ascii_uppercase()) {
                    Some(t) => story_drift(&at.link.state, t),
                    None => true,
                };
                if drift {
                    out.insert((at.repo.clone(), at.number));
                }
            }
            match page.into_iter().last() {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        for c in concerns.values() {
            if let Some(epic) = &c.epic_key
                && !by_key.contains_key(&epic.to_ascii_uppercase())
            {
                out.insert((c.repo.clone(), c.number));
            }
        }
        Ok(out)
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
    fn a_story_drifts_when_newer_or_of_another_progress() {
        let stored = StoryState {
            progress: Some(Progress::InProgress),
            updated_ms: Some(1_000),
            ..StoryState::default()
        };
        assert!(!story_drift(&stored, &tracked(1_000, Progress::InProgress)));
        assert!(!story_drift(&stored, &tracked(900, Progress::InProgress)));
        assert!(story_drift(&stored, &tracked(1_001, Progress::InProgress)));
        assert!(story_drift(&stored, &tracked(1_000, Progress::Done)));
        assert!(story_drift(
            &StoryState::default(),
            &tracked(1, Progress::Todo)
        ));
    }

    proptest::proptest! {
        /// Whatever the times, a story listed exactly as stored never drifts, and one listed
        /// later always does.
        #[test]
        fn story_drift_follows_updated(stored in 0_i64..1_000_000, later in 1_i64..1_000) {
            let state = StoryState {
                progress: Some(Progress::Todo),
                updated_ms: Some(stored),
                ..StoryState::default()
            };
            proptest::prop_assert!(!story_drift(&state, &tracked(stored, Progress::Todo)));
            proptest::prop_assert!(story_drift(&state, &tracked(stored + later, Progress::Todo)));
        }
    }
}
