//! Deciding on a concern: the issue as it is now → `council::decide` (or routing) → stage,
//! decision and jobs committed in one transaction with the delivery.

use crate::concern::{self, criteria};
use crate::council::{self, Cause, Decision, LabelSet, Rules, Snapshot, Stage, Trigger};
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::inbox::done;
use crate::engine::jobs::{IssueChange, Job, KeyedJob, queued};
use crate::engine::loaded::ReadMark;
use crate::engine::plan::{digest, plan};
use crate::engine::routing::route_first;
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, StageChange};
use crate::tracker::Tracker;

/// What a delivery is about once decoded: an issue, and what happened to it.
pub(crate) struct IssueCue<'a> {
    pub(crate) repo: &'a str,
    pub(crate) number: u64,
    /// Identifies the event itself (not its delivery): distinct deliveries of one event
    /// plan the same job keys.
    pub(crate) event_key: String,
    pub(crate) trigger: Option<Trigger>,
    pub(crate) follow: Option<IssueChange>,
    /// Who caused the event (recorded with a stage change it causes).
    pub(crate) actor: Option<String>,
    /// When the event happened, when known (ms): a decision found late by reconcile keeps
    /// its real time. `None`: now.
    pub(crate) at_ms: Option<i64>,
}

/// How often one cue is decided again after its stage compare-and-set lost a race; each
/// loss means another cause moved the concern meanwhile, so a few are plenty.
const STAGE_RACE_RETRIES: usize = 4;

/// Re-runs the criteria check of an undecided concern (reconcile, when the edit's
/// webhook was lost).
pub(crate) async fn recheck<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
) -> Result<(), EngineError> {
    let mark = cx.issues.mark(repo, number);
    let issue = cx.github.get_issue(repo, number).await?;
    let cue = IssueCue {
        repo,
        number,
        // Only reconcile re-checks, once per concern and pass: keyed by the moment, so a
        // repair is never taken for an earlier write with the same content (GitHub's
        // `updated_at` has whole seconds, and a label removed right after the daemon's
        // own write leaves the issue as it was before that write). The jobs compare
        // before they write, so a re-check that finds nothing to do writes nothing.
        event_key: format!(
            "recheck:{}:{}",
            issue.updated_at.timestamp_millis(),
            store::now_ms()
        ),
        trigger: Some(Trigger::BodyChecked),
        follow: None,
        actor: None,
        at_ms: None,
    };
    decide_with(cx, None, cue, Some((issue, mark))).await
}

/// Decides on the issue as it is now and commits stage, decision and jobs together with
/// the delivery (`seq`), if any. The stage is a compare-and-set on the stage the decision
/// was made on: when another cause moved it meanwhile, the cue is decided again.
pub(crate) async fn decide_and_commit<T: Tracker + 'static>(
    cx: &Ctx<T>,
    seq: Option<i64>,
    cue: IssueCue<'_>,
) -> Result<(), EngineError> {
    decide_with(cx, seq, cue, None).await
}

/// [`decide_and_commit`] on `issue` when the caller has just read it, with the mark it
/// took just before the read ([`IssueMemo::mark`](crate::engine::loaded::IssueMemo::mark)):
/// the first try only, a try that lost the stage race reads the issue again.
pub(crate) async fn decide_with<T: Tracker + 'static>(
    cx: &Ctx<T>,
    seq: Option<i64>,
    cue: IssueCue<'_>,
    mut issue: Option<(Issue, ReadMark)>,
) -> Result<(), EngineError> {
    let mut tries = 0;
    loop {
        match decide_once(cx, seq, &cue, issue.take()).await {
            Err(EngineError::Store(store::StoreError::StageConflict { .. }))
                if tries < STAGE_RACE_RETRIES =>
            {
                tries += 1;
                tracing::info!(
                    repo = cue.repo,
                    number = cue.number,
                    "stage moved meanwhile; deciding again"
                );
            }
            other => return other,
        }
    }
}

