//! `config/sandbox.toml`: the embedded sandbox and the daemon's store start and end
//! together, so a second `run` meets a new issue #1 as a new concern (it used to be taken
//! for the first run's accepted concern: no epic, no stories).

mod common;

use common::*;
use council_sync::demo::view;

/// One `run`: a complete concern, accepted by carol; returns the issue's number and the
/// number of Jira issues the run created for it.
async fn one_run(config: &std::path::Path) -> u64 {
    let daemon = Daemon::start(config).await;
    let c = ctl(daemon.sandbox_url.as_deref().expect("embedded sandbox"));
    let repo = "acme/platform-concerns";
    let n = c
        .open_issue(
            repo,
            "alice",
            "Checkout DB failover is manual",
            &complete_body(&["payments"]),
            &["sre-concern"],
        )
        .await
        .expect("open");
    c.wait_for("ready", WAIT, || async {
        let i = c.issue(repo, n).await?;
        Ok(view::has_label(&i, "ready-for-council").then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    c.add_label(repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    c.wait_for("story listed", WAIT, || async {
        let i = c.issue(repo, n).await?;
        Ok(view::tracking_comments(&i)
            .first()
            .is_some_and(|t| stories_listed(&t.body) > 0 && !t.body.contains(" | pending |"))
            .then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(daemon.terminate().await.code(), Some(0));
    n
}

#[tokio::test]
async fn each_run_of_the_sandbox_config_starts_with_an_empty_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_embedded_config(dir.path());
    assert_eq!(one_run(&config).await, 1);
    assert_eq!(
        one_run(&config).await,
        1,
        "the second sandbox starts empty too"
    );
    assert!(
        !dir.path().join("council-sync.db").exists(),
        "store.url of the file is not used with the embedded sandbox"
    );
}
