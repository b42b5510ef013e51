//! `scripts/bench`: the costs of council-sync measured from outside, on the release binary
//! (`COUNCIL_SYNC_BIN`; the harness itself builds with the test profile),
//! printed as one table. Not part of CI. Each figure is paired, in the same run, with its
//! bound or its target (issue 13).
//!
//! Knobs (environment): `BENCH_SECS` (wrk duration per run, default 10), `BENCH_SENDERS`
//! (default "16,64"), `BENCH_CONCERNS` (accepted concerns per K, default 10), `BENCH_TEAMS`
//! (K values, default "1,2,5,10,20,50"), `BENCH_LINKS` (default "100"; "100,1000,10000" for
//! the full set, which takes long: see README), `BENCH_BACKFILL` (accepted concerns of the
//! paced backfill, default 1000), `BENCH_PEER` (issues of the side-by-side run with jirahub,
//! default 1000), `BENCH_PARTS` (default "ingest,accept,links,backfill,peer": which
//! measurements run), `BENCH_TRACE` (set: each accept's calls with their start and span),
//! `BENCH_ENGINE` (`held`: the engine's issue reads are held by the sandbox during the stored
//! ingest run, which then measures the writer path alone), `BENCH_DRAIN_SECS` (how long the
//! ingest bench waits for the engine to handle a run's backlog, default 30),
//! `BENCH_ROWS_IN` (a file of table rows
//! measured by another bench of the same run, printed first). Needs Debian's `wrk`.

#[path = "../../tests/common/mod.rs"]
mod common;

mod accept;
mod backfill;
mod daemon;
mod ingest;
mod links;
mod peer;
mod proxy;

