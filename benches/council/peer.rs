//! The peer, side by side (`BENCH_PARTS=peer`): jirahub 0.3.0 (spacetelescope's open-source
//! GitHub ↔ Jira sync, run from the venv scripts/bench makes under target/peer-venv) and
//! `council-sync backfill` on the same N accepted concerns in one sandbox, each through the
//! counting proxy.
//!
//! jirahub mirrors each GitHub issue its `issue_filter` accepts as one Jira Task (its link in
//! a URL custom field, its metadata in a multi-line text field, both made here through
//! `POST /rest/api/2/field` as an administrator would), and with
//! `github.create_tracking_comment` puts a link back on the GitHub issue, after which it
//! stores the comment's id in the metadata field (a PUT, after which its `jira` library
//! sleeps 4 s: counted apart, see benches/peer/run_jirahub.py). council-sync makes, for the
//! same issue, an epic, one story per team (2 here), the remote link and the tracking comment.
//! Neither is paced: jirahub has no pacing, and council-sync runs with limits far above the
//! rate the sandbox answers at.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::Command;

use crate::common::{self, SECRETS_ENV, World};
use crate::proxy::{self, Snapshot};

/// What jirahub's run reported besides the calls.
#[derive(Debug, Clone, Default)]
pub struct JirahubRun {
    pub wall: Duration,
    pub calls: Snapshot,
    /// `Resource.update`'s fixed sleeps and their seconds (skipped unless JIRAHUB_SLEEP=real).
    pub update_sleeps: u64,
    pub update_sleep_s: f64,
    pub slept: bool,
    /// Issues jirahub selected and failed to sync.
    pub failed: u64,
    /// Jira issues in its project afterwards.
    pub mirrored: usize,
    /// Lines it logged at WARNING and ERROR.
    pub warnings: usize,
    pub errors: usize,
    /// `jirahub sync` runs until every issue was mirrored (at most [`MAX_RUNS`]).
    pub runs: usize,
    /// Jira issues after its first run.
    pub after_first: Option<usize>,
}

/// How many times jirahub is run to mirror every issue.
pub const MAX_RUNS: usize = 4;

/// Both sides at N.
#[derive(Debug)]
pub struct Peer {
    pub issues: usize,
    pub jirahub: Result<JirahubRun, String>,
    /// Wall time, calls and its summary line.
    pub council: Result<(Duration, Snapshot, String), String>,
}

/// The venv's Python (`BENCH_PEER_PYTHON`, else `target/peer-venv/bin/python`).
fn python() -> PathBuf {
    std::env::var_os("BENCH_PEER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peer-venv/bin/python")
        })
}

const JIRA_USER: &str = "jirahub";
const JIRA_TOKEN: &str = "jirahub-token";

/// Creates a custom field through the sandbox's Jira REST API; its numeric id.
async fn custom_field(jira: &str, name: &str, kind: &str, searcher: &str) -> Result<u64, String> {
    const PREFIX: &str = "com.atlassian.jira.plugin.system.customfieldtypes:";
    let answer = council_sync::crypto::http_client()
        .post(format!("{jira}/rest/api/2/field"))
        .basic_auth("admin", Some("admin-token"))
        .json(&json!({
            "name": name,
            "type": format!("{PREFIX}{kind}"),
            "searcherKey": format!("{PREFIX}{searcher}"),
        }))
        .send()
        .await
        .map_err(|e| format!("create field: {e}"))?;
    let v: Value = answer
        .json()
        .await
        .map_err(|e| format!("create field: {e}"))?;
    v["schema"]["customId"]
        .as_u64()
        .ok_or_else(|| format!("create field: {v}"))
}

/// jirahub's configuration (a Python file it `exec`s with `c` bound to its config).
fn jirahub_config(
    jira: &str,
    project: &str,
    repo: &str,
    url_field: u64,
    meta_field: u64,
) -> String {
    format!(
        r#"# jirahub configuration for the council-sync bench (benches/council/peer.rs).
c.jira.server = "{jira}"
c.jira.project_key = "{project}"
c.jira.github_issue_url_field_id = {url_field}
c.jira.jirahub_metadata_field_id = {meta_field}
c.github.repository = "{repo}"
# Mirror every GitHub issue of the repository (all are accepted concerns here).
c.jira.issue_filter = lambda issue: True
# The link back on the GitHub issue, like council-sync's tracking comment.
c.github.create_tracking_comment = True
"#
    )
}

