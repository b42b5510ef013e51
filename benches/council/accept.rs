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
    /// Label → the end of the daemon's last write of the tracking comment before the
    /// change feed showed it listing the stories (as the counting proxy saw the answer go
    /// back): the daemon's own latency, without the lag of the bench's observer (one
    /// version read, one issue read and one long-poll per sandbox change, in the bench's
    /// unoptimised process). `None` when no comment write was seen in the window.
    pub written: Vec<Option<Duration>>,
    /// Of each `written`, the time no API call of the daemon was in flight.
    pub written_between: Vec<Duration>,
    /// Store commits per accepted concern, [waited for the disk, not waited for], from the
    /// daemon's `council_sync_store_commits_total` over the same window as `calls`; `None`
    /// when the daemon does not report it (a binary older than the counter).
    pub commits: Option<[f64; 2]>,
}

/// The daemon's store commits so far, [`sync="full"`, `sync="relaxed"`], from `/metrics`;
/// `None` when it has no such counter.
async fn store_commits(d: &crate::common::Daemon) -> Option<[u64; 2]> {
    let page = council_sync::crypto::http_client()
        .get(format!("{}/metrics", d.url))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let count = |sync: &str| {
        let name = format!("council_sync_store_commits_total{{sync=\"{sync}\"}} ");
        page.lines()
            .find_map(|l| l.strip_prefix(name.as_str()))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    };
    match (count("full"), count("relaxed")) {
        (None, None) => None,
        (full, relaxed) => Some([full.unwrap_or(0), relaxed.unwrap_or(0)]),
    }
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
        let commits_before = store_commits(&d).await;
        let mut latencies = Vec::new();
        let mut between_calls = Vec::new();
        let mut written = Vec::new();
        let mut written_between = Vec::new();
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
            let wrote = calls
                .iter()
                .filter(|c| c.what.contains("/issues/comments/") && c.what.starts_with("PATCH"))
                .map(|c| c.end)
                .max();
            written.push(wrote.map(|w| w - t0));
            if let Some(w) = wrote {
                written_between.push((w - t0).saturating_sub(proxy::busy(&calls, t0, w)));
            }
            if trace {
                // Where one accept's time goes: each call's start and span, from the label.
                // The label's wall-clock time too, to line the daemon's log up with it.
                let wall = chrono::Utc::now()
                    - chrono::Duration::from_std(t0.elapsed()).unwrap_or_default();
                eprintln!(
                    "bench: trace K={k} #{n}, {:?} in all, label at {}:",
                    t1 - t0,
                    wall.format("%H:%M:%S%.6f")
                );
                // The calls, and between them the daemon's own log lines of the same
                // window (webhook stored, decided, outbox round, job done): each hop
                // with no call in flight shows as the gap between two lines.
                let mut lines: Vec<(f64, String)> = calls
                    .iter()
                    .map(|call| {
                        (
                            (call.start - t0).as_secs_f64() * 1e3,
                            format!(
                                "{:>6.2} ms  {}",
                                (call.end - call.start).as_secs_f64() * 1e3,
                                call.what
                            ),
                        )
                    })
                    .collect();
                lines.extend(log_lines(&dir.join("daemon.log"), wall, t1 - t0));
                lines.sort_by(|a, b| a.0.total_cmp(&b.0));
                for (at, what) in lines {
                    eprintln!("  +{at:>7.2} ms  {what}");
                }
            }
        }
        d.wait_settled(&c).await;
        let calls = proxy.counts.snapshot().since(before);
        let per = |x: u64| x as f64 / concerns as f64;
        let commits = match (commits_before, store_commits(&d).await) {
            (Some(b), Some(a)) => Some([per(a[0] - b[0]), per(a[1] - b[1])]),
            _ => None,
        };
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
            written,
            written_between,
            commits,
        };
        eprintln!(
            "bench: accept K={k}: calls/concern {:?}, store commits/concern {:?}, p50 {:?}",
            row.calls,
            row.commits,
            percentile(&row.latencies, 50.0)
        );
        out.push(row);
    }
    d.kill().await;
    out
}

/// The daemon's log lines (text format, RFC 3339 time first) from `from` to `from + span`,
/// each at its offset in ms and with its time and level cut off, for `BENCH_TRACE`.
fn log_lines(
    log: &Path,
    from: chrono::DateTime<chrono::Utc>,
    span: Duration,
) -> Vec<(f64, String)> {
    let Ok(text) = std::fs::read_to_string(log) else {
        return Vec::new();
    };
    let span_ms = span.as_secs_f64() * 1e3;
    text.lines()
        .filter_map(|line| {
            let (stamp, rest) = line.split_once(' ')?;
            let at = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
            let ms = (at.with_timezone(&chrono::Utc) - from).num_microseconds()? as f64 / 1e3;
            (0.0..=span_ms)
                .contains(&ms)
                .then(|| (ms, format!("{:>9}  log: {}", "", rest.trim_start())))
        })
        .collect()
}

/// K measured on GitHub Projects: the shipped form's range and beyond it.
pub const PROJECTS_KS: [usize; 6] = [1, 2, 5, 10, 20, 50];

