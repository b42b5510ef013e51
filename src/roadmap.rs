//! `council-sync roadmap`: the accepted concerns' epics by state and by quarter decided,
//! with teams, story progress, lead time so far and the results recorded, as Markdown (for
//! a planning document), CSV (for a spreadsheet) or JSON.
//!
//! Built from the store's snapshot (pure, [`rows`]); titles come from GitHub through
//! [`crate::agenda::gather::read_issues`].

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::agenda::model::{IssueKey, IssueSummary};
use crate::agenda::render::escape_inline;
use crate::concern::figures::{self, FigureChange};
use crate::council::{DecisionKind, Stage};
use crate::store::ConcernSnapshot;

/// One epic on the roadmap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoadmapRow {
    /// `owner/name` of the concern.
    pub repo: String,
    /// Issue number.
    pub number: u64,
    /// Title, when GitHub could be read.
    pub title: Option<String>,
    /// Link to the issue, when GitHub could be read.
    pub url: Option<String>,
    /// `accepted`, `in progress`, `done` or `results presented`.
    pub state: &'static str,
    /// Quarter of the accept decision in the council's time zone (`2026-Q4`).
    pub quarter_decided: Option<String>,
    /// The council member who accepted it.
    pub decided_by: Option<String>,
    /// Teams with a story.
    pub teams: Vec<String>,
    /// Stories done.
    pub stories_done: usize,
    /// Stories in all.
    pub stories_total: usize,
    /// Days from first recorded to done (or to `at` while not done), one decimal.
    pub lead_time_days: f64,
    /// Epic key.
    pub epic_key: Option<String>,
    /// Epic URL.
    pub epic_url: Option<String>,
    /// The before/after results, once recorded.
    pub results: Option<String>,
    /// The figures read from `results` (see [`crate::concern::figures`]), with their change.
    pub figures: Vec<FigureChange>,
}

/// The roadmap state of a stage (`None`: not on the roadmap, i.e. not accepted).
fn state(stage: Stage) -> Option<(u8, &'static str)> {
    match stage {
        Stage::Accepted | Stage::Vetted | Stage::EpicCreated | Stage::StoriesCreated => {
            Some((0, "accepted"))
        }
        Stage::InProgress => Some((1, "in progress")),
        Stage::Done | Stage::ResultsRequested => Some((2, "done")),
        Stage::ResultsPresented => Some((3, "results presented")),
        Stage::NeedsInfo | Stage::Ready | Stage::Rejected | Stage::OutOfScope => None,
    }
}