async fn run_jirahub(
    world: &World,
    proxy: &proxy::Running,
    dir: &Path,
    n: usize,
) -> Result<JirahubRun, String> {
    let project = format!("J{}", &world.epic_project[1..]);
    let c = world.ctl();
    c.post(
        "/_sandbox/jira/projects",
        json!({"key": project, "name": "jirahub mirror"}),
    )
    .await
    .map_err(|e| format!("jirahub project: {e:?}"))?;
    let url_field = custom_field(
        &world.sandbox_url,
        "GitHub Issue URL",
        "url",
        "exacttextsearcher",
    )
    .await?;
    let meta_field = custom_field(
        &world.sandbox_url,
        "jirahub metadata",
        "textarea",
        "textsearcher",
    )
    .await?;
    let config = dir.join("jirahub_config.py");
    std::fs::write(
        &config,
        jirahub_config(&proxy.url, &project, &world.repo, url_field, meta_field),
    )
    .map_err(|e| format!("write jirahub config: {e}"))?;
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/run_jirahub.py");
    let mirrored_now = || async {
        c.get(&format!(
            "/_sandbox/jira/issues?jql={}",
            urlencoding(&format!("project = {project}"))
        ))
        .await
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
    };
    // jirahub lists the repository's issues sorted by `updated`, in offset pages, while its
    // own tracking comments move each issue it handled to the end of that order: one run
    // skips about every other page. It is run again (without a placeholder, as its docs
    // say to catch up) until every issue is mirrored or a run adds none; all runs count.
    let before = proxy.counts.snapshot();
    let t0 = Instant::now();
    let mut total = JirahubRun::default();
    let mut mirrored = 0;
    for _ in 0..MAX_RUNS {
        let out = Command::new(python())
            .arg(&runner)
            .arg(&config)
            .env("JIRAHUB_JIRA_USERNAME", JIRA_USER)
            .env("JIRAHUB_JIRA_PASSWORD", JIRA_TOKEN)
            .env("JIRAHUB_GITHUB_TOKEN", SECRETS_ENV[0].1)
            .env("JIRAHUB_GITHUB_API_URL", &proxy.url)
            .env(
                "JIRAHUB_SLEEP",
                std::env::var("JIRAHUB_SLEEP").unwrap_or_else(|_| "count".into()),
            )
            .output()
            .await
            .map_err(|e| {
                format!(
                    "run {}: {e} (scripts/bench makes the venv)",
                    python().display()
                )
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let logged = |level: &str| stderr.lines().filter(|l| l.contains(level)).count();
        total.warnings += logged(" - WARNING - ");
        total.errors += logged(" - ERROR ");
        for l in stderr
            .lines()
            .filter(|l| l.contains(" - ERROR ") || l.contains(" - WARNING - "))
            .take(5)
        {
            eprintln!("bench: peer: jirahub said: {l}");
        }
        let report: Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                format!(
                    "jirahub exited {:?}: {}",
                    out.status.code(),
                    stderr.lines().last().unwrap_or("no output")
                )
            })?;
        total.runs += 1;
        total.update_sleeps += report["update_sleeps"].as_u64().unwrap_or(0);
        total.update_sleep_s += report["update_sleep_s"].as_f64().unwrap_or(0.0);
        total.slept = report["update_sleeps_slept"].as_bool().unwrap_or(false);
        total.failed += report["failed"].as_u64().unwrap_or(0);
        let now = mirrored_now().await;
        total.after_first.get_or_insert(now);
        let added = now.saturating_sub(mirrored);
        mirrored = now;
        if mirrored >= n || added == 0 {
            break;
        }
    }
    total.wall = t0.elapsed();
    total.calls = proxy.counts.snapshot().since(before);
    total.mirrored = mirrored;
    Ok(total)
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Unpaced for the comparison: jirahub has no pacing of its own.
const UNPACED: &str = "[limits.github]\nconcurrent = 100\ncontent_per_minute = 1000000\ncontent_burst = 1000000\ncontent_per_hour = 100000000\n\n[limits.jira]\nrequests_per_second = 100000\nburst = 100000\n";

async fn run_council(
    world: &World,
    proxy: &proxy::Running,
    dir: &Path,
) -> Result<(Duration, Snapshot, String), String> {
    let config = world.write_config_with(dir, 2, UNPACED);
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_owned());
    }
    let summary = stdout
        .lines()
        .find(|l| l.contains("concern issue(s):"))
        .unwrap_or("no summary line")
        .to_owned();
    Ok((wall, calls, summary))
}

/// Opens `n` accepted concerns (2 teams each), then runs jirahub and `council-sync backfill`
/// on them, one after the other, against the same sandbox.
pub async fn measure(dir: &Path, n: usize) -> Peer {
    let mut world = World::private().await;
    let proxy = proxy::start(&world.sandbox_url).await;
    world.github_api = proxy.url.clone();
    world.jira_api = proxy.url.clone();
    crate::backfill::open_accepted(&world, n)
        .await
        .expect("open accepted concerns");
    let jirahub = run_jirahub(&world, &proxy, dir, n).await;
    eprintln!("bench: peer: jirahub on {n} issues: {jirahub:?}");
    let council = run_council(&world, &proxy, dir).await;
    eprintln!("bench: peer: council-sync backfill on {n} issues: {council:?}");
    Peer {
        issues: n,
        jirahub,
        council,
    }
}
