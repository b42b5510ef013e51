//! What goes on the agenda of one session, worked out from the store's snapshot: pure, so
//! every rule (what is new, what is stuck) is a unit test. The issues' own words (title,
//! author, answers) come in as [`IssueSummary`]s read from GitHub by `gather`.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::cadence::Session;
use crate::council::{DecisionKind, Stage};
use crate::store::{ConcernSnapshot, FailedWrite};

/// A concern's key: `owner/name` and issue number.
pub type IssueKey = (String, u64);

/// What GitHub says about an issue, cut down to what the agenda shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueSummary {
    /// The issue's title.
    pub title: String,
    /// Who opened it.
    pub author: String,
    /// Link for people.
    pub url: String,
    /// Teams named in the concern.
    pub teams: Vec<String>,
    /// The first lines of each of the three answers, in the form's order.
    pub answers: Vec<Answer>,
    /// The first lines of "How will we measure the improvement?", when answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<Answer>,
}

/// The start of one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The question as the issue form words it.
    pub question: String,
    /// Its first lines (`[agenda] answer_lines`), with `…` when cut.
    pub excerpt: String,
}

/// An issue as listed: its key, and its title etc. when GitHub could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssueRef {
    /// `owner/name`.
    pub repo: String,
    /// Issue number.
    pub number: u64,
    /// What GitHub says, `None` when it could not be read (see [`Agenda::warnings`]).
    #[serde(flatten)]
    pub issue: Option<IssueSummary>,
}

/// The session the agenda is for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    /// 1 for the first session.
    pub number: i64,
    /// When it starts.
    pub starts_at: Timestamp,
    /// The council's IANA time zone.
    pub time_zone: String,
    /// When the session before started: "since the last session" means since then.
    pub since: Option<Timestamp>,
    /// The instant the agenda was worked out for.
    pub as_of: Timestamp,
}

/// A concern waiting for the council's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadyItem {
    /// The concern.
    #[serde(flatten)]
    pub concern: IssueRef,
    /// When it last became ready.
    pub ready_since: Timestamp,
    /// Whether it became ready since the last session (else it is carried over).
    pub new: bool,
}

/// A decision taken since the last session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionItem {
    /// The concern.
    #[serde(flatten)]
    pub concern: IssueRef,
    /// `accept`, `reject` or `vet`.
    pub kind: &'static str,
    /// The council member's login.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// One team's story of an epic in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryItem {
    /// Team name.
    pub team: String,
    /// Tracker key.
    pub key: String,
    /// Browser URL.
    pub url: String,
    /// Tracker status name, once seen.
    pub status: Option<String>,
    /// Sprint (iteration), once assigned.
    pub sprint: Option<String>,
    /// Whether the tracker counts it done (status category `done`).
    pub done: bool,
}

/// An accepted concern whose epic is being worked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpicItem {
    /// The concern.
    #[serde(flatten)]
    pub concern: IssueRef,
    /// Where it stands.
    pub stage: &'static str,
    /// Epic key, once created.
    pub epic_key: Option<String>,
    /// Epic URL, once created.
    pub epic_url: Option<String>,
    /// Stories done.
    pub done: usize,
    /// Stories in all.
    pub total: usize,
    /// Each team's story.
    pub stories: Vec<StoryItem>,
}

/// A concern whose stories are done, waiting for its before/after figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwaitingItem {
    /// The concern.
    #[serde(flatten)]
    pub concern: IssueRef,
    /// Epic key.
    pub epic_key: Option<String>,
    /// Since when every story is done (the move to `done`).
    pub done_since: Option<Timestamp>,
}

/// Results recorded since the last session, to present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultItem {
    /// The concern.
    #[serde(flatten)]
    pub concern: IssueRef,
    /// Epic key.
    pub epic_key: Option<String>,
    /// The figures as the team wrote them (Markdown).
    pub results: String,
    /// When they were recorded.
    pub recorded_at: Timestamp,
}

/// Why something is stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StuckReason {
    /// Waiting for its author's answers for longer than `[agenda] stuck_after`.
    NeedsInfo {
        /// Whole days since it needed information.
        days: i64,
    },
    /// A write the daemon gave up on.
    FailedStep {
        /// The step (`materialize`, `reply`, …).
        step: String,
        /// Why, as stored.
        error: Option<String>,
    },
    /// The last sync error shown on the tracking comment.
    SyncError {
        /// The error.
        error: String,
    },
}

