//! Costs that grow with the number of linked concerns, at N links (#13): N accepted concerns
//! opened in one request (`POST /_sandbox/github/repos/{o}/{r}/issues/bulk`, the sandbox's
//! control route: one write instead of N), then the real `council-sync backfill`, unpaced,
//! which makes every epic, story and tracking comment and writes the store itself. On that
//! store: the periodic pass (`reconcile --once`, which asks only what changed since the
//! cursors) with nothing changed, the full sweep (`reconcile --once --full`, pages of 100 on
//! each side) with its peak RSS, and a daemon start (time to listen, calls until it is idle
//! again) with its resident memory once idle. Calls counted through the proxy. Above
//! [`BACKFILL_UP_TO`] links the backfill is too slow here (the sandbox's searches are
//! O(issues) each in a debug build), so Jira and the store are seeded in bulk instead
//! ([`seed_bulk`]), with the items and rows a backfill leaves.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::common::{self, FORM_TEAMS, SECRETS_ENV, World};
use crate::daemon;
use crate::proxy::{self, Snapshot};

/// Limits high enough that the seeding backfill is not paced, and periodic work an hour
/// away, so a start's calls are its own pass and poll only.
const UNPACED: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n\
    [limits.github]\ncontent_per_minute = 1000000\ncontent_burst = 100000\ncontent_per_hour = 10000000\n\
    [limits.jira]\nrequests_per_second = 100000\nburst = 100000\n";

/// Most links seeded by a real `backfill`; above, Jira and the store are seeded in bulk (see
/// [`seed_bulk`]).
const BACKFILL_UP_TO: usize = 1000;

