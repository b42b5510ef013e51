//! Keeping GitHub and Jira in step after the stories exist, through the real binary and
//! the sandbox over HTTP: progress and sprints shown on GitHub, done → closed → results,
//! closed as not planned → Jira, lost webhooks repaired by one reconcile pass, and a burst
//! of edits on both sides settling with a bounded number of writes.

mod common;

use common::*;
use council_sync::council::tracking;
use council_sync::demo::view::{self, JiraView};
use serde_json::Value;

const TEAMS: [&str; 2] = ["payments", "data"];

/// The hidden marker of the one request for before/after results.
const RESULTS_REQUEST_MARKER: &str = "<!-- council-sync:reply:results-request -->";

/// Polling and the periodic reconcile far away, so what a test sees is webhooks' doing
/// (or the reconcile pass it runs itself).
const QUIET: &str = "[sync]\npoll_interval = \"1h\"\nreconcile_interval = \"1h\"\n";

/// A world with an accepted concern whose epic and stories exist; Jira webhooks on.
struct Accepted {
    world: World,
    daemon: Daemon,
    config: std::path::PathBuf,
    n: u64,
    epic: String,
    stories: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn accepted(version: u8) -> Accepted {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), version, QUIET);
    let daemon = world.daemon(&config).await;
    world.deliver_jira_to_as(&daemon, version).await;
    let n = world.ready_concern(&TEAMS).await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    let epic = epics[0].key.clone();
    let stories = stories.into_iter().map(|(team, s)| (team, s.key)).collect();
    Accepted {
        world,
        daemon,
        config,
        n,
        epic,
        stories,
        _dir: dir,
    }
}

