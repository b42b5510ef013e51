//! Errors from GitHub and Jira: transient ones are retried (honouring `Retry-After`) without
//! duplicating anything; one that retrying cannot fix is shown in the tracking comment.

mod common;

use std::time::Instant;

use common::*;
use council_sync::demo::view;
use serde_json::json;

#[tokio::test]
async fn github_503_with_retry_after_is_retried() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = world.daemon(&world.write_config(dir.path(), 3)).await;
    let c = world.ctl();
    let fault = add_fault(
        &c,
        json!({"method": "POST", "path_regex": format!("^/repos/{}/issues/[0-9]+/labels$", world.repo),
               "status": 503, "retry_after": 1, "times": 2}),
    )
    .await;
    let started = Instant::now();
    let n = world.ready_concern(&["payments"]).await;
    assert_eq!(fault_hits(&c, fault).await, 2, "both faults were hit");
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "waited Retry-After twice: {:?}",
        started.elapsed()
    );
    let issue = world.issue(n).await;
    assert_eq!(
        view::labels(&issue)
            .iter()
            .filter(|l| *l == "ready-for-council")
            .count(),
        1
    );
    daemon.kill().await;
}

#[tokio::test]
async fn jira_429_on_bulk_create_is_retried_without_duplicates() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = world.daemon(&world.write_config(dir.path(), 3)).await;
    let c = world.ctl();
    let teams = ["payments", "platform"];
    let n = world.ready_concern(&teams).await;
    let fault = add_fault(
        &c,
        json!({"method": "POST", "path_regex": "^/rest/api/3/issue/bulk$", "status": 429, "retry_after": 1, "times": 2}),
    )
    .await;
    c.add_label(&world.repo, n, "dave", "council/accepted")
        .await
        .expect("label");
    world.wait_stories_listed(n, teams.len()).await;
    assert_eq!(fault_hits(&c, fault).await, 2);
    let (epics, stories) = world.jira_for(n, &teams).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, 2),
        "{epics:?} {stories:?}"
    );
    daemon.kill().await;
}

#[tokio::test]
async fn a_4xx_that_retrying_cannot_fix_shows_in_the_tracking_comment_until_a_reconcile() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let teams = ["payments", "data"];
    let n = world.ready_concern(&teams).await;
    let fault =
        add_fault(&c, json!({"method": "POST", "path_regex": "^/rest/api/3/issue/bulk$", "status": 400, "times": 1})).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    let issue = world
        .wait_issue(n, "the problem in the tracking comment", |i| {
            view::tracking_comments(i)
                .first()
                .is_some_and(|t| t.body.contains("### Problem"))
        })
        .await;
    let tracking = &view::tracking_comments(&issue)[0].body;
    assert!(tracking.contains("400"), "status shown: {tracking}");
    assert!(tracking.contains("| payments | pending |"), "{tracking}");
    assert_eq!(fault_hits(&c, fault).await, 1, "a 400 is not retried");
    let (epics, stories) = world.jira_for(n, &teams).await;
    assert_eq!((epics.len(), stories.len()), (1, 0));

    // Once the cause is gone (the fault was used up), one reconcile pass makes the stories.
    reconcile_once(&config).await;
    let issue = world.wait_stories_listed(n, teams.len()).await;
    assert!(
        !view::tracking_comments(&issue)[0]
            .body
            .contains("### Problem"),
        "the problem is cleared"
    );
    let (epics, stories) = world.jira_for(n, &teams).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, 2),
        "one epic, one story per team"
    );
    daemon.kill().await;
}