fn quarter(ms: i64, tz: &TimeZone) -> String {
    let d = Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone());
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// The roadmap's rows, by state, then quarter decided, then issue.
pub fn rows(
    concerns: &[ConcernSnapshot],
    issues: &BTreeMap<IssueKey, IssueSummary>,
    at: Timestamp,
    tz: &TimeZone,
) -> Vec<RoadmapRow> {
    let mut out: Vec<(u8, RoadmapRow)> = concerns
        .iter()
        .filter_map(|c| {
            let (order, name) = state(c.concern.stage)?;
            let accept = c.decisions.iter().find(|d| d.kind == DecisionKind::Accept);
            let start = c.history.first().map(|t| t.at_ms);
            // Done is reached by `results-requested` too (the engine may skip `done`).
            let end = crate::metrics::first_reached(c, crate::metrics::DONE_OR_LATER)
                .unwrap_or(at.as_millisecond());
            let days = start.map_or(0.0, |s| {
                ((end - s).max(0) as f64 / 8_640_000.0).round() / 10.0
            });
            let issue = issues.get(&(c.concern.repo.clone(), c.concern.number));
            Some((
                order,
                RoadmapRow {
                    repo: c.concern.repo.clone(),
                    number: c.concern.number,
                    title: issue.map(|i| i.title.clone()),
                    url: issue.map(|i| i.url.clone()),
                    state: name,
                    quarter_decided: accept.map(|d| quarter(d.decided_at, tz)),
                    decided_by: accept.map(|d| d.actor.clone()),
                    teams: c.stories.iter().map(|s| s.team.clone()).collect(),
                    stories_done: c
                        .stories
                        .iter()
                        .filter(|s| s.state.progress == Some(crate::tracker::Progress::Done))
                        .count(),
                    stories_total: c.stories.len(),
                    lead_time_days: days,
                    epic_key: c.concern.epic_key.clone(),
                    epic_url: c.concern.epic_url.clone(),
                    results: c.concern.results.clone(),
                    figures: c
                        .concern
                        .results
                        .as_deref()
                        .map(figures::parse)
                        .unwrap_or_default()
                        .into_iter()
                        .map(FigureChange::from)
                        .collect(),
                },
            ))
        })
        .collect();
    out.sort_by(|(a, ra), (b, rb)| {
        a.cmp(b)
            .then(ra.quarter_decided.cmp(&rb.quarter_decided))
            .then((&ra.repo, ra.number).cmp(&(&rb.repo, rb.number)))
    });
    out.into_iter().map(|(_, r)| r).collect()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The roadmap as CSV with a header row (CRLF line ends, as RFC 4180 says).
pub fn csv(rows: &[RoadmapRow]) -> String {
    let mut o = String::from(
        "state,quarter_decided,repo,number,title,teams,stories_done,stories_total,\
         lead_time_days,epic,decided_by,results,changes\r\n",
    );
    for r in rows {
        let fields = [
            r.state.to_owned(),
            r.quarter_decided.clone().unwrap_or_default(),
            r.repo.clone(),
            r.number.to_string(),
            r.title.clone().unwrap_or_default(),
            r.teams.join(" "),
            r.stories_done.to_string(),
            r.stories_total.to_string(),
            r.lead_time_days.to_string(),
            r.epic_key.clone().unwrap_or_default(),
            r.decided_by.clone().unwrap_or_default(),
            r.results.clone().unwrap_or_default(),
            changes(r),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = write!(o, "{}\r\n", line.join(","));
    }
    o
}

/// The figures' changes on one line: `p99: 900 ms → 300 ms, -600 ms (-66.7%); …`.
fn changes(r: &RoadmapRow) -> String {
    r.figures
        .iter()
        .map(|f| {
            let f = &f.figure;
            let name = if f.metric.is_empty() { "" } else { &f.metric };
            let sep = if name.is_empty() { "" } else { ": " };
            format!("{name}{sep}{}, {}", f.before_after_text(), f.change_text())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The roadmap as Markdown: one table per state.
pub fn markdown(rows: &[RoadmapRow]) -> String {
    let mut o = String::from("# SRE roadmap\n");
    for name in ["accepted", "in progress", "done", "results presented"] {
        let these: Vec<&RoadmapRow> = rows.iter().filter(|r| r.state == name).collect();
        let _ = writeln!(o, "\n## {name} ({})\n", these.len());
        if these.is_empty() {
            let _ = writeln!(o, "_Nothing._");
            continue;
        }
        let _ = writeln!(
            o,
            "| Quarter | Concern | Teams | Progress | Lead time | Epic | Results |\n|---|---|---|---|---|---|---|"
        );
        for r in these {
            let concern = match (&r.title, &r.url) {
                (Some(t), Some(u)) => {
                    format!("[{}#{}]({u}) {}", r.repo, r.number, escape_inline(t))
                }
                _ => format!("{}#{}", r.repo, r.number),
            };
            let epic = match (&r.epic_key, &r.epic_url) {
                (Some(k), Some(u)) => format!("[{}]({u})", escape_inline(k)),
                (Some(k), None) => escape_inline(k),
                _ => "—".to_owned(),
            };
            let _ = writeln!(
                o,
                "| {} | {concern} | {} | {}/{} | {} d | {epic} | {} |",
                r.quarter_decided.as_deref().unwrap_or("—"),
                escape_inline(&r.teams.join(", ")),
                r.stories_done,
                r.stories_total,
                r.lead_time_days,
                match (r.figures.is_empty(), r.results.as_deref()) {
                    (false, _) => escape_inline(&changes(r)),
                    (true, Some(text)) => escape_inline(text),
                    (true, None) => "—".to_owned(),
                },
            );
        }
    }
    o
}

/// The roadmap as pretty JSON.
pub fn json(rows: &[RoadmapRow]) -> String {
    serde_json::to_string_pretty(rows).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ConcernRow, Decision, StageTransition, StoryLink, StoryState};

    fn snap(number: u64, stage: Stage, accepted_ms: Option<i64>) -> ConcernSnapshot {
        ConcernSnapshot {
            concern: ConcernRow {
                repo: "acme/c".into(),
                number,
                issue_id: number,
                stage,
                tracking_comment_id: None,
                epic_key: Some(format!("SRE-{number}")),
                epic_url: None,
                last_error: None,
                updated_at: 0,
                progress: None,
                results: (stage == Stage::ResultsPresented)
                    .then(|| "=p99: 900 ms → 300 ms, \"fast\"".to_owned()),
                results_at: None,
                issue_state: None,
                synced_hash: None,
            },
            history: vec![StageTransition {
                from: None,
                to: Stage::Ready,
                cause: "criteria".into(),
                actor: None,
                at_ms: 0,
            }],
            decisions: accepted_ms
                .map(|at| Decision {
                    kind: DecisionKind::Accept,
                    actor: "carol".into(),
                    decided_at: at,
                })
                .into_iter()
                .collect(),
            stories: vec![StoryLink {
                team: "payments".into(),
                story_key: "PAY-1".into(),
                story_url: "u".into(),
                state: StoryState {
                    progress: Some(if number == 2 {
                        crate::tracker::Progress::Done
                    } else {
                        crate::tracker::Progress::Todo
                    }),
                    ..StoryState::default()
                },
            }],
        }
    }

    fn at() -> Timestamp {
        Timestamp::from_millisecond(10 * 86_400_000).unwrap()
    }

    #[test]
    fn only_accepted_concerns_by_state_and_quarter() {
        let cs = [
            snap(1, Stage::Ready, None),
            snap(2, Stage::ResultsPresented, Some(0)),
            snap(3, Stage::InProgress, Some(100 * 86_400_000)),
            snap(4, Stage::Rejected, None),
            snap(5, Stage::StoriesCreated, Some(0)),
        ];
        let r = rows(&cs, &BTreeMap::new(), at(), &TimeZone::UTC);
        assert_eq!(
            r.iter()
                .map(|r| (r.number, r.state, r.quarter_decided.as_deref()))
                .collect::<Vec<_>>(),
            [
                (5, "accepted", Some("1970-Q1")),
                (3, "in progress", Some("1970-Q2")),
                (2, "results presented", Some("1970-Q1")),
            ]
        );
        assert_eq!(r[0].lead_time_days, 10.0, "not done: up to `at`");
        assert_eq!((r[2].stories_done, r[2].stories_total), (1, 1));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let cs = [snap(2, Stage::ResultsPresented, Some(0))];
        let out = csv(&rows(&cs, &BTreeMap::new(), at(), &TimeZone::UTC));
        let line = out.lines().nth(1).expect("row");
        assert!(
            line.ends_with(
                ",carol,\"'=p99: 900 ms → 300 ms, \"\"fast\"\"\",\"'=p99: 900 ms → 300 ms, -600 ms (-66.7%)\""
            ),
            "{line}"
        );
        assert!(out.contains("\r\n"));
    }

    #[test]
    fn markdown_has_a_table_per_state() {
        let cs = [snap(3, Stage::InProgress, Some(0))];
        let md = markdown(&rows(&cs, &BTreeMap::new(), at(), &TimeZone::UTC));
        assert!(md.contains("## in progress (1)"));
        assert!(
            md.contains("| 1970-Q1 | acme/c#3 | payments | 0/1 | 10 d | SRE-3 | — |"),
            "{md}"
        );
        assert!(md.contains("## accepted (0)\n\n_Nothing._"));
    }

    #[test]
    fn results_are_read_into_figures_with_their_change() {
        let mut c = snap(2, Stage::ResultsPresented, Some(0));
        c.concern.results = Some(
            "| Metric | Before | After |\n|---|---|---|\n| p99 | 900 ms | 300 ms |\n\
             - availability: 99.82% -> 99.97%"
                .into(),
        );
        let r = rows(&[c], &BTreeMap::new(), at(), &TimeZone::UTC);
        assert_eq!(r[0].figures.len(), 2);
        assert_eq!(r[0].figures[0].change, -600.0);
        let md = markdown(&r);
        assert!(
            md.contains("p99: 900 ms → 300 ms, -600 ms (-66.7%); availability: 99.82% → 99.97%, +0.15 pp (+0.2%)"),
            "{md}"
        );
        let js = json(&r);
        assert!(js.contains("\"change_percent\": -66.66"), "{js}");
        assert!(js.contains("\"metric\": \"p99\""), "{js}");
    }

    #[test]
    fn lead_time_ends_at_done_even_when_the_engine_went_straight_to_results_requested() {
        let mut c = snap(4, Stage::ResultsRequested, Some(0));
        c.history.push(StageTransition {
            from: Some(Stage::StoriesCreated),
            to: Stage::ResultsRequested,
            cause: "tracker".into(),
            actor: None,
            at_ms: 5 * 86_400_000,
        });
        let r = rows(&[c], &BTreeMap::new(), at(), &TimeZone::UTC);
        assert_eq!(r[0].lead_time_days, 5.0, "not counted on to `at` (10 d)");
    }
}