/// Seeds, for the concern issues `numbers` of the world's repository, what a backfill
/// leaves behind, without a backfill: in Jira, through the sandbox's control route
/// `POST /_sandbox/jira/issues/bulk` (each issue made as `POST /issue` makes it), an epic per
/// concern in the epic project and a story for each of two teams in the team's project under
/// it, with the daemon's labels (`council-sync` and the markers of
/// `council_sync::engine::{epic_marker, story_marker}` for the issue's GitHub id) and the
/// epic's remote link to the issue; in the store, through the crate's Store API, each
/// concern at `StoriesCreated`, open, with its epic, a tracking comment id and its two
/// story links with their state as Jira answered it (To Do, `updated`). Not seeded: the
/// tracking comments on GitHub (the sweep and the pass compare the store's id only) and the
/// decision rows.
async fn seed_bulk(world: &World, dir: &Path, numbers: &[u64]) -> Result<(), String> {
    use council_sync::council::Stage;
    use council_sync::engine::{epic_marker, story_marker};
    use council_sync::store::{ConcernRow, IssueState, Store, StoryState};
    use council_sync::tracker::Progress;
    use serde_json::{Value, json};
    let c = world.ctl();
    // The issues' ids and addresses, from GitHub's REST listing (100 a page).
    let http = council_sync::crypto::http_client();
    let token = SECRETS_ENV
        .iter()
        .find(|(k, _)| *k == "COUNCIL_GITHUB__TOKEN")
        .map(|(_, v)| *v)
        .unwrap_or_default();
    let mut issues: std::collections::HashMap<u64, (u64, String, String)> = Default::default();
    for page in 1.. {
        let url = format!(
            "{}/repos/{}/issues?state=all&per_page=100&page={page}",
            world.sandbox_url, world.repo
        );
        let v: Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("list issues: {e}"))?
            .json()
            .await
            .map_err(|e| format!("list issues: {e}"))?;
        let list = v.as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            break;
        }
        for i in list {
            if let (Some(n), Some(id)) = (i["number"].as_u64(), i["id"].as_u64()) {
                let url = i["html_url"].as_str().unwrap_or_default().to_owned();
                let title = i["title"].as_str().unwrap_or_default().to_owned();
                issues.insert(n, (id, url, title));
            }
        }
    }
    let of = |n: &u64| {
        issues
            .get(n)
            .ok_or_else(|| format!("issue #{n} not listed"))
    };
    // In requests of 1,000 (a body stays well under the sandbox's 2 MB request limit).
    let bulk = |updates: Vec<Value>| {
        let c = c.clone();
        async move {
            let mut keys: Vec<(String, i64)> = Vec::with_capacity(updates.len());
            for chunk in updates.chunks(1000) {
                let v = c
                    .post(
                        "/_sandbox/jira/issues/bulk",
                        json!({"as": "council-bot", "issueUpdates": chunk}),
                    )
                    .await
                    .map_err(|e| format!("jira bulk: {e}"))?;
                keys.extend(v["issues"].as_array().into_iter().flatten().map(|i| {
                    let key = i["key"].as_str().unwrap_or_default().to_owned();
                    (key, i["updated"].as_i64().unwrap_or_default())
                }));
            }
            Ok::<_, String>(keys)
        }
    };
    let mut epics = Vec::with_capacity(numbers.len());
    for n in numbers {
        let (id, url, title) = of(n)?;
        epics.push(json!({
            "fields": {
                "project": {"key": world.epic_project},
                "issuetype": {"name": "Epic"},
                "summary": title,
                "labels": [epic_marker(*id), "council-sync"],
            },
            "remoteLinks": [{"globalId": url, "object": {"url": url, "title": title}}],
        }));
    }
    let epic_keys = bulk(epics).await?;
    let teams = &FORM_TEAMS[..2];
    let mut stories = Vec::with_capacity(numbers.len() * teams.len());
    for (n, (epic, _)) in numbers.iter().zip(&epic_keys) {
        let (id, _, title) = of(n)?;
        for team in teams {
            stories.push(json!({
                "fields": {
                    "project": {"key": world.project(team)},
                    "issuetype": {"name": "Story"},
                    "summary": format!("{title} ({team})"),
                    "parent": {"key": epic},
                    "labels": [story_marker(*id, team), "council-sync"],
                },
            }));
        }
    }
    let story_keys = bulk(stories).await?;
    if epic_keys.len() != numbers.len() || story_keys.len() != numbers.len() * teams.len() {
        return Err(format!(
            "jira bulk made {} epics and {} stories for {} concerns",
            epic_keys.len(),
            story_keys.len(),
            numbers.len()
        ));
    }
    let store = Store::open(&common::store_url(dir))
        .await
        .map_err(|e| format!("open the store: {e}"))?;
    let browse = |key: &str| format!("{}/browse/{key}", world.jira_api);
    let now = chrono::Utc::now().timestamp_millis();
    for (i, n) in numbers.iter().enumerate() {
        let (id, _, _) = of(n)?;
        let epic = &epic_keys[i].0;
        store
            .upsert_concern(&ConcernRow {
                repo: world.repo.clone(),
                number: *n,
                issue_id: *id,
                stage: Stage::StoriesCreated,
                tracking_comment_id: Some(9_000_000 + n),
                epic_url: Some(browse(epic)),
                epic_key: Some(epic.clone()),
                last_error: None,
                updated_at: now,
                progress: None,
                results: None,
                results_at: None,
                issue_state: Some(IssueState::Open),
                synced_hash: None,
            })
            .await
            .map_err(|e| format!("concern: {e}"))?;
        let mine = &story_keys[i * teams.len()..(i + 1) * teams.len()];
        let urls: Vec<String> = mine.iter().map(|(k, _)| browse(k)).collect();
        let links: Vec<(&str, &str, &str)> = teams
            .iter()
            .zip(mine)
            .zip(&urls)
            .map(|((t, (k, _)), u)| (*t, k.as_str(), u.as_str()))
            .collect();
        store
            .set_story_links(&world.repo, *n, &links)
            .await
            .map_err(|e| format!("story links: {e}"))?;
        let states: Vec<(&str, StoryState)> = teams
            .iter()
            .zip(mine)
            .map(|(t, (_, updated))| {
                let state = StoryState {
                    status: Some("To Do".into()),
                    progress: Some(Progress::Todo),
                    assignee: None,
                    sprint: None,
                    updated_ms: Some(*updated),
                };
                (*t, state)
            })
            .collect();
        store
            .update_story_states(&world.repo, *n, &states)
            .await
            .map_err(|e| format!("story states: {e}"))?;
    }
    store.close().await;
    Ok(())
}

