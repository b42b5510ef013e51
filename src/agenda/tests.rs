//! The agenda's rules on a hand-made store snapshot, and its Markdown/JSON as snapshots.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;

use super::cadence::Cadence;
use super::model::{AgendaInput, Answer, IssueSummary, StuckReason, build};
use super::{post, render};
use crate::config::{AgendaConfig, Progress};
use crate::council::{DecisionKind, Stage};
use crate::store::{
    ConcernRow, ConcernSnapshot, Decision, FailedWrite, StageTransition, StoryLink, StoryState,
};

fn ms(s: &str) -> i64 {
    s.parse::<Timestamp>().expect("timestamp").as_millisecond()
}

fn row(number: u64, stage: Stage) -> ConcernRow {
    ConcernRow {
        repo: "acme/concerns".into(),
        number,
        issue_id: number * 1000,
        stage,
        tracking_comment_id: None,
        epic_key: None,
        epic_url: None,
        last_error: None,
        updated_at: ms("2026-11-01T00:00:00Z"),
        progress: None,
        results: None,
        results_at: None,
        issue_state: None,
        synced_hash: None,
    }
}

fn moved(to: Stage, at: &str, actor: Option<&str>) -> StageTransition {
    StageTransition {
        from: None,
        to,
        cause: "criteria".into(),
        actor: actor.map(str::to_owned),
        at_ms: ms(at),
    }
}

fn snap(concern: ConcernRow, history: Vec<StageTransition>) -> ConcernSnapshot {
    ConcernSnapshot {
        concern,
        history,
        decisions: Vec::new(),
        stories: Vec::new(),
    }
}

fn story(team: &str, key: &str, status: &str, category: &str, sprint: Option<&str>) -> StoryLink {
    StoryLink {
        team: team.into(),
        story_key: key.into(),
        story_url: format!("https://acme.atlassian.net/browse/{key}"),
        state: StoryState {
            status: Some(status.into()),
            progress: crate::tracker::Progress::parse(category),
            assignee: None,
            sprint: sprint.map(str::to_owned),
            updated_ms: None,
        },
    }
}

/// A council that met on 26 Nov and meets again on 10 Dec 2026, 14:00 Berlin time.
fn fixture() -> (Vec<ConcernSnapshot>, Vec<FailedWrite>) {
    let ready_new = snap(
        row(12, Stage::Ready),
        vec![
            moved(Stage::NeedsInfo, "2026-11-20T09:00:00Z", None),
            moved(Stage::Ready, "2026-12-01T10:00:00Z", Some("alice")),
        ],
    );
    let ready_old = snap(
        row(7, Stage::Ready),
        vec![moved(Stage::Ready, "2026-11-10T10:00:00Z", None)],
    );
    let mut accepted = snap(
        row(3, Stage::InProgress),
        vec![
            moved(Stage::Ready, "2026-11-01T10:00:00Z", None),
            moved(Stage::Accepted, "2026-11-27T15:00:00Z", Some("carol")),
        ],
    );
    accepted.concern.epic_key = Some("SRE-4".into());
    accepted.concern.epic_url = Some("https://acme.atlassian.net/browse/SRE-4".into());
    accepted.decisions = vec![Decision {
        kind: DecisionKind::Accept,
        actor: "carol".into(),
        decided_at: ms("2026-11-27T15:00:00Z"),
    }];
    accepted.stories = vec![
        story("data", "DATA-2", "Done", "done", Some("Sprint 7")),
        story(
            "payments",
            "PAY-9",
            "In Progress",
            "indeterminate",
            Some("Sprint 7"),
        ),
    ];
    let mut rejected = snap(row(5, Stage::Rejected), Vec::new());
    rejected.decisions = vec![Decision {
        kind: DecisionKind::Reject,
        actor: "dave".into(),
        decided_at: ms("2026-11-30T08:00:00Z"),
    }];
    let mut old_decision = snap(row(2, Stage::Rejected), Vec::new());
    old_decision.decisions = vec![Decision {
        kind: DecisionKind::Reject,
        actor: "dave".into(),
        decided_at: ms("2026-11-20T08:00:00Z"),
    }];
    let mut done = snap(
        row(4, Stage::ResultsRequested),
        vec![moved(Stage::Done, "2026-12-02T08:00:00Z", None)],
    );
    done.concern.epic_key = Some("SRE-2".into());
    done.concern.progress = Some(Progress::Done);
    let mut presented = snap(row(1, Stage::ResultsPresented), Vec::new());
    presented.concern.epic_key = Some("SRE-1".into());
    presented.concern.results =
        Some("| metric | before | after |\n|---|---|---|\n| p99 | 900 ms | 300 ms |".into());
    presented.concern.results_at = Some(ms("2026-12-03T12:00:00Z"));
    let stuck = snap(
        row(9, Stage::NeedsInfo),
        vec![moved(Stage::NeedsInfo, "2026-11-01T00:00:00Z", None)],
    );
    let fresh_needs_info = snap(
        row(10, Stage::NeedsInfo),
        vec![moved(Stage::NeedsInfo, "2026-12-05T00:00:00Z", None)],
    );
    let failed = vec![FailedWrite {
        kind: "materialize".into(),
        concern: Some(("acme/concerns".into(), 3)),
        error: Some("Jira said 400: <b>Team</b> field is required".into()),
        at_ms: ms("2026-12-04T00:00:00Z"),
    }];
    (
        vec![
            presented,
            old_decision,
            accepted,
            done,
            rejected,
            ready_old,
            stuck,
            fresh_needs_info,
            ready_new,
        ],
        failed,
    )
}

