//! Out of scope, routed kindly (issue 11): what is not the council's job — a customer
//! escalation, a functional bug or UX issue, a product idea — gets a reply that says where
//! it belongs and is closed as not planned, never put on the agenda. Pure, like [`decide`]:
//! the engine asks [`route`] first and falls back to [`decide`] when it answers `None`.
//!
//! Two ways in:
//! * the author picks such a kind in the form's "What kind of problem is this?" field
//!   (a `[routing]` route whose `option` is the answer): routed when the body is checked,
//!   while the concern is undecided;
//! * a council member applies `council/out-of-scope` (members only, like every decision:
//!   anyone else's label is removed with a reply), naming the kind with a second label
//!   `out-of-scope/<kind>`, a comment `/out-of-scope <kind>`, or else the form's answer;
//!   with no kind known the reply lists every route.
//!
//! [`decide`]: super::decide

use std::collections::BTreeMap;

use super::Stage;
use super::decide::{Action, CloseReason, Decision, DecisionKind, Reply, Snapshot, Trigger};
use super::labels::same_label;
use crate::concern::form::fold;
use crate::config::LabelsConfig;
use crate::config::routing::{KIND_LABEL_PREFIX, Route};

/// What routing needs beyond the council's snapshot.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// Label names.
    pub labels: &'a LabelsConfig,
    /// `[routing]`: kind → where it belongs.
    pub routes: &'a BTreeMap<String, Route>,
    /// The form's answer to "What kind of problem is this?", when answered.
    pub kind_answer: Option<&'a str>,
    /// The kind the deciding member named in a `/out-of-scope <kind>` comment, if any.
    pub kind_named: Option<&'a str>,
    /// The author, who is answered.
    pub author: &'a str,
}

/// The routing decision for this event, or `None` when routing has nothing to say (then
/// [`super::decide`] decides).
pub fn route(snap: &Snapshot<'_>, trigger: &Trigger, input: &RouteInput<'_>) -> Option<Decision> {
    match trigger {
        Trigger::BodyChecked => by_form(snap, input),
        Trigger::LabelAdded {
            label,
            actor,
            actor_is_member,
        } if same_label(label, &input.labels.out_of_scope) => {
            Some(by_member(snap, input, actor, *actor_is_member))
        }
        Trigger::LabelAdded { .. } => None,
    }
}

/// The route whose option is the form's answer (compared as the form's options read).
fn route_of_answer<'a>(input: &RouteInput<'a>) -> Option<(&'a str, &'a Route)> {
    let answer = fold(input.kind_answer?);
    input
        .routes
        .iter()
        .find(|(_, r)| fold(&r.option) == answer)
        .map(|(k, r)| (k.as_str(), r))
}

fn by_form(snap: &Snapshot<'_>, input: &RouteInput<'_>) -> Option<Decision> {
    if !snap.stage.is_none_or(Stage::is_undecided) || !snap.open {
        return None;
    }
    let (_, route) = route_of_answer(input)?;
    Some(routed(snap, input, None, Some(route)))
}

fn by_member(snap: &Snapshot<'_>, input: &RouteInput<'_>, actor: &str, member: bool) -> Decision {
    let unchanged = Decision {
        stage: snap.stage,
        actions: Vec::new(),
    };
    // A redelivered or stale event: the label is gone, nothing to decide.
    let Some(label) = snap.labels.actual(&input.labels.out_of_scope) else {
        return unchanged;
    };
    let refuse = |why: Option<&str>| {
        let reply = match why {
            None => Reply::NotCouncilMember {
                actor: actor.to_owned(),
                label: label.to_owned(),
            },
            Some(why) => Reply::NotApplicable {
                actor: actor.to_owned(),
                label: label.to_owned(),
                why: why.to_owned(),
            },
        };
        Decision {
            stage: snap.stage,
            actions: vec![
                Action::RemoveLabels(vec![label.to_owned()]),
                Action::Reply(reply),
            ],
        }
    };
    if !member {
        return refuse(None);
    }
    match snap.stage {
        Some(Stage::OutOfScope) => unchanged,
        Some(Stage::Rejected) => refuse(Some("it was already rejected")),
        Some(s) if s.is_accepted() => {
            refuse(Some("it was already accepted and its epic is under way"))
        }
        _ => routed(snap, input, Some(actor), chosen_route(snap, input)),
    }
}

/// The kind a member chose: a second label `out-of-scope/<kind>`, else a comment, else the
/// form's answer.
fn chosen_route<'a>(snap: &Snapshot<'_>, input: &RouteInput<'a>) -> Option<&'a Route> {
    let by_kind = |kind: &str| {
        input
            .routes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind.trim()))
            .map(|(_, r)| r)
    };
    snap.labels
        .iter()
        .filter_map(|l| {
            l.get(..KIND_LABEL_PREFIX.len())
                .filter(|p| p.eq_ignore_ascii_case(KIND_LABEL_PREFIX))
                .map(|_| &l[KIND_LABEL_PREFIX.len()..])
        })
        .find_map(by_kind)
        .or_else(|| input.kind_named.and_then(by_kind))
        .or_else(|| route_of_answer(input).map(|(_, r)| r))
}

/// Out of scope: labelled, answered with where it belongs, closed as not planned, off the
/// agenda (the ready / needs-info labels go).
fn routed(
    snap: &Snapshot<'_>,
    input: &RouteInput<'_>,
    by: Option<&str>,
    route: Option<&Route>,
) -> Decision {
    let l = input.labels;
    let mut actions = Vec::new();
    if let Some(by) = by {
        actions.push(Action::RecordDecision {
            kind: DecisionKind::OutOfScope,
            actor: by.to_owned(),
        });
    }
    if !snap.labels.contains(&l.out_of_scope) {
        actions.push(Action::AddLabels(vec![l.out_of_scope.clone()]));
    }
    let drop: Vec<String> = [&l.ready, &l.needs_info]
        .into_iter()
        .filter_map(|name| snap.labels.actual(name))
        .map(str::to_owned)
        .collect();
    if !drop.is_empty() {
        actions.push(Action::RemoveLabels(drop));
    }
    actions.push(Action::Reply(Reply::OutOfScope {
        author: input.author.to_owned(),
        by: by.map(str::to_owned),
        route: route.map(|r| (r.message.clone(), r.url.clone())),
        elsewhere: if route.is_some() {
            Vec::new()
        } else {
            input
                .routes
                .values()
                .map(|r| (r.option.clone(), r.url.clone()))
                .collect()
        },
    }));
    if snap.open {
        actions.push(Action::Close(CloseReason::NotPlanned));
    }
    actions.push(Action::RefreshTrackingComment);
    Decision {
        stage: Some(Stage::OutOfScope),
        actions,
    }
}

#[cfg(test)]
mod tests;
