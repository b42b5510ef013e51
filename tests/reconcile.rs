//! Reconcile derives from the current state: every kind of delivery the daemon handles,
//! lost one at a time (the repository's hook silenced while a person acts, as GitHub does
//! not redeliver a failed delivery by itself), or sent while the daemon is down, is repaired
//! by one `council-sync reconcile --once` pass (or the daemon's own pass at start).
//!
//! Each test silences only its own repository's hook, so these tests also run against a
//! shared sandbox behind Prism in the contract step (which then checks the issue events API).

mod common;

use common::*;
use council_sync::demo::view;
use serde_json::{Value, json};

const TEAMS: [&str; 2] = ["payments", "data"];

/// Periodic work far away: what a test sees is webhooks' doing or the pass it runs itself.
const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";

struct Setup {
    world: World,
    daemon: Daemon,
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn setup(extra: &str) -> Setup {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, &format!("{QUIET}{extra}"));
    let daemon = world.daemon(&config).await;
    Setup {
        world,
        daemon,
        config,
        _dir: dir,
    }
}

/// Deliveries of this test's repository go nowhere from now on (a hook with no URL).
async fn silence(world: &World) {
    world
        .ctl()
        .post(
            &format!("/_sandbox/github/repos/{}/hooks", world.repo),
            json!({ "url": null }),
        )
        .await
        .expect("silence the hook");
}

/// The tracking comment's body ("" when there is none).
fn tracking(issue: &Value) -> String {
    view::tracking_comments(issue)
        .first()
        .map(|c| c.body.clone())
        .unwrap_or_default()
}

/// Accepts `n` as carol with deliveries on, and waits for the stories.
async fn accept(s: &Setup, n: u64) {
    s.world
        .ctl()
        .add_label(&s.world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    s.world.wait_stories_listed(n, TEAMS.len()).await;
}

#[tokio::test]
async fn lost_opened_is_found_by_the_pass() {
    let s = setup("").await;
    silence(&s.world).await;
    let c = s.world.ctl();
    // The daemon's own pass at start lists the repository too; let it finish first, so the
    // issue below is found by the pass this test runs (when the start pass is slow, as
    // through the Prism proxies, it may still find it: that is the same repair).
    s.daemon.wait_settled(&c).await;
    let n = c
        .open_issue(
            &s.world.repo,
            "alice",
            "Lost opened",
            &complete_body(&TEAMS),
            &["sre-concern"],
        )
        .await
        .expect("open");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let issue = s.world.issue(n).await;
    assert!(view::has_label(&issue, "ready-for-council"), "{issue}");
    assert_eq!(view::tracking_comments(&issue).len(), 1);
}

#[tokio::test]
async fn lost_edited_moves_needs_info_to_ready() {
    let s = setup("").await;
    let c = s.world.ctl();
    let n = c
        .open_issue(
            &s.world.repo,
            "alice",
            "Incomplete",
            &council_sync::demo::script::form_body("", "", "", &[]),
            &["sre-concern"],
        )
        .await
        .expect("open");
    s.world
        .wait_issue(n, "needs-info", |i| view::has_label(i, "needs-info"))
        .await;
    silence(&s.world).await;
    c.edit_body(&s.world.repo, n, "alice", &complete_body(&TEAMS))
        .await
        .expect("edit");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let issue = s.world.issue(n).await;
    assert!(view::has_label(&issue, "ready-for-council"), "{issue}");
    assert!(!view::has_label(&issue, "needs-info"));
}

#[tokio::test]
async fn lost_unlabeled_is_put_back_as_the_stage_says() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    silence(&s.world).await;
    let c = s.world.ctl();
    c.delete(&format!(
        "/_sandbox/github/repos/{}/issues/{n}/labels/ready-for-council?as=alice",
        s.world.repo
    ))
    .await
    .expect("unlabel");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    assert!(view::has_label(
        &s.world.issue(n).await,
        "ready-for-council"
    ));
}

