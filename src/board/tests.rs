use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::model::{ColumnKind, build};
use super::{BoardInput, render};
use crate::agenda::model::IssueSummary;
use crate::council::{DecisionKind, Stage};
use crate::store::{ConcernRow, ConcernSnapshot, Decision, StageTransition, StoryLink, StoryState};

const DAY: i64 = 86_400_000;

fn t(to: Stage, at_ms: i64) -> StageTransition {
    StageTransition {
        from: None,
        to,
        cause: "test".into(),
        actor: None,
        at_ms,
    }
}

fn story(team: &str, cat: &str) -> StoryLink {
    StoryLink {
        team: team.into(),
        story_key: format!("{}-1", team.to_uppercase()),
        story_url: "https://jira.example/browse/X-1".into(),
        state: StoryState {
            progress: crate::tracker::Progress::parse(cat),
            ..StoryState::default()
        },
    }
}

fn snap(number: u64, path: &[(Stage, i64)]) -> ConcernSnapshot {
    let stage = path.last().map_or(Stage::NeedsInfo, |p| p.0);
    let accepted = path.iter().find(|p| p.0 == Stage::Accepted).map(|p| p.1);
    let rejected = path.iter().find(|p| p.0 == Stage::Rejected).map(|p| p.1);
    let decisions = accepted
        .map(|at| (DecisionKind::Accept, at))
        .into_iter()
        .chain(rejected.map(|at| (DecisionKind::Reject, at)))
        .map(|(kind, decided_at)| Decision {
            kind,
            actor: "carol".into(),
            decided_at,
        })
        .collect();
    let epic = path.iter().any(|p| p.0 == Stage::EpicCreated);
    ConcernSnapshot {
        concern: ConcernRow {
            repo: "acme/c".into(),
            number,
            issue_id: number,
            stage,
            tracking_comment_id: None,
            epic_key: epic.then(|| format!("SRE-{number}")),
            epic_url: epic.then(|| format!("https://jira.example/browse/SRE-{number}")),
            last_error: None,
            updated_at: 0,
            progress: None,
            results: (stage == Stage::ResultsPresented)
                .then(|| "- p99 latency: 900 ms → 300 ms".to_owned()),
            results_at: (stage == Stage::ResultsPresented)
                .then_some(path.last().map_or(0, |p| p.1)),
            issue_state: None,
            synced_hash: None,
        },
        history: path.iter().map(|(s, at)| t(*s, *at)).collect(),
        decisions,
        stories: if epic {
            vec![
                story("payments", "done"),
                story(
                    "data",
                    if stage == Stage::InProgress {
                        "indeterminate"
                    } else {
                        "done"
                    },
                ),
            ]
        } else {
            Vec::new()
        },
    }
}

fn concerns() -> Vec<ConcernSnapshot> {
    use Stage::*;
    vec![
        snap(1, &[(NeedsInfo, 0)]),
        snap(2, &[(NeedsInfo, 0), (Ready, DAY)]),
        snap(
            3,
            &[
                (Ready, 0),
                (Accepted, 2 * DAY),
                (EpicCreated, 2 * DAY + 1000),
                (InProgress, 5 * DAY),
            ],
        ),
        snap(
            4,
            &[
                (Ready, 0),
                (Accepted, DAY),
                (EpicCreated, DAY),
                (InProgress, 2 * DAY),
                (Done, 9 * DAY),
            ],
        ),
        snap(
            5,
            &[
                (Ready, 0),
                (Accepted, DAY),
                (EpicCreated, DAY),
                (InProgress, 2 * DAY),
                (Done, 9 * DAY),
                (ResultsPresented, 20 * DAY),
            ],
        ),
        snap(6, &[(Ready, 0), (Rejected, 3 * DAY)]),
    ]
}

fn issues() -> BTreeMap<(String, u64), IssueSummary> {
    (1..=6)
        .map(|n| {
            let title = if n == 2 {
                "<script>alert(1)</script> & \"quotes\"".to_owned()
            } else {
                format!("Concern {n}")
            };
            (
                ("acme/c".to_owned(), n),
                IssueSummary {
                    title,
                    author: "alice".into(),
                    url: if n == 3 {
                        "javascript:alert(1)".into()
                    } else {
                        format!("https://github.com/acme/c/issues/{n}")
                    },
                    teams: vec!["payments".into()],
                    answers: Vec::new(),
                    measure: None,
                },
            )
        })
        .collect()
}

