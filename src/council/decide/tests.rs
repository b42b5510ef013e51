use super::*;
use Stage::*;

fn labels(names: &[&str]) -> LabelSet {
    names.iter().map(|s| s.to_string()).collect()
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn run(
    stage: Option<Stage>,
    on: &[&str],
    complete: bool,
    trigger: Trigger,
    two_step: bool,
) -> Decision {
    let cfg = LabelsConfig::default();
    let l = labels(on);
    let snap = Snapshot {
        stage,
        labels: &l,
        open: true,
        criteria_complete: complete,
    };
    decide(
        &snap,
        &trigger,
        &Rules {
            labels: &cfg,
            two_step,
        },
    )
}

fn added(label: &str, actor: &str, member: bool) -> Trigger {
    Trigger::LabelAdded {
        label: label.into(),
        actor: actor.into(),
        actor_is_member: member,
    }
}

/// stage before, labels on the issue, criteria complete, stage after, actions.
type BodyCase = (
    Option<Stage>,
    &'static [&'static str],
    bool,
    Option<Stage>,
    Vec<Action>,
);

#[test]
fn body_checks() {
    use Action::*;
    let cases: Vec<BodyCase> = vec![
        // new, incomplete → needs-info
        (
            None,
            &["sre-concern"],
            false,
            Some(NeedsInfo),
            vec![AddLabels(strings(&["needs-info"])), RefreshTrackingComment],
        ),
        // new, complete → ready
        (
            None,
            &["sre-concern"],
            true,
            Some(Ready),
            vec![
                AddLabels(strings(&["ready-for-council"])),
                RefreshTrackingComment,
            ],
        ),
        // fixed by an edit → ready, needs-info removed
        (
            Some(NeedsInfo),
            &["sre-concern", "needs-info"],
            true,
            Some(Ready),
            vec![
                AddLabels(strings(&["ready-for-council"])),
                RemoveLabels(strings(&["needs-info"])),
                RefreshTrackingComment,
            ],
        ),
        // broken by an edit → back to needs-info
        (
            Some(Ready),
            &["ready-for-council"],
            false,
            Some(NeedsInfo),
            vec![
                AddLabels(strings(&["needs-info"])),
                RemoveLabels(strings(&["ready-for-council"])),
                RefreshTrackingComment,
            ],
        ),
        // nothing changed → nothing to do (no echo of our own edits)
        (
            Some(Ready),
            &["ready-for-council"],
            true,
            Some(Ready),
            vec![],
        ),
        (
            Some(NeedsInfo),
            &["needs-info"],
            false,
            Some(NeedsInfo),
            vec![],
        ),
        // someone removed our label → put it back
        (
            Some(Ready),
            &[],
            true,
            Some(Ready),
            vec![
                AddLabels(strings(&["ready-for-council"])),
                RefreshTrackingComment,
            ],
        ),
        // decided concerns are not re-checked
        (Some(Accepted), &[], false, Some(Accepted), vec![]),
        (Some(Rejected), &[], true, Some(Rejected), vec![]),
        (
            Some(StoriesCreated),
            &[],
            false,
            Some(StoriesCreated),
            vec![],
        ),
    ];
    for (stage, on, complete, want_stage, want) in cases {
        let d = run(stage, on, complete, Trigger::BodyChecked, false);
        assert_eq!(d.stage, want_stage, "{stage:?} {on:?} {complete}");
        assert_eq!(d.actions, want, "{stage:?} {on:?} {complete}");
    }
}

#[test]
fn closed_undecided_issue_is_left_alone() {
    let cfg = LabelsConfig::default();
    let l = labels(&[]);
    let snap = Snapshot {
        stage: Some(NeedsInfo),
        labels: &l,
        open: false,
        criteria_complete: true,
    };
    let d = decide(
        &snap,
        &Trigger::BodyChecked,
        &Rules {
            labels: &cfg,
            two_step: false,
        },
    );
    assert!(d.actions.is_empty());
}

#[test]
fn non_member_decision_is_undone_with_a_reply() {
    for label in ["council/accepted", "council/rejected"] {
        let d = run(
            Some(Ready),
            &["ready-for-council", label],
            true,
            added(label, "mallory", false),
            false,
        );
        assert_eq!(d.stage, Some(Ready));
        assert_eq!(
            d.actions,
            vec![
                Action::RemoveLabels(strings(&[label])),
                Action::Reply(Reply::NotCouncilMember {
                    actor: "mallory".into(),
                    label: label.into()
                }),
            ]
        );
    }
}

