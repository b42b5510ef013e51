//! What the board shows, built from the store's snapshot and the issues' summaries. Pure:
//! no I/O, so it is unit-tested and benchmarked without a server.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::agenda::model::{IssueKey, IssueSummary};
use crate::concern::figures::{self, Figure};
use crate::council::{DecisionKind, Stage};
use crate::metrics::{Step, lead_times};
use crate::store::ConcernSnapshot;

/// The board's columns, in the order of a concern's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// The criteria check found answers missing.
    NeedsInfo,
    /// Complete, waiting for the council: the next agenda.
    Ready,
    /// Accepted: epic and stories being made or worked on.
    InFlight,
    /// Every story done; the council waits for before/after figures.
    AwaitingResults,
    /// Results presented to the council.
    ResultsPresented,
}

impl ColumnKind {
    /// Every column, left to right.
    pub const ALL: [ColumnKind; 5] = [
        ColumnKind::NeedsInfo,
        ColumnKind::Ready,
        ColumnKind::InFlight,
        ColumnKind::AwaitingResults,
        ColumnKind::ResultsPresented,
    ];

    /// The column of a stage; `None` for rejected and out-of-scope concerns (off the board:
    /// not the council's work).
    pub fn of(stage: Stage) -> Option<ColumnKind> {
        Some(match stage {
            Stage::NeedsInfo => ColumnKind::NeedsInfo,
            Stage::Ready => ColumnKind::Ready,
            Stage::Accepted
            | Stage::Vetted
            | Stage::EpicCreated
            | Stage::StoriesCreated
            | Stage::InProgress => ColumnKind::InFlight,
            Stage::Done | Stage::ResultsRequested => ColumnKind::AwaitingResults,
            Stage::ResultsPresented => ColumnKind::ResultsPresented,
            Stage::Rejected | Stage::OutOfScope => return None,
        })
    }

    /// A stable id (HTML ids, tests).
    pub fn id(self) -> &'static str {
        match self {
            ColumnKind::NeedsInfo => "needs-info",
            ColumnKind::Ready => "ready",
            ColumnKind::InFlight => "in-flight",
            ColumnKind::AwaitingResults => "awaiting-results",
            ColumnKind::ResultsPresented => "results-presented",
        }
    }

    /// The column's heading.
    pub fn title(self) -> &'static str {
        match self {
            ColumnKind::NeedsInfo => "Needs info",
            ColumnKind::Ready => "Ready — next agenda",
            ColumnKind::InFlight => "Accepted / in progress",
            ColumnKind::AwaitingResults => "Done, awaiting results",
            ColumnKind::ResultsPresented => "Results presented",
        }
    }
}

/// One concern on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// `owner/name`.
    pub repo: String,
    /// Issue number.
    pub number: u64,
    /// The issue's title, when GitHub could be read.
    pub title: Option<String>,
    /// Who opened it, when GitHub could be read.
    pub author: Option<String>,
    /// Link to the GitHub issue.
    pub issue_url: String,
    /// The stage in words (`in progress`, `epic created`…), shown as text, never as colour.
    pub stage: &'static str,
    /// Teams with a story (or named in the concern before there are stories).
    pub teams: Vec<String>,
    /// Epic key and link, once created.
    pub epic: Option<(String, Option<String>)>,
    /// Stories done and in all, once there are stories.
    pub progress: Option<(usize, usize)>,
    /// When the concern reached its current stage (ms since the epoch).
    pub since_ms: i64,
    /// Figures read from its results.
    pub figures: Vec<Figure>,
}

/// A column and its cards (oldest in the stage first).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Which column.
    pub kind: ColumnKind,
    /// Its cards.
    pub cards: Vec<Card>,
}

/// The median duration of one step over the concerns that completed it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTime {
    /// The step.
    pub step: Step,
    /// Its label (`opened → ready`).
    pub label: &'static str,
    /// Median in days, when any concern completed the step.
    pub median_days: Option<f64>,
    /// How many concerns completed it.
    pub count: usize,
}

/// Accepted and rejected decisions in all, and the share accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Acceptance {
    /// Concerns accepted.
    pub accepted: usize,
    /// Concerns rejected.
    pub rejected: usize,
}

impl Acceptance {
    /// Accepted out of decided, in percent; `None` before any decision.
    pub fn rate_percent(&self) -> Option<f64> {
        let n = self.accepted + self.rejected;
        (n > 0).then(|| self.accepted as f64 * 100.0 / n as f64)
    }
}

/// The whole board.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    /// The five columns, left to right.
    pub columns: Vec<Column>,
    /// One entry per step, in life order.
    pub lead_times: Vec<LeadTime>,
    /// The council's acceptance rate.
    pub acceptance: Acceptance,
    /// The quarter shown in the results section (`2026-Q4`).
    pub quarter: String,
    /// Concerns whose results were presented this quarter, with figures.
    pub results_this_quarter: Vec<Card>,
    /// When the next session starts, when `[agenda]` gives the cadence (already formatted).
    pub next_session: Option<String>,
    /// When the board was made (formatted in the council's time zone).
    pub generated: String,
}