/// GitHub Projects as the tracker: the GitHub calls one accepted concern's epic and K
/// stories cost, for each of [`PROJECTS_KS`], reads and writes apart (the counting proxy
/// counts a GraphQL query as a read and a mutation as a write). The tracker is the one
/// `run` builds, driven as the engine drives it (`ensure_epic` with `stories_follow`, then
/// `ensure_stories`), fresh for each K so the once-per-process reads (project fields,
/// issue types, the team repositories' ids) are counted; the whole daemon's figures for
/// Jira are [`measure`]'s. Target (issue #13): writes ≤ K + 3.
pub async fn measure_github_projects(_dir: &Path) -> Result<Vec<PerK>, String> {
    use council_sync::github::client::GithubClient;
    use council_sync::retry::RetryPolicy;
    use council_sync::tracker::github_projects::{GithubProjectsSettings, GithubProjectsTracker};
    use council_sync::tracker::{EpicRequest, StoryRequest, Tracker};

    let world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    let c = world.ctl();
    let max_k = PROJECTS_KS.iter().copied().max().unwrap_or(1);
    let tag = world.repo.rsplit('-').next().unwrap_or("x").to_owned();
    let names: Vec<String> = (1..=max_k).map(|i| format!("team-{i:02}")).collect();
    for name in &names {
        c.post(
            "/_sandbox/github/repos",
            json!({"owner": "acme", "name": format!("{name}-{tag}")}),
        )
        .await
        .map_err(|e| format!("team repository: {e}"))?;
    }
    let number = 7_000 + u64::from_str_radix(tag.get(1..).unwrap_or("0"), 16).unwrap_or(0) % 1_000;
    c.post(
        "/_sandbox/github/projects",
        json!({ "owner": "acme", "number": number, "title": "SRE council",
            "single_select": { "Status": ["Todo", "In Progress", "Done"], "Team": names },
            "iteration": { "Iteration": [] } }),
    )
    .await
    .map_err(|e| format!("project: {e}"))?;
    c.post(
        "/_sandbox/github/orgs/acme/issue-types",
        json!({ "names": ["Task", "Epic", "Bug"] }),
    )
    .await
    .map_err(|e| format!("issue types: {e}"))?;
    let settings = GithubProjectsSettings {
        owner: "acme".into(),
        number,
        status_field: "Status".into(),
        team_field: "Team".into(),
        iteration_field: "Iteration".into(),
        todo_status: "Todo".into(),
        in_progress_status: "In Progress".into(),
        done_status: "Done".into(),
        not_planned_status: "Not planned".into(),
        epic_issue_type: Some("Epic".into()),
        story_issue_type: None,
        teams: names
            .iter()
            .map(|t| (t.clone(), format!("acme/{t}-{tag}")))
            .collect(),
    };
    let policy = RetryPolicy {
        give_up_unreachable: false,
        attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(1),
    };
    let token = secrecy::SecretString::from("test-github-token".to_owned());
    let mut out = Vec::new();
    for k in PROJECTS_KS {
        let n = c
            .open_issue(
                &world.repo,
                "alice",
                &format!("Projects K={k}"),
                "toil",
                &[],
            )
            .await
            .map_err(|e| format!("concern: {e}"))?;
        let gh = GithubClient::new(&proxy.url, &token, policy.clone())
            .map_err(|e| format!("client: {e}"))?;
        let tracker = GithubProjectsTracker::new(gh, settings.clone());
        let epic_req = EpicRequest {
            marker: format!("council-sync-bench-{n}"),
            summary: format!("Projects K={k}"),
            description_md: "why".into(),
            github_url: format!("{}/{}/issues/{n}", world.sandbox_url, world.repo),
            github_title: format!("Projects K={k}"),
            stories_follow: true,
            story_markers: Vec::new(),
        };
        let stories: Vec<StoryRequest> = names[..k]
            .iter()
            .map(|t| StoryRequest {
                marker: format!("council-sync-bench-{n}-{t}"),
                team: t.clone(),
                summary: format!("Projects K={k} ({t})"),
                description_md: "- [ ] do it".into(),
                submitted_by: None,
            })
            .collect();
        let before = proxy.counts.snapshot();
        let t0 = Instant::now();
        let epic = tracker
            .ensure_epic(&epic_req)
            .await
            .map_err(|e| format!("epic, K={k}: {e}"))?;
        let made = tracker
            .ensure_stories(&epic, &stories)
            .await
            .map_err(|e| format!("stories, K={k}: {e}"))?;
        let took = t0.elapsed();
        let calls = proxy.counts.snapshot().since(before);
        if made.len() != k {
            return Err(format!("K={k}: {} stories made", made.len()));
        }
        eprintln!(
            "bench: GitHub Projects K={k}: {} r / {} w in {took:?}",
            calls.github_reads, calls.github_writes
        );
        out.push(PerK {
            teams: k,
            concerns: 1,
            calls: [
                calls.github_reads as f64,
                calls.github_writes as f64,
                calls.jira_reads as f64,
                calls.jira_writes as f64,
            ],
            latencies: vec![took],
            // The tracker's calls alone, one after another: no gap is measured here.
            between_calls: Vec::new(),
            written: Vec::new(),
            written_between: Vec::new(),
            commits: None,
        });
    }
    Ok(out)
}
