//! `GET /metrics` in Prometheus' text format, on the main port (where Prometheus scrapes).
//!
//! Two kinds of figures, both with low-cardinality labels only (stage, kind, step, state,
//! reason; never an issue number or title):
//! * event counters recorded where they happen through the `metrics` facade (rejected
//!   webhook deliveries by reason), rendered by `metrics-exporter-prometheus`;
//! * the council's state read from the store at scrape time (concerns by stage, decisions
//!   by kind, outbox depth and oldest age, inbox backlog) and lead-time histograms computed
//!   from `stage_transitions`: durable and shared, so every replica reports the same and a
//!   restart loses nothing. The history only grows, so the histogram counts only grow too,
//!   as Prometheus expects of a histogram.

pub mod api;

use std::fmt::Write;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::council::Stage;
use crate::store::{ConcernSnapshot, Store, StoreError, now_ms};

/// Upper bounds (seconds) of the lead-time buckets: 1 h, 4 h, 1 d, 3 d, 1 w, 2 w, 30 d,
/// 90 d. A council meeting every other week decides in days to weeks; stories take weeks
/// to a quarter.
pub const LEAD_TIME_BUCKETS: [f64; 8] = [
    3_600.0,
    14_400.0,
    86_400.0,
    259_200.0,
    604_800.0,
    1_209_600.0,
    2_592_000.0,
    7_776_000.0,
];

/// One step of a concern's life whose duration is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// First recorded → first ready.
    OpenedToReady,
    /// First ready → accepted or rejected.
    ReadyToDecided,
    /// Accepted → epic created.
    DecidedToEpic,
    /// Epic created → first story started.
    EpicToStarted,
    /// First story started → every story done.
    StartedToDone,
    /// Done → results presented.
    DoneToResults,
}

impl Step {
    /// Every step, in life order.
    pub const ALL: [Step; 6] = [
        Step::OpenedToReady,
        Step::ReadyToDecided,
        Step::DecidedToEpic,
        Step::EpicToStarted,
        Step::StartedToDone,
        Step::DoneToResults,
    ];

    /// The `step` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::OpenedToReady => "opened_to_ready",
            Step::ReadyToDecided => "ready_to_decided",
            Step::DecidedToEpic => "decided_to_epic",
            Step::EpicToStarted => "epic_to_started",
            Step::StartedToDone => "started_to_done",
            Step::DoneToResults => "done_to_results",
        }
    }

    /// The stages that start and end the step: a milestone is reached by the first
    /// transition to it *or to any later stage of the life*, because the engine may skip
    /// one (stories that go straight to done never pass `in-progress`; a done concern whose
    /// results are asked for at once goes to `results-requested`, never `done`).
    fn bounds(self) -> (&'static [Stage], &'static [Stage]) {
        match self {
            Step::OpenedToReady => (&[], READY_OR_LATER),
            Step::ReadyToDecided => (READY_OR_LATER, DECIDED_OR_LATER),
            Step::DecidedToEpic => (ACCEPTED_OR_LATER, EPIC_OR_LATER),
            Step::EpicToStarted => (EPIC_OR_LATER, STARTED_OR_LATER),
            Step::StartedToDone => (STARTED_OR_LATER, DONE_OR_LATER),
            Step::DoneToResults => (DONE_OR_LATER, &[Stage::ResultsPresented]),
        }
    }
}

/// Stages at or past "every story done".
pub const DONE_OR_LATER: &[Stage] = &[
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];
/// Stages at or past "a story started".
const STARTED_OR_LATER: &[Stage] = &[
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];
/// Stages at or past "epic created".
const EPIC_OR_LATER: &[Stage] = &[
    Stage::EpicCreated,
    Stage::StoriesCreated,
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];
/// Stages at or past "accepted".
const ACCEPTED_OR_LATER: &[Stage] = &[
    Stage::Accepted,
    Stage::Vetted,
    Stage::EpicCreated,
    Stage::StoriesCreated,
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];
/// Stages at or past "decided" (accepted or rejected).
const DECIDED_OR_LATER: &[Stage] = &[
    Stage::Rejected,
    Stage::Accepted,
    Stage::Vetted,
    Stage::EpicCreated,
    Stage::StoriesCreated,
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];
/// Stages at or past "ready for the council".
const READY_OR_LATER: &[Stage] = &[
    Stage::Ready,
    Stage::Rejected,
    Stage::Accepted,
    Stage::Vetted,
    Stage::EpicCreated,
    Stage::StoriesCreated,
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];

