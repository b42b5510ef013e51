//! The reconcile pass: derives what should be from the current state of GitHub and the
//! tracker, not only from the deliveries the daemon happened to receive.
//!
//! A pass (every `sync.reconcile_interval`, and `council-sync reconcile --once`) lists, for
//! each watched repository, the issues changed since its cursor (GitHub's `since`, every
//! page, labelled or not, so a lost `opened` is found too), and queues a reconcile job for
//! each concern issue among them and for every concern whose create failed or was parked.
//! What changed in the tracker comes from the poll's cursor (`poll.rs`); what no cursor saw
//! is the rare full sweep's (`sweep.rs`). Nothing here costs a call per concern in step. A
//! job brings its concern to the state the events would have produced:
//! * an issue the store has never seen is checked as if just opened;
//! * a decision label the store has no decision for is checked against who applied it, read
//!   from the issue's events API: a council member's decision is recorded with its real time
//!   and acted on (epic, stories, close), anyone else's label is removed with a reply;
//! * an undecided concern's labels are re-derived from its body (a lost `edited`/`unlabeled`);
//! * an accepted one's GitHub-side changes (closed as not planned, reopened, edits, results
//!   in the body or in a `/results` comment) are carried to the tracker, and the tracker's
//!   state to GitHub.
//!
//! Each step compares before it writes, so a pass over concerns that are in step writes
//! nothing; every decision goes through the same compare-and-set as a delivery's.

use chrono::{DateTime, Utc};

use super::handlers::{self, decide::IssueCue};
use super::jobs::{Job, KeyedJob};
use super::{Ctx, EngineError};
use crate::concern;
use crate::council::{Stage, Trigger};
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, ConcernRow, now_ms};

use crate::tracker::Tracker;

/// The store cursor of a repository's issue listing: the newest `updated_at` seen (ms).
fn cursor_name(repo: &str) -> String {
    format!("github-issues-since:{repo}")
}

/// How far before a listing's `since` the seen issues are read (ms): a first start's
/// entries matter only while listings start in or near its second; later ones start after
/// them. (They stay as a few rows in `cursors`, one per issue written in that second.)
const SEEN_KEEP_MS: i64 = 60_000;

/// What a listing shows of an issue, as a key: its number, `updated_at` (ms) and a digest
/// of what a person can change (title, body, state and reason, labels, assignees, how many
/// comments). GitHub's `updated_at` has whole seconds, so two changes in one second share
/// it: keyed by time alone, the second change's reconcile was taken for the first's and
/// dropped (a `/results` comment written in the second the previous pass listed was lost).
/// Keyed by this, a listing repeated over the inclusive `since` second is dropped, and a
/// change within that second is not.
fn listed_view(issue: &crate::github::client::Issue) -> String {
    let mut labels = issue.labels.clone();
    labels.sort();
    let mut assignees = issue.assignees.clone();
    assignees.sort();
    let shown = serde_json::json!([
        issue.title,
        issue.body,
        issue.state,
        issue.state_reason,
        labels,
        assignees,
        issue.comments,
    ]);
    let digest = super::plan::digest(&shown.to_string());
    format!(
        "{}:{}:{}",
        issue.number,
        issue.updated_at.timestamp_millis(),
        &digest[..digest.len().min(16)]
    )
}

/// The stages where a create may have failed for good (epic or stories), to try again on
/// every pass: only the concerns among them whose create job failed or was parked are walked,
/// found from the store alone (see `create_stalled`).
const RETRIED: [Stage; 3] = [Stage::Accepted, Stage::Vetted, Stage::EpicCreated];

/// The prefixes of a concern's create keys ([`create_keys`]).
const CREATE_PREFIXES: [&str; 2] = ["epic:", "stories:"];

/// The outbox keys of a concern's creates, as the decision path queues them.
fn create_keys(repo: &str, number: u64) -> [String; 2] {
    [
        format!("{}{repo}#{number}", CREATE_PREFIXES[0]),
        format!("{}{repo}#{number}", CREATE_PREFIXES[1]),
    ]
}

/// The concern (`owner/name`, number) a create key names: a key of [`create_keys`], or
/// one of its retries (`key:…`). `None` for any other key.
fn create_key_concern(key: &str) -> Option<(String, u64)> {
    let rest = CREATE_PREFIXES.iter().find_map(|p| key.strip_prefix(p))?;
    let (repo, tail) = rest.split_once('#')?;
    let number = tail.split(':').next()?.parse().ok()?;
    (!repo.is_empty()).then(|| (repo.to_owned(), number))
}