/// What [`build`] reads.
pub struct BoardInput<'a> {
    /// The store's snapshot.
    pub concerns: &'a [ConcernSnapshot],
    /// Titles etc. of the issues GitHub gave.
    pub issues: &'a BTreeMap<IssueKey, IssueSummary>,
    /// Now.
    pub at: Timestamp,
    /// The council's time zone (quarters, dates).
    pub tz: &'a TimeZone,
    /// The next session's start, when known.
    pub next_session: Option<Timestamp>,
}

/// A step's label, with the arrows people read on the board.
pub fn step_label(step: Step) -> &'static str {
    match step {
        Step::OpenedToReady => "opened → ready",
        Step::ReadyToDecided => "ready → decided",
        Step::DecidedToEpic => "decided → epic",
        Step::EpicToStarted => "epic → first story started",
        Step::StartedToDone => "started → done",
        Step::DoneToResults => "done → results",
    }
}

fn quarter_of(t: Timestamp, tz: &TimeZone) -> String {
    let d = t.to_zoned(tz.clone());
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::NeedsInfo => "needs info",
        Stage::Ready => "ready",
        Stage::Rejected => "rejected",
        Stage::OutOfScope => "out of scope",
        Stage::Accepted => "accepted",
        Stage::Vetted => "vetted",
        Stage::EpicCreated => "epic created",
        Stage::StoriesCreated => "stories created",
        Stage::InProgress => "in progress",
        Stage::Done => "done",
        Stage::ResultsRequested => "results requested",
        Stage::ResultsPresented => "results presented",
    }
}

fn card(c: &ConcernSnapshot, issues: &BTreeMap<IssueKey, IssueSummary>) -> Card {
    let row = &c.concern;
    let issue = issues.get(&(row.repo.clone(), row.number));
    let done = c
        .stories
        .iter()
        .filter(|s| s.state.progress == Some(crate::tracker::Progress::Done))
        .count();
    let teams = if c.stories.is_empty() {
        issue.map(|i| i.teams.clone()).unwrap_or_default()
    } else {
        c.stories.iter().map(|s| s.team.clone()).collect()
    };
    Card {
        repo: row.repo.clone(),
        number: row.number,
        title: issue.map(|i| i.title.clone()),
        author: issue.map(|i| i.author.clone()),
        issue_url: issue.map_or_else(
            || format!("https://github.com/{}/issues/{}", row.repo, row.number),
            |i| i.url.clone(),
        ),
        stage: stage_words(row.stage),
        teams,
        epic: row.epic_key.clone().map(|k| (k, row.epic_url.clone())),
        progress: (!c.stories.is_empty()).then_some((done, c.stories.len())),
        since_ms: c.history.last().map_or(row.updated_at, |t| t.at_ms),
        figures: row
            .results
            .as_deref()
            .map(figures::parse)
            .unwrap_or_default(),
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The board of `input`.
pub fn build(input: &BoardInput<'_>) -> Board {
    let mut columns: Vec<Column> = ColumnKind::ALL
        .into_iter()
        .map(|kind| Column {
            kind,
            cards: Vec::new(),
        })
        .collect();
    let mut durations: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut acceptance = Acceptance {
        accepted: 0,
        rejected: 0,
    };
    let quarter = quarter_of(input.at, input.tz);
    let mut results_this_quarter = Vec::new();
    for c in input.concerns {
        for (step, secs) in lead_times(c) {
            durations
                .entry(step.as_str())
                .or_default()
                .push(secs / 86_400.0);
        }
        // The latest accept or reject is the concern's decision (a reversal counts once).
        if let Some(d) = c
            .decisions
            .iter()
            .rev()
            .find(|d| d.kind != DecisionKind::Vet)
        {
            match d.kind {
                DecisionKind::Accept => acceptance.accepted += 1,
                _ => acceptance.rejected += 1,
            }
        }
        let Some(kind) = ColumnKind::of(c.concern.stage) else {
            continue;
        };
        let card = card(c, input.issues);
        if kind == ColumnKind::ResultsPresented
            && c.concern
                .results_at
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .is_some_and(|t| quarter_of(t, input.tz) == quarter)
        {
            results_this_quarter.push(card.clone());
        }
        if let Some(col) = columns.iter_mut().find(|col| col.kind == kind) {
            col.cards.push(card);
        }
    }
    for col in &mut columns {
        col.cards
            .sort_by(|a, b| (a.since_ms, &a.repo, a.number).cmp(&(b.since_ms, &b.repo, b.number)));
    }
    let fmt = |t: Timestamp| {
        t.to_zoned(input.tz.clone())
            .strftime("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    };
    Board {
        columns,
        lead_times: Step::ALL
            .into_iter()
            .map(|step| {
                let v = durations.remove(step.as_str()).unwrap_or_default();
                LeadTime {
                    step,
                    label: step_label(step),
                    count: v.len(),
                    median_days: median(v),
                }
            })
            .collect(),
        acceptance,
        quarter,
        results_this_quarter,
        next_session: input.next_session.map(fmt),
        generated: fmt(input.at),
    }
}
