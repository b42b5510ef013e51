//! The compare-and-set under races: table cases, and a model-based property test over
//! interleavings of deliveries (criteria checks, decisions), jobs (creation, tracker sync)
//! and reconcile re-checks, each deciding on the stage it read and committing later.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::config::LabelsConfig;
use crate::council::{self, DecisionKind, Rules, Snapshot, Trigger};
use crate::store::testing::temp_store;

const REPO: &str = "acme/ops";

fn change(expected: Option<Stage>, to: Stage, cause: Cause) -> StageChange<'static> {
    StageChange {
        repo: REPO,
        number: 1,
        issue_id: 11,
        expected,
        to,
        cause,
        actor: Some("carol"),
        at_ms: 5,
    }
}

#[tokio::test]
async fn a_recheck_that_read_ready_cannot_undo_an_accept() {
    let (store, _dir) = temp_store().await;
    let ready = change(None, Stage::Ready, Cause::Criteria);
    store
        .commit_decision(None, Some(&ready), None, &[])
        .await
        .expect("ready");
    // Both read `ready`; the accept commits first.
    let accept = change(Some(Stage::Ready), Stage::Accepted, Cause::Accept);
    store
        .commit_decision(
            None,
            Some(&accept),
            Some((DecisionKind::Accept, "carol")),
            &[],
        )
        .await
        .expect("accept");
    let late_recheck = change(Some(Stage::Ready), Stage::Ready, Cause::Criteria);
    let err = store
        .commit_decision(None, Some(&late_recheck), None, &[])
        .await
        .expect_err("the stage moved");
    assert!(matches!(err, StoreError::StageConflict { .. }), "{err}");
    let row = store.get_concern(REPO, 1).await.expect("get").expect("row");
    assert_eq!(row.stage, Stage::Accepted);
    let history = store.stage_history(REPO, 1).await.expect("history");
    let steps: Vec<_> = history
        .iter()
        .map(|t| (t.from, t.to, t.cause.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, Stage::Ready, "criteria"),
            (Some(Stage::Ready), Stage::Accepted, "accept"),
        ]
    );
    assert_eq!(history[1].actor.as_deref(), Some("carol"));
    assert_eq!(history[1].at_ms, 5);
}

#[tokio::test]
async fn a_refused_move_changes_nothing_and_rolls_back_its_writes() {
    let (store, _dir) = temp_store().await;
    store
        .commit_decision(
            None,
            Some(&change(None, Stage::Accepted, Cause::Accept)),
            None,
            &[],
        )
        .await
        .expect("accepted");
    let write = crate::store::QueuedWrite {
        idem_key: "labels:x",
        kind: "labels",
        payload: serde_json::json!({}),
    };
    let err = store
        .commit_decision(
            None,
            Some(&change(
                Some(Stage::Accepted),
                Stage::NeedsInfo,
                Cause::Criteria,
            )),
            None,
            std::slice::from_ref(&write),
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, StoreError::StageRefused { .. }), "{err}");
    assert_eq!(
        store.pending_count().await.expect("count"),
        0,
        "rolled back"
    );
    // advance_stage skips what the rule refuses, and moves what it allows.
    assert_eq!(
        store
            .advance_stage(REPO, 1, Stage::InProgress, Cause::TrackerSync, None)
            .await
            .expect("refused quietly"),
        None
    );
    assert_eq!(
        store
            .advance_stage(REPO, 1, Stage::EpicCreated, Cause::Created, None)
            .await
            .expect("moved"),
        Some(Stage::Accepted)
    );
    assert_eq!(
        store
            .advance_stage(REPO, 2, Stage::EpicCreated, Cause::Created, None)
            .await
            .expect("unknown concern"),
        None
    );
}

/// One actor of the model: what it does once it has read the stage.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A delivery or a reconcile re-check: the criteria check, complete or not.
    Check { complete: bool },
    /// A council member's label (a delivery, or reconcile finding it).
    Label(DecisionKind),
    /// The materialize job: epic, then stories.
    Create,
    /// The tracker sync moving the concern.
    Sync(Stage),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(|complete| Op::Check { complete }),
        prop::sample::select(vec![
            DecisionKind::Accept,
            DecisionKind::Reject,
            DecisionKind::Vet
        ])
        .prop_map(Op::Label),
        Just(Op::Create),
        prop::sample::select(vec![
            Stage::InProgress,
            Stage::Done,
            Stage::ResultsRequested
        ])
        .prop_map(Op::Sync),
    ]
}

/// The labels an issue at `stage` shows, plus the label the actor just added.
fn labels_at(stage: Option<Stage>, l: &LabelsConfig, added: Option<&str>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = [l.concern.clone()].into();
    match stage {
        Some(Stage::Ready) => {
            set.insert(l.ready.clone());
        }
        Some(Stage::NeedsInfo) => {
            set.insert(l.needs_info.clone());
        }
        _ => {}
    }
    set.extend(added.map(str::to_owned));
    set
}

