//! Which cause may move a concern from one stage to another: the rule that keeps an older or
//! weaker cause from overwriting a newer decision.
//!
//! The store enforces it at the moment of the write (a compare-and-set on the stage it read,
//! in the same transaction as the decision or event), so two causes racing each other can
//! never both win: the one that commits second sees a stage it did not decide on, is refused,
//! and decides again from the stage that is there now.
//!
//! The rule, in words:
//! * a criteria check (opened, edited, a reconcile's re-check) moves only among the undecided
//!   stages (`needs-info` ↔ `ready`), and never touches a decided concern;
//! * a council decision moves an undecided concern to `accepted` or `rejected`, and `vetted`
//!   follows only `accepted` / `epic-created`;
//! * creating the epic and stories only moves forward through the creation stages;
//! * the tracker's sync moves among the stages after the stories exist (a story reopened in
//!   the tracker is an explicit reopen, so `done` may go back to `in-progress`), except that
//!   presented results are final;
//! * recorded results move a syncing concern to `results-presented`;
//! * a backfill imports a concern the store has never seen, at any stage, and nothing else.

use super::Stage;

/// Why a stage changes: what the store records in `stage_transitions.cause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The body was (re)checked against the criteria (opened, edited, reopened, re-check).
    Criteria,
    /// A council member accepted the concern.
    Accept,
    /// A council member rejected the concern.
    Reject,
    /// A council member vetted the concern (two-step mode).
    Vet,
    /// The daemon created the epic or the stories.
    Created,
    /// The tracker's state (story statuses) moved the concern.
    TrackerSync,
    /// Before/after results were recorded.
    Results,
    /// `council-sync backfill` imported an existing issue at the stage its labels show.
    Backfill,
    /// Routed out of scope: by the author's choice on the form, or a council member's label.
    OutOfScope,
}

impl Cause {
    /// Every cause.
    pub const ALL: [Cause; 9] = [
        Cause::Criteria,
        Cause::Accept,
        Cause::Reject,
        Cause::Vet,
        Cause::Created,
        Cause::TrackerSync,
        Cause::Results,
        Cause::Backfill,
        Cause::OutOfScope,
    ];

    /// The stable name stored in `stage_transitions.cause`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Criteria => "criteria",
            Cause::Accept => "accept",
            Cause::Reject => "reject",
            Cause::Vet => "vet",
            Cause::Created => "created",
            Cause::TrackerSync => "tracker-sync",
            Cause::Results => "results",
            Cause::Backfill => "backfill",
            Cause::OutOfScope => "out-of-scope",
        }
    }

    /// The cause of a council decision of this kind.
    pub fn of_decision(kind: super::DecisionKind) -> Cause {
        match kind {
            super::DecisionKind::Accept => Cause::Accept,
            super::DecisionKind::Reject => Cause::Reject,
            super::DecisionKind::Vet => Cause::Vet,
            super::DecisionKind::OutOfScope => Cause::OutOfScope,
        }
    }
}

/// The stages the tracker's sync moves among.
fn is_sync_stage(s: Stage) -> bool {
    s.is_syncing()
}

/// Whether `cause` may move a concern from `from` (`None`: not recorded yet) to `to`.
/// Staying where it is (`from == Some(to)`) is always allowed: it changes nothing.
pub fn may_move(from: Option<Stage>, to: Stage, cause: Cause) -> bool {
    use Stage::*;
    if from == Some(to) {
        return true;
    }
    match cause {
        Cause::Backfill => from.is_none(),
        Cause::Criteria => from.is_none_or(Stage::is_undecided) && to.is_undecided(),
        Cause::Accept => from.is_none_or(Stage::is_undecided) && to == Accepted,
        Cause::Reject => from.is_none_or(Stage::is_undecided) && to == Rejected,
        Cause::OutOfScope => from.is_none_or(Stage::is_undecided) && to == OutOfScope,
        Cause::Vet => matches!(from, Some(Accepted | EpicCreated)) && to == Vetted,
        Cause::Created => matches!(
            (from, to),
            (Some(Accepted), EpicCreated) | (Some(Accepted | Vetted | EpicCreated), StoriesCreated)
        ),
        Cause::TrackerSync => {
            from.is_some_and(is_sync_stage) && is_sync_stage(to) && from != Some(ResultsPresented)
        }
        Cause::Results => from.is_some_and(is_sync_stage) && to == ResultsPresented,
    }
}

#[cfg(test)]
mod tests {
    use super::Cause::*;
    use super::Stage::*;
    use super::*;

