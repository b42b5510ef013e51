//! The council board in a real browser: the real daemon over the sandbox, concerns walked
//! into each column by people acting through the sandbox (alice opens, carol decides, dave
//! moves Jira stories), and Debian's headless Chromium loading `GET /` from the board's own
//! listener. Assertions are on the DOM Chromium rendered (`--dump-dom`); a screenshot per
//! state is saved under `target/tmp/board-screenshots/` as the test's artifact.
//!
//! Without Chromium (a laptop without Debian's `chromium`), the test says so on stderr and
//! checks the page as served over HTTP only; under CI (`CI` set, where `.ci/run` installs
//! it) a missing Chromium fails the test.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use council_sync::demo::view;
use tokio::process::Command;

const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";
const BOARD: &str = "[server.board]\nlisten = \"127.0.0.1:0\"\n";

/// Debian's Chromium: `$CHROMIUM`, else `chromium` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// Where the screenshots go (kept after the test, for people and CI to look at).
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-screenshots");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// The flags that work on these machines (no network but loopback, root, no GPU).
fn headless(chrome: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chrome);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .kill_on_drop(true);
    cmd
}

/// The board as a browser sees it.
struct Browser {
    chrome: Option<PathBuf>,
    profile: tempfile::TempDir,
    url: String,
}

impl Browser {
    /// The DOM after Chromium loaded and rendered the page (or the page as served).
    async fn dom(&self) -> String {
        let Some(chrome) = &self.chrome else {
            return council_sync::crypto::http_client()
                .get(&self.url)
                .send()
                .await
                .expect("GET /")
                .text()
                .await
                .expect("page");
        };
        let out = headless(chrome, self.profile.path())
            .arg("--dump-dom")
            .arg(&self.url)
            .output()
            .await
            .expect("run chromium");
        assert!(
            out.status.success(),
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 DOM")
    }

    /// Saves `name.png` at `width`×`height` CSS pixels.
    async fn screenshot(&self, name: &str, width: u32, height: u32) {
        let Some(chrome) = &self.chrome else { return };
        let path = artifacts().join(format!("{name}.png"));
        let out = headless(chrome, self.profile.path())
            .arg(format!("--screenshot={}", path.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(&self.url)
            .output()
            .await
            .expect("run chromium");
        assert!(out.status.success(), "chromium --screenshot failed");
        let png = std::fs::read(&path).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
    }
}

/// The HTML of the column `id` (from its `<section` to the next one).
fn column<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("column {id} in {dom}"));
    let rest = &dom[start..];
    let end = rest[1..].find("<section").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

fn card_in(dom: &str, col: &str, repo: &str, n: u64) -> bool {
    column(dom, col).contains(&format!("data-concern=\"{repo}#{n}\""))
}

#[tokio::test]
async fn the_board_in_chromium_shows_each_column_with_links_progress_and_results() {
    let chrome = chromium();
    if chrome.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium (.ci/run installs Debian's chromium)"
        );
        eprintln!(
            "board test: Chromium not found (install Debian's `chromium` or set CHROMIUM); \
             checking the page as served, without a browser and without screenshots"
        );
    }
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, &format!("{QUIET}{BOARD}"));
    let (daemon, board_url) = Daemon::start_with_board(&config).await;
    world.deliver_to(&daemon).await;
    world.deliver_jira_to(&daemon).await;
    assert!(board_url.starts_with("http://127.0.0.1:"), "{board_url}");
    let browser = Browser {
        chrome,
        profile: tempfile::tempdir().expect("profile"),
        url: board_url.clone(),
    };
    let (c, repo) = (world.ctl(), world.repo.clone());

    // The board is not on the webhook port, and the webhook port has no board.
    let main_root = council_sync::crypto::http_client()
        .get(format!("{}/", daemon.url))
        .send()
        .await
        .expect("GET /");
    assert_eq!(
        main_root.status(),
        404,
        "the board is only on its own listener"
    );

    let dom = browser.dom().await;
    assert!(dom.contains("Needs info (0)"), "{dom}");
    browser.screenshot("0-empty", 1280, 900).await;

