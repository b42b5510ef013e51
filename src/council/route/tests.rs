use super::*;
use crate::council::LabelSet;
use Stage::*;

fn routes() -> BTreeMap<String, Route> {
    let mut r = BTreeMap::new();
    r.insert(
        "customer-escalation".to_owned(),
        Route {
            option: "Customer escalation".into(),
            url: "https://support.example.com/escalate".into(),
            message: "Support's escalation desk handles these.".into(),
        },
    );
    r.insert(
        "product-idea".to_owned(),
        Route {
            option: "Product idea".into(),
            url: "https://ideas.example.com".into(),
            message: "Product collects ideas on the ideas portal.".into(),
        },
    );
    r
}

struct Case {
    stage: Option<Stage>,
    labels: &'static [&'static str],
    open: bool,
    answer: Option<&'static str>,
    named: Option<&'static str>,
}

const NEW: Case = Case {
    stage: None,
    labels: &["sre-concern"],
    open: true,
    answer: None,
    named: None,
};

fn run(case: &Case, trigger: &Trigger) -> Option<Decision> {
    let cfg = LabelsConfig::default();
    let routes = routes();
    let labels: LabelSet = case.labels.iter().map(|s| s.to_string()).collect();
    let snap = Snapshot {
        stage: case.stage,
        labels: &labels,
        open: case.open,
        criteria_complete: true,
    };
    let input = RouteInput {
        labels: &cfg,
        routes: &routes,
        kind_answer: case.answer,
        kind_named: case.named,
        author: "alice",
    };
    route(&snap, trigger, &input)
}

fn member_label(member: bool) -> Trigger {
    Trigger::LabelAdded {
        label: "Council/Out-of-Scope".into(),
        actor: if member { "carol" } else { "mallory" }.into(),
        actor_is_member: member,
    }
}

fn reply(d: &Decision) -> Option<&Reply> {
    d.actions.iter().find_map(|a| match a {
        Action::Reply(r) => Some(r),
        _ => None,
    })
}

#[test]
fn a_form_answer_that_names_a_route_is_routed_and_closed() {
    let case = Case {
        answer: Some("  customer   ESCALATION "),
        labels: &["sre-concern", "ready-for-council"],
        stage: Some(Ready),
        ..NEW
    };
    let d = run(&case, &Trigger::BodyChecked).expect("routed");
    assert_eq!(d.stage, Some(OutOfScope));
    assert_eq!(
        d.actions,
        vec![
            Action::AddLabels(vec!["council/out-of-scope".into()]),
            Action::RemoveLabels(vec!["ready-for-council".into()]),
            Action::Reply(Reply::OutOfScope {
                author: "alice".into(),
                by: None,
                route: Some((
                    "Support's escalation desk handles these.".into(),
                    "https://support.example.com/escalate".into()
                )),
                elsewhere: vec![],
            }),
            Action::Close(CloseReason::NotPlanned),
            Action::RefreshTrackingComment,
        ]
    );
}

#[test]
fn an_sre_answer_or_none_is_left_to_the_council() {
    for answer in [
        None,
        Some("Reliability, availability, latency or operability (an SRE concern)"),
        Some("Something else"),
    ] {
        let case = Case { answer, ..NEW };
        assert_eq!(run(&case, &Trigger::BodyChecked), None, "{answer:?}");
    }
}

#[test]
fn a_decided_or_closed_concern_is_not_routed_by_its_body() {
    for (stage, open) in [
        (Some(Accepted), true),
        (Some(Rejected), false),
        (Some(OutOfScope), false),
        (Some(StoriesCreated), true),
        (Some(Ready), false),
    ] {
        let case = Case {
            stage,
            open,
            answer: Some("Product idea"),
            ..NEW
        };
        assert_eq!(
            run(&case, &Trigger::BodyChecked),
            None,
            "{stage:?} open={open}"
        );
    }
}

#[test]
fn a_non_members_label_is_removed_with_a_reply() {
    let case = Case {
        labels: &["sre-concern", "council/out-of-scope"],
        stage: Some(Ready),
        ..NEW
    };
    let d = run(&case, &member_label(false)).expect("answered");
    assert_eq!(d.stage, Some(Ready));
    assert_eq!(
        d.actions,
        vec![
            Action::RemoveLabels(vec!["council/out-of-scope".into()]),
            Action::Reply(Reply::NotCouncilMember {
                actor: "mallory".into(),
                label: "council/out-of-scope".into()
            }),
        ]
    );
}

