//! Turns a council [`Decision`] into what the store records and the outbox jobs to run.
//! Pure, so the idempotency keys (what makes a redelivered event harmless) are unit-tested.

use sha2::{Digest, Sha256};

use super::jobs::{Job, KeyedJob};
use crate::council::{Action, CloseReason, Decision, DecisionKind, Stage, tracking};

/// What processing one event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The stage to record.
    pub stage: Option<Stage>,
    /// A decision to record (who, what).
    pub decision: Option<(DecisionKind, String)>,
    /// Jobs to enqueue, in order.
    pub jobs: Vec<KeyedJob>,
}

impl PartialEq for KeyedJob {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.job == other.job
    }
}
impl Eq for KeyedJob {}

/// A short stable digest, safe inside an HTML comment and a key.
pub fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hex::encode(&hash[..8])
}

/// Plans `decision` for issue `repo#number`. `event_key` identifies the triggering event
/// itself (not its delivery), so that distinct deliveries of one event plan the same keys.
pub fn plan(repo: &str, number: u64, event_key: &str, decision: &Decision) -> Plan {
    let issue = format!("{repo}#{number}");
    let event = digest(event_key);
    let mut out = Plan {
        stage: decision.stage,
        decision: None,
        jobs: Vec::new(),
    };
    let mut push = |key: String, job: Job| out.jobs.push(KeyedJob { key, job });
    for (i, action) in decision.actions.iter().enumerate() {
        match action {
            Action::AddLabels(add) => push(
                format!("labels:{issue}:{event}:{i}"),
                Job::Labels {
                    repo: repo.into(),
                    number,
                    add: add.clone(),
                    remove: vec![],
                },
            ),
            Action::RemoveLabels(remove) => push(
                format!("labels:{issue}:{event}:{i}"),
                Job::Labels {
                    repo: repo.into(),
                    number,
                    add: vec![],
                    remove: remove.clone(),
                },
            ),
            Action::Reply(reply) => {
                let marker_key = format!("{event}-{i}");
                let body = tracking::render_reply(reply, &marker_key);
                push(
                    format!("reply:{issue}:{marker_key}"),
                    Job::Reply {
                        repo: repo.into(),
                        number,
                        marker_key,
                        body,
                    },
                );
            }
            Action::RecordDecision { kind, actor } => out.decision = Some((*kind, actor.clone())),
            Action::Close(CloseReason::NotPlanned) => push(
                format!("close:{issue}"),
                Job::CloseNotPlanned {
                    repo: repo.into(),
                    number,
                },
            ),
            Action::CreateEpic { stories } => push(
                format!("epic:{issue}"),
                Job::Materialize {
                    repo: repo.into(),
                    number,
                    stories: *stories,
                },
            ),
            Action::CreateStories => push(
                format!("stories:{issue}"),
                Job::Materialize {
                    repo: repo.into(),
                    number,
                    stories: true,
                },
            ),
            Action::RefreshTrackingComment => push(
                format!("tracking:{issue}:{event}"),
                Job::Tracking {
                    repo: repo.into(),
                    number,
                },
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::Reply;

    fn accept() -> Decision {
        Decision {
            stage: Some(Stage::Accepted),
            actions: vec![
                Action::RecordDecision {
                    kind: DecisionKind::Accept,
                    actor: "carol".into(),
                },
                Action::RemoveLabels(vec!["ready-for-council".into()]),
                Action::CreateEpic { stories: true },
                Action::RefreshTrackingComment,
            ],
        }
    }

    #[test]
    fn same_event_plans_same_keys() {
        let a = plan(
            "acme/x",
            7,
            "council/accepted:carol:2026-11-26T10:00:00Z",
            &accept(),
        );
        let b = plan(
            "acme/x",
            7,
            "council/accepted:carol:2026-11-26T10:00:00Z",
            &accept(),
        );
        assert_eq!(a, b);
        assert_eq!(a.decision, Some((DecisionKind::Accept, "carol".into())));
        assert_eq!(a.jobs.len(), 3);
        assert_eq!(a.jobs[1].key, "epic:acme/x#7");
        // A different event on the same issue never re-creates the epic.
        let c = plan("acme/x", 7, "other", &accept());
        assert_eq!(c.jobs[1].key, a.jobs[1].key);
        assert_ne!(c.jobs[0].key, a.jobs[0].key);
    }

    #[test]
    fn replies_carry_a_marker_matching_their_key() {
        let d = Decision {
            stage: Some(Stage::Ready),
            actions: vec![Action::Reply(Reply::NotCouncilMember {
                actor: "mallory".into(),
                label: "council/accepted".into(),
            })],
        };
        let p = plan("acme/x", 7, "council/accepted:mallory:t1", &d);
        let Job::Reply {
            marker_key, body, ..
        } = &p.jobs[0].job
        else {
            panic!("not a reply: {:?}", p.jobs[0])
        };
        assert!(body.contains(&tracking::reply_marker(marker_key)));
        assert_eq!(p.jobs[0].key, format!("reply:acme/x#7:{marker_key}"));
    }
}
