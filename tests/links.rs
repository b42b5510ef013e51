//! Links follow the thing, not its name: a Jira story moved to another project (new key,
//! same id; Jira's `jira:issue_updated` with a `Key` changelog item) stays the concern's
//! story, the tracking comment shows where it went, and the concern is not declared done
//! on the stories that kept their keys.

mod common;

use common::*;
use council_sync::demo::view;
use serde_json::json;

const TEAMS: [&str; 2] = ["payments", "platform"];

fn tracking(issue: &serde_json::Value) -> String {
    view::tracking_comments(issue)
        .first()
        .map(|c| c.body.clone())
        .unwrap_or_default()
}

/// The tracking comment's table row of `key`.
fn row_of(issue: &serde_json::Value, key: &str) -> Option<String> {
    tracking(issue)
        .lines()
        .find(|l| l.starts_with('|') && l.contains(&format!("[{key}]")))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_story_moved_to_another_project_stays_the_concerns_story() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    world.deliver_jira_to(&daemon).await;
    let n = world.ready_concern(&TEAMS).await;
    let c = world.ctl();
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (_, stories) = world.jira_for(n, &TEAMS).await;
    let key_of = |team: &str| {
        stories
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, s)| s.key.clone())
            .expect("story")
    };
    let (payments, platform) = (key_of("payments"), key_of("platform"));

    // dana moves the payments story to the data team's project, as Jira's "Move" does.
    let moved = c
        .post(
            &format!("/_sandbox/jira/issues/{payments}/move"),
            json!({"project": world.project("data"), "as": "dana"}),
        )
        .await
        .expect("move");
    let new_key = moved["key"].as_str().expect("new key").to_owned();
    assert_ne!(new_key, payments);
    assert!(new_key.starts_with(world.project("data")), "{new_key}");
    world
        .wait_issue(n, "the tracking comment follows the move", |i| {
            row_of(i, &new_key).is_some() && row_of(i, &payments).is_none()
        })
        .await;

    // The story that kept its key is done; the moved one is not: not done yet.
    c.jira_transition(&platform, "erin", "Done")
        .await
        .expect("done");
    let issue = world
        .wait_issue(n, "the platform story shows Done", |i| {
            row_of(i, &platform).is_some_and(|r| r.contains("Done"))
        })
        .await;
    assert!(
        !view::has_label(&issue, "council/done"),
        "declared done on the stories that kept their keys: {}",
        tracking(&issue)
    );
    assert!(
        row_of(&issue, &new_key).is_some_and(|r| !r.contains("Done")),
        "{}",
        tracking(&issue)
    );

    // The moved story, under its new key, finishes the concern.
    c.jira_transition(&new_key, "erin", "Done")
        .await
        .expect("done");
    world
        .wait_issue(n, "council/done once the moved story is done too", |i| {
            view::has_label(i, "council/done")
        })
        .await;
    assert_eq!(daemon.terminate().await.code(), Some(0));
}
