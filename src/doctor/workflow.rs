//! Whether a Jira workflow lets the daemon reach every status it moves issues to: from the
//! status a new issue starts in (the `to` of the workflow's `initial` transition), follow
//! every transition (a `global` one starts from any status) until nothing new is reached.
//! Pure: [`super::jira`] reads the workflow and reports.
//!
//! Jira Data Center publishes no route that lists a workflow's transitions (its REST v2
//! `GET /workflow` gives names and step counts only; Cloud's `workflowscheme/project` and
//! `workflow/search` are not there), and on Cloud those need Administer Jira. Then
//! [`reach_observed`] walks what issues themselves show instead: `GET /issue/{key}/transitions`
//! of one issue per status lists the transitions this account may take from that status.

use std::collections::{BTreeMap, BTreeSet};

use crate::tracker::jira::client::{Workflow, WorkflowTransition};

/// What [`reach`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The name of the status a new issue starts in (`None` when the workflow has no
    /// initial transition, which Jira does not allow: then nothing is proven).
    pub start: Option<String>,
    /// The wanted statuses no walk from `start` reaches, by name as configured.
    pub unreachable: Vec<String>,
}

fn starts_from(t: &WorkflowTransition, at: &BTreeSet<String>) -> bool {
    match t.kind.as_str() {
        "initial" => false,
        "global" => !at.is_empty(),
        _ if t.from.is_empty() => !at.is_empty(), // older answers omit the type
        _ => t.from.iter().any(|f| at.contains(f)),
    }
}

/// Which of `wanted` (status names, case-insensitive; names the workflow lacks are left to
/// the existence check) the workflow cannot reach from a new issue's status.
pub fn reach(workflow: &Workflow, wanted: &[&str]) -> Reach {
    let name_of = |id: &str| {
        workflow
            .statuses
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
    };
    let start = workflow
        .transitions
        .iter()
        .find(|t| t.kind == "initial")
        .map(|t| t.to.clone());
    let mut at: BTreeSet<String> = start.iter().cloned().collect();
    loop {
        let next: Vec<String> = workflow
            .transitions
            .iter()
            .filter(|t| starts_from(t, &at) && !at.contains(&t.to))
            .map(|t| t.to.clone())
            .collect();
        if next.is_empty() {
            break;
        }
        at.extend(next);
    }
    let unreachable = wanted
        .iter()
        .filter(|w| {
            let id = workflow
                .statuses
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(w) || s.id == **w)
                .map(|s| s.id.as_str());
            id.is_some_and(|id| !at.contains(id))
        })
        .map(|w| (*w).to_owned())
        .collect();
    Reach {
        start: start.as_deref().and_then(name_of),
        unreachable,
    }
}

/// What existing issues show of a workflow (see the module note).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Where the walk starts: the statuses of category To Do (`new`) that issues of the type
    /// sit in (Data Center shows no initial transition; a new issue starts in a To Do status
    /// in Jira's own workflows).
    pub start: Vec<String>,
    /// Status name → the statuses the transitions of an issue in it lead to.
    pub moves: BTreeMap<String, Vec<String>>,
}

/// What [`reach_observed`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedReach {
    /// Wanted statuses the walk did not reach.
    pub unreachable: Vec<String>,
    /// Reached statuses no issue sits in, so their transitions were not seen: while any is
    /// left, an unreached status is unproven rather than unreachable.
    pub blind: Vec<String>,
}