/// One repository's listing since its cursor: the concern issues changed, each with what
/// the listing showed of it ([`listed_view`]), and the newest `updated_at` listed (the
/// cursor's next value).
struct Changed {
    cursor: String,
    issues: Vec<(u64, String)>,
    newest: Option<i64>,
}

impl<T: Tracker + 'static> Ctx<T> {
    /// The periodic pass: asks GitHub what changed since each repository's cursor (the
    /// issues list with `since`, sorted by update, pages of 100) and queues a reconcile of
    /// each concern issue among them, plus of every concern whose create failed or was
    /// parked (from the store alone). Its cost is the pages of what changed, never a call
    /// per concern that is in step; the tracker side is the poll's (`poll_tracker`), and
    /// the rare full sweep (`full_sweep`) reads everything in pages. Each cursor moves only
    /// after the jobs it covers are queued (durable). Returns how many it queued.
    ///
    /// A job's key names the issue's `updated_at`, so the same change listed again (GitHub's
    /// `since` is inclusive and has whole seconds) is dropped by the outbox, not re-read.
    pub async fn reconcile_pass(&self) -> Result<usize, EngineError> {
        let pass = now_ms();
        let mut jobs: Vec<KeyedJob> = Vec::new();
        for c in self.failed_creates().await? {
            if self.create_stalled(&c.repo, c.number).await? {
                let key = format!("reconcile:{}#{}:retry:{pass}", c.repo, c.number);
                jobs.push(KeyedJob::new(
                    key,
                    Job::Reconcile {
                        repo: c.repo,
                        number: c.number,
                    },
                ));
            }
        }
        let mut cursors = Vec::new();
        for repo in &self.config.github.repos {
            let changed = self.changed_concern_issues(repo, pass).await?;
            for (number, seen) in &changed.issues {
                let number = *number;
                let key = format!("reconcile:{repo}#{number}:gh:{seen}");
                jobs.push(KeyedJob::new(
                    key,
                    Job::Reconcile {
                        repo: repo.clone(),
                        number,
                    },
                ));
            }
            cursors.push(changed);
        }
        let mut queued = 0;
        for job in jobs {
            if self.enqueue_job(job).await? {
                queued += 1;
            }
        }
        for c in cursors {
            if let Some(newest) = c.newest {
                self.store.set_cursor(&c.cursor, newest).await?;
            }
        }
        self.schedule_first_sweep(pass).await?;
        tracing::info!(concerns = queued, "reconcile pass queued");
        Ok(queued)
    }

    /// The concerns in a [`RETRIED`] stage with a failed (or parked) epic or stories create:
    /// two queries whatever the number of concerns (the failed creates, then the concerns
    /// in those stages when there are any), so the pass reads outbox states one concern at
    /// a time only for those ([`Self::create_stalled`]).
    async fn failed_creates(&self) -> Result<Vec<ConcernRow>, EngineError> {
        let failed: std::collections::HashSet<(String, u64)> = self
            .store
            .failed_keys(&CREATE_PREFIXES)
            .await?
            .iter()
            .filter_map(|k| create_key_concern(k))
            .collect();
        if failed.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .concerns_in_stage(&RETRIED)
            .await?
            .into_iter()
            .filter(|c| failed.contains(&(c.repo.clone(), c.number)))
            .collect())
    }

    /// Whether the concern's epic or stories create failed for good or was parked (and is
    /// not queued again already): the pass then walks it, so it may succeed now.
    async fn create_stalled(&self, repo: &str, number: u64) -> Result<bool, EngineError> {
        let mut stalled = false;
        for key in create_keys(repo, number) {
            match self.store.outbox_state(&key).await?.as_deref() {
                Some("failed" | "parked") => stalled = true,
                Some("pending" | "running") => return Ok(false),
                _ => {}
            }
        }
        Ok(stalled)
    }

    /// The concern issues of `repo` changed since its cursor. With no cursor yet (a first
    /// start), nothing is queued: the cursor starts at `pass`, what came before is the full
    /// sweep's (and `backfill`'s), and a log line says when that sweep is due.
    ///
    /// GitHub's `since` has whole seconds and is inclusive, so the next pass lists again
    /// whatever was written earlier in the second of `pass` (e.g. the end of a `backfill`
    /// just before the first start). A first start therefore lists that second once and
    /// records what it holds as seen (`github-seen:` cursors, by issue and `updated_at`);
    /// the next passes drop an issue listed again at the same `updated_at`, and read any
    /// that changed after.
    async fn changed_concern_issues(&self, repo: &str, pass: i64) -> Result<Changed, EngineError> {
        let cursor = cursor_name(repo);
        let seen_prefix = format!("github-seen:{repo}#");
        let Some(since) = self.store.get_cursor(&cursor).await? else {
            let second = DateTime::<Utc>::from_timestamp_millis(pass);
            let listed = self.github.list_issues(repo, &[], second).await?;
            let seen: Vec<(String, i64)> = listed
                .iter()
                .filter(|i| !i.is_pull_request)
                .map(|i| (listed_view(i), i.updated_at.timestamp_millis()))
                .collect();
            let seen: Vec<(&str, i64)> = seen.iter().map(|(v, u)| (v.as_str(), *u)).collect();
            self.store
                .remember_seen(&seen_prefix, &seen, pass.saturating_sub(SEEN_KEEP_MS))
                .await?;
            self.store.set_cursor(&cursor, pass).await?;
            tracing::info!(repo, "no cursor yet: changes are read from now on");
            return Ok(Changed {
                cursor,
                issues: Vec::new(),
                newest: None,
            });
        };
        let seen = self
            .store
            .seen_since(&seen_prefix, since.saturating_sub(SEEN_KEEP_MS))
            .await?;
        let since = DateTime::<Utc>::from_timestamp_millis(since);
        let issues = self.github.list_issues(repo, &[], since).await?;
        let mut newest = None::<i64>;
        let mut out = Vec::new();
        for issue in issues.iter().filter(|i| !i.is_pull_request) {
            let updated = issue.updated_at.timestamp_millis();
            newest = Some(newest.map_or(updated, |n| n.max(updated)));
            let view = listed_view(issue);
            if self.is_concern(issue) && !seen.contains_key(&view) {
                out.push((issue.number, view));
            }
        }
        Ok(Changed {
            cursor,
            issues: out,
            newest,
        })
    }

    /// With no sweep recorded yet (a first start), records `pass` as the last sweep, so the
    /// first one runs a whole `sync.full_sweep_interval` later, never at start; says so.
    async fn schedule_first_sweep(&self, pass: i64) -> Result<(), EngineError> {
        if self
            .store
            .get_cursor(super::sweep::SWEEP_CURSOR)
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.store
            .set_cursor(super::sweep::SWEEP_CURSOR, pass)
            .await?;
        let every = self.config.sync.full_sweep_interval;
        let at = DateTime::<Utc>::from_timestamp_millis(pass)
            .and_then(|t| chrono::Duration::from_std(every).ok().map(|d| t + d));
        tracing::info!(
            due = %at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            every = %humantime::format_duration(every),
            "first start: a full sweep is scheduled"
        );
        Ok(())
    }

    /// Runs the full sweep when one is due (the last one finished a whole
    /// `sync.full_sweep_interval` ago); `Ok(0)` otherwise.
    pub async fn sweep_if_due(&self) -> Result<usize, EngineError> {
        let every =
            i64::try_from(self.config.sync.full_sweep_interval.as_millis()).unwrap_or(i64::MAX);
        match self.store.get_cursor(super::sweep::SWEEP_CURSOR).await? {
            Some(last) if now_ms().saturating_sub(last) >= every => self.full_sweep().await,
            _ => Ok(0),
        }
    }

    fn is_concern(&self, issue: &Issue) -> bool {
        let concern = &self.config.labels.concern;
        issue.labels.iter().any(|l| l.eq_ignore_ascii_case(concern))
    }

    /// Compares one concern's issue (and tracker side) with the store and repairs whatever
    /// drifted while deliveries were lost.
    pub(crate) async fn reconcile_one(&self, repo: &str, number: u64) -> Result<(), EngineError> {
        let record = match self.store.get_concern(repo, number).await? {
            Some(r) => r,
            None => {
                // Never seen (its `opened` was lost, or it predates the daemon): checked as
                // if just opened, then its labels are looked at like any other's.
                handlers::decide::recheck(self, repo, number).await?;
                match self.store.get_concern(repo, number).await? {
                    Some(r) => r,
                    None => return Ok(()),
                }
            }
        };
        let issue = self.github.get_issue(repo, number).await?;
        if self.adopt_decision_labels(&record, &issue).await? {
            // The decision's own jobs (labels, epic, tracking comment) do the rest.
            return Ok(());
        }
        let stage = record.stage;
        if stage.is_undecided() {
            return handlers::decide::recheck(self, repo, number).await;
        }
        if stage.is_accepted() && !stage.is_syncing() {
            handlers::materialize::retry_failed_materialize(self, repo, number, stage, &issue)
                .await?;
        }
        if record.epic_key.is_some() && stage.is_accepted() {
            self.follow_github_side(&record, &issue).await?;
            handlers::sync_from_tracker::sync_from_tracker(self, repo, number).await?;
        }
        if record.tracking_comment_id.is_none() {
            handlers::tracking::refresh_tracking(self, repo, number).await?;
        }
        Ok(())
    }

    /// Carries GitHub-side changes the tracker has not followed: closed as not planned,
    /// reopened, title/answers edits, results in the body or a `/results` comment.
    async fn follow_github_side(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        let (repo, number) = (record.repo.as_str(), record.number);
        let closed_np = issue.state == IssueState::Closed
            && issue.state_reason == Some(StateReason::NotPlanned);
        let was_np = record.issue_state == Some(store::IssueState::ClosedNotPlanned);
        if closed_np && !was_np {
            handlers::follow_issue::follow_not_planned(self, record, issue).await?;
        } else if issue.state == IssueState::Open && was_np {
            handlers::follow_issue::follow_reopened(self, record, issue).await?;
        }
        handlers::follow_issue::follow_edit(self, record, issue).await?;
        self.follow_assignee_drift(record, issue).await?;
        if !record.stage.is_syncing() || record.results.is_some() {
            return Ok(());
        }
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        if let Some(results) = parsed.results.as_deref().filter(|r| !r.trim().is_empty()) {
            return handlers::results::record_results(self, repo, number, results, &issue.author)
                .await;
        }
        // A `/results` comment whose delivery was lost: the newest one from a person.
        let comments = self.github.list_comments(repo, number).await?;
        let me = self.bot_login().await?;
        let found = comments.iter().rev().find_map(|c| {
            let body = c.body.trim_start();
            let is_results = body
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("/results"));
            let text = body.get(8..).unwrap_or("").trim();
            (c.author != me && is_results && !text.is_empty())
                .then(|| (text.to_owned(), c.author.clone()))
        });
        if let Some((text, by)) = found {
            handlers::results::record_results(self, repo, number, &text, &by).await?;
        }
        Ok(())
    }

    /// The epic's assignee when it disagrees with the issue's first assignee (through
    /// `[users]`), as a lost `assigned` / `unassigned` delivery leaves it. A login with no
    /// tracker account is left as the delivery path left it (reported there, never retried).
    async fn follow_assignee_drift(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<(), EngineError> {
        if self.config.sync.owners.assignee != crate::config::Owner::Github {
            return Ok(());
        }
        let want = match issue.assignees.first() {
            None => None,
            Some(login) => match self.github_user_account(login) {
                Some(account) => Some(account),
                None => return Ok(()),
            },
        };
        let Some((epic, _)) = handlers::sync_from_tracker::tracked(self, record).await? else {
            return Ok(());
        };
        if epic.assignee_account != want {
            handlers::follow_issue::follow_assignees(self, record, issue).await?;
        }
        Ok(())
    }

    /// Decision labels on the issue that the store has no decision for (their `labeled`
    /// delivery was lost, or came while the daemon was down): each is decided on as if its
    /// delivery had come, with the actor and time read from the issue's events. Returns
    /// whether it decided anything.
    async fn adopt_decision_labels(
        &self,
        record: &ConcernRow,
        issue: &Issue,
    ) -> Result<bool, EngineError> {
        let l = &self.config.labels;
        let stage = record.stage;
        let mut candidates: Vec<&str> = Vec::new();
        if stage.is_undecided() {
            candidates.extend([
                l.accepted.as_str(),
                l.rejected.as_str(),
                l.out_of_scope.as_str(),
            ]);
        }
        if self.config.council.two_step && matches!(stage, Stage::Accepted | Stage::EpicCreated) {
            candidates.push(l.vetted.as_str());
        }
        let present: Vec<&str> = candidates
            .into_iter()
            .filter(|c| issue.labels.iter().any(|x| x.eq_ignore_ascii_case(c)))
            .collect();
        if present.is_empty() {
            return Ok(false);
        }
        let events = self
            .github
            .list_issue_events(&record.repo, record.number)
            .await?;
        let mut decided = false;
        for label in present {
            // The newest application of the label is the one that stands.
            let Some(applied) = events.iter().rev().find(|e| {
                e.event == "labeled"
                    && e.label
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(label))
            }) else {
                tracing::warn!(repo = %record.repo, number = record.number, label, "decision label with no labeled event; left for the next pass");
                continue;
            };
            // A deleted account (`actor: null`) cannot be on the council.
            let actor = applied.actor.clone().unwrap_or_else(|| "ghost".into());
            let member = applied.actor.is_some() && self.is_council_member(&actor).await?;
            let at = applied.created_at;
            tracing::info!(repo = %record.repo, number = record.number, label, actor, member, "decision label found by reconcile");
            let cue = IssueCue {
                repo: &record.repo,
                number: record.number,
                // The same identity a delivery of this event would plan its jobs under
                // (label, who, when), so a late delivery of it repeats nothing.
                event_key: handlers::issues_event::labeled_key(label, &actor, &at.to_rfc3339()),
                trigger: Some(Trigger::LabelAdded {
                    label: label.to_owned(),
                    actor: actor.clone(),
                    actor_is_member: member,
                }),
                follow: None,
                actor: Some(actor.clone()),
                at_ms: Some(at.timestamp_millis()),
            };
            handlers::decide::decide_and_commit(self, None, cue).await?;
            decided = true;
        }
        Ok(decided)
    }
}

