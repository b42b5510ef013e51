//! GitHub label names ignore case, through the real binary and the sandbox: a repository
//! whose labels already exist in another spelling (`Council/Accepted`, `Ready-For-Council`)
//! works as if they were ours, and a non-member's decision label is removed under the name
//! it has on the issue.

mod common;

use common::*;
use council_sync::demo::view;
use serde_json::json;

/// Creates a repository label through GitHub's REST API, as a maintainer would.
async fn create_label(world: &World, name: &str) {
    let resp = council_sync::crypto::http_client()
        .post(format!("{}/repos/{}/labels", world.github_api, world.repo))
        .header("Authorization", "token maintainer")
        .header("User-Agent", "labels-test")
        .json(&json!({"name": name, "color": "0e8a16"}))
        .send()
        .await
        .expect("create label");
    assert_eq!(resp.status().as_u16(), 201, "{name}");
}

#[tokio::test]
async fn existing_labels_in_another_case_are_the_councils_labels() {
    let world = World::new().await;
    for name in ["Council/Accepted", "Council/Rejected", "Ready-For-Council"] {
        create_label(&world, name).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let teams = ["payments"];
    let n = world
        .ctl()
        .open_issue(
            &world.repo,
            "alice",
            "Checkout DB failover is manual",
            &complete_body(&teams),
            &["sre-concern"],
        )
        .await
        .expect("open");
    // The daemon adds `ready-for-council`; GitHub (and the sandbox) reuse the repository's
    // `Ready-For-Council`.
    let issue = world
        .wait_issue(n, "Ready-For-Council", |i| {
            view::has_label(i, "Ready-For-Council")
        })
        .await;
    assert!(!view::has_label(&issue, "ready-for-council"), "{issue}");

    // mallory is not on the council: the label goes, under its own spelling.
    world
        .ctl()
        .add_label(&world.repo, n, "mallory", "Council/Rejected")
        .await
        .expect("label");
    world
        .wait_issue(n, "Council/Rejected removed", |i| {
            !view::has_label(i, "Council/Rejected")
                && view::comments(i).iter().any(|c| c.body.contains("mallory"))
        })
        .await;

    // carol is: `Council/Accepted` is an accept.
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "Council/Accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, teams.len()).await;
    let (epics, stories) = world.jira_for(n, &teams).await;
    assert_eq!((epics.len(), stories.len()), (1, 1));
    let issue = world
        .wait_issue(n, "Ready-For-Council removed", |i| {
            !view::has_label(i, "Ready-For-Council")
        })
        .await;
    let labels = view::labels(&issue);
    assert!(
        labels.contains(&"Council/Accepted".to_owned()),
        "{labels:?}"
    );
    assert_eq!(
        labels
            .iter()
            .filter(|l| l.eq_ignore_ascii_case("council/accepted"))
            .count(),
        1,
        "{labels:?}"
    );
    assert_eq!(daemon.terminate().await.code(), Some(0));
}