    // needs-info: an answer missing.
    let body =
        council_sync::demo::script::form_body("", "Pages every night.", "A probe.", &["payments"]);
    let needs_info = c
        .open_issue(
            &repo,
            "alice",
            "Flaky <b>DNS</b> & \"friends\"",
            &body,
            &["sre-concern"],
        )
        .await
        .expect("open");
    world
        .wait_issue(needs_info, "needs-info", |i| {
            view::has_label(i, "needs-info")
        })
        .await;
    // ready: the next agenda.
    let ready = world.ready_concern(&["payments"]).await;
    daemon.wait_settled(&c).await;
    let dom = browser.dom().await;
    assert!(card_in(&dom, "needs-info", &repo, needs_info), "{dom}");
    assert!(card_in(&dom, "ready", &repo, ready), "{dom}");
    assert!(
        dom.contains("Flaky &lt;b&gt;DNS&lt;/b&gt; &amp; "),
        "the title is text, not markup: {dom}"
    );
    assert!(!dom.contains("<b>DNS</b>"));
    browser
        .screenshot("1-needs-info-and-ready", 1280, 900)
        .await;

    // accepted / in progress: one of two stories started.
    let in_flight = world.ready_concern(&["payments", "data"]).await;
    c.add_label(&repo, in_flight, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(in_flight, 2).await;
    let (_, stories) = world.jira_for(in_flight, &["payments", "data"]).await;
    c.jira_transition(&stories[0].1.key, "dave", "In Progress")
        .await
        .expect("start");
    c.jira_transition(&stories[0].1.key, "dave", "Done")
        .await
        .expect("done");
    world
        .wait_issue(in_flight, "in progress", |i| {
            view::has_label(i, "council/in-progress")
        })
        .await;

    // done, awaiting results; and results presented with before/after figures.
    let mut done = Vec::new();
    for _ in 0..2 {
        let n = world.ready_concern(&["payments"]).await;
        c.add_label(&repo, n, "carol", "council/accepted")
            .await
            .expect("accept");
        world.wait_stories_listed(n, 1).await;
        let (_, stories) = world.jira_for(n, &["payments"]).await;
        c.jira_transition(&stories[0].1.key, "dave", "Done")
            .await
            .expect("done");
        world
            .wait_issue(n, "results requested", |i| {
                view::has_label(i, "council/results-requested")
            })
            .await;
        done.push(n);
    }
    let (awaiting, presented) = (done[0], done[1]);
    let results = complete_body(&["payments"]).replace(
        "### Results\n\n_No response_",
        "### Results\n\n| Metric | Before | After |\n|---|---|---|\n| p99 checkout latency | 900 ms | 300 ms |\n\n- failover: 40 min → 3 min",
    );
    c.edit_body(&repo, presented, "alice", &results)
        .await
        .expect("results");
    world
        .wait_issue(presented, "results presented", |i| {
            view::has_label(i, "council/results-presented")
        })
        .await;
    daemon.wait_settled(&c).await;

    let dom = browser.dom().await;
    assert!(card_in(&dom, "in-flight", &repo, in_flight), "{dom}");
    assert!(card_in(&dom, "awaiting-results", &repo, awaiting), "{dom}");
    assert!(
        card_in(&dom, "results-presented", &repo, presented),
        "{dom}"
    );
    let flight = column(&dom, "in-flight");
    assert!(flight.contains("1 of 2 stories done"), "{flight}");
    assert!(
        flight.contains("<progress value=\"1\" max=\"2\">"),
        "{flight}"
    );
    assert!(
        flight.contains("in progress"),
        "the stage in words: {flight}"
    );
    // Each card links to its GitHub issue and its epic.
    let issue_link = format!("/{repo}/issues/{in_flight}\"");
    assert!(flight.contains(&issue_link), "{flight}");
    assert!(flight.contains("Epic: <a href=\""), "{flight}");
    for col in [
        "needs-info",
        "ready",
        "in-flight",
        "awaiting-results",
        "results-presented",
    ] {
        assert!(
            column(&dom, col).contains("(1)"),
            "one card in {col}: {}",
            column(&dom, col)
        );
    }
    // Below the columns: the chart, the acceptance rate, this quarter's results.
    assert!(dom.contains("<svg class=\"chart\""), "{dom}");
    assert!(dom.contains("opened → ready"));
    assert!(
        dom.contains("100%</strong> accepted: 3 accepted, 0 rejected."),
        "{dom}"
    );
    let results = &dom[dom.find("id=\"results\"").expect("results section")..];
    assert!(
        results.contains(
            "<td>p99 checkout latency</td><td>900 ms</td><td>300 ms</td><td>-600 ms (-66.7%)</td>"
        ),
        "{results}"
    );
    assert!(
        results.contains("<td>failover</td><td>40 min</td><td>3 min</td><td>-37 min (-92.5%)</td>"),
        "{results}"
    );
    browser
        .screenshot("2-every-column-laptop", 1280, 1400)
        .await;
    browser.screenshot("3-every-column-phone", 390, 1800).await;
    if browser.chrome.is_some() {
        eprintln!("board screenshots in {}", artifacts().display());
    }
    daemon.kill().await;
}
