//! The inbox side: one stored delivery → a council decision (and the sync jobs it cues) →
//! one transaction with the delivery.

use super::jobs::{IssueChange, Job, KeyedJob, queued};
use super::plan::{digest, plan};
use super::{BATCH, Engine, EngineError};
use crate::concern::{self, criteria};
use crate::config::CouncilMembers;
use crate::council::{self, Cause, Decision, LabelSet, Rules, Snapshot, Stage, Trigger};
use crate::github::client::{Issue, IssueState, StateReason};
use crate::github::webhook::events::{
    self, CommentAction, GithubEvent, IssueCommentEvent, IssuesAction, IssuesEvent,
};
use crate::store::{self, Delivery, Source, StageChange};
use crate::tracker::{Cue, Tracker, TrackerDelivery};

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

impl<T: Tracker + 'static> Engine<T> {
    /// Handles every pending delivery, oldest first. Returns how many were handled.
    pub(crate) async fn process_pending(&self) -> Result<usize, EngineError> {
        let batch = self.store.pending_deliveries(BATCH).await?;
        let limit = i64::from(self.config.retry.interrupted_attempts.max(1));
        for delivery in &batch {
            if delivery.interrupted >= limit {
                let reason = format!(
                    "given up: processing it stopped the daemon {} times",
                    delivery.interrupted
                );
                tracing::error!(delivery = %delivery.delivery_id, interrupted = delivery.interrupted, "delivery given up");
                self.store.abandon_delivery(delivery.seq, &reason).await?;
                continue;
            }
            self.store.begin_delivery(delivery.seq).await?;
            #[cfg(debug_assertions)]
            if std::env::var("COUNCIL_DEBUG_ABORT_DELIVERY")
                .is_ok_and(|e| delivery.action.as_deref() == Some(e.as_str()))
            {
                eprintln!("COUNCIL_DEBUG_ABORT_DELIVERY: aborting while deciding a delivery");
                std::process::abort();
            }
            let outcome = match delivery.source {
                Source::Github => self.process_github(delivery).await,
                Source::Tracker => self.process_tracker(delivery).await,
            };
            match outcome {
                Ok(()) => crate::metrics::observe_webhook_lag(
                    match delivery.source {
                        Source::Github => "github",
                        Source::Tracker => "tracker",
                    },
                    delivery.received_at,
                ),
                Err(e) if e.is_transient() => {
                    tracing::warn!(delivery = %delivery.delivery_id, error = %e, "delivery will be retried");
                    self.store
                        .finish_delivery(delivery.seq, Err(e.to_string()))
                        .await?;
                }
                Err(e) => {
                    tracing::error!(delivery = %delivery.delivery_id, error = %e, "delivery failed");
                    self.store
                        .abandon_delivery(delivery.seq, &e.to_string())
                        .await?;
                }
            }
        }
        Ok(batch.len())
    }

    async fn done(&self, seq: i64) -> Result<(), EngineError> {
        Ok(self.store.finish_delivery(seq, Ok(())).await?)
    }

    async fn process_github(&self, delivery: &Delivery) -> Result<(), EngineError> {
        let event = events::decode(&delivery.event, &delivery.payload).map_err(|e| {
            EngineError::Decode {
                what: "delivery",
                reason: e.to_string(),
            }
        })?;
        // Stored before the repository left `github.repos`: no longer ours to act on.
        let scope = crate::config::Scope::of(&self.config);
        let watched = match &event {
            GithubEvent::Issues(e) => scope.watches_repo(&e.repo),
            GithubEvent::IssueComment(c) => scope.watches_repo(&c.repo),
            GithubEvent::Ignored { .. } => false,
        };
        if !watched {
            return self.done(delivery.seq).await;
        }
        self.also_for_tracker(&scope, delivery, &event).await?;
        match event {
            // Our own writes coming back are never reacted to (no echo loops).
            GithubEvent::Issues(e) if e.sender != self.bot_login => {
                self.on_issues_event(delivery, &e).await
            }
            GithubEvent::IssueComment(c)
                if c.sender != self.bot_login && c.action == CommentAction::Created =>
            {
                self.on_comment(delivery.seq, &c).await
            }
            _ => self.done(delivery.seq).await,
        }
    }

    async fn on_issues_event(
        &self,
        delivery: &Delivery,
        event: &IssuesEvent,
    ) -> Result<(), EngineError> {
        let seq = delivery.seq;
        // A transfer keeps the concern (same issue, new repository and number): the store
        // follows it on `transferred` in the old repository and again (a no-op by then, or
        // the repair when that delivery was lost) on `opened` in the new one.
        if let Some(t) = &event.transfer {
            let here = (event.repo.as_str(), event.issue.number);
            let there = (t.repo.as_str(), t.issue.number);
            let (from, to) = match event.action {
                IssuesAction::Transferred => (here, there),
                _ => (there, here),
            };
            let node_id = event
                .issue
                .node_id
                .as_deref()
                .or(t.issue.node_id.as_deref());
            let followed = self.follow_transfer(from, to, node_id).await?;
            // Tracker events handled under the old name meanwhile found no concern: one
            // sync under the new name catches up with them.
            let jobs = if followed {
                vec![KeyedJob::new(
                    format!("sync:{}#{}:transfer:{}", to.0, to.1, delivery.delivery_id),
                    Job::SyncFromTracker {
                        repo: to.0.to_owned(),
                        number: to.1,
                    },
                )]
            } else {
                Vec::new()
            };
            if event.action == IssuesAction::Transferred {
                return Ok(self
                    .store
                    .commit_decision(Some(seq), None, None, &queued(&jobs)?)
                    .await?);
            }
            if !jobs.is_empty() {
                self.store
                    .commit_decision(None, None, None, &queued(&jobs)?)
                    .await?;
            }
        }
        let trigger = self.trigger_for(event).await?;
        let follow = match event.action {
            IssuesAction::Closed => Some(IssueChange::ClosedNotPlanned),
            IssuesAction::Reopened => Some(IssueChange::Reopened),
            IssuesAction::Edited => Some(IssueChange::Edited),
            IssuesAction::Assigned | IssuesAction::Unassigned => Some(IssueChange::Assignees),
            _ => None,
        };
        if trigger.is_none() && follow.is_none() {
            return self.done(seq).await;
        }
        let cue = IssueCue {
            repo: &event.repo,
            number: event.issue.number,
            event_key: event_key(event, &delivery.delivery_id),
            trigger,
            follow,
            actor: Some(event.sender.clone()),
            at_ms: None,
        };
        self.decide_and_commit(Some(seq), cue).await
    }

    /// `/results …` from anyone but the daemon records the concern's results.
    async fn on_comment(&self, seq: i64, c: &IssueCommentEvent) -> Result<(), EngineError> {
        let body = c.comment_body.trim_start();
        let is_results = body
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("/results"));
        let text = body.get(8..).unwrap_or("").trim();
        if !is_results || text.is_empty() {
            return self.done(seq).await;
        }
        let Some(record) = self.store.get_concern(&c.repo, c.issue.number).await? else {
            return self.done(seq).await;
        };
        if !record.stage.is_syncing() {
            return self.done(seq).await;
        }
        let job = KeyedJob::new(
            format!("results:{}#{}:{}", c.repo, c.issue.number, c.comment_id),
            Job::RecordResults {
                repo: c.repo.clone(),
                number: c.issue.number,
                text: text.to_owned(),
                by: c.sender.clone(),
            },
        );
        Ok(self
            .store
            .commit_decision(Some(seq), None, None, &queued(std::slice::from_ref(&job))?)
            .await?)
    }

    /// A GitHub delivery about a concern repository that the tracker reads too (with GitHub
    /// Projects, a repository that holds concerns and a team's stories): its cues are
    /// queued before the council handles it. Keyed by the delivery, so a retry queues
    /// nothing twice.
    async fn also_for_tracker(
        &self,
        scope: &crate::config::Scope,
        delivery: &Delivery,
        event: &GithubEvent,
    ) -> Result<(), EngineError> {
        let repo = match event {
            GithubEvent::Issues(e) => e.repo.as_str(),
            _ => return Ok(()),
        };
        if !scope.tracker_reads(&delivery.event, Some(repo)) {
            return Ok(());
        }
        let jobs = self.cue_jobs(delivery).await?;
        if !jobs.is_empty() {
            self.store
                .commit_decision(None, None, None, &queued(&jobs)?)
                .await?;
        }
        Ok(())
    }

    /// A tracker webhook is a cue to re-read the concerns it touches: the tracker turns the
    /// delivery into [`Cue`]s (its own writes coming back yield only creation records), and
    /// the engine acts on those alone, whatever the tracker.
    async fn process_tracker(&self, delivery: &Delivery) -> Result<(), EngineError> {
        let jobs = self.cue_jobs(delivery).await?;
        Ok(self
            .store
            .commit_decision(Some(delivery.seq), None, None, &queued(&jobs)?)
            .await?)
    }

    /// The sync jobs a tracker delivery's cues ask for (creation records and moves are
    /// applied on the way).
    async fn cue_jobs(&self, delivery: &Delivery) -> Result<Vec<KeyedJob>, EngineError> {
        let cues = self
            .tracker
            .cues(
                TrackerDelivery {
                    event: &delivery.event,
                    payload: &delivery.payload,
                },
                &self.tracker_account,
            )
            .map_err(|e| EngineError::Decode {
                what: "tracker delivery",
                reason: e.to_string(),
            })?;
        let mut renamed = false;
        let mut keys: Vec<&str> = Vec::new();
        let mut all = false;
        for cue in &cues {
            match cue {
                // Names the item an earlier create made (also the daemon's own, whose
                // answer may have been lost): the next marker search asks for it by id.
                Cue::Created { marker, id, key } => {
                    self.store.record_created(marker, id, key).await?;
                }
                // A move renames the item (same id): links follow it first, so the lookup
                // below finds the concern under the new key.
                Cue::Moved { from, to, id } => {
                    let followed = self
                        .store
                        .follow_tracker_move(from, to, id.as_deref())
                        .await?;
                    tracing::info!(%from, %to, followed, "tracker item moved");
                    renamed |= followed > 0;
                }
                Cue::Changed { keys: changed } => keys.extend(changed.iter().map(String::as_str)),
                Cue::ChangedAll => all = true,
            }
        }
        let mut concerns: Vec<(String, u64)> = Vec::new();
        if all {
            concerns.extend(
                self.store
                    .linked_concerns()
                    .await?
                    .into_iter()
                    .filter(|c| c.stage.is_syncing())
                    .map(|c| (c.repo, c.number)),
            );
        } else {
            for key in keys {
                if let Some(c) = self.store.concern_for_tracker_key(key).await? {
                    concerns.push(c);
                }
            }
        }
        concerns.sort();
        concerns.dedup();
        // The source's stored word keeps job keys what they were before cues existed.
        let source = delivery.source.as_str();
        let mut jobs: Vec<KeyedJob> = Vec::new();
        for (repo, number) in concerns {
            jobs.push(KeyedJob::new(
                format!("sync:{repo}#{number}:{source}:{}", delivery.delivery_id),
                Job::SyncFromTracker {
                    repo: repo.clone(),
                    number,
                },
            ));
            // A renamed story may leave every state as it was, so the sync alone would see
            // nothing to show: the tracking comment is re-rendered with the new key.
            if renamed {
                jobs.push(KeyedJob::new(
                    format!("tracking:{repo}#{number}:moved:{}", delivery.delivery_id),
                    Job::Tracking { repo, number },
                ));
            }
        }
        Ok(jobs)
    }

    /// The council trigger of an issues event, if it is one the council cares about.
    async fn trigger_for(&self, event: &IssuesEvent) -> Result<Option<Trigger>, EngineError> {
        Ok(match event.action {
            IssuesAction::Opened | IssuesAction::Edited | IssuesAction::Reopened => {
                Some(Trigger::BodyChecked)
            }
            IssuesAction::Labeled => {
                let Some(label) = event.label.clone() else {
                    return Ok(None);
                };
                let decides = super::routing::is_decision_label(&self.config.labels, &label);
                let actor_is_member = decides && self.is_council_member(&event.sender).await?;
                Some(Trigger::LabelAdded {
                    label,
                    actor: event.sender.clone(),
                    actor_is_member,
                })
            }
            _ => None,
        })
    }

    /// Whether `login` may decide for the council.
    pub(crate) async fn is_council_member(&self, login: &str) -> Result<bool, EngineError> {
        match &self.config.github.council {
            CouncilMembers::Logins(logins) => {
                Ok(logins.iter().any(|l| l.eq_ignore_ascii_case(login)))
            }
            CouncilMembers::Team(team) => {
                let (org, slug) = team.split_once('/').unwrap_or((team.as_str(), ""));
                Ok(self.github.is_team_member(org, slug, login).await?)
            }
        }
    }

    /// Re-runs the criteria check of an undecided concern (reconcile, when the edit's
    /// webhook was lost).
    pub(crate) async fn recheck(&self, repo: &str, number: u64) -> Result<(), EngineError> {
        let issue = self.github.get_issue(repo, number).await?;
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
        self.decide_and_commit(None, cue).await
    }

    /// Decides on the issue as it is now and commits stage, decision and jobs together with
    /// the delivery (`seq`), if any. The stage is a compare-and-set on the stage the decision
    /// was made on: when another cause moved it meanwhile, the cue is decided again.
    pub(crate) async fn decide_and_commit(
        &self,
        seq: Option<i64>,
        cue: IssueCue<'_>,
    ) -> Result<(), EngineError> {
        let mut tries = 0;
        loop {
            match self.decide_once(seq, &cue).await {
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

    async fn decide_once(&self, seq: Option<i64>, cue: &IssueCue<'_>) -> Result<(), EngineError> {
        let (repo, number) = (cue.repo, cue.number);
        // The webhook is a cue; the issue as it is now is the truth.
        let issue = self.github.get_issue(repo, number).await?;
        let labels = LabelSet::new(issue.labels.iter().cloned());
        if !labels.contains(&self.config.labels.concern) {
            if let Some(seq) = seq {
                self.done(seq).await?;
            }
            return Ok(());
        }
        let record = self.store.get_concern(repo, number).await?;
        let stage = record.as_ref().map(|r| r.stage);
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
        let decision = match &cue.trigger {
            Some(trigger) => {
                let report = criteria::check_with_form(&parsed, &self.config.criteria, &self.form);
                let snap = Snapshot {
                    stage,
                    labels: &labels,
                    open: issue.state == IssueState::Open,
                    criteria_complete: report.is_complete(),
                };
                let rules = Rules {
                    labels: &self.config.labels,
                    two_step: self.config.council.two_step,
                };
                match self
                    .route_first(repo, &snap, trigger, &issue, &parsed)
                    .await?
                {
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
                .extend(self.followups(repo, number, stage, cue, &issue, &parsed));
        }
        // An edit after a failed or parked creation re-runs it at once (the edit may be
        // what fixes it: a team name, or the input that crashed it).
        if let Some(stage) = stage.filter(|s| s.is_accepted() && !s.is_syncing())
            && cue.follow == Some(IssueChange::Edited)
        {
            self.retry_failed_materialize(repo, number, stage, &issue)
                .await?;
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
        self.store
            .commit_decision(seq, stage_update.as_ref(), decided, &queued(&planned.jobs)?)
            .await?;
        Ok(())
    }

    /// Jobs that carry a GitHub-side change of an accepted concern over to the tracker.
    fn followups(
        &self,
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
}

/// Identifies the event itself, so that its jobs get the same keys however often it is
/// delivered. A label event is identified by what it says (label, who, when): GitHub may
/// deliver one event under several delivery ids. Any other event by its delivery: edits a
/// second apart carry the same `updated_at`, and each must get its own (idempotent) jobs,
/// or the last edit's would be dropped as a duplicate of the first's.
fn event_key(event: &IssuesEvent, delivery_id: &str) -> String {
    match event.action {
        IssuesAction::Labeled => match &event.issue.updated_at {
            Some(at) => labeled_key(event.label.as_deref().unwrap_or(""), &event.sender, at),
            None => format!("labeled:{delivery_id}"),
        },
        other => format!("{}:{delivery_id}", other.as_str()),
    }
}

/// The identity of a label event (label, who, when), the same whether a delivery or the
/// reconcile pass (which reads the issue's events) found it: the time is written as
/// [`chrono::DateTime::to_rfc3339`] in UTC whatever form it came in (`…Z` in a webhook,
/// a parsed time in the events API), so both plan their jobs, and a reply's marker, under
/// one key and a race between them queues one reply.
pub(crate) fn labeled_key(label: &str, actor: &str, at: &str) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339())
        .unwrap_or_else(|_| at.to_owned());
    format!("labeled:{label}:{actor}:{at}")
}

#[cfg(test)]
mod labeled_key_tests {
    use super::labeled_key;

    /// A delivery's `updated_at` (`…Z`) and the events API's parsed time name one event.
    #[test]
    fn delivery_and_reconcile_name_a_label_event_alike() {
        let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:07Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let from_reconcile = labeled_key("council/rejected", "mallory", &at.to_rfc3339());
        let from_delivery = labeled_key("council/rejected", "mallory", "2024-05-01T10:00:07Z");
        assert_eq!(from_delivery, from_reconcile);
        assert_ne!(
            from_delivery,
            labeled_key("council/rejected", "mallory", "2024-05-01T10:00:08Z")
        );
        assert_eq!(
            labeled_key("l", "a", "not a time"),
            "labeled:l:a:not a time",
            "an unreadable time is kept as sent"
        );
    }
}