/// When the concern first reached any of `stages` (ms since the epoch).
pub fn first_reached(c: &ConcernSnapshot, stages: &[Stage]) -> Option<i64> {
    c.history
        .iter()
        .find(|t| stages.contains(&t.to))
        .map(|t| t.at_ms)
}

/// The completed steps of one concern with their durations in seconds. A step counts once
/// its end was reached after its start; the start of `OpenedToReady` is the first history
/// row (when the daemon first recorded the concern).
pub fn lead_times(c: &ConcernSnapshot) -> Vec<(Step, f64)> {
    let first = |stages: &[Stage]| first_reached(c, stages);
    Step::ALL
        .into_iter()
        .filter_map(|step| {
            let (from, to) = step.bounds();
            let start = if from.is_empty() {
                c.history.first().map(|t| t.at_ms)
            } else {
                first(from)
            }?;
            let end = first(to)?;
            (end >= start).then(|| (step, (end - start) as f64 / 1000.0))
        })
        .collect()
}

/// Appends the lead-time histograms in Prometheus text format.
pub fn render_lead_times(out: &mut String, concerns: &[ConcernSnapshot]) {
    let _ = writeln!(
        out,
        "# HELP council_sync_lead_time_seconds Time each step of a concern's life took, from stage_transitions."
    );
    let _ = writeln!(out, "# TYPE council_sync_lead_time_seconds histogram");
    let all: Vec<(Step, f64)> = concerns.iter().flat_map(lead_times).collect();
    for step in Step::ALL {
        let values: Vec<f64> = all
            .iter()
            .filter(|(s, _)| *s == step)
            .map(|(_, v)| *v)
            .collect();
        let s = step.as_str();
        for le in LEAD_TIME_BUCKETS {
            let n = values.iter().filter(|v| **v <= le).count();
            let _ = writeln!(
                out,
                "council_sync_lead_time_seconds_bucket{{step=\"{s}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "council_sync_lead_time_seconds_bucket{{step=\"{s}\",le=\"+Inf\"}} {}",
            values.len()
        );
        let _ = writeln!(
            out,
            "council_sync_lead_time_seconds_sum{{step=\"{s}\"}} {}",
            values.iter().sum::<f64>()
        );
        let _ = writeln!(
            out,
            "council_sync_lead_time_seconds_count{{step=\"{s}\"}} {}",
            values.len()
        );
    }
}

/// Histogram of webhook-to-action lag: from a delivery stored (202) to the engine having
/// decided it and queued its writes (the outbox's own age gauge covers the writes after).
pub const WEBHOOK_LAG: &str = "council_sync_webhook_to_action_seconds";

/// Bucket bounds (seconds) of [`WEBHOOK_LAG`]: 50 ms to 10 min. A caught-up daemon acts
/// in well under a second; minutes mean a backlog or an upstream outage.
pub const WEBHOOK_LAG_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 600.0];

/// Records the lag of one delivery decided now that was stored at `received_ms`;
/// `source` is `github` or `jira`.
pub fn observe_webhook_lag(source: &'static str, received_ms: i64) {
    let secs = (now_ms() - received_ms).max(0) as f64 / 1000.0;
    metrics::histogram!(WEBHOOK_LAG, "source" => source).record(secs);
}

/// Name of the counter of deliveries answered but not acted on.
pub const WEBHOOK_IGNORED: &str = "council_sync_webhook_ignored_total";

/// Counts a webhook delivery answered 202 but not acted on: `source` is `github` or
/// `tracker`; `reason` is `event` (a kind the sync does not use), `scope` (a repository or
/// project not configured) or `scope_left` (stored, then its repository left the scope).
pub fn count_ignored(source: &'static str, reason: &'static str) {
    metrics::counter!(WEBHOOK_IGNORED, "source" => source, "reason" => reason).increment(1);
}

/// Name of the counter of deliveries handled as part of an earlier delivery's run.
pub const WEBHOOK_COALESCED: &str = "council_sync_webhook_coalesced_total";

/// Counts `n` deliveries (edits of an issue) handled by the reading and decision of an
/// earlier delivery of the same issue in the same inbox round (`engine::coalesce`).
pub fn count_coalesced(n: usize) {
    metrics::counter!(WEBHOOK_COALESCED).increment(n as u64);
}

/// Counts a webhook delivery refused before it was stored.
pub fn count_rejected(reason: &'static str) {
    metrics::counter!("council_sync_webhook_rejected_total", "reason" => reason).increment(1);
}

/// The process's Prometheus recorder, installed on first use. If another recorder was
/// installed first (a test harness), the handle still renders, just without our events.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        // Histograms are rendered with these buckets (the exporter's default is a summary).
        let builder = match builder.set_buckets_for_metric(
            Matcher::Full(WEBHOOK_LAG.to_owned()),
            &WEBHOOK_LAG_BUCKETS,
        ) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "webhook lag buckets refused");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; event counters go there");
        }
        metrics::describe_counter!(
            crate::store::STORE_COMMITS,
            "Commits of the store, by whether they waited for the disk (sync: full, relaxed)."
        );
        metrics::describe_counter!(
            "council_sync_webhook_rejected_total",
            "Webhook deliveries refused before they were stored, by reason."
        );
        metrics::describe_counter!(
            WEBHOOK_IGNORED,
            "Webhook deliveries answered but not acted on, by source and reason (event, scope, scope_left)."
        );
        metrics::describe_counter!(
            WEBHOOK_COALESCED,
            "Webhook deliveries (edits) handled by one reading and decision of an earlier edit of the same issue."
        );
        metrics::describe_counter!(
            api::API_CALLS,
            "Calls to GitHub and Jira by host, templated route, method and status (error: no answer)."
        );
        metrics::describe_gauge!(
            api::RATE_LIMIT_REMAINING,
            "Rate limit left as the host last reported it (x-ratelimit-remaining), by host and resource."
        );
        metrics::describe_histogram!(
            WEBHOOK_LAG,
            metrics::Unit::Seconds,
            "Time from a webhook delivery being stored to the engine having decided it and queued its writes, by source."
        );
        handle
    })
}