#[test]
fn a_member_chooses_the_kind_by_label_then_comment_then_form() {
    let pick = |labels: &'static [&'static str], named, answer| {
        let case = Case {
            labels,
            named,
            answer,
            stage: Some(Ready),
            ..NEW
        };
        let d = run(&case, &member_label(true)).expect("routed");
        assert_eq!(d.stage, Some(OutOfScope));
        assert!(d.actions.contains(&Action::RecordDecision {
            kind: DecisionKind::OutOfScope,
            actor: "carol".into()
        }));
        assert!(d.actions.contains(&Action::Close(CloseReason::NotPlanned)));
        match reply(&d) {
            Some(Reply::OutOfScope { route, by, .. }) => {
                assert_eq!(by.as_deref(), Some("carol"));
                route.as_ref().map(|(_, url)| url.clone())
            }
            other => panic!("{other:?}"),
        }
    };
    let ideas = Some("https://ideas.example.com".to_owned());
    let support = Some("https://support.example.com/escalate".to_owned());
    assert_eq!(
        pick(
            &["council/out-of-scope", "Out-of-Scope/Product-Idea"],
            Some("customer-escalation"),
            Some("Customer escalation")
        ),
        ideas
    );
    assert_eq!(
        pick(
            &["council/out-of-scope"],
            Some("customer-escalation"),
            Some("Product idea")
        ),
        support
    );
    assert_eq!(
        pick(&["council/out-of-scope"], None, Some("Product idea")),
        ideas
    );
    assert_eq!(
        pick(&["council/out-of-scope"], Some("no-such-kind"), None),
        None
    );
}

#[test]
fn with_no_kind_known_the_reply_lists_every_route() {
    let case = Case {
        labels: &["council/out-of-scope", "needs-info"],
        stage: Some(NeedsInfo),
        ..NEW
    };
    let d = run(&case, &member_label(true)).expect("routed");
    assert!(
        d.actions
            .contains(&Action::RemoveLabels(vec!["needs-info".into()]))
    );
    match reply(&d) {
        Some(Reply::OutOfScope {
            route: None,
            elsewhere,
            ..
        }) => assert_eq!(elsewhere.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_decided_concern_keeps_its_decision() {
    for (stage, why) in [
        (Accepted, "already accepted"),
        (InProgress, "already accepted"),
        (Rejected, "already rejected"),
    ] {
        let case = Case {
            labels: &["council/out-of-scope"],
            stage: Some(stage),
            ..NEW
        };
        let d = run(&case, &member_label(true)).expect("answered");
        assert_eq!(d.stage, Some(stage));
        assert!(
            matches!(reply(&d), Some(Reply::NotApplicable { why: w, .. }) if w.contains(why)),
            "{stage:?}: {d:?}"
        );
    }
    let done = Case {
        labels: &["council/out-of-scope"],
        stage: Some(OutOfScope),
        open: false,
        ..NEW
    };
    assert_eq!(
        run(&done, &member_label(true)).map(|d| d.actions),
        Some(vec![])
    );
}

#[test]
fn a_stale_label_event_and_other_labels_change_nothing_here() {
    let case = Case {
        stage: Some(Ready),
        ..NEW
    };
    let d = run(&case, &member_label(true)).expect("answered");
    assert!(d.actions.is_empty());
    let other = Trigger::LabelAdded {
        label: "council/accepted".into(),
        actor: "carol".into(),
        actor_is_member: true,
    };
    assert_eq!(run(&case, &other), None);
}

#[test]
fn the_reply_is_friendly_and_points_there() {
    let text = crate::council::tracking::render_reply(
        &Reply::OutOfScope {
            author: "alice".into(),
            by: Some("carol".into()),
            route: Some(("Support handles these.".into(), "https://s.example".into())),
            elsewhere: vec![],
        },
        "k",
    );
    assert!(text.contains("@alice thank you"), "{text}");
    assert!(text.contains("@carol"), "{text}");
    assert!(text.contains("Support handles these. Please take it there: https://s.example"));
    assert!(text.contains("closing this issue as not planned"), "{text}");
}