impl Accepted {
    fn story(&self, team: &str) -> &str {
        self.stories
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, k)| k.as_str())
            .expect("story")
    }

    async fn jira(&self, key: &str) -> JiraView {
        let found = self
            .world
            .ctl()
            .jira_issues(&format!("key = {key}"))
            .await
            .expect("jql");
        view::jira(found.first().expect("issue"))
    }

    async fn wait_jira(&self, what: &str, key: &str, cond: impl Fn(&JiraView) -> bool) -> JiraView {
        let c = self.world.ctl();
        c.wait_for(what, WAIT, || async {
            let found = c.jira_issues(&format!("key = {key}")).await?;
            Ok(found.first().map(view::jira).filter(|j| cond(j)))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn tracking(issue: &Value) -> String {
        view::tracking_comments(issue)
            .first()
            .map(|c| c.body.clone())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn progress_sprint_done_and_results_reach_github() {
    let a = accepted(3).await;
    let (c, repo, n) = (a.world.ctl(), a.world.repo.clone(), a.n);
    let pay = a.story("payments").to_owned();
    let data = a.story("data").to_owned();

    c.jira_sprint(
        a.world.project("payments"),
        "Sprint 7",
        &[pay.as_str()],
        true,
        "dave",
    )
    .await
    .expect("sprint");
    let issue = a
        .world
        .wait_issue(n, "sprint shown", |i| {
            Accepted::tracking(i).contains("Sprint 7 (active)")
        })
        .await;
    assert!(
        !view::has_label(&issue, "council/in-progress"),
        "a sprint alone is not progress"
    );

    c.jira_transition(&pay, "dave", "In Progress")
        .await
        .expect("start");
    let issue = a
        .world
        .wait_issue(n, "in progress", |i| {
            view::has_label(i, "council/in-progress")
                && Accepted::tracking(i).contains("| In Progress |")
        })
        .await;
    let tracking = Accepted::tracking(&issue);
    assert!(
        tracking.contains("Sprint 7") && tracking.contains("Dave"),
        "{tracking}"
    );

    c.jira_transition(&pay, "dave", "Done").await.expect("done");
    c.jira_transition(&data, "erin", "Won't Do")
        .await
        .expect("won't do counts as done");
    let issue = a
        .world
        .wait_issue(n, "closed as completed with results requested", |i| {
            view::state(i) == ("closed".into(), Some("completed".into()))
                && view::has_label(i, "council/results-requested")
        })
        .await;
    assert!(
        view::has_label(&issue, "council/done") && !view::has_label(&issue, "council/in-progress")
    );
    assert_eq!(
        a.jira(&a.epic).await.status,
        "Done",
        "the epic follows its stories"
    );
    // The request is its own comment (its reply marker); the tracking comment's headline
    // says "waiting for the before/after results" too and is not a second request. Read once
    // both are written, so the count does not depend on when the snapshot was taken.
    let issue = a
        .world
        .wait_issue(n, "request posted and tracking shows it", |i| {
            Accepted::tracking(i).contains("waiting for the before/after")
                && view::comments(i)
                    .iter()
                    .any(|c| c.body.contains(RESULTS_REQUEST_MARKER))
        })
        .await;
    let requests: Vec<_> = view::comments(&issue)
        .into_iter()
        .filter(|c| !tracking::is_tracking_comment(&c.body) && c.body.contains("before/after"))
        .collect();
    assert_eq!(requests.len(), 1, "results asked once: {requests:?}");
    assert!(requests[0].body.contains(RESULTS_REQUEST_MARKER));
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "one tracking comment"
    );

    // Results in the body's Results section count too.
    let mut body = complete_body(&TEAMS);
    body = body.replace(
        "### Results\n\n_No response_",
        "### Results\n\nfailover drill 40 min → 3 min",
    );
    c.edit_body(&repo, n, "alice", &body).await.expect("edit");
    let issue = a
        .world
        .wait_issue(n, "results presented", |i| {
            view::has_label(i, "council/results-presented")
                && Accepted::tracking(i).contains("failover drill 40 min → 3 min")
        })
        .await;
    assert!(!view::has_label(&issue, "council/results-requested"));
    let epic = a
        .wait_jira("results on the epic", &a.epic, |j| {
            j.comments.iter().any(|b| b.contains("40 min → 3 min"))
        })
        .await;
    assert_eq!(epic.status, "Done");
    assert_eq!(a.daemon.terminate().await.code(), Some(0));
    // Stopped, so every queued write has run: each one-time write happened once.
    let found = a
        .world
        .ctl()
        .jira_issues(&format!("key = {}", a.epic))
        .await
        .expect("jql");
    let epic = view::jira(found.first().expect("epic"));
    let copies = epic
        .comments
        .iter()
        .filter(|b| b.contains("40 min → 3 min"))
        .count();
    assert_eq!(
        copies, 1,
        "results copied to the epic once: {:?}",
        epic.comments
    );
    let issue = a.world.issue(n).await;
    let requests = view::comments(&issue)
        .iter()
        .filter(|c| c.body.contains(RESULTS_REQUEST_MARKER))
        .count();
    assert_eq!(requests, 1, "results asked once, to the end");
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "one tracking comment"
    );
}

/// Jira Data Center's webhooks name people by `name`/`key` only: with polling and the
/// reconcile pass an hour away, a person's sprint and transition still reach GitHub (the
/// daemon reads the Data Center body), and the sandbox sent no `accountId` to it.
#[tokio::test]
async fn data_center_webhooks_move_github_without_account_ids() {
    let a = accepted(2).await;
    let c = a.world.ctl();
    let pay = a.story("payments").to_owned();
    c.jira_sprint(
        a.world.project("payments"),
        "Sprint 9",
        &[pay.as_str()],
        true,
        "dave",
    )
    .await
    .expect("sprint");
    c.jira_transition(&pay, "dave", "In Progress")
        .await
        .expect("start");
    a.world
        .wait_issue(a.n, "in progress with the sprint", |i| {
            view::has_label(i, "council/in-progress")
                && Accepted::tracking(i).contains("Sprint 9 (active)")
        })
        .await;
    let log: Value = c
        .get("/_sandbox/jira/deliveries")
        .await
        .expect("delivery log");
    let sent: Vec<&Value> = log
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|d| {
                    d["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&a.daemon.url))
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        sent.len() >= 5,
        "creates, sprint and transition: {}",
        sent.len()
    );
    for d in sent {
        let body = d["payload"].to_string();
        assert!(!body.contains("accountId"), "{body}");
    }
    assert_eq!(a.daemon.terminate().await.code(), Some(0));
}

#[tokio::test]
async fn closed_as_not_planned_moves_jira_and_reopen_brings_it_back() {
    let a = accepted(2).await;
    let (c, repo, n) = (a.world.ctl(), a.world.repo.clone(), a.n);
    let pay = a.story("payments").to_owned();
    let data = a.story("data").to_owned();
    c.jira_transition(&pay, "dave", "Done").await.expect("done");
    a.world
        .wait_issue(n, "in progress", |i| {
            view::has_label(i, "council/in-progress")
        })
        .await;

    c.set_state(&repo, n, "alice", "closed", Some("not_planned"))
        .await
        .expect("close");
    a.wait_jira("epic moved to Won't Do", &a.epic, |j| {
        j.status == "Won't Do"
    })
    .await;
    let data_now = a
        .wait_jira("open story moved", &data, |j| j.status == "Won't Do")
        .await;
    assert_eq!(data_now.status, "Won't Do");
    assert_eq!(
        a.jira(&pay).await.status,
        "Done",
        "finished work stays done"
    );
    let epic = a.jira(&a.epic).await;
    assert!(
        epic.comments
            .iter()
            .any(|b| b.contains("closed as not planned")),
        "{:?}",
        epic.comments
    );
    let issue = a.world.issue(n).await;
    assert_eq!(
        view::state(&issue),
        ("closed".to_owned(), Some("not_planned".to_owned())),
        "not reopened by the sync"
    );

    c.set_state(&repo, n, "alice", "open", Some("reopened"))
        .await
        .expect("reopen");
    a.wait_jira("epic back to To Do", &a.epic, |j| j.status == "To Do")
        .await;
    a.wait_jira("story back to To Do", &data, |j| j.status == "To Do")
        .await;
    assert_eq!(a.jira(&pay).await.status, "Done");
    a.daemon.kill().await;
}

#[tokio::test]
async fn one_reconcile_pass_repairs_what_lost_webhooks_left() {
    let a = accepted(3).await;
    let (c, repo, n) = (a.world.ctl(), a.world.repo.clone(), a.n);
    let pay = a.story("payments").to_owned();
    c.drop_webhooks(true).await.expect("drop GitHub webhooks");
    c.drop_jira_webhooks(true)
        .await
        .expect("drop Jira webhooks");

    // Both sides change while the daemon hears nothing.
    c.jira_transition(&pay, "dave", "In Progress")
        .await
        .expect("start");
    c.jira_assign(&pay, "dave", Some("dave"))
        .await
        .expect("assign");
    let edited = complete_body(&TEAMS).replace(
        "Automate the failover and add a synthetic probe for each team.",
        "Automate the failover, add a synthetic probe, and page only on customer impact.",
    );
    c.edit_body(&repo, n, "alice", &edited).await.expect("edit");
    c.drop_webhooks(false).await.expect("resume");
    c.drop_jira_webhooks(false).await.expect("resume");
    let before = a.world.issue(n).await;
    assert!(
        !view::has_label(&before, "council/in-progress"),
        "nothing heard yet"
    );

    reconcile_once(&a.config).await;

    let issue = a.world.issue(n).await;
    assert!(
        view::has_label(&issue, "council/in-progress"),
        "labels repaired"
    );
    let tracking = Accepted::tracking(&issue);
    assert!(
        tracking.contains("In Progress") && tracking.contains("Dave"),
        "tracking repaired: {tracking}"
    );
    let epic = c
        .jira_issues(&format!("key = {}", a.epic))
        .await
        .expect("jql");
    let description = view::plain_text(&epic[0]["fields"]["description"]);
    let description = if description.is_empty() {
        view::plain_text(&epic[0]["description"])
    } else {
        description
    };
    assert!(
        description.contains("page only on customer impact"),
        "epic description repaired: {description}"
    );
    a.daemon.kill().await;
}

#[tokio::test]
async fn the_epic_assignee_follows_github_through_the_users_map() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let users = format!("{QUIET}\n[users]\ncarol = \"557058:carol\"\n");
    let config = world.write_config_with(dir.path(), 3, &users);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&TEAMS).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, _) = world.jira_for(n, &TEAMS).await;
    let epic = epics[0].key.clone();
    let assignee_of = |key: String| {
        let c = c.clone();
        async move {
            let found = c.jira_issues(&format!("key = {key}")).await.expect("jql");
            found
                .first()
                .map(|i| i["assignee"].clone())
                .unwrap_or(Value::Null)
        }
    };

    let assign = |who: Vec<&'static str>| {
        let (c, repo) = (c.clone(), world.repo.clone());
        async move {
            c.patch(
                &format!("/_sandbox/github/repos/{repo}/issues/{n}"),
                serde_json::json!({"as": "alice", "assignees": who}),
            )
            .await
            .expect("assign on GitHub")
        }
    };
    assign(vec!["carol"]).await;
    let epic_key = epic.clone();
    c.wait_for("epic assigned to carol", WAIT, || {
        let f = assignee_of(epic_key.clone());
        async move {
            Ok(f.await
                .to_string()
                .to_lowercase()
                .contains("carol")
                .then_some(()))
        }
    })
    .await
    .expect("epic follows the assignee");

    // A second assignee leaves the first, so the epic's assignee stays what it is: not set
    // again (no Jira write), and the tracking comment, unchanged, not edited again.
    daemon.wait_settled(&c).await;
    let jira_before = jira_writes_by_daemon(&c).await;
    let comment_before = view::tracking_comments(&world.issue(n).await)[0]
        .body
        .clone();
    assign(vec!["carol", "dave"]).await;
    daemon.wait_settled(&c).await;
    assert_eq!(
        jira_writes_by_daemon(&c).await,
        jira_before,
        "the same assignee is not set again"
    );
    assert_eq!(
        view::tracking_comments(&world.issue(n).await)[0].body,
        comment_before
    );

    // A login with no Jira account: the epic is left unassigned and the tracking comment says why.
    assign(vec!["mallory"]).await;
    let issue = world
        .wait_issue(n, "unknown user reported", |i| {
            view::tracking_comments(i)
                .first()
                .is_some_and(|t| t.body.contains("@mallory has no Jira account"))
        })
        .await;
    assert!(view::tracking_comments(&issue).len() == 1);
    assert_eq!(
        assignee_of(epic.clone()).await,
        Value::Null,
        "left unassigned"
    );
    daemon.kill().await;
}

