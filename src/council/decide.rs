use super::Stage;
use super::labels::{LabelSet, same_label};
use crate::config::LabelsConfig;

/// What the engine knows about a concern when an event arrives.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    /// The stage recorded in the store; `None` for a concern never seen before.
    pub stage: Option<Stage>,
    /// Labels on the issue now (re-read from GitHub, not taken from the event).
    pub labels: &'a LabelSet,
    /// Whether the issue is open now.
    pub open: bool,
    /// Whether the body answers the three questions and names at least one team.
    pub criteria_complete: bool,
}

/// What happened, as far as the council cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The body was (re)read: issue opened, edited, or polled.
    BodyChecked,
    /// Someone (not the daemon) added a label.
    LabelAdded {
        /// The label name.
        label: String,
        /// Who added it.
        actor: String,
        /// Whether `actor` is on the council (asked only for decision labels).
        actor_is_member: bool,
    },
}

/// The kinds of council decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    /// Accept: the epic (and stories) will be created.
    Accept,
    /// Reject: the issue is closed as not planned.
    Reject,
    /// Two-step mode: stories may be created.
    Vet,
    /// Not the council's job: routed to where it belongs, closed as not planned.
    OutOfScope,
}

impl DecisionKind {
    /// Every kind.
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::Accept,
        DecisionKind::Reject,
        DecisionKind::Vet,
        DecisionKind::OutOfScope,
    ];

    /// The stable name used in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Accept => "accept",
            DecisionKind::Reject => "reject",
            DecisionKind::Vet => "vet",
            DecisionKind::OutOfScope => "out-of-scope",
        }
    }
}

/// A reply to a person, posted as its own comment (not in the tracking comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Someone not on the council used a decision label.
    NotCouncilMember { actor: String, label: String },
    /// A decision label on a concern that cannot take it now.
    NotApplicable {
        actor: String,
        label: String,
        why: String,
    },
    /// The concern was rejected.
    Rejected { by: String },
    /// Every story is done: the author is asked for the before/after figures.
    ResultsRequested { author: String },
    /// Not the council's job: where it belongs, and that the issue is closed.
    OutOfScope {
        /// The author, who is answered.
        author: String,
        /// The council member who routed it; `None` when the author's form answer did.
        by: Option<String>,
        /// The route's message and URL, when the kind is known.
        route: Option<(String, String)>,
        /// With no kind known: every route as (form option, URL).
        elsewhere: Vec<(String, String)>,
    },
}

/// How to close an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// `state_reason: not_planned`.
    NotPlanned,
}

/// One thing the engine must do. Label changes are already reduced to real changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Add these labels to the issue.
    AddLabels(Vec<String>),
    /// Remove these labels from the issue.
    RemoveLabels(Vec<String>),
    /// Post a reply comment.
    Reply(Reply),
    /// Record who decided what (and when: the engine stamps the time).
    RecordDecision { kind: DecisionKind, actor: String },
    /// Close the issue.
    Close(CloseReason),
    /// Create the epic in the tracker; with `stories`, the team stories too.
    CreateEpic { stories: bool },
    /// Create the team stories under the existing epic.
    CreateStories,
    /// Re-render the tracking comment from the stored state.
    RefreshTrackingComment,
}

/// The outcome of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The stage after the event (unchanged when nothing happened).
    pub stage: Option<Stage>,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

/// The parts of the config the council rules read.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Label names.
    pub labels: &'a LabelsConfig,
    /// Stories only after a second `vetted` decision.
    pub two_step: bool,
}

/// Decides what an event means for a concern. Pure: same inputs, same answer.
pub fn decide(snap: &Snapshot<'_>, trigger: &Trigger, rules: &Rules<'_>) -> Decision {
    match trigger {
        Trigger::BodyChecked => body_checked(snap, rules),
        Trigger::LabelAdded {
            label,
            actor,
            actor_is_member,
        } => label_added(snap, rules, label, actor, *actor_is_member),
    }
}

fn unchanged(snap: &Snapshot<'_>) -> Decision {
    Decision {
        stage: snap.stage,
        actions: Vec::new(),
    }
}

/// Label actions that move the labels to exactly `want` among `managed`.
/// Labels to remove are named as they are on the issue (any case matches).
fn label_delta(current: &LabelSet, want: &[&str], drop: &[&str]) -> Vec<Action> {
    let add: Vec<String> = want
        .iter()
        .filter(|l| !current.contains(l))
        .map(|l| l.to_string())
        .collect();
    let remove: Vec<String> = drop
        .iter()
        .filter_map(|l| current.actual(l))
        .map(str::to_owned)
        .collect();
    let mut actions = Vec::new();
    if !add.is_empty() {
        actions.push(Action::AddLabels(add));
    }
    if !remove.is_empty() {
        actions.push(Action::RemoveLabels(remove));
    }
    actions
}

