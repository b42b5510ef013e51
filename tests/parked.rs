//! A job that takes the process down is parked after a few tries, with its reason shown in
//! the tracking comment and `GET /status`, and runs again only when its input changes.
//!
//! The crash is the debug-only fault hook `COUNCIL_DEBUG_ABORT_JOB=<kind>` (compiled into
//! debug builds only; see `engine::outbox`): the process aborts as it starts a job of that
//! kind, as it would on a stack overflow or an OOM kill.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use common::*;
use council_sync::demo::view;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const TEAMS: [&str; 2] = ["payments", "data"];
const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";

/// Starts `council-sync run` with the abort hook set for `kind` and routes the repository's
/// webhooks to it once it listens. Returns the child and its URL (`None` if it died first).
async fn start_aborting(
    world: &World,
    config: &std::path::Path,
    kind: &str,
) -> (tokio::process::Child, Option<String>) {
    start_with(world, config, ("COUNCIL_DEBUG_ABORT_JOB", kind)).await
}

/// Starts `council-sync run` with one debug fault switch in its environment.
async fn start_with(
    world: &World,
    config: &std::path::Path,
    (var, value): (&str, &str),
) -> (tokio::process::Child, Option<String>) {
    let mut child = Command::new(binary())
        .args(["run", "--config"])
        .arg(config)
        .envs(SECRETS_ENV)
        .env(var, value)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut url = None;
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("council-sync listening on ") {
                return Some(rest.to_owned());
            }
        }
        None
    };
    if let Ok(Some(u)) = tokio::time::timeout(WAIT, read).await {
        url = Some(u);
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    if let Some(u) = &url {
        let daemon = Daemon {
            child,
            url: u.clone(),
            sandbox_url: None,
        };
        world.deliver_to(&daemon).await;
        return (daemon.child, url);
    }
    (child, url)
}

/// Waits for the child to end; whether SIGABRT ended it.
async fn aborted(child: &mut tokio::process::Child) -> bool {
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the daemon ends in time")
        .expect("wait");
    status.signal() == Some(6)
}

#[tokio::test]
async fn a_job_that_kills_the_process_is_parked_after_three_tries_and_rerun_on_edit() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, QUIET);
    let n = {
        let daemon = world.daemon(&config).await;
        let n = world.ready_concern(&TEAMS).await;
        daemon.wait_settled(&world.ctl()).await;
        daemon.kill().await;
        n
    };
    // The accept reaches a daemon whose epic job aborts the process.
    let (mut child, url) = start_aborting(&world, &config, "materialize").await;
    assert!(url.is_some(), "the daemon started");
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    assert!(aborted(&mut child).await, "the job took the process down");
    // Each restart replays the unfinished job once more: two more aborts ...
    let mut aborts = 1;
    let status = loop {
        let (mut child, url) = start_aborting(&world, &config, "materialize").await;
        let Some(url) = url else {
            assert!(aborted(&mut child).await);
            aborts += 1;
            continue;
        };
        // ... then a start that parks it instead of running it, and stays up. Paced by the
        // sandbox's change feed (parking edits the tracking comment), never by a sleep.
        let c = world.ctl();
        let deadline = std::time::Instant::now() + WAIT;
        let parked = loop {
            assert!(
                std::time::Instant::now() < deadline,
                "neither parked nor aborted"
            );
            let version = c.version().await.expect("version");
            let status: Value = match council_sync::crypto::http_client()
                .get(format!("{url}/status"))
                .send()
                .await
            {
                Ok(r) => r.json().await.unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            if status["parked_jobs"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                break Some(status);
            }
            let feed = format!("/_sandbox/changes?after={version}&timeout_ms=1000");
            tokio::select! {
                _ = child.wait() => break None,
                _ = c.get(&feed) => {}
            }
        };
        match parked {
            Some(status) => break (status, child, url),
            None => {
                assert!(aborted(&mut child).await);
                aborts += 1;
                assert!(aborts <= 3, "replayed more than three times");
            }
        }
    };
    let (status, child, url) = status;
    assert_eq!(aborts, 3, "parked after exactly three interrupted attempts");
    let job = &status["parked_jobs"][0];
    assert_eq!(job["kind"], "materialize", "{status}");
    assert!(
        job["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("parked after 3"),
        "{status}"
    );
    let issue = world
        .wait_issue(n, "the tracking comment says why", |i| {
            view::tracking_comments(i)
                .first()
                .is_some_and(|c| c.body.contains("parked after 3"))
        })
        .await;
    let (epics, _) = world.jira_for(n, &TEAMS).await;
    assert!(epics.is_empty(), "{issue}");

    // A reconcile pass over the same input does not replay it.
    let daemon = Daemon {
        child,
        url,
        sandbox_url: None,
    };
    reconcile_once(&config).await;
    daemon.wait_settled(&world.ctl()).await;
    assert!(daemon.child.id().is_some());
    daemon.kill().await;

    // With the fault gone (a fixed build), an edit of the issue runs it again at once.
    let daemon = world.daemon(&config).await;
    let body =
        complete_body(&TEAMS).replace("Automate the failover", "Automate the failover (edited)");
    world
        .ctl()
        .edit_body(&world.repo, n, "alice", &body)
        .await
        .expect("edit");
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!((epics.len(), stories.len()), (1, TEAMS.len()));
    daemon.kill().await;
}

#[tokio::test]
async fn a_delivery_that_kills_the_process_is_given_up_and_the_pass_still_decides() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The periodic pass far away: what repairs the concern is the pass at start.
    let config = world.write_config_with(dir.path(), 3, QUIET);
    let n = {
        let daemon = world.daemon(&config).await;
        let n = world.ready_concern(&TEAMS).await;
        daemon.wait_settled(&world.ctl()).await;
        daemon.kill().await;
        n
    };
    let fault = ("COUNCIL_DEBUG_ABORT_DELIVERY", "labeled");
    let (mut child, url) = start_with(&world, &config, fault).await;
    assert!(url.is_some());
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    assert!(
        aborted(&mut child).await,
        "deciding the delivery took the process down"
    );
    let mut aborts = 1;
    loop {
        let (mut child, url) = start_with(&world, &config, fault).await;
        let Some(url) = url else {
            assert!(aborted(&mut child).await);
            aborts += 1;
            continue;
        };
        // Either it aborts again, or it gave the delivery up and the concern ends right
        // (the pass at start reads the label and its actor from the issue's events).
        let c = world.ctl();
        let deadline = std::time::Instant::now() + WAIT;
        let done = loop {
            assert!(
                std::time::Instant::now() < deadline,
                "neither done nor aborted"
            );
            let version = c.version().await.expect("version");
            let issue = world.issue(n).await;
            if view::tracking_comments(&issue)
                .first()
                .is_some_and(|t| stories_listed(&t.body) == TEAMS.len())
            {
                break true;
            }
            let feed = format!("/_sandbox/changes?after={version}&timeout_ms=1000");
            tokio::select! {
                _ = child.wait() => break false,
                _ = c.get(&feed) => {}
            }
        };
        if done {
            let daemon = Daemon {
                child,
                url,
                sandbox_url: None,
            };
            daemon.wait_settled(&c).await;
            daemon.kill().await;
            break;
        }
        assert!(aborted(&mut child).await);
        aborts += 1;
        assert!(
            aborts <= 3,
            "the delivery was replayed more than three times"
        );
    }
    assert!(aborts <= 3);
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, TEAMS.len()),
        "exactly once"
    );
}
