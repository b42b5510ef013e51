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

use crate::config::Scope;
use crate::github::webhook::events::{GithubEvent, IssuesAction};
use crate::store::{Cue, Routing};

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

/// The [`Routing`] of a decoded GitHub delivery: the issue it is about, who sent it, and
/// whether it names a second issue (a transfer, either end: `issues.transferred`, or
/// `issues.opened` with `changes.old_issue`). `None` for an event the council ignores (it
/// names no issue). The webhook route stores it beside the body; the round computes it
/// from the body for a row stored without it.
pub(crate) fn routing_of(event: &GithubEvent) -> Option<Routing> {
    match event {
        GithubEvent::Issues(e) => Some(Routing {
            cue: if e.transfer.is_some() || e.action == IssuesAction::Transferred {
                Cue::Transfer
            } else {
                Cue::Issue
            },
            repo: e.repo.clone(),
            issue_number: e.issue.number,
            sender: e.sender.clone(),
        }),
        GithubEvent::IssueComment(c) => Some(Routing {
            cue: Cue::Comment,
            repo: c.repo.clone(),
            issue_number: c.issue.number,
            sender: c.sender.clone(),
        }),
        GithubEvent::Ignored { .. } => None,
    }
}

/// What a GitHub delivery is to the round's runs, from its [`Routing`], its `action` and
/// `event` (the row's columns) and whether an earlier processing of it was interrupted:
/// only an edit of a watched issue by someone else than the daemon (`bot`), never
/// interrupted, and not a tracker's cue as well (a story on GitHub Projects), reads the
/// issue's state and nothing more.
pub(crate) fn role(
    routing: &Routing,
    event: &str,
    action: Option<&str>,
    interrupted: bool,
    scope: &Scope,
    bot: &str,
) -> Role {
    let key = issue_key(&routing.repo, routing.issue_number);
    match routing.cue {
        Cue::Transfer => Role::Barrier,
        Cue::Comment => Role::Touches(key),
        Cue::Issue => {
            let plain_edit = action == Some(IssuesAction::Edited.as_str())
                && routing.sender != bot
                && !interrupted
                && scope.watches_repo(&routing.repo)
                // A story changing on GitHub Projects is the tracker's cue as well: alone.
                && !scope.tracker_reads(event, Some(&routing.repo));
            if plain_edit {
                Role::Reads(key)
            } else {
                Role::Touches(key)
            }
        }
    }
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

    fn routed(cue: Cue, repo: &str, sender: &str) -> Routing {
        Routing {
            cue,
            repo: repo.into(),
            issue_number: 7,
            sender: sender.into(),
        }
    }

    /// Only an edit of a watched issue by someone else than the daemon, never interrupted
    /// and not also a tracker's cue, may join a run; the rest touch the issue, and either
    /// end of a transfer ends every run. The repository is matched in any case.
    #[test]
    fn only_plain_edits_of_watched_issues_read_the_issue() {
        let mut scope = Scope::default();
        scope.watch_repo("acme/ops");
        let mut projects = scope.clone();
        projects.watch_tracker_repo("acme/ops");
        let key = issue_key("acme/ops", 7);
        let edit = routed(Cue::Issue, "Acme/Ops", "alice");
        let cases = [
            // (routing, action, interrupted, scope, want)
            (
                edit.clone(),
                Some("edited"),
                false,
                &scope,
                Role::Reads(key.clone()),
            ),
            (
                edit.clone(),
                Some("labeled"),
                false,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                edit.clone(),
                Some("closed"),
                false,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                edit.clone(),
                None,
                false,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                edit.clone(),
                Some("edited"),
                true,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                edit.clone(),
                Some("edited"),
                false,
                &projects,
                Role::Touches(key.clone()),
            ),
            (
                routed(Cue::Issue, "acme/ops", "council-bot"),
                Some("edited"),
                false,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                routed(Cue::Issue, "acme/other", "alice"),
                Some("edited"),
                false,
                &scope,
                Role::Touches(issue_key("acme/other", 7)),
            ),
            (
                routed(Cue::Comment, "acme/ops", "alice"),
                Some("edited"),
                false,
                &scope,
                Role::Touches(key.clone()),
            ),
            (
                routed(Cue::Transfer, "acme/ops", "alice"),
                Some("opened"),
                false,
                &scope,
                Role::Barrier,
            ),
        ];
        for (i, (routing, action, interrupted, scope, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                role(
                    &routing,
                    "issues",
                    action,
                    interrupted,
                    scope,
                    "council-bot"
                ),
                want,
                "case {i}"
            );
        }
    }

    /// What the route stores for each real delivery is what the body says: the issue, the
    /// sender, and the cue kind (a transfer whichever end).
    #[test]
    fn the_routing_of_each_real_delivery_names_its_issue_and_sender() {
        use crate::github::webhook::events::decode;
        use crate::github::webhook::fixtures;
        let mut seen = 0;
        for path in fixtures::github_webhook_files() {
            let (event, _) = fixtures::event_and_action(&path);
            let body = std::fs::read(&path).expect("fixture");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let Ok(decoded) = decode(&event, &body) else {
                continue;
            };
            let Some(r) = routing_of(&decoded) else {
                assert!(matches!(decoded, GithubEvent::Ignored { .. }), "{event}");
                continue;
            };
            seen += 1;
            assert_eq!(Some(r.repo.as_str()), v["repository"]["full_name"].as_str());
            assert_eq!(Some(r.issue_number), v["issue"]["number"].as_u64());
            assert_eq!(Some(r.sender.as_str()), v["sender"]["login"].as_str());
            let want = match event.as_str() {
                "issue_comment" => Cue::Comment,
                _ if v["changes"]["old_issue"].is_object() || v["action"] == "transferred" => {
                    Cue::Transfer
                }
                _ => Cue::Issue,
            };
            assert_eq!(r.cue, want, "{}", path.display());
        }
        assert_eq!(seen, 7, "every issues / issue_comment fixture");
    }

    fn any_role() -> impl Strategy<Value = Role> {
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
            roles in proptest::collection::vec(any_role(), 0..60)
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