use std::time::Duration;

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The `p`th percentile (nearest rank) of `xs`.
pub fn percentile(xs: &[Duration], p: f64) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn calls(s: proxy::Snapshot) -> String {
    format!(
        "{} (GitHub {} r / {} w, Jira {} r / {} w)",
        s.total(),
        s.github_reads,
        s.github_writes,
        s.jira_reads,
        s.jira_writes
    )
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let secs = env_num("BENCH_SECS", 10);
    let senders: Vec<u32> = env_list("BENCH_SENDERS", "16,64")
        .into_iter()
        .map(|n| n as u32)
        .collect();
    let concerns = env_num("BENCH_CONCERNS", 10) as usize;
    let ks = env_list("BENCH_TEAMS", "1,2,5,10,20,50");
    let link_counts = env_list("BENCH_LINKS", "100");
    let parts =
        std::env::var("BENCH_PARTS").unwrap_or_else(|_| "ingest,accept,links,backfill,peer".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();

    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |a: String, b: String, c: &str| rows.push([a, b, c.to_owned()]);

    let ingest = if part("ingest") {
        ingest::measure(dir.path(), &senders, secs).await
    } else {
        Vec::new()
    };
    for p in &ingest {
        let failed = p.stored.failures + p.bound.failures;
        let note = if failed > 0 {
            format!("{failed} answers not 202 or socket errors")
        } else {
            String::new()
        };
        row(
            format!(
                "ingest, {} senders: durable acks/s (÷ no-store bound)",
                p.senders
            ),
            format!(
                "{:.0}/s ÷ {:.0}/s = {:.2}×",
                p.stored.acks_per_s,
                p.bound.acks_per_s,
                p.stored.acks_per_s / p.bound.acks_per_s.max(1e-9)
            ),
            &format!("target ≥ 0.5× {note}"),
        );
        row(
            format!("ingest, {} senders: ack p50 / p99", p.senders),
            format!(
                "{:.1} / {:.1} ms (bound {:.1} / {:.1} ms)",
                p.stored.p50_ms, p.stored.p99_ms, p.bound.p50_ms, p.bound.p99_ms
            ),
            if p.senders == 16 {
                "target p99 ≤ 15 ms"
            } else {
                ""
            },
        );
        row(
            format!(
                "ingest, {} senders: daemon CPU and context switches per ack",
                p.senders
            ),
            format!(
                "{:.2} ms, {:.1} switches (bound {:.2} ms, {:.1})",
                p.stored.cpu_ms_per_ack,
                p.stored.switches_per_ack,
                p.bound.cpu_ms_per_ack,
                p.bound.switches_per_ack
            ),
            &format!(
                "engine beside it; {} deliveries not yet handled at the end of the run{}",
                p.stored
                    .backlog_after
                    .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                match p.stored.drain {
                    Some((secs, cpu)) => {
                        format!(", handled {secs:.1} s after it ({cpu:.3} ms CPU a delivery)")
                    }
                    None if p.stored.backlog_after > Some(0) => {
                        ", not all handled within the bench's wait".to_owned()
                    }
                    None => String::new(),
                }
            ),
        );
    }

    let ks = if part("accept") { ks } else { Vec::new() };
    let per_k = if ks.is_empty() {
        Vec::new()
    } else {
        accept::measure(dir.path(), &ks, concerns).await
    };
    let all: Vec<Duration> = per_k.iter().flat_map(|k| k.latencies.clone()).collect();
    if !all.is_empty() {
        row(
            format!(
                "accepted → epic + stories + comment ({} accepts, sandbox at 0 latency)",
                all.len()
            ),
            format!(
                "p50 {} / p99 {}",
                ms(percentile(&all, 50.0)),
                ms(percentile(&all, 99.0))
            ),
            "target p99 ≤ 50 ms",
        );
        let between: Vec<Duration> = per_k.iter().flat_map(|k| k.between_calls.clone()).collect();
        let (sum_all, sum_between) = (
            all.iter().sum::<Duration>(),
            between.iter().sum::<Duration>(),
        );
        row(
            "of that, no API call in flight (webhook delivery, store, wake-ups)".into(),
            format!(
                "p50 {} / p99 {} ({:.0} % of the time)",
                ms(percentile(&between, 50.0)),
                ms(percentile(&between, 99.0)),
                100.0 * sum_between.as_secs_f64() / sum_all.as_secs_f64().max(1e-9)
            ),
            "BENCH_TRACE=1 prints each accept's calls",
        );
        let written: Vec<Duration> = per_k
            .iter()
            .flat_map(|k| k.written.iter().flatten().copied())
            .collect();
        let seen = per_k.iter().map(|k| k.written.len()).sum::<usize>();
        if !written.is_empty() {
            let between: Vec<Duration> = per_k
                .iter()
                .flat_map(|k| k.written_between.clone())
                .collect();
            row(
                format!(
                    "accepted → the comment's last write answered ({} of {seen} accepts; the bench's observer lag left out)",
                    written.len()
                ),
                format!(
                    "p50 {} / p99 {}; no call in flight p50 {} / p99 {}",
                    ms(percentile(&written, 50.0)),
                    ms(percentile(&written, 99.0)),
                    ms(percentile(&between, 50.0)),
                    ms(percentile(&between, 99.0)),
                ),
                "the daemon's own share of the row above",
            );
        }
    }
    for r in &per_k {
        row(
            format!(
                "store commits per accepted concern, K = {} ({} concerns, from the first accept until settled)",
                r.teams, r.concerns
            ),
            match r.commits {
                Some([full, relaxed]) => {
                    format!("{full:.1} waited for the disk (fsync), {relaxed:.1} not")
                }
                None => "not reported by this binary".into(),
            },
            "council_sync_store_commits_total",
        );
    }
    for k in &ks {
        match per_k.iter().find(|r| r.teams == *k) {
            Some(r) => row(
                format!(
                    "calls per accepted concern on Jira, K = {k} ({} concerns)",
                    r.concerns
                ),
                format!(
                    "GitHub {:.1} r / {:.1} w, Jira {:.1} r / {:.1} w",
                    r.calls[0], r.calls[1], r.calls[2], r.calls[3]
                ),
                "target: writes ≤ 5 constant in K, reads ≤ 3",
            ),
            None => row(
                format!("calls per accepted concern, K = {k}"),
                "not measured".into(),
                "see the bench's output above",
            ),
        }
    }

    // GitHub Projects, the second tracker (accept::measure_github_projects), with `accept`
    // or alone as `BENCH_PARTS=projects`.
    let projects_dir = dir.path().join("github-projects");
    std::fs::create_dir_all(&projects_dir).expect("dir");
    match if part("accept") || part("projects") {
        accept::measure_github_projects(&projects_dir).await
    } else {
        Ok(Vec::new())
    } {
        Ok(per_k) => {
            for r in per_k {
                row(
                    format!(
                        "calls per accepted concern on GitHub Projects, K = {}",
                        r.teams
                    ),
                    format!("GitHub {:.1} r / {:.1} w", r.calls[0], r.calls[1]),
                    "target: K + 3 writes at most",
                );
            }
        }
        Err(why) => row(
            "calls per accepted concern on GitHub Projects".into(),
            "not measured".into(),
            &why,
        ),
    }

    let link_counts = if part("links") {
        link_counts
    } else {
        Vec::new()
    };
    for n in link_counts {
        let sub = dir.path().join(format!("links-{n}"));
        std::fs::create_dir_all(&sub).expect("dir");
        let at = links::measure(&sub, n).await;
        let cell = |r: Option<links::Run>| match r {
            Some(r) => format!("{:.2} s, {} calls", r.wall.as_secs_f64(), calls(r.calls)),
            None => "failed".into(),
        };
        let peak = |r: Option<links::Run>| match r.and_then(|r| r.peak_kib) {
            Some(k) => format!(", peak RSS {:.1} MiB", k as f64 / 1024.0),
            None => String::new(),
        };
        let seeded = if at.store_seeded {
            format!(
                "{:.1} s to open {n} issues in one request, make their epics and stories in \
                 two (Jira control route `/_sandbox/jira/issues/bulk`) and write the store \
                 (Store API)",
                at.seed.as_secs_f64()
            )
        } else {
            format!(
                "{:.1} s to open {n} issues in one request; backfill {}{}",
                at.seed.as_secs_f64(),
                cell(at.backfill),
                peak(at.backfill)
            )
        };
        row(format!("{n} links: seed (2 teams each)"), seeded, &at.note);
        row(
            format!("{n} links: periodic pass (`reconcile --once`, nothing changed)"),
            format!("{}{}", cell(at.pass), peak(at.pass)),
            "target at 10,000: ≤ 20 calls and ≤ 2 s",
        );
        row(
            format!("{n} links: full sweep (`reconcile --once --full`)"),
            format!("{}{}", cell(at.sweep), peak(at.sweep)),
            "target at 10,000: ≤ 400 calls (pages of 100 on each side)",
        );
        row(
            format!("{n} links: daemon start, listening / idle again"),
            format!(
                "{} / {:.2} s, {} calls",
                ms(at.listen),
                at.idle_after.as_secs_f64(),
                calls(at.start_calls)
            ),
            "target: no full pass at start (only what changed since the cursors)",
        );
        row(
            format!("{n} links: idle RSS"),
            match (at.rss_kib, at.anon_kib) {
                (Some(k), Some(a)) => format!(
                    "{:.1} MiB ({:.1} MiB anonymous: heap and stacks)",
                    k as f64 / 1024.0,
                    a as f64 / 1024.0
                ),
                (Some(k), None) => format!("{:.1} MiB", k as f64 / 1024.0),
                _ => "unknown".into(),
            },
            "target ≤ 40 MiB with 10,000",
        );
    }

    if part("backfill") {
        let n = env_num("BENCH_BACKFILL", 1000) as usize;
        let sub = dir.path().join("backfill");
        std::fs::create_dir_all(&sub).expect("dir");
        match backfill::measure(&sub, n).await {
            Ok(m) => {
                eprintln!("bench: backfill of {n}: {m:?}");
                row(
                    format!(
                        "backfill of {} accepted concerns (2 teams each) at GitHub {}/s, Jira {}/s",
                        m.concerns,
                        backfill::GITHUB_PER_S,
                        backfill::JIRA_PER_S
                    ),
                    format!(
                        "{:.1} s (floor at those limits {:.1} s), {} calls",
                        m.wall.as_secs_f64(),
                        m.floor.as_secs_f64(),
                        calls(m.calls)
                    ),
                    &format!(
                        "target: finishes with progress at the pacing limit; {} progress lines; «{}»; «{}»",
                        m.progress_lines, m.estimate, m.summary
                    ),
                );
            }
            Err(e) => row(
                format!("backfill of {n} accepted concerns at the pacing limit"),
                "failed".into(),
                &e,
            ),
        }
    }

    if part("peer") {
        let n = env_num("BENCH_PEER", 1000) as usize;
        let sub = dir.path().join("peer");
        std::fs::create_dir_all(&sub).expect("dir");
        let p = peer::measure(&sub, n).await;
        match p.jirahub {
            Ok(j) => {
                let sleep_s = if j.slept {
                    format!(
                        "its {} update sleeps ({:.0} s) included",
                        j.update_sleeps, j.update_sleep_s
                    )
                } else {
                    format!(
                        "+ {} update sleeps of its jira library not slept ({:.0} s more as shipped)",
                        j.update_sleeps, j.update_sleep_s
                    )
                };
                row(
                    format!(
                        "peer: jirahub 0.3.0 sync of the same {} issues (1 Jira task + tracking comment each), {} run(s) until all were mirrored ({} after the first)",
                        p.issues,
                        j.runs,
                        j.after_first.unwrap_or(0)
                    ),
                    format!(
                        "{:.1} s {sleep_s}, {} calls",
                        j.wall.as_secs_f64(),
                        calls(j.calls)
                    ),
                    &format!(
                        "{} Jira issues made; {} issues failed; {} warnings / {} errors logged; unpaced",
                        j.mirrored, j.failed, j.warnings, j.errors
                    ),
                );
            }
            Err(e) => row(
                format!("peer: jirahub 0.3.0 sync of {} issues", p.issues),
                "failed".into(),
                &e,
            ),
        }
        match p.council {
            Ok((t, s, summary)) => row(
                format!(
                    "peer: council-sync backfill of the same {} issues (epic + 2 stories + link + tracking comment each)",
                    p.issues
                ),
                format!("{:.1} s, {} calls", t.as_secs_f64(), calls(s)),
                &format!(
                    "«{summary}»; limits far above the sandbox's pace (unpaced, like jirahub); Jira Data Center (v2) flavour for both"
                ),
            ),
            Err(e) => row(
                format!("peer: council-sync backfill of {} issues", p.issues),
                "failed".into(),
                &e,
            ),
        }
    }

    println!();
    println!("| figure | measured | target / note |");
    println!("| --- | --- | --- |");
    // Rows measured by another bench of the same run (`scripts/bench`: the board's).
    if let Some(path) = std::env::var_os("BENCH_ROWS_IN") {
        match std::fs::read_to_string(&path) {
            Ok(text) => print!("{text}"),
            Err(e) => println!("| rows of {} | unreadable: {e} | |", path.to_string_lossy()),
        }
    }
    for [a, b, c] in &rows {
        println!("| {a} | {b} | {c} |");
    }
    println!();
    println!(
        "bench took {:.0} s on {} CPUs",
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
}