#[tokio::test]
async fn lost_accept_is_recorded_with_its_actor_and_acted_on() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    silence(&s.world).await;
    s.world
        .ctl()
        .add_label(&s.world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    // The pass records the decision and queues its jobs; the running daemon (or the pass's
    // own drain) creates the epic and stories.
    let issue = s.world.wait_stories_listed(n, TEAMS.len()).await;
    assert!(!view::has_label(&issue, "ready-for-council"), "{issue}");
    assert!(tracking(&issue).contains("carol"), "{}", tracking(&issue));
    let (epics, stories) = s.world.jira_for(n, &TEAMS).await;
    assert_eq!((epics.len(), stories.len()), (1, TEAMS.len()));
    // The decision is recorded with who applied the label and when (the issue's events),
    // and the stage history has it in order.
    let labeled_at = issue["events"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|ev| ev["event"] == "labeled" && ev["label"] == "council/accepted")
        })
        .and_then(|ev| ev["created_at"].as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
        .expect("labeled event");
    let store = council_sync::store::Store::open(&store_url_of(&s.config))
        .await
        .expect("open the daemon's store");
    let decisions = store
        .decisions_for(&s.world.repo, n)
        .await
        .expect("decisions");
    assert_eq!(
        (decisions[0].actor.as_str(), decisions[0].decided_at),
        ("carol", labeled_at)
    );
    let history = store
        .stage_history(&s.world.repo, n)
        .await
        .expect("history");
    let steps: Vec<(String, &str)> = history
        .iter()
        .map(|t| (t.to.to_string(), t.cause.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("ready".to_owned(), "criteria"),
            ("accepted".to_owned(), "accept"),
            ("epic-created".to_owned(), "created"),
            ("stories-created".to_owned(), "created"),
        ],
        "{history:?}"
    );
    assert_eq!(history[1].at_ms, labeled_at);
    store.close().await;
    // A second pass changes nothing.
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let (epics, stories) = s.world.jira_for(n, &TEAMS).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, TEAMS.len()),
        "nothing twice"
    );
}

#[tokio::test]
async fn accept_sent_while_the_daemon_is_down_is_repaired_at_restart() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    let Setup {
        world,
        daemon,
        config,
        _dir,
    } = s;
    // GitHub does not redeliver a delivery that failed while the daemon was down; the
    // sandbox would retry for a while (and, its queue being ordered, could hand the label's
    // delivery to the restarted daemon), so the hook is silenced: it never arrives.
    silence(&world).await;
    daemon.wait_settled(&world.ctl()).await;
    daemon.kill().await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept while down");
    // The restarted daemon's first reconcile pass runs at start.
    let daemon = world.daemon(&config).await;
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!((epics.len(), stories.len()), (1, TEAMS.len()));
    daemon.kill().await;
}

#[tokio::test]
async fn lost_reject_closes_as_not_planned() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    silence(&s.world).await;
    s.world
        .ctl()
        .add_label(&s.world.repo, n, "dave", "council/rejected")
        .await
        .expect("reject");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let issue = s
        .world
        .wait_issue(n, "closed as not planned", |i| {
            view::state(i) == ("closed".into(), Some("not_planned".into()))
        })
        .await;
    assert!(!view::has_label(&issue, "ready-for-council"));
    let (epics, _) = s.world.jira_for(n, &TEAMS).await;
    assert!(epics.is_empty());
}

#[tokio::test]
async fn lost_label_by_someone_off_the_council_is_reverted_with_a_reply() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    silence(&s.world).await;
    s.world
        .ctl()
        .add_label(&s.world.repo, n, "mallory", "council/accepted")
        .await
        .expect("label");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let issue = s
        .world
        .wait_issue(n, "label removed", |i| {
            !view::has_label(i, "council/accepted")
        })
        .await;
    assert!(view::has_label(&issue, "ready-for-council"));
    let replies = view::comments(&issue)
        .iter()
        .filter(|c| c.body.contains("@mallory"))
        .count();
    assert_eq!(replies, 1, "one reply says why");
    let (epics, _) = s.world.jira_for(n, &TEAMS).await;
    assert!(
        epics.is_empty(),
        "no epic for a label nobody on the council applied"
    );
}