/// Installs the recorder (call once at start-up, so counters count from the start).
pub fn install() {
    let _ = handle();
}

/// The event counters recorded so far (API calls, rate limits, rejected deliveries, webhook
/// lag) in Prometheus' text format, without the store's figures.
pub fn render_events() -> String {
    handle().render()
}

fn gauge_family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    rows: &[(String, i64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (value, n) in rows {
        let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

/// The store's part of the page.
pub async fn render_store(store: &Store) -> Result<String, StoreError> {
    let counts = store.metric_counts().await?;
    let concerns = store.council_snapshot().await?;
    let mut out = String::new();
    // Every stage, zeros included, so a dashboard never sees a series vanish.
    let stages: Vec<(String, i64)> = Stage::ALL
        .into_iter()
        .map(|st| {
            let n = counts
                .stages
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map_or(0, |(_, n)| *n);
            (st.as_str().to_owned(), n)
        })
        .collect();
    gauge_family(
        &mut out,
        "council_sync_concerns",
        "gauge",
        "Concerns by stage.",
        "stage",
        &stages,
    );
    gauge_family(
        &mut out,
        "council_sync_decisions_total",
        "counter",
        "Council decisions recorded, by kind.",
        "kind",
        &counts.decisions,
    );
    gauge_family(
        &mut out,
        "council_sync_outbox_jobs",
        "gauge",
        "Outbox writes by state.",
        "state",
        &counts.outbox,
    );
    let age = counts
        .oldest_pending_ms
        .map_or(0.0, |t| (now_ms() - t).max(0) as f64 / 1000.0);
    let _ = writeln!(
        out,
        "# HELP council_sync_outbox_oldest_age_seconds Age of the oldest write still to make (0 when none).\n\
         # TYPE council_sync_outbox_oldest_age_seconds gauge\ncouncil_sync_outbox_oldest_age_seconds {age}"
    );
    let _ = writeln!(
        out,
        "# HELP council_sync_inbox_pending Webhook deliveries stored but not processed yet.\n\
         # TYPE council_sync_inbox_pending gauge\ncouncil_sync_inbox_pending {}",
        counts.inbox_pending
    );
    render_lead_times(&mut out, &concerns);
    Ok(out)
}

async fn serve(State(store): State<Store>) -> Response {
    match render_store(&store).await {
        Ok(mut page) => {
            page.push_str(&handle().render());
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                page,
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

/// `GET /metrics`, to merge into the main router.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/metrics", get(serve))
        .with_state(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ConcernRow, StageTransition};

    fn t(to: Stage, at_ms: i64) -> StageTransition {
        StageTransition {
            from: None,
            to,
            cause: "criteria".into(),
            actor: None,
            at_ms,
        }
    }

    fn concern(history: Vec<StageTransition>) -> ConcernSnapshot {
        ConcernSnapshot {
            concern: ConcernRow {
                repo: "acme/ops".into(),
                number: 1,
                issue_id: 1,
                stage: history.last().map_or(Stage::NeedsInfo, |h| h.to),
                tracking_comment_id: None,
                epic_key: None,
                epic_url: None,
                last_error: None,
                updated_at: 0,
                progress: None,
                results: None,
                results_at: None,
                issue_state: None,
                synced_hash: None,
            },
            history,
            decisions: Vec::new(),
            stories: Vec::new(),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn each_step_is_measured_from_its_first_start_to_its_first_end() {
        let c = concern(vec![
            t(Stage::NeedsInfo, 0),
            t(Stage::Ready, 2 * H),
            t(Stage::NeedsInfo, 3 * H),
            t(Stage::Ready, 5 * H),
            t(Stage::Accepted, 29 * H),
            t(Stage::EpicCreated, 29 * H + 1000),
            t(Stage::StoriesCreated, 29 * H + 2000),
        ]);
        assert_eq!(
            lead_times(&c),
            [
                (Step::OpenedToReady, 7_200.0),
                (Step::ReadyToDecided, 27.0 * 3_600.0),
                (Step::DecidedToEpic, 1.0),
            ]
        );
    }

    #[test]
    fn a_rejection_ends_the_decision_step_and_nothing_after() {
        let c = concern(vec![t(Stage::Ready, 0), t(Stage::Rejected, H)]);
        assert_eq!(
            lead_times(&c),
            [(Step::OpenedToReady, 0.0), (Step::ReadyToDecided, 3_600.0)]
        );
    }

    #[test]
    fn a_skipped_stage_still_ends_and_starts_its_steps() {
        // Stories straight to done, results asked at once: no `in-progress`, no `done` row.
        let c = concern(vec![
            t(Stage::Ready, 0),
            t(Stage::Accepted, H),
            t(Stage::EpicCreated, 2 * H),
            t(Stage::StoriesCreated, 3 * H),
            t(Stage::ResultsRequested, 10 * H),
            t(Stage::ResultsPresented, 30 * H),
        ]);
        assert_eq!(
            lead_times(&c),
            [
                (Step::OpenedToReady, 0.0),
                (Step::ReadyToDecided, 3_600.0),
                (Step::DecidedToEpic, 3_600.0),
                (Step::EpicToStarted, 8.0 * 3_600.0),
                (Step::StartedToDone, 0.0),
                (Step::DoneToResults, 20.0 * 3_600.0),
            ]
        );
        // Accepted straight from needs-info: the decision also marks "ready".
        let d = concern(vec![t(Stage::NeedsInfo, 0), t(Stage::Accepted, H)]);
        assert_eq!(
            lead_times(&d),
            [(Step::OpenedToReady, 3_600.0), (Step::ReadyToDecided, 0.0)]
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_low_cardinality() {
        let cs = [
            concern(vec![t(Stage::NeedsInfo, 0), t(Stage::Ready, H)]),
            concern(vec![t(Stage::NeedsInfo, 0), t(Stage::Ready, 48 * H)]),
        ];
        let mut out = String::new();
        render_lead_times(&mut out, &cs);
        assert!(out.contains(
            "council_sync_lead_time_seconds_bucket{step=\"opened_to_ready\",le=\"3600\"} 1"
        ));
        assert!(out.contains(
            "council_sync_lead_time_seconds_bucket{step=\"opened_to_ready\",le=\"259200\"} 2"
        ));
        assert!(out.contains("council_sync_lead_time_seconds_count{step=\"opened_to_ready\"} 2"));
        assert!(out.contains("council_sync_lead_time_seconds_count{step=\"done_to_results\"} 0"));
        assert!(!out.contains("acme/ops"), "no issue in a label");
    }
}
