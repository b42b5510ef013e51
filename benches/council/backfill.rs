//! A large backfill at the pacing limit (`BENCH_PARTS=backfill`, `BENCH_BACKFILL` concerns,
//! default 1,000): N accepted concerns (2 teams each) opened before the daemon ran, then
//! `council-sync backfill` under `[limits]` set to a known pace ([`PACE`]). Reports its wall
//! time beside the floor those limits allow for the GitHub writes it made, its own estimate
//! (the line it prints before writing), how many progress lines it printed, and the calls.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::common::{self, FORM_TEAMS, SECRETS_ENV, World};
use crate::proxy::{self, Snapshot};

/// GitHub content writes per second allowed by [`PACE`] (after a burst of the same size).
pub const GITHUB_PER_S: f64 = 20.0;
/// Jira requests per second allowed by [`PACE`].
pub const JIRA_PER_S: f64 = 50.0;

/// The limits of the run: GitHub 1,200 content writes a minute (burst 20), Jira 50 requests
/// a second (burst 50), far above the defaults (80 a minute, 500 an hour: 1,000 accepted
/// concerns take about 5 h there) so the run fits in a bench, yet the pace that bounds it.
pub const PACE: &str = "[limits.github]\ncontent_per_minute = 1200\ncontent_burst = 20\ncontent_per_hour = 1000000\n\n[limits.jira]\nrequests_per_second = 50\nburst = 50\n";

/// What one backfill measured.
#[derive(Debug)]
pub struct Measured {
    pub concerns: usize,
    pub wall: Duration,
    pub calls: Snapshot,
    /// The shortest time [`PACE`] allows for the calls made (the slower host's).
    pub floor: Duration,
    /// The line `backfill estimate: …` as printed.
    pub estimate: String,
    /// `backfill progress: …` lines printed.
    pub progress_lines: usize,
    /// The summary line (`N concern issue(s): imported …`).
    pub summary: String,
}

/// Runs the backfill of `n` accepted concerns; `Err(last line)` when it failed.
pub async fn measure(dir: &Path, n: usize) -> Result<Measured, String> {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    let config = world.write_config_with(dir, 3, PACE);
    open_accepted(&world, n).await?;
    let before = proxy.counts.snapshot();
    let t0 = Instant::now();
    let out = Command::new(common::binary())
        .args(["backfill", "--config"])
        .arg(&config)
        .envs(SECRETS_ENV)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .map_err(|e| format!("run council-sync: {e}"))?;
    let wall = t0.elapsed();
    let calls = proxy.counts.snapshot().since(before);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(dir.join("backfill.log"), &stdout).ok();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_owned());
    }
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix) || l.contains(prefix))
            .unwrap_or("")
            .to_owned()
    };
    let github_floor = (calls.github_writes as f64 - GITHUB_PER_S).max(0.0) / GITHUB_PER_S;
    let jira_calls = (calls.jira_reads + calls.jira_writes) as f64;
    let jira_floor = (jira_calls - JIRA_PER_S).max(0.0) / JIRA_PER_S;
    Ok(Measured {
        concerns: n,
        wall,
        calls,
        floor: Duration::from_secs_f64(github_floor.max(jira_floor)),
        estimate: line("backfill estimate:"),
        progress_lines: stdout
            .lines()
            .filter(|l| l.starts_with("backfill progress:"))
            .count(),
        summary: line("concern issue(s):"),
    })
}

/// Opens `n` concerns labelled accepted (2 teams each, by carol) in the world's repository,
/// 25 at a time; the backfill and the peer bench start from these.
pub async fn open_accepted(world: &World, n: usize) -> Result<(), String> {
    let c = world.ctl();
    let body = common::complete_body(&FORM_TEAMS[..2]);
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let opened = futures::future::join_all(chunk.iter().map(|i| {
            let title = format!("Concern {i}");
            let (c, repo, body) = (&c, &world.repo, &body);
            async move {
                c.open_issue(
                    repo,
                    "carol",
                    &title,
                    body,
                    &["sre-concern", "council/accepted"],
                )
                .await
            }
        }))
        .await;
        for r in opened {
            r.map_err(|e| format!("open accepted concern: {e:?}"))?;
        }
    }
    Ok(())
}
