//! `config/sandbox.toml`: the embedded sandbox and the daemon's store start and end
//! together, so a second `run` meets a new issue #1 as a new concern (it used to be taken
//! for the first run's accepted concern: no epic, no stories). With `[sandbox] state_dir`
//! both persist together instead.

mod common;

use common::*;
use council_sync::demo::view;

/// One `run`: a complete concern, accepted by carol; returns the issue's number and the
/// number of Jira issues the run created for it.
async fn one_run(config: &std::path::Path) -> u64 {
    let daemon = Daemon::start(config).await;
    let n = accept_one(&daemon).await;
    assert_eq!(daemon.terminate().await.code(), Some(0));
    n
}

/// Opens a complete concern in the daemon's embedded sandbox and has carol accept it;
/// returns its number once its story is listed.
async fn accept_one(daemon: &Daemon) -> u64 {
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

/// With `[sandbox] state_dir` the sandbox (GitHub and Jira) and the store persist together:
/// the second run still has the first run's concern #1 with its epic and story, and a new
/// issue gets #2 and is a new concern.
#[tokio::test]
async fn with_a_state_dir_the_sandbox_and_its_store_persist_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let config = write_embedded_config(dir.path());
    let text = std::fs::read_to_string(&config).expect("config")
        + &format!("state_dir = {:?}\n", state.display().to_string());
    std::fs::write(&config, text).expect("config");

    let first = Daemon::start(&config).await;
    assert_eq!(accept_one(&first).await, 1);
    assert_eq!(first.terminate().await.code(), Some(0));
    assert!(state.join("sandbox.json").exists(), "sandbox state saved");
    assert!(
        state.join("council-sync.db").exists(),
        "store kept beside it"
    );

    let second = Daemon::start(&config).await;
    let c = ctl(second.sandbox_url.as_deref().expect("embedded sandbox"));
    let repo = "acme/platform-concerns";
    let old = c.issue(repo, 1).await.expect("the old concern is still #1");
    let tracking = view::tracking_comments(&old);
    assert_eq!(tracking.len(), 1, "{old}");
    assert!(
        stories_listed(&tracking[0].body) > 0,
        "{}",
        tracking[0].body
    );
    assert_eq!(accept_one(&second).await, 2, "a new issue gets #2");
    let epics = c.jira_issues("issuetype = Epic").await.expect("epics");
    assert_eq!(
        epics.len(),
        2,
        "one epic per concern, the old one kept: {epics:?}"
    );
    assert_eq!(second.terminate().await.code(), Some(0));

    // Without the state directory the next run starts both empty again.
    let fresh_dir = dir.path().join("fresh-run");
    std::fs::create_dir_all(&fresh_dir).expect("dir");
    let fresh = write_embedded_config(&fresh_dir);
    assert_eq!(one_run(&fresh).await, 1);
}