/// How long a start must make no call, with an empty backlog, to count as idle: a
/// measurement's resolution, not a wait for an outcome (the daemon reports no "pass done").
const QUIET: Duration = Duration::from_secs(2);

/// One command's cost: wall time, calls, and its peak resident memory (KiB, `VmHWM`).
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub wall: Duration,
    pub calls: Snapshot,
    pub peak_kib: Option<u64>,
}

/// What one N measured; `None`: the command failed (its last line is in `note`).
#[derive(Debug, Clone)]
pub struct AtN {
    /// Opening the issues, and the bulk seed when `store_seeded`.
    pub seed: Duration,
    /// Jira and the store were seeded in bulk, not by a backfill (see [`seed_bulk`]).
    pub store_seeded: bool,
    pub backfill: Option<Run>,
    /// The third `reconcile --once` after the backfill: the first starts the cursors, the
    /// second lists the backfill's last second once more (GitHub's `since` is inclusive, in
    /// whole seconds), the third is the steady state.
    pub pass: Option<Run>,
    pub sweep: Option<Run>,
    pub listen: Duration,
    pub idle_after: Duration,
    pub start_calls: Snapshot,
    pub rss_kib: Option<u64>,
    /// Of `rss_kib`, the anonymous pages (heap and stacks, `RssAnon`): what grows with the
    /// links; the rest is mostly the binary's own pages (far more in a debug build).
    pub anon_kib: Option<u64>,
    pub note: String,
}

/// `VmHWM` (peak resident set) or `VmRSS` of process `pid`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `council-sync ARGS --config CONFIG`, timed, counted, with its peak RSS sampled
/// from `/proc` every 10 ms until it exits (`VmHWM` only grows, so the last sample is the
/// peak up to 10 ms before exit); `Err(last line)` when it failed.
async fn timed(args: &[&str], config: &Path, counts: &proxy::Counts) -> Result<Run, String> {
    let before = counts.snapshot();
    let t0 = Instant::now();
    let mut child = Command::new(common::binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .envs(SECRETS_ENV)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run council-sync");
    let pid = child.id();
    let mut peak_kib = None;
    let stderr = child.stderr.take().expect("stderr");
    let reader = tokio::spawn(async move {
        let mut buf = String::new();
        let mut r = tokio::io::BufReader::new(stderr);
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut r, &mut buf).await;
        buf
    });
    let status = loop {
        tokio::select! {
            s = child.wait() => break s.expect("wait council-sync"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                if let Some(k) = pid.and_then(|p| status_kib(p, "VmHWM:")) {
                    peak_kib = Some(k);
                }
            }
        }
    };
    let wall = t0.elapsed();
    let err = reader.await.unwrap_or_default();
    if status.success() {
        Ok(Run {
            wall,
            calls: counts.snapshot().since(before),
            peak_kib,
        })
    } else {
        Err(err.lines().last().unwrap_or("failed").to_owned())
    }
}