fn at() -> Timestamp {
    Timestamp::from_millisecond(30 * DAY).unwrap()
}

#[test]
fn each_stage_lands_in_its_column_and_rejected_stays_off() {
    let cs = concerns();
    let is = issues();
    let b = build(&BoardInput {
        concerns: &cs,
        issues: &is,
        at: at(),
        tz: &TimeZone::UTC,
        next_session: None,
    });
    let numbers = |k: ColumnKind| {
        b.columns
            .iter()
            .find(|c| c.kind == k)
            .unwrap()
            .cards
            .iter()
            .map(|c| c.number)
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(ColumnKind::NeedsInfo), [1]);
    assert_eq!(numbers(ColumnKind::Ready), [2]);
    assert_eq!(numbers(ColumnKind::InFlight), [3]);
    assert_eq!(numbers(ColumnKind::AwaitingResults), [4]);
    assert_eq!(numbers(ColumnKind::ResultsPresented), [5]);
    let in_flight = &b.columns[2].cards[0];
    assert_eq!(in_flight.progress, Some((1, 2)));
    assert_eq!(in_flight.epic.as_ref().map(|e| e.0.as_str()), Some("SRE-3"));
    assert_eq!((b.acceptance.accepted, b.acceptance.rejected), (3, 1));
    assert_eq!(b.acceptance.rate_percent(), Some(75.0));
    assert_eq!(b.quarter, "1970-Q1");
    assert_eq!(b.results_this_quarter.len(), 1);
    assert_eq!(b.results_this_quarter[0].figures[0].after, 300.0);
    let ready_to_decided = &b.lead_times[1];
    assert_eq!(ready_to_decided.count, 4, "3 accepts and 1 reject");
    assert_eq!(ready_to_decided.median_days, Some(1.5));
}

#[test]
fn results_from_an_earlier_quarter_are_not_this_quarters() {
    let cs = concerns();
    let is = issues();
    let later = Timestamp::from_millisecond(200 * DAY).unwrap();
    let b = build(&BoardInput {
        concerns: &cs,
        issues: &is,
        at: later,
        tz: &TimeZone::UTC,
        next_session: None,
    });
    assert!(b.results_this_quarter.is_empty());
    assert_eq!(b.columns[4].cards.len(), 1, "still in its column");
}

#[test]
fn the_page_escapes_what_people_typed_and_links_only_http() {
    let cs = concerns();
    let is = issues();
    let html = render::page(&build(&BoardInput {
        concerns: &cs,
        issues: &is,
        at: at(),
        tz: &TimeZone::UTC,
        next_session: None,
    }));
    assert!(!html.contains("<script>"), "title escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
    assert!(
        !html.contains("javascript:"),
        "a javascript: URL is never a link"
    );
    assert!(
        html.contains("<h2 id=\"h-in-flight\">Accepted / in progress (1)</h2>"),
        "{html}"
    );
    assert!(html.contains("1 of 2 stories done"));
    assert!(html.contains("<progress value=\"1\" max=\"2\">"));
    assert!(html.contains("href=\"https://jira.example/browse/SRE-3\""));
    assert!(html.contains("75%"));
    assert!(html.contains("p99 latency: 900 ms → 300 ms (-600 ms (-66.7%))"));
    assert!(html.contains("<td>-600 ms (-66.7%)</td>"));
    assert!(html.contains("name=\"viewport\""));
}

#[test]
fn an_issue_github_did_not_give_is_shown_by_number() {
    let cs = concerns();
    let empty = BTreeMap::new();
    let html = render::page(&build(&BoardInput {
        concerns: &cs,
        issues: &empty,
        at: at(),
        tz: &TimeZone::UTC,
        next_session: None,
    }));
    assert!(html.contains(">acme/c#1</a>"), "{html}");
}

#[test]
fn the_count_of_concerns_reads_as_english() {
    let all = concerns();
    let issues = issues();
    let page = |cs: &[ConcernSnapshot]| {
        render::page(&build(&BoardInput {
            concerns: cs,
            issues: &issues,
            at: at(),
            tz: &TimeZone::UTC,
            next_session: None,
        }))
    };
    let one = page(&all[..1]);
    assert!(one.contains(">1 concern · as of "), "{one}");
    let many = page(&all);
    assert!(many.contains(" concerns · as of "), "{many}");
}