/// Something that needs a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckItem {
    /// The concern, when the step names one.
    pub concern: Option<IssueRef>,
    /// Why.
    pub reason: StuckReason,
}

/// The agenda of one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agenda {
    /// Which session.
    pub session: SessionInfo,
    /// Concerns waiting for a decision, newest ready first.
    pub ready: Vec<ReadyItem>,
    /// Decisions since the last session, oldest first.
    pub decisions: Vec<DecisionItem>,
    /// Epics in flight.
    pub in_flight: Vec<EpicItem>,
    /// Done, awaiting before/after figures.
    pub awaiting_results: Vec<AwaitingItem>,
    /// Results recorded since the last session.
    pub results: Vec<ResultItem>,
    /// What needs a person.
    pub stuck: Vec<StuckItem>,
    /// Issues that could not be read from GitHub (listed without their title).
    pub warnings: Vec<String>,
}

/// Everything [`build`] needs.
#[derive(Debug)]
pub struct AgendaInput<'a> {
    /// The store's concerns.
    pub concerns: &'a [ConcernSnapshot],
    /// Writes the daemon gave up on.
    pub failed: &'a [FailedWrite],
    /// GitHub's view of the issues listed (may be partial).
    pub issues: &'a BTreeMap<IssueKey, IssueSummary>,
    /// The session.
    pub session: &'a Session,
    /// Now (or `--at`).
    pub at: Timestamp,
    /// `[agenda] stuck_after`.
    pub stuck_after: Duration,
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// When the concern last moved into `stage`, from its history.
fn entered(c: &ConcernSnapshot, stage: Stage) -> Option<i64> {
    c.history
        .iter()
        .rev()
        .find(|t| t.to == stage)
        .map(|t| t.at_ms)
}

impl AgendaInput<'_> {
    fn issue_ref(&self, repo: &str, number: u64) -> IssueRef {
        IssueRef {
            repo: repo.to_owned(),
            number,
            issue: self.issues.get(&(repo.to_owned(), number)).cloned(),
        }
    }

    fn since_ms(&self) -> i64 {
        self.session
            .previous
            .as_ref()
            .map_or(i64::MIN, |p| p.timestamp().as_millisecond())
    }
}