fn issues() -> BTreeMap<(String, u64), IssueSummary> {
    let mk = |n: u64, title: &str, author: &str, teams: &[&str]| {
        (
            ("acme/concerns".to_owned(), n),
            IssueSummary {
                title: title.into(),
                author: author.into(),
                url: format!("https://github.com/acme/concerns/issues/{n}"),
                teams: teams.iter().map(|t| (*t).to_owned()).collect(),
                answers: vec![
                    Answer {
                        question: "Why is this SRE?".into(),
                        excerpt: "Paging storms at night <!-- hidden -->\nevery week …".into(),
                    },
                    Answer {
                        question: "Why is this important?".into(),
                        excerpt: "Burn-out.".into(),
                    },
                ],
                measure: (n == 12).then(|| Answer {
                    question: "How will we measure the improvement?".into(),
                    excerpt: "Pages per week (PagerDuty report).".into(),
                }),
            },
        )
    };
    [
        mk(
            12,
            "Flaky *alerts* in [payments]",
            "alice",
            &["payments", "data"],
        ),
        mk(7, "Disk pressure on Kafka", "bob", &["data"]),
        mk(3, "Checkout latency SLO", "erin", &["payments", "data"]),
        mk(4, "Backups untested", "frank", &["platform"]),
        mk(1, "p99 of search", "gina", &["platform"]),
        mk(5, "Rewrite it in Rust", "hank", &[]),
        mk(9, "Something about DNS", "ivan", &["networking"]),
    ]
    .into_iter()
    .collect()
}

fn cadence() -> Cadence {
    Cadence::from_config(&AgendaConfig {
        first_session: Some("2026-11-12 14:00".into()),
        time_zone: "Europe/Berlin".into(),
        every: "2 weeks".into(),
        ..AgendaConfig::default()
    })
    .expect("cadence")
}

fn agenda_at(at: &str) -> super::Agenda {
    let (concerns, failed) = fixture();
    let issues = issues();
    let at: Timestamp = at.parse().expect("at");
    let session = cadence().next_after(at).expect("session");
    build(&AgendaInput {
        concerns: &concerns,
        failed: &failed,
        issues: &issues,
        session: &session,
        at,
        stuck_after: Duration::from_secs(14 * 86_400),
    })
}

