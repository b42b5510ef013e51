//! Work is never lost or duplicated: redelivered and duplicated webhooks, and a daemon
//! killed between creating the epic and creating the stories.

mod common;

use common::*;
use council_sync::demo::view;
use serde_json::{Value, json};

const TEAMS: [&str; 2] = ["payments", "data"];

/// The dropped `issues.labeled` delivery for `label` on issue `n`, from the sandbox's log.
async fn dropped_label_delivery(url: &str, n: u64, label: &str) -> Value {
    let c = ctl(url);
    c.wait_for(
        "the dropped label delivery in the sandbox's log",
        WAIT,
        || async {
            let log = c.get("/_sandbox/deliveries").await?;
            Ok(log.as_array().and_then(|entries| {
                entries
                    .iter()
                    .find(|d| {
                        d["event"] == "issues"
                            && d["action"] == "labeled"
                            && d["payload"]["issue"]["number"].as_u64() == Some(n)
                            && d["payload"]["label"]["name"] == label
                    })
                    .cloned()
            }))
        },
    )
    .await
    .expect("delivery logged")
}

#[tokio::test]
async fn duplicated_deliveries_make_one_epic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&write_config(dir.path(), None, 3)).await;
    let sandbox = daemon.sandbox_url.clone().expect("embedded sandbox");
    let c = ctl(&sandbox);
    let n = ready_concern(&c, &TEAMS).await;

    // carol accepts while deliveries are dropped; the test then delivers that event itself:
    // the same delivery 5 times and 5 distinct deliveries of it, all at once.
    c.drop_webhooks(true).await.expect("drop");
    c.add_label(REPO, n, "carol", "council/accepted")
        .await
        .expect("label");
    let record = dropped_label_delivery(&sandbox, n, "council/accepted").await;
    c.drop_webhooks(false).await.expect("resume");
    let body = serde_json::to_vec(&record["payload"]).expect("payload");
    let same_id = record["id"].as_str().expect("id").to_owned();
    let mut sends = Vec::new();
    for i in 0..5 {
        let (url, payload, same) = (daemon.url.clone(), body.clone(), same_id.clone());
        sends.push(tokio::spawn(async move {
            deliver(&url, "issues", &same, &payload).await
        }));
        let (url, payload) = (daemon.url.clone(), body.clone());
        sends.push(tokio::spawn(async move {
            deliver(&url, "issues", &format!("distinct-{i}"), &payload).await
        }));
    }
    for s in sends {
        assert_eq!(s.await.expect("send"), 202);
    }

    let issue = wait_stories_listed(&c, n, TEAMS.len()).await;
    let id = issue_id(&c, n).await;
    let (epics, stories) = jira_for(&c, id, &TEAMS).await;
    assert_eq!(epics.len(), 1, "one epic: {epics:?}");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    for (_, s) in &stories {
        assert_eq!(s.parent.as_deref(), Some(epics[0].key.as_str()));
    }
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "one tracking comment"
    );
    assert_eq!(
        daemon.terminate().await.code(),
        Some(0),
        "clean exit on SIGTERM"
    );
}

#[tokio::test]
async fn killed_between_epic_and_stories_resumes_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = SandboxProcess::start().await;
    let config = write_config(dir.path(), Some(&sandbox.url), 3);
    let daemon = Daemon::start(&config).await;
    sandbox.deliver_to(&daemon).await;
    let c = ctl(&sandbox.url);
    let n = ready_concern(&c, &TEAMS).await;

    let fault = c
        .post("/_sandbox/faults", json!({"method": "POST", "path_regex": "^/rest/api/3/issue/bulk$", "hold": true, "times": 1}))
        .await
        .expect("fault");
    let fault_id = fault["id"].as_u64().expect("fault id");
    c.add_label(REPO, n, "carol", "council/accepted")
        .await
        .expect("label");
    // Returns once the daemon's bulk create is being held: the epic exists, the stories not.
    let held = c
        .get(&format!(
            "/_sandbox/faults/{fault_id}/held?timeout_ms=30000"
        ))
        .await
        .expect("held");
    assert!(
        held["held"].as_u64().unwrap_or(0) >= 1 || held["held"] == true,
        "bulk create held: {held}"
    );
    let id = issue_id(&c, n).await;
    let (epics, stories) = jira_for(&c, id, &TEAMS).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, 0),
        "epic made, stories not yet"
    );
    daemon.kill().await;

    let daemon = Daemon::start(&config).await;
    sandbox.deliver_to(&daemon).await;
    wait_stories_listed(&c, n, TEAMS.len()).await;
    let (epics, stories) = jira_for(&c, id, &TEAMS).await;
    assert_eq!(epics.len(), 1, "still one epic: {epics:?}");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    daemon.kill().await;
}