#[tokio::test]
async fn lost_vetted_creates_the_stories_in_two_step_mode() {
    let s = setup("[council]\ntwo_step = true\n").await;
    let n = s.world.ready_concern(&TEAMS).await;
    let c = s.world.ctl();
    c.add_label(&s.world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    s.world
        .wait_issue(n, "epic listed", |i| {
            tracking(i).contains(&"Epic".to_string())
        })
        .await;
    s.daemon.wait_settled(&c).await;
    let (epics, stories) = s.world.jira_for(n, &TEAMS).await;
    assert_eq!((epics.len(), stories.len()), (1, 0), "two-step: epic only");
    silence(&s.world).await;
    c.add_label(&s.world.repo, n, "dave", "council/vetted")
        .await
        .expect("vet");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    s.world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = s.world.jira_for(n, &TEAMS).await;
    assert_eq!((epics.len(), stories.len()), (1, TEAMS.len()));
}

#[tokio::test]
async fn lost_close_and_reopen_reach_jira() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    accept(&s, n).await;
    let c = s.world.ctl();
    s.daemon.wait_settled(&c).await;
    let (epics, _) = s.world.jira_for(n, &TEAMS).await;
    let epic = epics[0].key.clone();
    let epic_status = |status: &'static str| {
        let c = c.clone();
        let epic = epic.clone();
        async move {
            c.wait_for(&format!("epic {status}"), WAIT, || async {
                let found = c.jira_issues(&format!("key = {epic}")).await?;
                Ok(found.first().map(view::jira).filter(|j| j.status == status))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    silence(&s.world).await;
    c.set_state(&s.world.repo, n, "alice", "closed", Some("not_planned"))
        .await
        .expect("close");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    epic_status("Won't Do").await;
    c.set_state(&s.world.repo, n, "alice", "open", None)
        .await
        .expect("reopen");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    epic_status("To Do").await;
}

#[tokio::test]
async fn lost_results_comment_is_recorded() {
    let s = setup("").await;
    let n = s.world.ready_concern(&TEAMS).await;
    accept(&s, n).await;
    let c = s.world.ctl();
    let (_, stories) = s.world.jira_for(n, &TEAMS).await;
    for (_, story) in &stories {
        c.jira_transition(&story.key, "dave", "Done")
            .await
            .expect("done");
    }
    // Jira's side reaches GitHub through the pass (no Jira webhooks here).
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    s.world
        .wait_issue(n, "results requested", |i| {
            view::has_label(i, "council/results-requested")
        })
        .await;
    silence(&s.world).await;
    c.comment(&s.world.repo, n, "alice", "/results p99 1.2 s → 300 ms")
        .await
        .expect("comment");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    let issue = s
        .world
        .wait_issue(n, "results presented", |i| {
            view::has_label(i, "council/results-presented")
        })
        .await;
    assert!(
        tracking(&issue).contains("p99 1.2 s → 300 ms"),
        "{}",
        tracking(&issue)
    );
}

#[tokio::test]
async fn lost_assigned_reaches_the_epic() {
    let s = setup("[users]\ncarol = \"557058:carol\"\n").await;
    let n = s.world.ready_concern(&TEAMS).await;
    accept(&s, n).await;
    let c = s.world.ctl();
    s.daemon.wait_settled(&c).await;
    let (epics, _) = s.world.jira_for(n, &TEAMS).await;
    let epic = epics[0].key.clone();
    silence(&s.world).await;
    c.patch(
        &format!("/_sandbox/github/repos/{}/issues/{n}", s.world.repo),
        json!({"as": "alice", "assignees": ["carol"]}),
    )
    .await
    .expect("assign on GitHub");
    reconcile_once(&s.config).await;
    // The pass may leave a job to the running daemon, which claimed it first.
    s.daemon.wait_settled(&s.world.ctl()).await;
    c.wait_for("epic assigned to carol", WAIT, || async {
        let found = c.jira_issues(&format!("key = {epic}")).await?;
        Ok(found
            .first()
            .is_some_and(|i| i["assignee"].to_string().to_lowercase().contains("carol"))
            .then_some(()))
    })
    .await
    .expect("the epic follows the assignee");
}