#[test]
fn sections_follow_the_rules() {
    let a = agenda_at("2026-12-08T09:00:00Z");
    assert_eq!(a.session.number, 3);
    assert_eq!(a.session.starts_at.to_string(), "2026-12-10T13:00:00Z");
    assert_eq!(
        a.ready
            .iter()
            .map(|r| (r.concern.number, r.new))
            .collect::<Vec<_>>(),
        [(12, true), (7, false)],
        "newest first; #7 was ready before the last session"
    );
    assert_eq!(
        a.decisions
            .iter()
            .map(|d| (d.concern.number, d.kind, d.by.as_str()))
            .collect::<Vec<_>>(),
        [(3, "accept", "carol"), (5, "reject", "dave")],
        "only decisions since 26 Nov"
    );
    assert_eq!(a.in_flight.len(), 1);
    assert_eq!((a.in_flight[0].done, a.in_flight[0].total), (1, 2));
    assert_eq!(a.awaiting_results[0].concern.number, 4);
    assert_eq!(a.results[0].concern.number, 1);
    let stuck: Vec<_> = a
        .stuck
        .iter()
        .map(|s| (s.concern.as_ref().map(|c| c.number), &s.reason))
        .collect();
    assert_eq!(stuck.len(), 2, "#10 is not stuck yet: {stuck:?}");
    assert_eq!(stuck[0].0, Some(9));
    assert!(matches!(stuck[0].1, StuckReason::NeedsInfo { days: 37 }));
    assert!(matches!(stuck[1].1, StuckReason::FailedStep { .. }));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn an_agenda_as_of_an_earlier_date_leaves_out_later_decisions_and_results() {
    let a = agenda_at("2026-11-28T00:00:00Z");
    assert_eq!(a.session.number, 3);
    assert_eq!(
        a.decisions.len(),
        1,
        "the 30 Nov rejection had not happened"
    );
    assert!(a.results.is_empty(), "recorded on 3 Dec");
}

#[test]
fn a_concern_github_could_not_give_is_listed_with_a_warning() {
    let (concerns, failed) = fixture();
    let at: Timestamp = "2026-12-08T09:00:00Z".parse().unwrap();
    let session = cadence().next_after(at).unwrap();
    let a = build(&AgendaInput {
        concerns: &concerns,
        failed: &failed,
        issues: &BTreeMap::new(),
        session: &session,
        at,
        stuck_after: Duration::from_secs(14 * 86_400),
    });
    assert_eq!(a.ready.len(), 2);
    assert!(a.ready[0].concern.issue.is_none());
    assert_eq!(a.warnings.len(), a.keys().len());
    let md = render::markdown(&a);
    assert!(md.contains("acme/concerns#12"));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(render::markdown(&agenda_at("2026-12-08T09:00:00Z")));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!(render::json(&agenda_at("2026-12-08T09:00:00Z")));
}

#[test]
fn typed_text_cannot_hide_the_rest_or_the_marker() {
    let md = post::body(&agenda_at("2026-12-08T09:00:00Z"));
    // The answer's `<!-- hidden -->` and the error's `<b>` are shown, not interpreted.
    assert!(!md.contains("<!-- hidden"));
    assert!(md.contains("&lt;!-- hidden --&gt;"));
    assert!(!md.contains("<b>"));
    assert!(md.contains(r"Flaky \*alerts\* in \[payments\]"));
    // The only HTML comment is the marker, at the end.
    assert_eq!(md.matches("<!--").count(), 1);
    assert!(
        md.trim_end()
            .ends_with("<!-- council-sync:agenda:2026-12-10T13:00:00Z -->")
    );
}

#[test]
fn the_first_session_says_so() {
    let a = agenda_at("2026-11-01T00:00:00Z");
    assert_eq!(a.session.number, 1);
    assert!(a.session.since.is_none());
    assert!(render::markdown(&a).contains("first session"));
    assert!(
        a.decisions.is_empty(),
        "nothing decided by 1 Nov in the fixture"
    );
}

proptest::proptest! {
    /// Escaped inline text never opens HTML, a link or a table cell, whatever was typed.
    #[test]
    fn escaped_text_opens_nothing(s in "\\PC{0,60}") {
        let e = render::escape_inline(&s);
        proptest::prop_assert!(!e.contains('<'));
        proptest::prop_assert!(!e.contains('\n'));
        let unescaped_bracket = e.char_indices().any(|(i, c)| {
            matches!(c, '[' | ']' | '|') && !e[..i].ends_with('\\')
        });
        proptest::prop_assert!(!unescaped_bracket, "{e}");
        // A `#` is escaped only where it could open a heading: first, after blanks.
        proptest::prop_assert!(!e.trim_start().starts_with('#'), "{e}");
    }
}

/// Keys and references read as typed: no Markdown escape where nothing would open (the
/// demo's transcript and the terminal show the agenda as Markdown text).
#[test]
fn a_hash_inside_text_is_not_escaped() {
    assert_eq!(
        render::escape_inline("epic acme/platform-concerns#1"),
        "epic acme/platform-concerns#1"
    );
    assert_eq!(render::escape_inline("  # heading"), "  \\# heading");
    assert_eq!(render::escape_inline("#1 first"), "\\#1 first");
}

#[tokio::test]
async fn a_started_session_is_never_edited() {
    let (store, _dir) = crate::store::testing::temp_store().await;
    // Nothing listens on port 9: any call would fail, so an Err other than SessionStarted
    // would show that post() tried to reach GitHub.
    let github = crate::github::client::GithubClient::new(
        "http://127.0.0.1:9",
        &secrecy::SecretString::from("t".to_owned()),
        crate::retry::RetryPolicy::from(&crate::config::RetryConfig::default()),
    )
    .expect("client");
    let a = agenda_at("2026-12-08T09:00:00Z");
    let at_start = a.session.starts_at;
    let e = post::post(
        &github,
        &store,
        "acme/concerns",
        "council/agenda",
        &a,
        at_start,
    )
    .await
    .expect_err("refused");
    assert!(matches!(e, super::AgendaError::SessionStarted(t) if t == at_start));
}
