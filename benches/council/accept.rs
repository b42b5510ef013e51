//! Accepted → settled: for K teams, `concerns` ready concerns are accepted one at a time by a
//! council member; the latency is from the label's write to the tracking comment listing
//! all K stories (the epic, the stories and the comment exist), observed through the
//! sandbox's change feed. The API calls the daemon made for them (through the counting
//! proxy, from the first accept until the daemon reports an empty backlog and the sandbox
//! stays unchanged) are divided by the number of concerns.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{FORM_TEAMS, World};
use crate::proxy::{self, Snapshot};
use crate::{daemon, percentile};

/// What one K measured.
#[derive(Debug, Clone)]
pub struct PerK {
    pub teams: usize,
    pub concerns: usize,
    /// Calls per accepted concern.
    pub calls: [f64; 4],
    pub latencies: Vec<Duration>,
}

/// Measures K = each of `ks` (at most the form's teams) with `concerns` concerns each.
pub async fn measure(dir: &Path, ks: &[usize], concerns: usize) -> Vec<PerK> {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    let config = world.write_config(dir, 3);
    let (d, _) = daemon::start(&config, &dir.join("daemon.log")).await;
    world.deliver_to(&d).await;
    world.deliver_jira_to(&d).await;
    let c = world.ctl();

    let mut out = Vec::new();
    for &k in ks.iter().filter(|&&k| k <= FORM_TEAMS.len()) {
        let teams = &FORM_TEAMS[..k];
        let mut numbers = Vec::new();
        for _ in 0..concerns {
            numbers.push(world.ready_concern(teams).await);
        }
        d.wait_settled(&c).await;
        let before = proxy.counts.snapshot();
        let mut latencies = Vec::new();
        for &n in &numbers {
            let t0 = Instant::now();
            c.add_label(&world.repo, n, "carol", "council/accepted")
                .await
                .expect("accept");
            world.wait_stories_listed(n, k).await;
            latencies.push(t0.elapsed());
        }
        d.wait_settled(&c).await;
        let calls = proxy.counts.snapshot().since(before);
        let per = |x: u64| x as f64 / concerns as f64;
        let Snapshot {
            github_reads,
            github_writes,
            jira_reads,
            jira_writes,
        } = calls;
        let row = PerK {
            teams: k,
            concerns,
            calls: [
                per(github_reads),
                per(github_writes),
                per(jira_reads),
                per(jira_writes),
            ],
            latencies,
        };
        eprintln!(
            "bench: accept K={k}: calls/concern {:?}, p50 {:?}",
            row.calls,
            percentile(&row.latencies, 50.0)
        );
        out.push(row);
    }
    d.kill().await;
    out
}