fn body_checked(snap: &Snapshot<'_>, rules: &Rules<'_>) -> Decision {
    let undecided = snap.stage.is_none_or(Stage::is_undecided);
    if !undecided || !snap.open {
        return unchanged(snap);
    }
    let l = rules.labels;
    let (stage, want, drop) = if snap.criteria_complete {
        (Stage::Ready, l.ready.as_str(), l.needs_info.as_str())
    } else {
        (Stage::NeedsInfo, l.needs_info.as_str(), l.ready.as_str())
    };
    let mut actions = label_delta(snap.labels, &[want], &[drop]);
    if snap.stage != Some(stage) || !actions.is_empty() {
        actions.push(Action::RefreshTrackingComment);
    }
    Decision {
        stage: Some(stage),
        actions,
    }
}

fn label_added(
    snap: &Snapshot<'_>,
    rules: &Rules<'_>,
    label: &str,
    actor: &str,
    member: bool,
) -> Decision {
    let l = rules.labels;
    let is_decision = same_label(label, &l.accepted)
        || same_label(label, &l.rejected)
        || (rules.two_step && same_label(label, &l.vetted));
    // A redelivered or stale event: the label is no longer there, nothing left to decide.
    // Otherwise `label` becomes the name as it is on the issue, which removals must use.
    let Some(label) = snap.labels.actual(label).filter(|_| is_decision) else {
        return unchanged(snap);
    };
    if !member {
        return Decision {
            stage: snap.stage,
            actions: vec![
                Action::RemoveLabels(vec![label.to_owned()]),
                Action::Reply(Reply::NotCouncilMember {
                    actor: actor.to_owned(),
                    label: label.to_owned(),
                }),
            ],
        };
    }
    let stage = snap.stage.unwrap_or(if snap.criteria_complete {
        Stage::Ready
    } else {
        Stage::NeedsInfo
    });
    if same_label(label, &l.accepted) {
        accept(snap, rules, stage, actor)
    } else if same_label(label, &l.rejected) {
        reject(snap, rules, stage, actor)
    } else {
        vet(snap, rules, stage, actor)
    }
}

fn not_applicable(snap: &Snapshot<'_>, actor: &str, label: &str, why: &str) -> Decision {
    let label = snap.labels.actual(label).unwrap_or(label);
    Decision {
        stage: snap.stage,
        actions: vec![
            Action::RemoveLabels(vec![label.to_owned()]),
            Action::Reply(Reply::NotApplicable {
                actor: actor.to_owned(),
                label: label.to_owned(),
                why: why.to_owned(),
            }),
        ],
    }
}

fn accept(snap: &Snapshot<'_>, rules: &Rules<'_>, stage: Stage, actor: &str) -> Decision {
    let l = rules.labels;
    match stage {
        s if s.is_accepted() => unchanged(snap),
        Stage::Rejected => not_applicable(snap, actor, &l.accepted, "it was already rejected"),
        Stage::NeedsInfo => not_applicable(
            snap,
            actor,
            &l.accepted,
            "it does not yet answer the council's questions (see the tracking comment)",
        ),
        _ => {
            let mut actions = vec![Action::RecordDecision {
                kind: DecisionKind::Accept,
                actor: actor.to_owned(),
            }];
            actions.extend(label_delta(
                snap.labels,
                &[],
                &[l.ready.as_str(), l.needs_info.as_str()],
            ));
            actions.push(Action::CreateEpic {
                stories: !rules.two_step,
            });
            actions.push(Action::RefreshTrackingComment);
            Decision {
                stage: Some(Stage::Accepted),
                actions,
            }
        }
    }
}

fn reject(snap: &Snapshot<'_>, rules: &Rules<'_>, stage: Stage, actor: &str) -> Decision {
    let l = rules.labels;
    match stage {
        Stage::Rejected => unchanged(snap),
        s if s.is_accepted() => not_applicable(
            snap,
            actor,
            &l.rejected,
            "it was already accepted and its epic is under way",
        ),
        _ => {
            let mut actions = vec![Action::RecordDecision {
                kind: DecisionKind::Reject,
                actor: actor.to_owned(),
            }];
            actions.extend(label_delta(
                snap.labels,
                &[],
                &[l.ready.as_str(), l.needs_info.as_str()],
            ));
            actions.push(Action::Reply(Reply::Rejected {
                by: actor.to_owned(),
            }));
            if snap.open {
                actions.push(Action::Close(CloseReason::NotPlanned));
            }
            actions.push(Action::RefreshTrackingComment);
            Decision {
                stage: Some(Stage::Rejected),
                actions,
            }
        }
    }
}

fn vet(snap: &Snapshot<'_>, rules: &Rules<'_>, stage: Stage, actor: &str) -> Decision {
    match stage {
        Stage::Accepted | Stage::EpicCreated => Decision {
            stage: Some(Stage::Vetted),
            actions: vec![
                Action::RecordDecision {
                    kind: DecisionKind::Vet,
                    actor: actor.to_owned(),
                },
                Action::CreateStories,
                Action::RefreshTrackingComment,
            ],
        },
        Stage::Vetted | Stage::StoriesCreated => unchanged(snap),
        _ => not_applicable(
            snap,
            actor,
            &rules.labels.vetted,
            "only an accepted concern can be vetted",
        ),
    }
}

#[cfg(test)]
mod tests;