#[cfg(test)]
mod tests {
    use super::{create_key_concern, create_keys, listed_view};
    use crate::github::client::{Issue, IssueState};
    use chrono::{DateTime, Utc};

    fn issue() -> Issue {
        Issue {
            id: 1,
            number: 7,
            title: "Cut toil".into(),
            body: Some("body".into()),
            state: IssueState::Open,
            state_reason: None,
            labels: vec!["b".into(), "a".into()],
            author: "alice".into(),
            html_url: String::new(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            updated_at: DateTime::<Utc>::from_timestamp_millis(1_796_027_670_000)
                .unwrap_or_default(),
            is_pull_request: false,
            assignees: Vec::new(),
            comments: 1,
        }
    }

    /// Changes within one second of `updated_at` (GitHub's precision) give another view;
    /// the same issue listed again gives the same one, whatever the order of its labels.
    #[test]
    fn a_change_within_the_same_second_is_a_new_view_and_a_repeat_is_not() {
        let base = listed_view(&issue());
        let mut again = issue();
        again.labels.reverse();
        assert_eq!(listed_view(&again), base);
        let mut commented = issue();
        commented.comments += 1;
        let mut labelled = issue();
        labelled.labels.push("council/accepted".into());
        let mut closed = issue();
        closed.state = IssueState::Closed;
        let mut edited = issue();
        edited.body = Some("body, edited".into());
        let mut assigned = issue();
        assigned.assignees.push("bob".into());
        for changed in [commented, labelled, closed, edited, assigned] {
            assert_ne!(listed_view(&changed), base, "{changed:?}");
        }
        assert!(base.starts_with("7:1796027670000:"), "{base}");
    }

    #[test]
    fn a_create_key_names_its_concern_and_other_keys_none() {
        for key in create_keys("acme/sre", 12) {
            assert_eq!(create_key_concern(&key), Some(("acme/sre".into(), 12)));
            let retry = format!("{key}:retry:1764464000000");
            assert_eq!(create_key_concern(&retry), Some(("acme/sre".into(), 12)));
        }
        for other in [
            "reconcile:acme/sre#12:gh:1",
            "comment:acme/sre#12",
            "epic:acme/sre",
            "epic:#12",
            "epic:acme/sre#x",
            "stories:acme/sre#-1",
        ] {
            assert_eq!(create_key_concern(other), None, "{other}");
        }
    }

    proptest::proptest! {
        /// Whatever the repository and number, each create key reads back as its concern.
        #[test]
        fn create_keys_read_back(owner in "[a-z0-9-]{1,20}", name in "[a-z0-9._-]{1,30}", n in 1_u64..u64::MAX) {
            let repo = format!("{owner}/{name}");
            for key in create_keys(&repo, n) {
                proptest::prop_assert_eq!(create_key_concern(&key), Some((repo.clone(), n)));
            }
        }
    }
}