pub(crate) async fn decide_once<T: Tracker + 'static>(
    cx: &Ctx<T>,
    seq: Option<i64>,
    cue: &IssueCue<'_>,
    issue: Option<(Issue, ReadMark)>,
) -> Result<(), EngineError> {
    let (repo, number) = (cue.repo, cue.number);
    // The webhook is a cue; the issue as it is now is the truth.
    let (issue, mark) = match issue {
        Some(read) => read,
        None => {
            let mark = cx.issues.mark(repo, number);
            (cx.github.get_issue(repo, number).await?, mark)
        }
    };
    let labels = LabelSet::new(issue.labels.iter().cloned());
    if !labels.contains(&cx.config.labels.concern) {
        if let Some(seq) = seq {
            done(cx, seq).await?;
        }
        return Ok(());
    }
    let record = cx.store.get_concern(repo, number).await?;
    let stage = record.as_ref().map(|r| r.stage);
    let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &cx.form);
    let decision = match &cue.trigger {
        Some(trigger) => {
            let report = criteria::check_with_form(&parsed, &cx.config.criteria, &cx.form);
            let snap = Snapshot {
                stage,
                labels: &labels,
                open: issue.state == IssueState::Open,
                criteria_complete: report.is_complete(),
            };
            let rules = Rules {
                labels: &cx.config.labels,
                two_step: cx.config.council.two_step,
            };
            match route_first(cx, repo, &snap, trigger, &issue, &parsed).await? {
                Some(routed) => routed,
                None => council::decide(&snap, trigger, &rules),
            }
        }
        None => Decision {
            stage,
            actions: Vec::new(),
        },
    };
    let mut planned = plan(repo, number, &cue.event_key, &decision);
    if let Some(stage) = stage.filter(|s| s.is_accepted()) {
        planned
            .jobs
            .extend(followups(repo, number, stage, cue, &issue, &parsed));
    }
    // An edit after a failed or parked creation re-runs it at once (the edit may be
    // what fixes it: a team name, or the input that crashed it).
    if let Some(stage) = stage.filter(|s| s.is_accepted() && !s.is_syncing())
        && cue.follow == Some(IssueChange::Edited)
    {
        super::materialize::retry_failed_materialize(cx, repo, number, stage, &issue).await?;
    }
    tracing::info!(repo, number, trigger = ?cue.trigger, follow = ?cue.follow, stage = ?planned.stage, jobs = planned.jobs.len(), "decided");
    // A concern never seen and not moved by this event stays unrecorded.
    let cause = match &planned.decision {
        Some((kind, _)) => Cause::of_decision(*kind),
        // Routed by the author's own answer on the form.
        None if planned.stage == Some(Stage::OutOfScope) => Cause::OutOfScope,
        None => Cause::Criteria,
    };
    let actor = match &planned.decision {
        Some((_, who)) => Some(who.as_str()),
        None => cue.actor.as_deref(),
    };
    let stage_update = planned.stage.map(|to| StageChange {
        repo,
        number,
        issue_id: issue.id,
        expected: stage,
        to,
        cause,
        actor,
        at_ms: cue.at_ms.unwrap_or_else(store::now_ms),
    });
    let decided = planned
        .decision
        .as_ref()
        .map(|(kind, actor)| (*kind, actor.as_str()));
    cx.store
        .commit_decision_unwoken(seq, stage_update.as_ref(), decided, &queued(&planned.jobs)?)
        .await?;
    // The jobs just queued start from this read of the issue instead of reading it again
    // (when nothing of the daemon's can have changed it since: see `engine::loaded`), and
    // start now: the outbox is woken once the copy is handed over (woken before, it could
    // open the jobs' scope first and read the issue again), not when the inbox round ends.
    if !planned.jobs.is_empty() {
        let loaded = crate::engine::loaded::Loaded { issue, parsed };
        let keys = planned.jobs.iter().map(|j| j.key.clone());
        cx.issues
            .hand_over(repo, number, mark, keys, std::sync::Arc::new(loaded));
        cx.store.wake_outbox();
    }
    Ok(())
}

/// Jobs that carry a GitHub-side change of an accepted concern over to the tracker.
pub(crate) fn followups(
    repo: &str,
    number: u64,
    stage: Stage,
    cue: &IssueCue<'_>,
    issue: &Issue,
    parsed: &concern::Concern,
) -> Vec<KeyedJob> {
    let mut jobs = Vec::new();
    let event = digest(&cue.event_key);
    let follow = match cue.follow {
        // A close as completed is the daemon's own doing or the author's: only
        // "not planned" moves the tracker.
        Some(IssueChange::ClosedNotPlanned)
            if issue.state_reason != Some(StateReason::NotPlanned) =>
        {
            None
        }
        other => other,
    };
    if let Some(change) = follow {
        jobs.push(KeyedJob::new(
            format!("follow:{repo}#{number}:{event}"),
            Job::FollowIssue {
                repo: repo.into(),
                number,
                change,
            },
        ));
    }
    if cue.follow == Some(IssueChange::Edited)
        && stage.is_syncing()
        && let Some(results) = parsed
            .results
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
    {
        jobs.push(KeyedJob::new(
            format!("results:{repo}#{number}:body:{}", digest(results)),
            Job::RecordResults {
                repo: repo.into(),
                number,
                text: results.to_owned(),
                by: issue.author.clone(),
            },
        ));
    }
    jobs
}