/// Works out the agenda. Only what happened at or before `at` counts, so an agenda for a
/// past date reads as it would have then (as far as the store's history allows).
pub fn build(input: &AgendaInput<'_>) -> Agenda {
    let at_ms = input.at.as_millisecond();
    let since = input.since_ms();
    let mut agenda = Agenda {
        session: SessionInfo {
            number: input.session.number,
            starts_at: input.session.starts.timestamp(),
            time_zone: input
                .session
                .starts
                .time_zone()
                .iana_name()
                .unwrap_or("UTC")
                .to_owned(),
            since: input.session.previous.as_ref().map(|p| p.timestamp()),
            as_of: input.at,
        },
        ready: Vec::new(),
        decisions: Vec::new(),
        in_flight: Vec::new(),
        awaiting_results: Vec::new(),
        results: Vec::new(),
        stuck: Vec::new(),
        warnings: Vec::new(),
    };
    for c in input.concerns {
        let row = &c.concern;
        let r = || input.issue_ref(&row.repo, row.number);
        for d in c
            .decisions
            .iter()
            .filter(|d| d.decided_at >= since && d.decided_at <= at_ms)
        {
            agenda.decisions.push(DecisionItem {
                concern: r(),
                kind: kind_name(d.kind),
                by: d.actor.clone(),
                at: ts(d.decided_at),
            });
        }
        match row.stage {
            Stage::Ready => {
                let ready_since = entered(c, Stage::Ready).unwrap_or(row.updated_at);
                agenda.ready.push(ReadyItem {
                    concern: r(),
                    ready_since: ts(ready_since),
                    new: ready_since >= since,
                });
            }
            Stage::NeedsInfo => {
                let from = entered(c, Stage::NeedsInfo).unwrap_or(row.updated_at);
                let waited = Duration::from_millis(u64::try_from(at_ms - from).unwrap_or(0));
                if waited > input.stuck_after {
                    agenda.stuck.push(StuckItem {
                        concern: Some(r()),
                        reason: StuckReason::NeedsInfo {
                            days: (at_ms - from) / 86_400_000,
                        },
                    });
                }
            }
            Stage::Accepted
            | Stage::Vetted
            | Stage::EpicCreated
            | Stage::StoriesCreated
            | Stage::InProgress => agenda.in_flight.push(epic_item(c, r(), row.stage)),
            Stage::Done | Stage::ResultsRequested => agenda.awaiting_results.push(AwaitingItem {
                concern: r(),
                epic_key: row.epic_key.clone(),
                // `results-requested` is done too: the engine may go there without `done`.
                done_since: entered(c, Stage::Done)
                    .or_else(|| entered(c, Stage::ResultsRequested))
                    .map(ts),
            }),
            Stage::ResultsPresented => {
                if let (Some(results), Some(at)) = (&row.results, row.results_at)
                    && at >= since
                    && at <= at_ms
                {
                    agenda.results.push(ResultItem {
                        concern: r(),
                        epic_key: row.epic_key.clone(),
                        results: results.clone(),
                        recorded_at: ts(at),
                    });
                }
            }
            // Routed elsewhere: never on the agenda (the member's routing, if any, shows
            // among the decisions above).
            Stage::Rejected | Stage::OutOfScope => {}
        }
        if let Some(error) = &row.last_error
            && !matches!(row.stage, Stage::Rejected | Stage::ResultsPresented)
        {
            agenda.stuck.push(StuckItem {
                concern: Some(r()),
                reason: StuckReason::SyncError {
                    error: error.clone(),
                },
            });
        }
    }
    for f in input.failed {
        agenda.stuck.push(StuckItem {
            concern: f
                .concern
                .as_ref()
                .map(|(repo, n)| input.issue_ref(repo, *n)),
            reason: StuckReason::FailedStep {
                step: f.kind.clone(),
                error: f.error.clone(),
            },
        });
    }
    agenda.ready.sort_by(|a, b| {
        b.ready_since
            .cmp(&a.ready_since)
            .then(a.concern.number.cmp(&b.concern.number))
    });
    agenda.decisions.sort_by_key(|d| d.at);
    agenda.warnings = agenda
        .keys()
        .into_iter()
        .filter(|k| !input.issues.contains_key(k))
        .map(|(repo, n)| format!("{repo}#{n}: not read from GitHub, listed without its title"))
        .collect();
    agenda
}

fn kind_name(k: DecisionKind) -> &'static str {
    k.as_str()
}

fn epic_item(c: &ConcernSnapshot, concern: IssueRef, stage: Stage) -> EpicItem {
    let stories: Vec<StoryItem> = c
        .stories
        .iter()
        .map(|s| StoryItem {
            team: s.team.clone(),
            key: s.story_key.clone(),
            url: s.story_url.clone(),
            status: s.state.status.clone(),
            sprint: s.state.sprint.clone(),
            done: s.state.progress == Some(crate::tracker::Progress::Done),
        })
        .collect();
    EpicItem {
        concern,
        stage: stage.as_str(),
        epic_key: c.concern.epic_key.clone(),
        epic_url: c.concern.epic_url.clone(),
        done: stories.iter().filter(|s| s.done).count(),
        total: stories.len(),
        stories,
    }
}

impl Agenda {
    /// Every issue the agenda lists, once each, in order: what `gather` reads from GitHub.
    pub fn keys(&self) -> Vec<IssueKey> {
        let refs = self
            .ready
            .iter()
            .map(|i| &i.concern)
            .chain(self.decisions.iter().map(|i| &i.concern))
            .chain(self.in_flight.iter().map(|i| &i.concern))
            .chain(self.awaiting_results.iter().map(|i| &i.concern))
            .chain(self.results.iter().map(|i| &i.concern))
            .chain(self.stuck.iter().filter_map(|i| i.concern.as_ref()));
        let mut seen = std::collections::BTreeSet::new();
        refs.filter_map(|r| {
            let k = (r.repo.clone(), r.number);
            seen.insert(k.clone()).then_some(k)
        })
        .collect()
    }
}