    /// (from, to, cause, allowed): the cases the rule exists for, spelled out.
    const TABLE: &[(Option<Stage>, Stage, Cause, bool)] = &[
        // Criteria move only among undecided stages.
        (None, NeedsInfo, Criteria, true),
        (None, Ready, Criteria, true),
        (Some(NeedsInfo), Ready, Criteria, true),
        (Some(Ready), NeedsInfo, Criteria, true),
        // The race of issue 9: a re-check that read `ready` must not undo an accept.
        (Some(Accepted), Ready, Criteria, false),
        (Some(EpicCreated), Ready, Criteria, false),
        (Some(Rejected), NeedsInfo, Criteria, false),
        (Some(StoriesCreated), NeedsInfo, Criteria, false),
        // Decisions.
        (Some(Ready), Accepted, Accept, true),
        (Some(NeedsInfo), Accepted, Accept, true),
        (None, Accepted, Accept, true),
        (Some(Rejected), Accepted, Accept, false),
        (Some(StoriesCreated), Accepted, Accept, false),
        (Some(Ready), Rejected, Reject, true),
        (Some(Accepted), Rejected, Reject, false),
        (Some(EpicCreated), Rejected, Reject, false),
        (Some(Accepted), Vetted, Vet, true),
        (Some(EpicCreated), Vetted, Vet, true),
        (Some(Ready), Vetted, Vet, false),
        (Some(StoriesCreated), Vetted, Vet, false),
        // Creation only moves forward.
        (Some(Accepted), EpicCreated, Created, true),
        (Some(EpicCreated), StoriesCreated, Created, true),
        (Some(Vetted), StoriesCreated, Created, true),
        (Some(Accepted), StoriesCreated, Created, true),
        (Some(Vetted), EpicCreated, Created, false),
        (Some(StoriesCreated), EpicCreated, Created, false),
        (Some(InProgress), StoriesCreated, Created, false),
        (Some(Ready), EpicCreated, Created, false),
        // The tracker's sync moves among the syncing stages; presented results are final.
        (Some(StoriesCreated), InProgress, TrackerSync, true),
        (Some(InProgress), Done, TrackerSync, true),
        (Some(Done), InProgress, TrackerSync, true),
        (Some(Done), ResultsRequested, TrackerSync, true),
        (Some(ResultsPresented), Done, TrackerSync, false),
        (Some(EpicCreated), InProgress, TrackerSync, false),
        (Some(InProgress), Accepted, TrackerSync, false),
        (Some(ResultsRequested), ResultsPresented, Results, true),
        (Some(Done), ResultsPresented, Results, true),
        (Some(Accepted), ResultsPresented, Results, false),
        // A backfill only imports.
        (None, Accepted, Backfill, true),
        (None, Rejected, Backfill, true),
        (Some(Ready), Accepted, Backfill, false),
        // Out of scope: only from the undecided stages, and only to out-of-scope.
        (None, Stage::OutOfScope, Cause::OutOfScope, true),
        (Some(NeedsInfo), Stage::OutOfScope, Cause::OutOfScope, true),
        (Some(Ready), Stage::OutOfScope, Cause::OutOfScope, true),
        (Some(Accepted), Stage::OutOfScope, Cause::OutOfScope, false),
        (Some(Rejected), Stage::OutOfScope, Cause::OutOfScope, false),
        (Some(Ready), Accepted, Cause::OutOfScope, false),
        (Some(Stage::OutOfScope), Ready, Criteria, false),
        (Some(Stage::OutOfScope), Accepted, Accept, false),
    ];

    #[test]
    fn the_table_holds() {
        for &(from, to, cause, allowed) in TABLE {
            assert_eq!(
                may_move(from, to, cause),
                allowed,
                "{from:?} → {to:?} by {cause:?}"
            );
        }
    }

    #[test]
    fn staying_put_is_always_allowed() {
        for s in Stage::ALL {
            for c in Cause::ALL {
                assert!(may_move(Some(s), s, c));
            }
        }
    }

    #[test]
    fn nothing_but_a_decision_leaves_the_undecided_stages() {
        for from in [NeedsInfo, Ready] {
            for to in Stage::ALL.into_iter().filter(|s| !s.is_undecided()) {
                for c in Cause::ALL {
                    let decision = matches!(c, Accept | Reject | Cause::OutOfScope);
                    if may_move(Some(from), to, c) {
                        assert!(decision, "{from:?} → {to:?} by {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_decided_concern_never_returns_to_undecided() {
        for from in Stage::ALL.into_iter().filter(|s| !s.is_undecided()) {
            for to in [NeedsInfo, Ready] {
                for c in Cause::ALL {
                    assert!(!may_move(Some(from), to, c), "{from:?} → {to:?} by {c:?}");
                }
            }
        }
    }

    #[test]
    fn cause_names_are_distinct() {
        let names: std::collections::BTreeSet<_> = Cause::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Cause::ALL.len());
    }
}
