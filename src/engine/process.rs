//! The inbox side: one stored delivery → a council decision → a transaction.

use std::collections::BTreeSet;

use super::plan::plan;
use super::{BATCH, Engine, EngineError};
use crate::concern::{self, criteria};
use crate::config::CouncilMembers;
use crate::council::{self, Rules, Snapshot, Stage, Trigger};
use crate::github::client::IssueState;
use crate::github::webhook::events::{self, GithubEvent, IssuesAction, IssuesEvent};
use crate::store::{self, Delivery, QueuedWrite, StageUpdate};
use crate::tracker::Tracker;

impl<T: Tracker + 'static> Engine<T> {
    /// Handles every pending delivery, oldest first. Returns how many were handled.
    pub(crate) async fn process_pending(&self) -> Result<usize, EngineError> {
        let batch = self.store.pending_deliveries(BATCH).await?;
        for delivery in &batch {
            match self.process_one(delivery).await {
                Ok(()) => {}
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

    async fn process_one(&self, delivery: &Delivery) -> Result<(), EngineError> {
        let event = events::decode(&delivery.event, &delivery.payload).map_err(|e| {
            EngineError::Decode {
                what: "delivery",
                reason: e.to_string(),
            }
        })?;
        let GithubEvent::Issues(event) = event else {
            return Ok(self.store.finish_delivery(delivery.seq, Ok(())).await?);
        };
        if event.sender == self.bot_login {
            // Our own write coming back: never react to it (no echo loops).
            return Ok(self.store.finish_delivery(delivery.seq, Ok(())).await?);
        }
        let Some(trigger) = self.trigger_for(&event).await? else {
            return Ok(self.store.finish_delivery(delivery.seq, Ok(())).await?);
        };
        self.decide_and_commit(delivery.seq, &event, trigger).await
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
                let l = &self.config.labels;
                let decides = label == l.accepted || label == l.rejected || label == l.vetted;
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

    async fn decide_and_commit(
        &self,
        seq: i64,
        event: &IssuesEvent,
        trigger: Trigger,
    ) -> Result<(), EngineError> {
        let repo = event.repo.as_str();
        let number = event.issue.number;
        // The webhook is a cue; the issue as it is now is the truth.
        let issue = self.github.get_issue(repo, number).await?;
        let labels: BTreeSet<String> = issue.labels.iter().cloned().collect();
        if !labels.contains(&self.config.labels.concern) {
            return Ok(self.store.finish_delivery(seq, Ok(())).await?);
        }
        let record = self.store.get_concern(repo, number).await?;
        let stage = match &record {
            Some(r) => Some(
                r.stage
                    .parse::<Stage>()
                    .map_err(|e| EngineError::Invalid(e.to_string()))?,
            ),
            None => None,
        };
        let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &self.form);
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
        let decision = council::decide(&snap, &trigger, &rules);
        let event_key = format!(
            "{:?}:{}:{}:{}",
            event.action,
            event.label.as_deref().unwrap_or(""),
            event.sender,
            event.issue.updated_at
        );
        let planned = plan(repo, number, &event_key, &decision);
        tracing::info!(
            repo, number, trigger = ?trigger, stage = ?planned.stage, jobs = planned.jobs.len(), "decided"
        );
        // A concern never seen and not moved by this event stays unrecorded.
        let stage = planned.stage.map(|stage| StageUpdate {
            repo,
            number,
            issue_id: issue.id,
            stage: stage.as_str(),
        });
        let decided = planned
            .decision
            .as_ref()
            .map(|(kind, actor)| (store_kind(*kind), actor.as_str()));
        let writes = planned
            .jobs
            .iter()
            .map(|k| {
                let payload = serde_json::to_value(&k.job).map_err(|e| EngineError::Decode {
                    what: "job",
                    reason: e.to_string(),
                })?;
                Ok(QueuedWrite {
                    idem_key: &k.key,
                    kind: k.job.kind(),
                    payload,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        self.store
            .commit_decision(seq, stage.as_ref(), decided, &writes)
            .await?;
        Ok(())
    }
}

/// The store's name for a council decision.
pub(crate) fn store_kind(kind: council::DecisionKind) -> store::DecisionKind {
    match kind {
        council::DecisionKind::Accept => store::DecisionKind::Accept,
        council::DecisionKind::Reject => store::DecisionKind::Reject,
        council::DecisionKind::Vet => store::DecisionKind::Vet,
    }
}
