//! Teams in the engine: the stories of known teams never wait on an unknown one, and the
//! edit that fixes the team list re-runs the failed step at once (not at the next pass).
//!
//! The concern is accepted with a team the configuration does not know (as can happen when
//! the criteria check lets it through, or a team's config was removed after acceptance).

mod common;

use common::*;
use council_sync::demo::view;

/// Periodic work far away: only the edit's delivery can re-run the step.
const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";

#[tokio::test]
async fn known_teams_get_their_stories_and_an_edit_finishes_the_rest_at_once() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, QUIET);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = c
        .open_issue(
            &world.repo,
            "alice",
            "Checkout DB failover is manual",
            &complete_body(&["payments", "Platfrom"]),
            &["sre-concern", "ready-for-council"],
        )
        .await
        .expect("open");
    daemon.wait_settled(&c).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    let issue = world
        .wait_issue(n, "the unknown team is reported", |i| {
            view::tracking_comments(i)
                .first()
                .is_some_and(|t| t.body.contains("Platfrom"))
        })
        .await;
    daemon.wait_settled(&c).await;
    let (epics, stories) = world.jira_for(n, &["payments", "platform"]).await;
    assert_eq!(epics.len(), 1, "{issue}");
    let teams: Vec<&str> = stories.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(teams, ["payments"], "payments did not wait on the typo");

    // The author fixes the typo: the stories are completed right away.
    c.edit_body(
        &world.repo,
        n,
        "alice",
        &complete_body(&["payments", "platform"]),
    )
    .await
    .expect("edit");
    world.wait_stories_listed(n, 2).await;
    let (epics, stories) = world.jira_for(n, &["payments", "platform"]).await;
    assert_eq!((epics.len(), stories.len()), (1, 2), "nothing twice");
    daemon.kill().await;
}