#[test]
fn member_accepts_ready_concern() {
    let d = run(
        Some(Ready),
        &["ready-for-council", "council/accepted"],
        true,
        added("council/accepted", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(Accepted));
    assert_eq!(
        d.actions,
        vec![
            Action::RecordDecision {
                kind: DecisionKind::Accept,
                actor: "carol".into()
            },
            Action::RemoveLabels(strings(&["ready-for-council"])),
            Action::CreateEpic { stories: true },
            Action::RefreshTrackingComment,
        ]
    );
}

#[test]
fn two_step_accept_then_vet() {
    let d = run(
        Some(Ready),
        &["council/accepted"],
        true,
        added("council/accepted", "carol", true),
        true,
    );
    assert!(d.actions.contains(&Action::CreateEpic { stories: false }));
    let d = run(
        Some(EpicCreated),
        &["council/accepted", "council/vetted"],
        true,
        added("council/vetted", "dave", true),
        true,
    );
    assert_eq!(d.stage, Some(Vetted));
    assert!(d.actions.contains(&Action::CreateStories));
    // vetted without two-step mode is just a label
    let d = run(
        Some(EpicCreated),
        &["council/vetted"],
        true,
        added("council/vetted", "dave", true),
        false,
    );
    assert!(d.actions.is_empty());
    // vetting before acceptance is refused
    let d = run(
        Some(Ready),
        &["council/vetted"],
        true,
        added("council/vetted", "dave", true),
        true,
    );
    assert_eq!(
        d.actions[0],
        Action::RemoveLabels(strings(&["council/vetted"]))
    );
}

#[test]
fn member_rejects() {
    let d = run(
        Some(NeedsInfo),
        &["needs-info", "council/rejected"],
        false,
        added("council/rejected", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(Rejected));
    assert_eq!(
        d.actions,
        vec![
            Action::RecordDecision {
                kind: DecisionKind::Reject,
                actor: "carol".into()
            },
            Action::RemoveLabels(strings(&["needs-info"])),
            Action::Reply(Reply::Rejected { by: "carol".into() }),
            Action::Close(CloseReason::NotPlanned),
            Action::RefreshTrackingComment,
        ]
    );
}

#[test]
fn repeated_and_stale_decisions_do_nothing() {
    // The same label event delivered again after it was handled.
    for stage in [Accepted, EpicCreated, StoriesCreated] {
        let d = run(
            Some(stage),
            &["council/accepted"],
            true,
            added("council/accepted", "carol", true),
            false,
        );
        assert!(d.actions.is_empty(), "{stage:?}");
    }
    let d = run(
        Some(Rejected),
        &["council/rejected"],
        true,
        added("council/rejected", "carol", true),
        false,
    );
    assert!(d.actions.is_empty());
    // The label is gone by the time the event is handled (we removed it already).
    let d = run(
        Some(Ready),
        &["ready-for-council"],
        true,
        added("council/accepted", "mallory", false),
        false,
    );
    assert!(d.actions.is_empty());
    // Unrelated labels never decide anything.
    let d = run(
        Some(Ready),
        &["bug"],
        true,
        added("bug", "mallory", false),
        false,
    );
    assert!(d.actions.is_empty());
}

#[test]
fn conflicting_decisions_are_refused() {
    let d = run(
        Some(NeedsInfo),
        &["council/accepted"],
        false,
        added("council/accepted", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(NeedsInfo));
    assert!(matches!(
        &d.actions[1],
        Action::Reply(Reply::NotApplicable { .. })
    ));
    let d = run(
        Some(Rejected),
        &["council/accepted"],
        true,
        added("council/accepted", "carol", true),
        false,
    );
    assert!(matches!(
        &d.actions[1],
        Action::Reply(Reply::NotApplicable { .. })
    ));
    let d = run(
        Some(StoriesCreated),
        &["council/rejected"],
        true,
        added("council/rejected", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(StoriesCreated));
    assert_eq!(
        d.actions[0],
        Action::RemoveLabels(strings(&["council/rejected"]))
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn stage() -> impl Strategy<Value = Option<Stage>> {
        prop_oneof![
            Just(None),
            proptest::sample::select(Stage::ALL.to_vec()).prop_map(Some)
        ]
    }

    fn label() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            "sre-concern",
            "needs-info",
            "ready-for-council",
            "council/accepted",
            "council/rejected",
            "council/vetted",
            "bug",
        ])
        .prop_map(String::from)
    }

    proptest! {
        /// Applying a decision and deciding again on the same event never acts twice:
        /// what makes redelivered webhooks harmless.
        #[test]
        fn deciding_twice_is_idempotent(
            st in stage(),
            // Labels on the issue in GitHub's any-case spelling.
            on in proptest::collection::btree_set(
                (label(), any::<bool>()).prop_map(|(l, up)| if up { l.to_uppercase() } else { l }),
                0..6,
            ),
            complete: bool,
            two_step: bool,
            which in label(),
            member: bool,
            body in any::<bool>(),
        ) {
            let cfg = LabelsConfig::default();
            let rules = Rules { labels: &cfg, two_step };
            let trigger = if body { Trigger::BodyChecked } else {
                Trigger::LabelAdded { label: which, actor: "x".into(), actor_is_member: member }
            };
            let on: LabelSet = on.into_iter().collect();
            let snap = Snapshot { stage: st, labels: &on, open: true, criteria_complete: complete };
            let first = decide(&snap, &trigger, &rules);
            let mut after = on.clone();
            let mut open = true;
            for a in &first.actions {
                match a {
                    Action::AddLabels(v) => after.extend(v.iter().cloned()),
                    Action::RemoveLabels(v) => v.iter().for_each(|x| { after.remove(x); }),
                    Action::Close(_) => open = false,
                    _ => {}
                }
            }
            let snap2 = Snapshot { stage: first.stage, labels: &after, open, criteria_complete: complete };
            let second = decide(&snap2, &trigger, &rules);
            prop_assert_eq!(second.stage, first.stage);
            prop_assert!(second.actions.is_empty(), "second: {:?}", second.actions);
        }
    }
}

/// GitHub label names ignore case: the repository's own `Council/Accepted` is an accept,
/// and every label the decision removes is named as it is on the issue (the name GitHub's
/// DELETE resolves). Siblings: reject, vet, a non-member's label, a label not applicable
/// now, `Ready-For-Council` / `Needs-Info` in the body check.
#[test]
fn label_names_compare_without_case_and_removals_use_the_issues_spelling() {
    let d = run(
        Some(Ready),
        &["Ready-For-Council", "Council/Accepted"],
        true,
        added("Council/Accepted", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(Accepted));
    assert!(
        d.actions
            .contains(&Action::RemoveLabels(strings(&["Ready-For-Council"])))
    );
    assert!(d.actions.contains(&Action::CreateEpic { stories: true }));

    let d = run(
        Some(Ready),
        &["COUNCIL/REJECTED"],
        true,
        added("COUNCIL/REJECTED", "carol", true),
        false,
    );
    assert_eq!(d.stage, Some(Rejected));

    let d = run(
        Some(Accepted),
        &["Council/Vetted"],
        true,
        added("council/vetted", "carol", true),
        true,
    );
    assert_eq!(d.stage, Some(Vetted), "{:?}", d.actions);

    let d = run(
        Some(Ready),
        &["Council/Accepted"],
        true,
        added("Council/Accepted", "mallory", false),
        false,
    );
    assert_eq!(
        d.actions[0],
        Action::RemoveLabels(strings(&["Council/Accepted"]))
    );

    let d = run(
        Some(NeedsInfo),
        &["Council/Accepted", "Needs-Info"],
        false,
        added("council/accepted", "carol", true),
        false,
    );
    assert_eq!(
        d.actions[0],
        Action::RemoveLabels(strings(&["Council/Accepted"]))
    );

    let d = run(
        Some(NeedsInfo),
        &["Needs-Info"],
        true,
        Trigger::BodyChecked,
        false,
    );
    assert_eq!(
        d.actions,
        vec![
            Action::AddLabels(strings(&["ready-for-council"])),
            Action::RemoveLabels(strings(&["Needs-Info"])),
            Action::RefreshTrackingComment,
        ]
    );
    let d = run(
        Some(Ready),
        &["READY-for-council"],
        true,
        Trigger::BodyChecked,
        false,
    );
    assert!(
        d.actions.is_empty(),
        "already labelled, in another case: {:?}",
        d.actions
    );
}