/// Jira REST writes by the daemon's account, as the sandbox counted them.
async fn jira_writes_by_daemon(c: &council_sync::demo::control::SandboxControl) -> u64 {
    let stats = c.get("/_sandbox/jira/stats").await.expect("stats");
    stats["writes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains("council-sync"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

/// Writes the sandbox saw from the daemon: Jira REST writes by its account, GitHub label and
/// state changes by its login on this issue.
async fn daemon_writes(a: &Accepted) -> (u64, u64) {
    let c = a.world.ctl();
    let stats = c.get("/_sandbox/jira/stats").await.expect("stats");
    let jira: u64 = stats["writes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains("council-sync"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    let issue = a.world.issue(a.n).await;
    let github = issue["events"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|ev| ev["actor"] == "council-sync-bot")
                .count() as u64
        })
        .unwrap_or(0);
    (jira, github)
}

#[tokio::test]
async fn a_burst_of_edits_on_both_sides_settles_with_bounded_writes() {
    let a = accepted(3).await;
    let (c, repo, n) = (a.world.ctl(), a.world.repo.clone(), a.n);
    let pay = a.story("payments").to_owned();
    let (jira_before, github_before) = daemon_writes(&a).await;
    const ROUNDS: usize = 50;
    for i in 0..ROUNDS {
        let body = complete_body(&TEAMS).replace(
            "Automate the failover and add a synthetic probe for each team.",
            &format!("Automate the failover, revision {i}."),
        );
        c.edit_body(&repo, n, "alice", &body).await.expect("edit");
        let status = if i % 2 == 0 { "In Progress" } else { "To Do" };
        c.jira_transition(&pay, "dave", status)
            .await
            .expect("transition");
    }
    // The last edits: revision 49 of the answers, and the story back in To Do.
    let last = format!("revision {}", ROUNDS - 1);
    let epic_has_last = || async {
        let epic = c.jira_issues(&format!("key = {}", a.epic)).await?;
        let text = epic
            .first()
            .map(|e| view::plain_text(&e["description"]))
            .unwrap_or_default();
        Ok(text.contains(&last).then_some(()))
    };
    c.wait_for("epic description at the last revision", WAIT, epic_has_last)
        .await
        .expect("epic settled");
    a.world
        .wait_issue(n, "GitHub shows the story back in To Do", |i| {
            !view::has_label(i, "council/in-progress") && Accepted::tracking(i).contains("To Do")
        })
        .await;

    // Settled: a full reconcile pass finds nothing left to write.
    a.daemon.wait_settled(&c).await;
    let (jira_settled, github_settled) = daemon_writes(&a).await;
    reconcile_once(&a.config).await;
    let (jira_after, github_after) = daemon_writes(&a).await;
    assert_eq!(
        (jira_after, github_after),
        (jira_settled, github_settled),
        "a settled pair makes no writes"
    );

    // Bounded: at most one epic update per body edit, at most one label change per status
    // change, whatever the echoes.
    let jira_writes = jira_settled - jira_before;
    let github_writes = github_settled - github_before;
    eprintln!(
        "burst of {ROUNDS} GitHub edits and {ROUNDS} Jira transitions: {jira_writes} Jira writes, {github_writes} GitHub writes by the daemon"
    );
    assert!(
        jira_writes <= ROUNDS as u64,
        "{jira_writes} Jira writes for {ROUNDS} edits"
    );
    assert!(
        github_writes <= ROUNDS as u64 + 2,
        "{github_writes} GitHub writes for {ROUNDS} transitions"
    );
    a.daemon.kill().await;
}

/// GitHub Projects: a person moving one story on the board (a `projects_v2_item` delivery,
/// which names the issue only by its node id) re-syncs that story's concern alone, found
/// by the node id the store keeps for each story; another concern in flight is not re-read.
#[tokio::test]
async fn a_board_change_resyncs_only_its_own_concern_on_github_projects() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = world.projects_setup().await;
    // `write_config_projects` ends inside `[sync]`: QUIET's keys without its header.
    let quiet = QUIET.trim_start_matches("[sync]\n");
    let config = world.write_config_projects(dir.path(), &pw, quiet);
    let daemon = world.daemon_org(&config).await;
    let c = world.ctl();
    let a = world.ready_concern(&TEAMS).await;
    let b = world.ready_concern(&TEAMS).await;
    for n in [a, b] {
        c.add_label(&world.repo, n, "carol", "council/accepted")
            .await
            .expect("accept");
    }
    for n in [a, b] {
        world.wait_stories_listed(n, TEAMS.len()).await;
    }
    let stories = world.projects_stories_for(&pw, a, &["payments"]).await;
    let (_, key, _) = stories.first().expect("a's payments story").clone();
    let (repo, number) = key.split_once('#').expect("owner/name#n");
    c.post(
        &format!(
            "/_sandbox/github/projects/acme/{}/items/{repo}/{number}",
            pw.number
        ),
        serde_json::json!({ "actor": "dave", "field": "Status", "value": "In Progress" }),
    )
    .await
    .expect("dave moves the story");
    world
        .wait_issue(a, "a shows the story in progress", |i| {
            view::has_label(i, "council/in-progress")
        })
        .await;
    let log = c.get("/_sandbox/deliveries").await.expect("deliveries");
    let delivery = log
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["event"] == "projects_v2_item" && d["payload"]["sender"]["login"] == "dave")
        .and_then(|d| d["id"].as_str())
        .expect("dave's projects_v2_item delivery")
        .to_owned();
    daemon.kill().await;
    let store = council_sync::store::Store::open(&store_url_of(&config))
        .await
        .expect("store");
    // Tracker deliveries are stored under the source word `jira` whatever the tracker
    // (`store::Source::Tracker`), and the job key carries it.
    let job = |n: u64| format!("sync:{}#{n}:jira:{delivery}", world.repo);
    assert!(
        store.outbox_state(&job(a)).await.expect("a").is_some(),
        "a's concern is re-synced"
    );
    assert_eq!(
        store.outbox_state(&job(b)).await.expect("b"),
        None,
        "b's concern is not re-read for a's story"
    );
}