/// Walks `o` from its start statuses (names compared case-insensitively).
pub fn reach_observed(o: &Observed, wanted: &[&str]) -> ObservedReach {
    let key = |s: &str| s.to_lowercase();
    let moves: BTreeMap<String, &Vec<String>> = o.moves.iter().map(|(k, v)| (key(k), v)).collect();
    let mut at: BTreeMap<String, String> = o.start.iter().map(|s| (key(s), s.clone())).collect();
    let mut todo: Vec<String> = at.keys().cloned().collect();
    let mut blind = Vec::new();
    while let Some(s) = todo.pop() {
        let Some(next) = moves.get(&s) else {
            blind.push(at.get(&s).cloned().unwrap_or(s));
            continue;
        };
        for n in next.iter() {
            if let std::collections::btree_map::Entry::Vacant(e) = at.entry(key(n)) {
                e.insert(n.clone());
                todo.push(key(n));
            }
        }
    }
    blind.sort();
    ObservedReach {
        unreachable: wanted
            .iter()
            .filter(|w| !at.contains_key(&key(w)))
            .map(|w| (*w).to_owned())
            .collect(),
        blind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::jira::client::Named;

    fn observed(start: &[&str], moves: &[(&str, &[&str])]) -> Observed {
        Observed {
            start: start.iter().map(|s| (*s).to_owned()).collect(),
            moves: moves
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        }
    }

    #[test]
    fn issues_transitions_prove_reach_or_name_what_was_not_seen() {
        // Every reached status has an issue: In Review is unreachable, proven.
        let o = observed(
            &["To Do"],
            &[
                ("To Do", &["In Progress", "Done"]),
                ("in progress", &["To Do", "Done"]),
                ("Done", &["To Do"]),
            ],
        );
        let r = reach_observed(&o, &["In Progress", "done", "In Review"]);
        assert_eq!(r.unreachable, vec!["In Review"]);
        assert!(r.blind.is_empty(), "{r:?}");
        // No issue sits in Done: its way on is unseen, so In Review is only unproven.
        let o = observed(
            &["To Do"],
            &[
                ("To Do", &["In Progress", "Done"]),
                ("In Progress", &["To Do"]),
            ],
        );
        let r = reach_observed(&o, &["In Review", "Done"]);
        assert_eq!(r.unreachable, vec!["In Review"]);
        assert_eq!(r.blind, vec!["Done"]);
        // Nothing to start from: nothing is proven.
        let r = reach_observed(&Observed::default(), &["Done"]);
        assert_eq!(r.unreachable, vec!["Done"]);
    }

    fn status(id: &str, name: &str) -> Named {
        Named {
            id: id.into(),
            name: name.into(),
        }
    }

    fn t(id: &str, from: &[&str], to: &str, kind: &str) -> WorkflowTransition {
        WorkflowTransition {
            id: id.into(),
            name: id.into(),
            from: from.iter().map(|s| (*s).to_owned()).collect(),
            to: to.into(),
            kind: kind.into(),
        }
    }

    fn workflow(transitions: Vec<WorkflowTransition>) -> Workflow {
        Workflow {
            statuses: vec![
                status("1", "To Do"),
                status("2", "In Progress"),
                status("3", "In Review"),
                status("4", "Done"),
            ],
            transitions,
        }
    }

    #[test]
    fn directed_and_global_transitions_are_followed_from_the_initial_status() {
        let w = workflow(vec![
            t("c", &[], "1", "initial"),
            t("a", &["1"], "2", "directed"),
            t("b", &["2"], "3", "directed"),
            t("d", &[], "4", "global"),
        ]);
        let r = reach(&w, &["in progress", "In Review", "Done", "Nowhere"]);
        assert_eq!(r.start.as_deref(), Some("To Do"));
        assert!(r.unreachable.is_empty(), "{r:?}");
    }

    #[test]
    fn a_status_no_walk_reaches_is_named() {
        // In Review has a way out but no way in; Done is only reached from In Review.
        let w = workflow(vec![
            t("c", &[], "1", "initial"),
            t("a", &["1"], "2", "directed"),
            t("r", &["3"], "4", "directed"),
            t("x", &["3"], "2", "directed"),
        ]);
        let r = reach(&w, &["In Progress", "In Review", "Done"]);
        assert_eq!(r.unreachable, vec!["In Review", "Done"]);
    }

    #[test]
    fn without_an_initial_transition_nothing_is_proven() {
        let w = workflow(vec![t("d", &[], "4", "global")]);
        let r = reach(&w, &["Done"]);
        assert_eq!(r.start, None);
        assert_eq!(r.unreachable, vec!["Done"]);
    }
}