/// Measures at `links` linked concerns (two teams each).
pub async fn measure(dir: &Path, links: usize) -> AtN {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    let config = world.write_config_with(dir, 3, UNPACED);
    let body = common::complete_body(&FORM_TEAMS[..2]);
    let t0 = Instant::now();
    let numbers = world
        .ctl()
        .open_issues(
            &world.repo,
            "carol",
            links,
            "Concern",
            &body,
            &["sre-concern", "council/accepted"],
        )
        .await;
    let mut note = String::new();
    let numbers = numbers.expect("open accepted concerns");
    if links > BACKFILL_UP_TO {
        // A failed seed would make every concern drift: nothing else is worth measuring.
        seed_bulk(&world, dir, &numbers)
            .await
            .unwrap_or_else(|e| panic!("bulk seed of {links} links failed: {e}"));
        note.push_str(&format!(
            "seeded in bulk, not by a backfill (above {BACKFILL_UP_TO} the real backfill takes too long here): Jira epics and stories through the sandbox's control route POST /_sandbox/jira/issues/bulk with the daemon's labels and markers, the store through the crate's Store API; no tracking comments on GitHub; "
        ));
    }
    let seed = t0.elapsed();
    let mut step = |what: &str, r: Result<Run, String>| match r {
        Ok(run) => Some(run),
        Err(e) => {
            note.push_str(&format!("{what}: {e}; "));
            None
        }
    };
    let counts = &proxy.counts;
    let backfill = if links > BACKFILL_UP_TO {
        None
    } else {
        step("backfill", timed(&["backfill"], &config, counts).await)
    };
    let once = ["reconcile", "--once", "--timeout", "30m"];
    let mut pass = None;
    for _ in 0..3 {
        pass = step("reconcile", timed(&once, &config, counts).await);
    }
    let full = ["reconcile", "--once", "--full", "--timeout", "30m"];
    let sweep = step("full sweep", timed(&full, &config, counts).await);

    let before = counts.snapshot();
    let t0 = Instant::now();
    let (d, listen) = daemon::start(&config, &dir.join("daemon.log")).await;
    world.deliver_to(&d).await;
    let (idle_after, why) = idle(&d, &proxy, t0).await;
    if let Some(why) = why {
        note.push_str(&format!("start: {why}; "));
    }
    let start_calls = counts.snapshot().since(before);
    let rss_kib = d.child.id().and_then(|p| status_kib(p, "VmRSS:"));
    let anon_kib = d.child.id().and_then(|p| status_kib(p, "RssAnon:"));
    d.kill().await;
    eprintln!(
        "bench: {links} links: seed {seed:?}, backfill {backfill:?}, pass {pass:?}, sweep {sweep:?}, listen {listen:?}, idle after {idle_after:?}, {start_calls:?}, rss {rss_kib:?} KiB (anon {anon_kib:?})"
    );
    AtN {
        seed,
        store_seeded: links > BACKFILL_UP_TO,
        backfill,
        pass,
        sweep,
        listen,
        idle_after,
        start_calls,
        rss_kib,
        anon_kib,
        note,
    }
}

/// When a started daemon became idle (since `t0`): its start pass listed GitHub, its poll
/// searched the tracker, its backlog is empty, and no call came for [`QUIET`]; the time is
/// that of its last call's answer. `Some(why)` when that did not happen within 30 minutes.
async fn idle(
    d: &common::Daemon,
    proxy: &proxy::Running,
    t0: Instant,
) -> (Duration, Option<String>) {
    let deadline = t0 + Duration::from_secs(1800);
    let mut last = (proxy.counts.snapshot().total(), Instant::now());
    loop {
        let calls = proxy.trace.between(t0, Instant::now());
        let listed = calls.iter().any(|c| c.what.contains("/issues"))
            && calls.iter().any(|c| c.what.contains("/search"));
        let total = proxy.counts.snapshot().total();
        if total != last.0 {
            last = (total, Instant::now());
        }
        let empty = daemon::pending(d).await == Some(0);
        if listed && empty && last.1.elapsed() >= QUIET {
            let end = calls.iter().map(|c| c.end).max().unwrap_or(t0);
            return (end.saturating_duration_since(t0), None);
        }
        if Instant::now() > deadline {
            return (t0.elapsed(), Some("not idle within 30 min".into()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
