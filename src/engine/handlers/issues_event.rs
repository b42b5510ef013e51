//! A GitHub delivery (`issues`, `issue_comment`): decoded, scoped to the watched
//! repositories, the daemon's own writes dropped, and an `issues` event turned into a cue for
//! [`super::decide`] (a transfer followed first).

use crate::council::Trigger;
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::handlers::decide::IssueCue;
use crate::engine::inbox::done;
use crate::engine::jobs::{IssueChange, Job, KeyedJob, queued};
use crate::github::webhook::events::{self, CommentAction, GithubEvent, IssuesAction, IssuesEvent};
use crate::store::Delivery;
use crate::tracker::Tracker;

pub(crate) async fn process_github<T: Tracker + 'static>(
    cx: &Ctx<T>,
    delivery: &Delivery,
) -> Result<(), EngineError> {
    let event =
        events::decode(&delivery.event, &delivery.payload).map_err(|e| EngineError::Decode {
            what: "delivery",
            reason: e.to_string(),
        })?;
    process_decoded(cx, delivery, event).await
}

/// [`process_github`] on the delivery's event when the caller has decoded it already (the
/// inbox round decodes each delivery once, to find the runs it coalesces).
pub(crate) async fn process_decoded<T: Tracker + 'static>(
    cx: &Ctx<T>,
    delivery: &Delivery,
    event: GithubEvent,
) -> Result<(), EngineError> {
    // Stored before the repository left `github.repos`: no longer ours to act on.
    let scope = crate::config::Scope::of(&cx.config);
    let ignored = match &event {
        GithubEvent::Issues(e) => (!scope.watches_repo(&e.repo)).then_some("scope_left"),
        GithubEvent::IssueComment(c) => (!scope.watches_repo(&c.repo)).then_some("scope_left"),
        GithubEvent::Ignored { .. } => Some("event"),
    };
    if let Some(reason) = ignored {
        // Finished without a read of GitHub (ingest drops the rest before storing).
        crate::metrics::count_ignored("github", reason);
        return done(cx, delivery.seq).await;
    }
    super::tracker_event::also_for_tracker(cx, &scope, delivery, &event).await?;
    let me = cx.bot_login().await?;
    match event {
        // Our own writes coming back are never reacted to (no echo loops).
        GithubEvent::Issues(e) if e.sender != me => on_issues_event(cx, delivery, &e).await,
        GithubEvent::IssueComment(c) if c.sender != me && c.action == CommentAction::Created => {
            super::comment_event::on_comment(cx, delivery.seq, &c).await
        }
        _ => done(cx, delivery.seq).await,
    }
}

pub(crate) async fn on_issues_event<T: Tracker + 'static>(
    cx: &Ctx<T>,
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
        let followed = super::transfer::follow_transfer(cx, from, to, node_id).await?;
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
            return Ok(cx
                .store
                .commit_decision(Some(seq), None, None, &queued(&jobs)?)
                .await?);
        }
        if !jobs.is_empty() {
            cx.store
                .commit_decision(None, None, None, &queued(&jobs)?)
                .await?;
        }
    }
    // A decision label needs both the actor's membership and the issue as it is now:
    // two reads that do not depend on each other, made at once. Any other event reads
    // the issue only once it is known to matter.
    let (trigger, issue) = if is_decision_labeling(cx, event) {
        let mark = cx.issues.mark(&event.repo, event.issue.number);
        let (trigger, issue) = tokio::try_join!(trigger_for(cx, event), async {
            Ok(cx.github.get_issue(&event.repo, event.issue.number).await?)
        })?;
        (trigger, Some((issue, mark)))
    } else {
        (trigger_for(cx, event).await?, None)
    };
    let follow = match event.action {
        IssuesAction::Closed => Some(IssueChange::ClosedNotPlanned),
        IssuesAction::Reopened => Some(IssueChange::Reopened),
        IssuesAction::Edited => Some(IssueChange::Edited),
        IssuesAction::Assigned | IssuesAction::Unassigned => Some(IssueChange::Assignees),
        _ => None,
    };
    if trigger.is_none() && follow.is_none() {
        return done(cx, seq).await;
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
    super::decide::decide_with(cx, Some(seq), cue, issue).await
}

/// Whether `event` adds one of the council's decision labels (the only kind whose trigger
/// asks GitHub who the actor is).
fn is_decision_labeling<T: Tracker + 'static>(cx: &Ctx<T>, event: &IssuesEvent) -> bool {
    event.action == IssuesAction::Labeled
        && event
            .label
            .as_deref()
            .is_some_and(|l| crate::engine::routing::is_decision_label(&cx.config.labels, l))
}

/// The council trigger of an issues event, if it is one the council cares about.
pub(crate) async fn trigger_for<T: Tracker + 'static>(
    cx: &Ctx<T>,
    event: &IssuesEvent,
) -> Result<Option<Trigger>, EngineError> {
    Ok(match event.action {
        IssuesAction::Opened | IssuesAction::Edited | IssuesAction::Reopened => {
            Some(Trigger::BodyChecked)
        }
        IssuesAction::Labeled => {
            let Some(label) = event.label.clone() else {
                return Ok(None);
            };
            let decides = crate::engine::routing::is_decision_label(&cx.config.labels, &label);
            let actor_is_member = decides && cx.is_council_member(&event.sender).await?;
            Some(Trigger::LabelAdded {
                label,
                actor: event.sender.clone(),
                actor_is_member,
            })
        }
        _ => None,
    })
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
