//! Issue #11 "Measurable results": each story is submitted by the deciding council member,
//! through the real binary over the sandbox. On Jira the member is the story's reporter
//! through `[users]` (Cloud accountId, Data Center user name); in two-step mode it is the
//! member who vetted; a member without a mapping leaves the daemon as reporter and the
//! story says "Submitted for the council by @member".

mod common;

use common::*;
use serde_json::Value;

const TEAMS: [&str; 2] = ["payments", "data"];

/// The raw sandbox issues (reporter and description included) of `team`'s story of `n`.
async fn story(world: &World, n: u64, team: &str) -> Value {
    let id = world.issue_id(n).await;
    let marker = council_sync::engine::story_marker(id, team);
    let found = world
        .ctl()
        .jira_issues(&format!("labels = \"{marker}\""))
        .await
        .expect("jql");
    assert_eq!(found.len(), 1, "one story for {team}");
    found[0].clone()
}

#[tokio::test]
async fn the_accepting_member_reports_each_story_on_cloud() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let users = "[users]\ncarol = \"557058:carol\"\n";
    let config = world.write_config_with(dir.path(), 3, users);
    let daemon = world.daemon(&config).await;
    let n = world.ready_concern(&TEAMS).await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    daemon.wait_settled(&world.ctl()).await;
    for team in TEAMS {
        let s = story(&world, n, team).await;
        assert_eq!(s["reporter"], "carol", "{s}");
        assert!(
            !s["description"]
                .to_string()
                .contains("Submitted for the council")
        );
    }
}

#[tokio::test]
async fn in_two_step_mode_the_vetting_member_submits_on_data_center() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // dave vets and is mapped by user name (Data Center); carol accepts, unmapped.
    let extra = "[council]\ntwo_step = true\n\n[users]\ndave = \"dave\"\n";
    let config = world.write_config_with(dir.path(), 2, extra);
    let daemon = world.daemon(&config).await;
    let n = world.ready_concern(&TEAMS).await;
    let c = world.ctl();
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world
        .wait_issue(n, "epic listed", |i| {
            council_sync::demo::view::tracking_comments(i)
                .first()
                .is_some_and(|t| t.body.contains("Epic"))
        })
        .await;
    c.add_label(&world.repo, n, "dave", "council/vetted")
        .await
        .expect("vet");
    world.wait_stories_listed(n, TEAMS.len()).await;
    daemon.wait_settled(&c).await;
    for team in TEAMS {
        let s = story(&world, n, team).await;
        assert_eq!(s["reporter"], "dave", "{s}");
    }
}

#[tokio::test]
async fn an_unmapped_member_is_named_in_the_story() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let n = world.ready_concern(&TEAMS).await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    daemon.wait_settled(&world.ctl()).await;
    for team in TEAMS {
        let s = story(&world, n, team).await;
        assert_ne!(s["reporter"], "carol", "{s}");
        assert!(
            s["description"]
                .to_string()
                .contains("Submitted for the council by @carol."),
            "{s}"
        );
    }
}