/// What the actor decides on the stage it read, as the engine would (council::decide).
fn decide(
    read: Option<Stage>,
    op: Op,
    l: &LabelsConfig,
) -> Option<(Stage, Cause, Option<DecisionKind>)> {
    let rules = Rules {
        labels: l,
        two_step: true,
    };
    let (trigger, complete, added) = match op {
        Op::Check { complete } => (Trigger::BodyChecked, complete, None),
        Op::Label(kind) => {
            let label = match kind {
                DecisionKind::Accept => &l.accepted,
                DecisionKind::Reject => &l.rejected,
                DecisionKind::Vet => &l.vetted,
                DecisionKind::OutOfScope => &l.out_of_scope,
            };
            let t = Trigger::LabelAdded {
                label: label.clone(),
                actor: "carol".into(),
                actor_is_member: true,
            };
            (t, true, Some(label.as_str()))
        }
        Op::Create | Op::Sync(_) => return None,
    };
    let labels: council::LabelSet = labels_at(read, l, added).into_iter().collect();
    let snap = Snapshot {
        stage: read,
        labels: &labels,
        open: true,
        criteria_complete: complete,
    };
    let d = council::decide(&snap, &trigger, &rules);
    let kind = d.actions.iter().find_map(|a| match a {
        council::Action::RecordDecision { kind, .. } => Some(*kind),
        _ => None,
    });
    let cause = kind.map_or(Cause::Criteria, Cause::of_decision);
    d.stage.map(|s| (s, cause, kind))
}

/// Commits what `op` decided on `read`; on a lost race, reads again and re-decides (as the
/// engine does). Returns how many races it lost.
async fn commit(store: &Store, mut read: Option<Stage>, op: Op, l: &LabelsConfig) -> usize {
    let mut lost = 0;
    loop {
        let result = match op {
            Op::Create => {
                for to in [Stage::EpicCreated, Stage::StoriesCreated] {
                    store
                        .advance_stage(REPO, 1, to, Cause::Created, None)
                        .await
                        .expect("advance");
                }
                return lost;
            }
            Op::Sync(to) => {
                store
                    .advance_stage(REPO, 1, to, Cause::TrackerSync, None)
                    .await
                    .expect("advance");
                return lost;
            }
            _ => match decide(read, op, l) {
                None => return lost,
                Some((to, cause, kind)) => {
                    let c = StageChange {
                        expected: read,
                        ..change(read, to, cause)
                    };
                    store
                        .commit_decision(None, Some(&c), kind.map(|k| (k, "carol")), &[])
                        .await
                }
            },
        };
        match result {
            Ok(()) => return lost,
            Err(StoreError::StageConflict { .. }) => {
                lost += 1;
                assert!(lost < 20, "a race is lost at most once per other actor");
                read = store
                    .get_concern(REPO, 1)
                    .await
                    .expect("get")
                    .map(|r| r.stage);
            }
            Err(e) => panic!("{op:?} on {read:?}: {e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every actor reads the stage, then (after whatever the schedule lets others do) commits
    /// what it decided on that read. Whatever the interleaving: the history is a chain that
    /// ends at the stored stage, every step is one the rule allows, a recorded decision is
    /// never contradicted by the stage, and accept and reject never both stand.
    #[test]
    fn interleavings_never_contradict_a_decision(
        (ops, schedule) in prop::collection::vec(op(), 1..7).prop_flat_map(|ops| {
            let steps: Vec<usize> = (0..ops.len()).flat_map(|i| [i, i]).collect();
            (Just(ops), Just(steps).prop_shuffle())
        })
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            let (store, _dir) = temp_store().await;
            let l = LabelsConfig::default();
            let mut reads: Vec<Option<Option<Stage>>> = vec![None; ops.len()];
            for i in schedule {
                match reads[i] {
                    None => {
                        let now = store.get_concern(REPO, 1).await.expect("get").map(|r| r.stage);
                        reads[i] = Some(now);
                    }
                    Some(read) => {
                        commit(&store, read, ops[i], &l).await;
                    }
                }
            }
            let stage = store.get_concern(REPO, 1).await.expect("get").map(|r| r.stage);
            let history = store.stage_history(REPO, 1).await.expect("history");
            let mut at = None;
            for t in &history {
                prop_assert_eq!(t.from, at, "the history is a chain");
                let cause = Cause::ALL.into_iter().find(|c| c.as_str() == t.cause).expect("known cause");
                prop_assert!(council::may_move(t.from, t.to, cause), "{:?}", t);
                at = Some(t.to);
            }
            prop_assert_eq!(at, stage, "the history ends at the stored stage");
            let kinds: Vec<DecisionKind> = store
                .decisions_for(REPO, 1)
                .await
                .expect("decisions")
                .iter()
                .map(|d| d.kind)
                .collect();
            let accepted = kinds.contains(&DecisionKind::Accept);
            let rejected = kinds.contains(&DecisionKind::Reject);
            prop_assert!(!(accepted && rejected), "{:?}", kinds);
            if accepted {
                prop_assert!(stage.is_some_and(Stage::is_accepted), "accepted but {:?}", stage);
            }
            if rejected {
                prop_assert_eq!(stage, Some(Stage::Rejected));
            }
            if stage.is_some_and(|s| !s.is_undecided()) {
                let decided = history.iter().position(|t| !t.to.is_undecided());
                if let Some(first) = decided {
                    prop_assert!(history[first..].iter().all(|t| !t.to.is_undecided()), "never back to undecided");
                }
            }
            Ok(())
        })?;
    }
}
