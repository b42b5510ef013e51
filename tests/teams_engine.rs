//! Teams in the engine: the stories of known teams never wait on an unknown one, and the
//! edit that fixes the team list re-runs the failed step at once (not at the next pass).
//!
//! The concern is accepted with a team the configuration does not know (as can happen when
//! the criteria check lets it through, or a team's config was removed after acceptance).

mod common;

use common::*;

/// Periodic work far away: only the edit's delivery can re-run the step.
const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";

/// Runs `council-sync backfill` to completion.
async fn backfill(config: &std::path::Path) {
    let out = tokio::process::Command::new(binary())
        .arg("backfill")
        .arg("--config")
        .arg(config)
        .envs(SECRETS_ENV)
        .output()
        .await
        .expect("run backfill");
    assert!(
        out.status.success(),
        "backfill failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn known_teams_get_their_stories_and_an_edit_finishes_the_rest_at_once() {
    // Today's criteria check sends a concern with an unknown team to needs-info, so the
    // engine meets one only in a concern accepted before the daemon knew it: raised and
    // accepted while no daemon listened, then imported by `backfill`.
    let world = World::private().await;
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
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, QUIET);
    backfill(&config).await;
    let (epics, stories) = world.jira_for(n, &["payments", "platform"]).await;
    assert_eq!(epics.len(), 1);
    let teams: Vec<&str> = stories.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(teams, ["payments"], "payments did not wait on the typo");

    // The author fixes the typo while the daemon runs: the stories are completed right away.
    let daemon = world.daemon(&config).await;
    daemon.wait_settled(&c).await;
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
