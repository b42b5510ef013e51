//! Coalescing a round's edits: a run of `issues.edited` deliveries of one issue is handled
//! as one reading of the issue and one decision, and every delivery of the run is marked
//! with that outcome.
//!
//! Why: a webhook is a cue, not the truth; the engine re-reads the issue from GitHub and
//! decides on it as it is now. N edits of one issue waiting in the inbox (someone typing in
//! the form, a bot rewriting the body, the ingest bench) would ask GitHub the same question
//! N times and decide the same thing N times: the first reading already sees the last
//! edit. Measured on the ingest bench before: the engine handled ~250 deliveries a second
//! this way, left 35–54 thousand pending after a 10 s burst, and ate the CPU the webhook
//! writer needed.
//!
//! What may join a run: an `issues.edited` delivery (by someone else than the daemon) of a
//! watched issue, when nothing else about that issue lies between it and the run's first
//! delivery in the round. Everything else about the issue (a label, a close, a comment, a
//! transfer, the daemon's own writes coming back, a delivery interrupted before) is acted on
//! alone and in order, and ends the issue's run: a decision is never folded into an edit.
//! Deliveries about other issues neither join nor end a run (issues are independent);
//! a transfer ends every run (it names two issues).

use std::collections::HashMap;

/// An issue as the runs key it: `owner/name` lower-cased (GitHub's names are
/// case-insensitive) and its number.
pub(crate) type IssueKey = (String, u64);

/// What one delivery of a round is to the coalescing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    /// A reading of this issue's state (an edit): may join the issue's run.
    Reads(IssueKey),
    /// Anything else about this issue: acted on alone; ends the issue's run.
    Touches(IssueKey),
    /// About no issue a run is kept for (a tracker delivery, an ignored event, one that
    /// does not decode): acted on alone; ends no run.
    Apart,
    /// About more than one issue (a transfer): acted on alone; ends every run.
    Barrier,
}

/// For each delivery of a round, the index of the delivery that is acted on for it: itself,
/// or the first delivery of the run it joined (always an earlier index, whose role is
/// `Reads` of the same issue).
pub(crate) fn runs(roles: &[Role]) -> Vec<usize> {
    let mut open: HashMap<&IssueKey, usize> = HashMap::new();
    let mut heads = Vec::with_capacity(roles.len());
    for (i, role) in roles.iter().enumerate() {
        match role {
            Role::Reads(key) => {
                let head = *open.entry(key).or_insert(i);
                heads.push(head);
            }
            Role::Touches(key) => {
                open.remove(key);
                heads.push(i);
            }
            Role::Apart => heads.push(i),
            Role::Barrier => {
                open.clear();
                heads.push(i);
            }
        }
    }
    heads
}

/// The key of `repo`'s issue `number` (see [`IssueKey`]).
pub(crate) fn issue_key(repo: &str, number: u64) -> IssueKey {
    (repo.trim().to_lowercase(), number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reads(n: u64) -> Role {
        Role::Reads(issue_key("Acme/Ops", n))
    }
    fn touches(n: u64) -> Role {
        Role::Touches(issue_key("acme/ops", n))
    }

    #[test]
    fn edits_of_one_issue_fold_into_the_first_until_something_else_touches_it() {
        let roles = [
            reads(1),
            reads(2),
            reads(1),
            Role::Apart,
            reads(1),
            touches(1), // a label: acted on alone, ends the run
            reads(1),
            reads(2),
            Role::Barrier, // a transfer: ends every run
            reads(1),
            reads(2),
            reads(1),
        ];
        assert_eq!(runs(&roles), [0, 1, 0, 3, 0, 5, 6, 1, 8, 9, 10, 9]);
        assert!(runs(&[]).is_empty());
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![
            4 => (0u64..4).prop_map(reads),
            2 => (0u64..4).prop_map(touches),
            1 => Just(Role::Apart),
            1 => Just(Role::Barrier),
        ]
    }

    proptest! {
        /// Every delivery is acted on exactly once, by itself or by the head of its run;
        /// a head is an earlier edit of the same issue; nothing but edits is ever folded;
        /// and between a head and a delivery it stands for lies nothing that touches the
        /// issue (no label, close, comment, transfer): decisions keep their order.
        #[test]
        fn each_delivery_is_acted_on_once_and_decisions_keep_their_order(
            roles in proptest::collection::vec(role(), 0..60)
        ) {
            let heads = runs(&roles);
            prop_assert_eq!(heads.len(), roles.len());
            for (i, &h) in heads.iter().enumerate() {
                prop_assert!(h <= i);
                prop_assert_eq!(heads[h], h, "a head stands for itself");
                if h == i {
                    continue;
                }
                let (Role::Reads(key), Role::Reads(head_key)) = (&roles[i], &roles[h]) else {
                    return Err(TestCaseError::fail(format!("{i} folded into {h}: {roles:?}")));
                };
                prop_assert_eq!(key, head_key);
                for between in &roles[h + 1..i] {
                    let breaks = match between {
                        Role::Touches(k) => k == key,
                        Role::Barrier => true,
                        Role::Reads(_) | Role::Apart => false,
                    };
                    prop_assert!(!breaks, "{} folded into {} across {:?}", i, h, between);
                }
            }
        }
    }
}
