//! Accepted → settled: for K teams, `concerns` ready concerns are accepted one at a time by a
//! council member; the latency is from the label's write to the tracking comment listing
//! all K stories (the epic, the stories and the comment exist), observed through the
//! sandbox's change feed. The API calls the daemon made for them (through the counting
//! proxy, from the first accept until the daemon reports an empty backlog and the sandbox
//! stays unchanged) are divided by the number of concerns.
//!
//! K beyond the shipped form's five teams: the daemon runs with the bench's own issue form
//! (`[criteria] issue_form`), the shipped one with `team-06` … `team-NN` added to its
//! "Teams involved" options, each team with its own Jira project.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

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
    /// Of each latency, the time no API call of the daemon was in flight (webhook delivery,
    /// store commits, wake-ups, the daemon's own work).
    pub between_calls: Vec<Duration>,
}

/// The shipped issue form with `teams` as its "Teams involved" options.
fn form_with_teams(teams: &[String]) -> String {
    let shipped = include_str!("../../.github/ISSUE_TEMPLATE/sre-concern.yml");
    let first = format!("        - {}\n", FORM_TEAMS[0]);
    let last = format!("        - {}\n", FORM_TEAMS[FORM_TEAMS.len() - 1]);
    let start = shipped.find(&first).expect("shipped form lists the teams");
    let end = shipped.find(&last).expect("shipped form's last team") + last.len();
    let options: String = teams.iter().map(|t| format!("        - {t}\n")).collect();
    format!("{}{options}{}", &shipped[..start], &shipped[end..])
}

/// Measures K = each of `ks` with `concerns` concerns each.
pub async fn measure(dir: &Path, ks: &[usize], concerns: usize) -> Vec<PerK> {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    let c = world.ctl();
    let max_k = ks.iter().copied().max().unwrap_or(1);
    let mut names: Vec<String> = FORM_TEAMS.iter().map(|t| t.to_string()).collect();
    for i in names.len() + 1..=max_k {
        let (team, key) = (format!("team-{i:02}"), format!("BT{i}"));
        c.post("/_sandbox/jira/projects", json!({"key": key, "name": key}))
            .await
            .expect("create project");
        world.projects.push((team.clone(), key));
        names.push(team);
    }
    let form = dir.join("issue-form.yml");
    std::fs::write(&form, form_with_teams(&names)).expect("write form");
    // Limits far above what the accepts need: the latency is the daemon's, not the pacing
    // of `[limits.jira]` (10/s by default, which spaced each Jira call 100 ms apart once its
    // burst was spent and made p99 ≈ 600 ms).
    let criteria = format!(
        "[criteria]\nissue_form = {:?}\n\
         [limits.jira]\nrequests_per_second = 10000\nburst = 10000\n\
         [limits.github]\ncontent_per_minute = 100000\ncontent_per_hour = 1000000\n",
        form.display().to_string()
    );
    let config = world.write_config_with(dir, 3, &criteria);
    let (d, _) = daemon::start(&config, &dir.join("daemon.log")).await;
    world.deliver_to(&d).await;
    world.deliver_jira_to(&d).await;

    let mut out = Vec::new();
    for &k in ks {
        let teams: Vec<&str> = names[..k].iter().map(String::as_str).collect();
        let mut numbers = Vec::new();
        for _ in 0..concerns {
            numbers.push(world.ready_concern(&teams).await);
        }
        d.wait_settled(&c).await;
        let before = proxy.counts.snapshot();
        let mut latencies = Vec::new();
        let mut between_calls = Vec::new();
        let trace = std::env::var_os("BENCH_TRACE").is_some();
        for &n in &numbers {
            let t0 = Instant::now();
            c.add_label(&world.repo, n, "carol", "council/accepted")
                .await
                .expect("accept");
            world.wait_stories_listed(n, k).await;
            let t1 = Instant::now();
            latencies.push(t1 - t0);
            let calls = proxy.trace.between(t0, t1);
            between_calls.push((t1 - t0).saturating_sub(proxy::busy(&calls, t0, t1)));
            if trace {
                // Where one accept's time goes: each call's start and span, from the label.
                eprintln!("bench: trace K={k} #{n}, {:?} in all:", t1 - t0);
                for call in &calls {
                    eprintln!(
                        "  +{:>7.2} ms  {:>6.2} ms  {}",
                        (call.start - t0).as_secs_f64() * 1e3,
                        (call.end - call.start).as_secs_f64() * 1e3,
                        call.what
                    );
                }
            }
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
            between_calls,
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

/// The hook for GitHub Projects as the tracker (issue 10, being wired): the same
/// measurement as [`measure`] needs `run` to accept `[tracker] kind = "github-projects"`
/// and the sandbox's project seeded (`POST /_sandbox/github/projects`); the proxy already
/// counts GraphQL queries as reads and mutations as writes, all on GitHub. Until `run`
/// accepts that kind, this asks `config check` and returns what it says, which the table
/// shows instead of a figure.
pub async fn measure_github_projects(dir: &Path) -> Result<Vec<PerK>, String> {
    let world = World::private().await;
    let config = world.write_config_with(dir, 3, "[tracker]\nkind = \"github-projects\"\n");
    let out = tokio::process::Command::new(crate::common::binary())
        .args(["config", "check", "--config"])
        .arg(&config)
        .envs(crate::common::SECRETS_ENV)
        .output()
        .await
        .map_err(|e| format!("config check did not run: {e}"))?;
    let said = String::from_utf8_lossy(&out.stdout);
    let first_error = said.lines().find(|l| l.starts_with("error:"));
    match (out.status.success(), first_error) {
        (false, Some(line)) => Err(format!("`run` refuses it: {}", line.trim())),
        (false, None) => Err(format!("config check failed: {}", said.trim())),
        (true, _) => Err(
            "config check accepts it now: seed the project and call `measure` with it (this hook)"
                .into(),
        ),
    }
}
