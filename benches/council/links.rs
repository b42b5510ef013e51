//! Costs that grow with the number of linked concerns, at N links: a backfill that makes
//! them (N accepted concerns opened by a council member before the daemon ran), then
//! `reconcile --once` with nothing changed, then a daemon start on that store: time to
//! listen, time until it is idle again (every start runs a reconcile pass today), and its
//! resident memory once idle. Calls counted through the proxy.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::common::{self, FORM_TEAMS, SECRETS_ENV, World};
use crate::daemon;
use crate::proxy::{self, Snapshot};

/// What one N measured.
#[derive(Debug, Clone)]
pub struct AtN {
    /// `None`: the command failed (its last line is in `note`).
    pub backfill: Option<(Duration, Snapshot)>,
    pub reconcile: Option<(Duration, Snapshot)>,
    pub listen: Duration,
    pub idle_after: Duration,
    pub start_calls: Snapshot,
    pub rss_kib: Option<u64>,
    pub note: String,
}

/// Runs `council-sync ARGS --config CONFIG`, timed; `Err(last line)` when it failed.
async fn timed(args: &[&str], config: &Path) -> Result<Duration, String> {
    let t0 = Instant::now();
    let out = Command::new(common::binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .envs(SECRETS_ENV)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run council-sync");
    let took = t0.elapsed();
    if out.status.success() {
        Ok(took)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("failed").to_owned())
    }
}

/// Measures at `links` linked concerns (two teams each).
pub async fn measure(dir: &Path, links: usize) -> AtN {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    let config = world.write_config(dir, 3);
    let c = world.ctl();
    let body = common::complete_body(&FORM_TEAMS[..2]);
    for i in 0..links {
        c.open_issue(
            &world.repo,
            "carol",
            &format!("Concern {i}"),
            &body,
            &["sre-concern", "council/accepted"],
        )
        .await
        .expect("open accepted concern");
    }
    let mut note = String::new();

    let before = proxy.counts.snapshot();
    let backfill = match timed(&["backfill"], &config).await {
        Ok(t) => Some((t, proxy.counts.snapshot().since(before))),
        Err(e) => {
            note.push_str(&format!("backfill: {e}; "));
            None
        }
    };
    let before = proxy.counts.snapshot();
    let reconcile = match timed(&["reconcile", "--once", "--timeout", "30m"], &config).await {
        Ok(t) => Some((t, proxy.counts.snapshot().since(before))),
        Err(e) => {
            note.push_str(&format!("reconcile: {e}; "));
            None
        }
    };

    let before = proxy.counts.snapshot();
    let t0 = Instant::now();
    let (d, listen) = daemon::start(&config, &dir.join("daemon.log")).await;
    world.deliver_to(&d).await;
    let idle_after = match daemon::wait_start_pass(&d, Duration::from_secs(3600)).await {
        Ok(()) => t0.elapsed(),
        Err(e) => {
            note.push_str(&format!("start: {e}; "));
            t0.elapsed()
        }
    };
    let start_calls = proxy.counts.snapshot().since(before);
    let rss_kib = d.child.id().and_then(daemon::rss_kib);
    d.kill().await;
    eprintln!(
        "bench: {links} links: backfill {backfill:?}, reconcile {reconcile:?}, listen {listen:?}, idle after {idle_after:?}, rss {rss_kib:?} KiB"
    );
    AtN {
        backfill,
        reconcile,
        listen,
        idle_after,
        start_calls,
        rss_kib,
        note,
    }
}
