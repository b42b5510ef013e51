//! `council-sync backfill`: concerns raised before the daemon join the same life.

mod common;

use common::*;
use council_sync::demo::view;
use tokio::process::Command;

async fn backfill(config: &std::path::Path, dry_run: bool) -> String {
    let mut cmd = Command::new(binary());
    cmd.arg("backfill").arg("--config").arg(config);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.envs(SECRETS_ENV).output().await.expect("run backfill");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "backfill failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn existing_concerns_are_imported_once() {
    // Issues raised while no daemon listened (the sandbox has no webhook target yet).
    let world = World::private().await;
    let c = world.ctl();
    let accepted = c
        .open_issue(
            &world.repo,
            "alice",
            "Old accepted concern",
            &complete_body(&["payments", "data"]),
            &["sre-concern", "council/accepted"],
        )
        .await
        .expect("open");
    let incomplete = c
        .open_issue(
            &world.repo,
            "bob",
            "Old incomplete concern",
            &council_sync::demo::script::form_body("", "", "", &[]),
            &["sre-concern"],
        )
        .await
        .expect("open");
    let ready = c
        .open_issue(
            &world.repo,
            "erin",
            "Old complete concern",
            &complete_body(&["platform"]),
            &["sre-concern"],
        )
        .await
        .expect("open");
    c.open_issue(&world.repo, "erin", "Not a concern", "just a bug", &["bug"])
        .await
        .expect("open");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);

    let dry = backfill(&config, true).await;
    assert!(
        dry.contains("backfill 3/3:"),
        "plain progress lines when not on a terminal: {dry}"
    );
    assert!(
        dry.contains("3 concern issue(s): would import 3, already known 0"),
        "{dry}"
    );
    let (epics, _) = world.jira_for(accepted, &["payments"]).await;
    assert!(epics.is_empty(), "a dry run changes nothing");
    assert!(view::tracking_comments(&world.issue(incomplete).await).is_empty());

    let real = backfill(&config, false).await;
    assert!(real.contains("imported 3"), "{real}");
    let (epics, stories) = world.jira_for(accepted, &["payments", "data"]).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, 2),
        "the accepted concern got its epic and stories"
    );
    let issue = world.issue(incomplete).await;
    assert!(view::has_label(&issue, "needs-info"), "criteria checked");
    assert_eq!(view::tracking_comments(&issue).len(), 1);
    assert!(view::has_label(
        &world.issue(ready).await,
        "ready-for-council"
    ));

    let again = backfill(&config, false).await;
    assert!(again.contains("imported 0, already known 3"), "{again}");
    let (epics, stories) = world.jira_for(accepted, &["payments", "data"]).await;
    assert_eq!((epics.len(), stories.len()), (1, 2), "nothing twice");
}
