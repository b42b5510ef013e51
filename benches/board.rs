//! The council board with 1,000 concerns: building the page model from the store's
//! snapshot and rendering the HTML (what `GET /` does after reading the store), timed over
//! repeated runs. Run by `scripts/bench` (README "Benchmarks"), alone with
//! `cargo bench --profile dev --bench board`. Knobs: `BENCH_BOARD_CONCERNS` (default 1000),
//! `BENCH_BOARD_RUNS` (default 50); with `BENCH_ROWS_OUT=FILE` the rows go to that file
//! (for `scripts/bench`'s one table) instead of a table of their own.
//!
//! It runs in the harness's own build (the dev profile, unoptimised, like the tests): an
//! upper bound of what the release binary takes. The issue's target: under 100 ms.
//!
//! A second figure reads the same concerns back from a SQLite store (`council_snapshot`,
//! what `GET /` reads first): rows, decisions and story links are written through the
//! store's API, the stage history (about 5 rows a concern; only the engine's transitions
//! write it) straight into its table.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use council_sync::agenda::model::{Answer, IssueSummary};
use council_sync::board::{BoardInput, build, render};
use council_sync::council::{DecisionKind, Stage};
use council_sync::store::{
    ConcernRow, ConcernSnapshot, Decision, StageTransition, StoryLink, StoryState,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

const DAY: i64 = 86_400_000;
const PATH: [Stage; 9] = [
    Stage::NeedsInfo,
    Stage::Ready,
    Stage::Accepted,
    Stage::EpicCreated,
    Stage::StoriesCreated,
    Stage::InProgress,
    Stage::Done,
    Stage::ResultsRequested,
    Stage::ResultsPresented,
];

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Concern `i`: somewhere along the life (a tenth rejected), with its history, decision,
/// 1–4 stories and, once presented, results in both shapes.
fn concern(i: usize, start: i64) -> ConcernSnapshot {
    let rejected = i % 10 == 9;
    let reach = if rejected { 2 } else { 1 + i % PATH.len() };
    let mut history: Vec<StageTransition> = PATH[..reach]
        .iter()
        .enumerate()
        .map(|(k, s)| StageTransition {
            from: None,
            to: *s,
            cause: "created".into(),
            actor: None,
            at_ms: start + k as i64 * 3 * DAY,
        })
        .collect();
    if rejected {
        history.push(StageTransition {
            from: Some(Stage::Ready),
            to: Stage::Rejected,
            cause: "reject".into(),
            actor: Some("carol".into()),
            at_ms: start + 5 * DAY,
        });
    }
    let stage = history.last().map_or(Stage::NeedsInfo, |t| t.to);
    let accepted = reach > 2 && !rejected;
    let teams = ["payments", "platform", "data", "identity"];
    let stories: Vec<StoryLink> = if reach > 4 {
        (0..1 + i % 4)
            .map(|k| StoryLink {
                team: teams[k].into(),
                story_key: format!("T{k}-{i}"),
                story_url: format!("https://jira.example.com/browse/T{k}-{i}"),
                state: StoryState {
                    progress: Some(if reach > 6 || k == 0 {
                        council_sync::tracker::Progress::Done
                    } else {
                        council_sync::tracker::Progress::Todo
                    }),
                    ..StoryState::default()
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    ConcernSnapshot {
        concern: ConcernRow {
            repo: "acme/sre-concerns".into(),
            number: i as u64 + 1,
            issue_id: i as u64 + 1,
            stage,
            tracking_comment_id: None,
            epic_key: (reach > 3).then(|| format!("SRE-{i}")),
            epic_url: (reach > 3).then(|| format!("https://jira.example.com/browse/SRE-{i}")),
            last_error: None,
            updated_at: start,
            progress: None,
            results: (stage == Stage::ResultsPresented).then(|| {
                "| Metric | Before | After |\n|---|---|---|\n| p99 latency | 900 ms | 300 ms |\n\n\
                 - incidents/month: 4 → 1\n- availability: 99.82% -> 99.97%"
                    .into()
            }),
            results_at: (stage == Stage::ResultsPresented).then_some(start + 24 * DAY),
            issue_state: None,
            synced_hash: None,
        },
        history,
        decisions: if accepted || rejected {
            vec![Decision {
                kind: if rejected {
                    DecisionKind::Reject
                } else {
                    DecisionKind::Accept
                },
                actor: "carol".into(),
                decided_at: start + 6 * DAY,
            }]
        } else {
            Vec::new()
        },
        stories,
    }
}

/// Writes `concerns` to a fresh SQLite store in `dir` and times `council_snapshot`.
async fn snapshot_read(
    concerns: &[ConcernSnapshot],
    runs: usize,
    dir: &std::path::Path,
) -> Vec<Duration> {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = council_sync::store::Store::open(&url)
        .await
        .expect("open store");
    for c in concerns {
        let r = &c.concern;
        store.upsert_concern(r).await.expect("concern");
        for d in &c.decisions {
            store
                .record_decision(&r.repo, r.number, d.kind, &d.actor, d.decided_at)
                .await
                .expect("decision");
        }
        for s in &c.stories {
            store
                .set_story_link(&r.repo, r.number, &s.team, &s.story_key, &s.story_url)
                .await
                .expect("link");
        }
    }
    // The stage history as the engine writes it (one row per transition, in the same
    // table and order); only the engine's transactions write it, so it goes in directly.
    let db = sqlx::SqlitePool::connect(&url).await.expect("open history");
    let mut tx = db.begin().await.expect("begin");
    let mut rows = 0;
    for c in concerns {
        let r = &c.concern;
        for h in &c.history {
            sqlx::query(
                "INSERT INTO stage_transitions (repo, number, from_stage, to_stage, cause, actor, at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&r.repo)
            .bind(r.number as i64)
            .bind(h.from.map(|s| s.as_str()))
            .bind(h.to.as_str())
            .bind(&h.cause)
            .bind(&h.actor)
            .bind(h.at_ms)
            .execute(&mut *tx)
            .await
            .expect("history row");
            rows += 1;
        }
    }
    tx.commit().await.expect("commit");
    db.close().await;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let snap = store.council_snapshot().await.expect("snapshot");
        assert_eq!(
            snap.iter().map(|c| c.history.len()).sum::<usize>(),
            rows,
            "every history row read back"
        );
        times.push(t.elapsed());
        assert_eq!(snap.len(), concerns.len());
    }
    store.close().await;
    times
}

fn main() {
    let n = env_num("BENCH_BOARD_CONCERNS", 1000);
    let runs = env_num("BENCH_BOARD_RUNS", 50).max(1);
    let at = Timestamp::now();
    let start = at.as_millisecond() - 60 * DAY;
    let concerns: Vec<ConcernSnapshot> = (0..n)
        .map(|i| concern(i, start + i as i64 * 60_000))
        .collect();
    let issues: BTreeMap<(String, u64), IssueSummary> = (0..n)
        .map(|i| {
            (
                ("acme/sre-concerns".to_owned(), i as u64 + 1),
                IssueSummary {
                    title: format!("Concern {i}: checkout <latency> & \"failover\" is manual"),
                    author: "alice".into(),
                    url: format!("https://github.com/acme/sre-concerns/issues/{}", i + 1),
                    teams: vec!["payments".into(), "data".into()],
                    answers: vec![Answer {
                        question: "Why is this SRE?".into(),
                        excerpt: "Pages every night.".into(),
                    }],
                    measure: None,
                },
            )
        })
        .collect();
    let tz = TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC);
    let once = || {
        render::page(&build(&BoardInput {
            concerns: &concerns,
            issues: &issues,
            at,
            tz: &tz,
            next_session: None,
        }))
    };
    let size = once().len(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(once());
            t.elapsed()
        })
        .collect();
    times.sort();
    let pick = |v: &[Duration], p: f64| {
        v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
    };
    let pct = |p: f64| pick(&times, p);
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut reads = rt.block_on(snapshot_read(&concerns, runs.min(20), dir.path()));
    reads.sort();
    // The profile the numbers come from: `cargo bench` builds optimised, `--profile dev`
    // does not.
    let profile = if cfg!(debug_assertions) {
        "dev profile (unoptimised)"
    } else {
        "optimised (bench profile)"
    };
    let rows = [
        format!(
            "| board: build + render, {n} concerns ({runs} runs, {} KB page) | p50 {} / p99 {} / max {} | target < 100 ms; {profile}, store read not included |",
            size / 1024,
            ms(pct(50.0)),
            ms(pct(99.0)),
            ms(times[runs - 1]),
        ),
        format!(
            "| board: store read (council_snapshot, SQLite), {n} concerns ({} runs) | p50 {} / p99 {} | with the stage history, decisions and story links; {profile} |",
            reads.len(),
            ms(pick(&reads, 50.0)),
            ms(pick(&reads, 99.0)),
        ),
    ];
    // `scripts/bench` collects these rows into the one table the council bench prints.
    match std::env::var_os("BENCH_ROWS_OUT") {
        Some(path) => std::fs::write(&path, rows.join("\n") + "\n").expect("write rows"),
        None => {
            println!("| figure | measured | target / note |\n| --- | --- | --- |");
            for row in &rows {
                println!("{row}");
            }
        }
    }
}
