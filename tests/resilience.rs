//! The daemon starts and receives whatever GitHub and Jira do, says which one fails and
//! since when, and resumes when they are back; a shutdown with a hung call is bounded by
//! the drain, and the write it cut is resolved after the restart without a duplicate.

mod common;

use std::time::{Duration, Instant};

use common::*;
use council_sync::demo::view;
use serde_json::{Value, json};

const TEAMS: [&str; 2] = ["payments", "data"];

async fn readyz(daemon: &Daemon) -> u16 {
    council_sync::crypto::http_client()
        .get(format!("{}/readyz", daemon.url))
        .send()
        .await
        .expect("readyz")
        .status()
        .as_u16()
}

fn failing_since(status: &Value, dep: &str) -> Option<i64> {
    let d = &status["dependencies"][dep];
    (d["ok"] == false && d["error"].as_str().is_some_and(|e| e.contains("503")))
        .then(|| d["since_ms"].as_i64())
        .flatten()
}

#[tokio::test]
async fn starts_receives_and_stores_while_github_and_jira_answer_503_then_catches_up() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let c = world.ctl();
    // Every GitHub and Jira API path fails (the control API is never faulted).
    let github = add_fault(
        &c,
        json!({"path_regex": "^/(user|repos|orgs|graphql|search|teams)", "status": 503}),
    )
    .await;
    let jira = add_fault(&c, json!({"path_regex": "^/rest/", "status": 503})).await;
    let before = council_sync::store::now_ms();
    let daemon = world.daemon(&config).await;
    assert_eq!(
        readyz(&daemon).await,
        200,
        "ready: the store takes deliveries"
    );

    // A concern opened during the outage reaches the daemon and is stored (202).
    let n = c
        .open_issue(
            &world.repo,
            "alice",
            "Failover is manual",
            &complete_body(&TEAMS),
            &["sre-concern"],
        )
        .await
        .expect("open");
    let direct = deliver(
        &daemon.url,
        "ping",
        "outage-ping",
        br#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
    )
    .await;
    assert_eq!(direct, 202, "a delivery during the outage is accepted");
    let status = daemon
        .wait_status("both dependencies failing and the delivery stored", |s| {
            failing_since(s, "github").is_some()
                && failing_since(s, "jira").is_some()
                && s["pending_deliveries"].as_u64() >= Some(1)
        })
        .await;
    assert_eq!(status["engine"], "waiting_for_dependencies", "{status}");
    for dep in ["github", "jira"] {
        let since = failing_since(&status, dep).expect("since");
        assert!(since >= before, "{dep} failing since the start: {status}");
    }
    let issue = world.issue(n).await;
    assert!(
        !view::has_label(&issue, "ready-for-council"),
        "nothing acted during the outage"
    );

    // Back: the stored delivery is acted on.
    c.delete(&format!("/_sandbox/faults/{github}"))
        .await
        .expect("clear");
    c.delete(&format!("/_sandbox/faults/{jira}"))
        .await
        .expect("clear");
    world
        .wait_issue(n, "ready-for-council after the outage", |i| {
            view::has_label(i, "ready-for-council")
        })
        .await;
    let status = daemon
        .wait_status("dependencies healthy", |s| {
            s["dependencies"]["github"]["ok"] == true && s["dependencies"]["jira"]["ok"] == true
        })
        .await;
    assert_eq!(status["engine"], "running", "{status}");
    assert_eq!(readyz(&daemon).await, 200);
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

#[tokio::test]
async fn sigterm_during_a_hung_create_exits_within_the_drain_and_a_restart_makes_one_epic() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Search trails creation by 1.5 s; the daemon trusts it only 10 s after an attempt.
    let config = world.write_config_jira(
        dir.path(),
        3,
        "search_consistency_window = \"10s\"\nsearch_consistency_wait = \"8s\"\n",
        "",
    );
    let c = world.ctl();
    c.put("/_sandbox/jira/search-lag", json!({"ms": 1500}))
        .await
        .expect("lag");
    const DRAIN: Duration = Duration::from_secs(2);
    let env = [("COUNCIL_SERVER__DRAIN", "2s")];
    let daemon = Daemon::start_env(&config, &env).await;
    world.deliver_to(&daemon).await;
    let n = world.ready_concern(&TEAMS).await;
    let fault = add_fault(
        &c,
        json!({"method": "POST", "path_regex": "^/rest/api/3/issue$", "hold": true, "times": 1}),
    )
    .await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    let held = c
        .get(&format!("/_sandbox/faults/{fault}/held?timeout_ms=30000"))
        .await
        .expect("held");
    assert!(held["held"].as_u64() >= Some(1), "epic create held: {held}");

    let started = Instant::now();
    daemon.send_term().await;
    let mut daemon = daemon;
    let exit = tokio::time::timeout(WAIT, daemon.child.wait())
        .await
        .expect("exits")
        .expect("wait");
    let took = started.elapsed();
    assert_eq!(exit.code(), Some(0), "clean exit");
    assert!(
        took < DRAIN + Duration::from_secs(3),
        "exit within the drain and a margin, not the 30 s HTTP timeout: {took:?}"
    );

    // The cut request may still reach Jira (its answer lost) or not: unknown either way.
    c.post(&format!("/_sandbox/faults/{fault}/release"), json!({}))
        .await
        .expect("release");
    let daemon = world.daemon(&config).await;
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(epics.len(), 1, "one epic: {epics:?}");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    daemon.kill().await;
}

/// The same bound when the hung call is a GitHub write (the tracking comment): SIGTERM exits
/// within the drain, and after the restart the concern has exactly one tracking comment.
#[tokio::test]
async fn sigterm_during_a_hung_github_write_exits_within_the_drain_and_resumes_once() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let c = world.ctl();
    let daemon = Daemon::start_env(&config, &[("COUNCIL_SERVER__DRAIN", "1s")]).await;
    world.deliver_to(&daemon).await;
    let fault = add_fault(
        &c,
        json!({"method": "POST", "path_regex": "^/repos/[^/]+/[^/]+/issues/[0-9]+/comments$",
               "hold_answer": true, "times": 1}),
    )
    .await;
    let n = c
        .open_issue(
            &world.repo,
            "alice",
            "Failover is manual",
            &complete_body(&TEAMS),
            &["sre-concern"],
        )
        .await
        .expect("open");
    let held = c
        .get(&format!("/_sandbox/faults/{fault}/held?timeout_ms=30000"))
        .await
        .expect("held");
    assert!(
        held["held"].as_u64() >= Some(1),
        "comment answer held: {held}"
    );
    let started = Instant::now();
    daemon.send_term().await;
    let mut daemon = daemon;
    let exit = tokio::time::timeout(WAIT, daemon.child.wait())
        .await
        .expect("exits")
        .expect("wait");
    let took = started.elapsed();
    assert_eq!(exit.code(), Some(0));
    assert!(
        took < Duration::from_secs(1) + Duration::from_secs(3),
        "exit within the drain and a margin: {took:?}"
    );

    let daemon = world.daemon(&config).await;
    let issue = world
        .wait_issue(n, "ready-for-council after the restart", |i| {
            view::has_label(i, "ready-for-council")
        })
        .await;
    daemon.wait_settled(&c).await;
    let issue = world
        .issue(issue["issue"]["number"].as_u64().unwrap_or(n))
        .await;
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "one tracking comment: the cut write is found by its marker"
    );
    daemon.kill().await;
}
