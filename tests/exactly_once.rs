//! Work is never lost or duplicated: redelivered and duplicated webhooks, and a daemon
//! killed between creating the epic and creating the stories.

mod common;

use common::*;
use council_sync::demo::view;
use serde_json::{Value, json};

const TEAMS: [&str; 2] = ["payments", "data"];

/// The dropped `issues.labeled` delivery for `label` on issue `n` of `repo`, from the log.
async fn dropped_label_delivery(world: &World, n: u64, label: &str) -> Value {
    let c = world.ctl();
    c.wait_for(
        "the dropped label delivery in the sandbox's log",
        WAIT,
        || async {
            let log = c.get("/_sandbox/deliveries").await?;
            Ok(log.as_array().and_then(|entries| {
                entries
                    .iter()
                    .find(|d| {
                        d["event"] == "issues"
                            && d["action"] == "labeled"
                            && d["payload"]["repository"]["full_name"] == world.repo.as_str()
                            && d["payload"]["issue"]["number"].as_u64() == Some(n)
                            && d["payload"]["label"]["name"] == label
                    })
                    .cloned()
            }))
        },
    )
    .await
    .expect("delivery logged")
}

#[tokio::test]
async fn duplicated_deliveries_make_one_epic() {
    // Dropping deliveries is sandbox-wide: this test keeps its sandbox to itself.
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = world.daemon(&world.write_config(dir.path(), 3)).await;
    let c = world.ctl();
    let n = world.ready_concern(&TEAMS).await;

    // carol accepts while deliveries are dropped; the test then delivers that event itself:
    // the same delivery 5 times and 5 distinct deliveries of it, all at once.
    c.drop_webhooks(true).await.expect("drop");
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    let record = dropped_label_delivery(&world, n, "council/accepted").await;
    c.drop_webhooks(false).await.expect("resume");
    let body = serde_json::to_vec(&record["payload"]).expect("payload");
    let same_id = record["id"].as_str().expect("id").to_owned();
    let mut sends = Vec::new();
    for i in 0..5 {
        let (url, payload, same) = (daemon.url.clone(), body.clone(), same_id.clone());
        sends.push(tokio::spawn(async move {
            deliver(&url, "issues", &same, &payload).await
        }));
        let (url, payload) = (daemon.url.clone(), body.clone());
        sends.push(tokio::spawn(async move {
            deliver(&url, "issues", &format!("distinct-{i}"), &payload).await
        }));
    }
    for s in sends {
        assert_eq!(s.await.expect("send"), 202);
    }

    let issue = world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(epics.len(), 1, "one epic: {epics:?}");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    for (team, s) in &stories {
        assert_eq!(s.parent.as_deref(), Some(epics[0].key.as_str()));
        assert_eq!(s.project, world.project(team));
    }
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "one tracking comment"
    );
    assert_eq!(
        daemon.terminate().await.code(),
        Some(0),
        "clean exit on SIGTERM"
    );
}

#[tokio::test]
async fn killed_between_epic_and_stories_resumes_exactly_once() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&TEAMS).await;

    let fault = add_fault(
        &c,
        json!({"method": "POST", "path_regex": "^/rest/api/3/issue/bulk$", "hold": true, "times": 1}),
    )
    .await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    // Returns once the daemon's bulk create is being held: the epic exists, the stories not.
    let held = c
        .get(&format!("/_sandbox/faults/{fault}/held?timeout_ms=30000"))
        .await
        .expect("held");
    assert!(
        held["held"].as_u64().unwrap_or(0) >= 1,
        "bulk create held: {held}"
    );
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, 0),
        "epic made, stories not yet"
    );
    daemon.kill().await;

    let daemon = world.daemon(&config).await;
    world.wait_stories_listed(n, TEAMS.len()).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(epics.len(), 1, "still one epic: {epics:?}");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    daemon.kill().await;
}

#[tokio::test]
async fn a_concern_goes_from_form_to_jira_in_both_flavours() {
    for version in [3, 2] {
        let world = World::new().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = world.daemon(&world.write_config(dir.path(), version)).await;
        let n = world.ready_concern(&TEAMS).await;
        world
            .ctl()
            .add_label(&world.repo, n, "dave", "council/accepted")
            .await
            .expect("label");
        world.wait_stories_listed(n, TEAMS.len()).await;
        let (epics, stories) = world.jira_for(n, &TEAMS).await;
        assert_eq!(
            (epics.len(), stories.len()),
            (1, TEAMS.len()),
            "v{version}: {epics:?} {stories:?}"
        );
        assert_eq!(epics[0].project, world.epic_project);
        assert_eq!(daemon.terminate().await.code(), Some(0));
    }
}

/// The project items of project `number` of `acme`: (`owner/name#n`, Team, Status).
async fn project_items(world: &World, number: u64) -> Vec<(String, String, String)> {
    let query = "query Items($n: Int!) { organization(login: \"acme\") { projectV2(number: $n) { \
        items(first: 100) { nodes { content { ... on Issue { number repository { nameWithOwner } } } \
        fieldValues(first: 20) { nodes { ... on ProjectV2ItemFieldSingleSelectValue { name \
        field { ... on ProjectV2FieldCommon { name } } } } } } } } } }";
    let resp: Value = council_sync::crypto::http_client()
        .post(format!("{}/graphql", world.sandbox_url))
        .bearer_auth("test-reader-token")
        .json(&json!({ "query": query, "variables": { "n": number } }))
        .send()
        .await
        .expect("graphql")
        .json()
        .await
        .expect("graphql JSON");
    let nodes = resp["data"]["organization"]["projectV2"]["items"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no items: {resp}"));
    nodes
        .iter()
        .map(|item| {
            let c = &item["content"];
            let value = |field: &str| {
                item["fieldValues"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|v| v["field"]["name"] == field)
                    .and_then(|v| v["name"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                format!(
                    "{}#{}",
                    c["repository"]["nameWithOwner"]
                        .as_str()
                        .unwrap_or_default(),
                    c["number"]
                ),
                value("Team"),
                value("Status"),
            )
        })
        .collect()
}

/// GitHub Projects: a daemon killed after the epic (the concern, its project add left to
/// the stories' batched add) and before the stories resumes exactly once: one story per
/// team, each a sub-issue, and every one on the project with its Team and Todo, the
/// concern too.
#[tokio::test]
async fn killed_between_epic_and_stories_resumes_exactly_once_on_github_projects() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = world.projects_setup().await;
    let config = world.write_config_projects(dir.path(), &pw, "");
    let daemon = world.daemon_org(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&TEAMS).await;

    // The stories' first call lists the concern's sub-issues: held there, the epic is
    // done and no story exists yet.
    let fault = add_fault(
        &c,
        json!({"method": "GET", "path_regex": "^/repos/[^/]+/[^/]+/issues/[0-9]+/sub_issues$",
               "hold": true, "times": 1}),
    )
    .await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    let held = c
        .get(&format!("/_sandbox/faults/{fault}/held?timeout_ms=30000"))
        .await
        .expect("held");
    assert!(
        held["held"].as_u64().unwrap_or(0) >= 1,
        "listing held: {held}"
    );
    assert!(world.projects_stories_for(&pw, n, &TEAMS).await.is_empty());
    daemon.kill().await;

    let daemon = world.daemon_org(&config).await;
    world.wait_stories_listed(n, TEAMS.len()).await;
    let stories = world.projects_stories_for(&pw, n, &TEAMS).await;
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    assert!(stories.iter().all(|(_, _, sub)| *sub), "{stories:?}");
    let items = project_items(&world, pw.number).await;
    let concern = format!("{}#{n}", world.repo);
    assert!(
        items.iter().any(|(k, _, _)| *k == concern),
        "the concern: {items:?}"
    );
    for (team, key, _) in &stories {
        assert!(
            items
                .iter()
                .any(|(k, t, s)| k == key && t == team && s == "Todo"),
            "{key}: {items:?}"
        );
    }
    daemon.kill().await;
}

/// A burst of edits with a decision in the middle, all waiting in the inbox together: the
/// edits on each side of the decision are handled by one reading of the issue each (the
/// daemon counts the 8 folded into an earlier one), the decision is still acted on (one epic,
/// one story per team), and every delivery is marked handled exactly once (one start, one
/// attempt, processed).
#[tokio::test]
async fn a_burst_of_edits_is_read_once_and_keeps_its_decision() {
    // Faults are sandbox-wide: this test keeps its sandbox to itself.
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&TEAMS).await;
    daemon.wait_settled(&c).await;

    // The engine's next reading of the issue is held, so what follows waits in the inbox.
    let hold = add_fault(
        &c,
        json!({"method": "GET", "path_regex": format!("^/repos/{}/issues/{n}$", world.repo), "hold": true}),
    )
    .await;
    let body = complete_body(&TEAMS);
    let edit = |i: usize| {
        let (c, repo, body) = (
            c.clone(),
            world.repo.clone(),
            format!("{body}\n\nEdit {i}."),
        );
        async move { c.edit_body(&repo, n, "alice", &body).await.expect("edit") }
    };
    edit(0).await;
    let held = c
        .get(&format!("/_sandbox/faults/{hold}/held?timeout_ms=30000"))
        .await
        .expect("held");
    assert!(held["held"].as_u64().unwrap_or(0) >= 1, "read held: {held}");
    for i in 1..=5 {
        edit(i).await;
    }
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("label");
    for i in 6..=10 {
        edit(i).await;
    }
    daemon
        .wait_status("the 12 deliveries stored", |s| {
            s["pending_deliveries"].as_u64() >= Some(12)
        })
        .await;
    c.post(&format!("/_sandbox/faults/{hold}/release"), Value::Null)
        .await
        .expect("release");

    world.wait_stories_listed(n, TEAMS.len()).await;
    daemon.wait_settled(&c).await;
    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(
        (epics.len(), stories.len()),
        (1, TEAMS.len()),
        "the decision was acted on once: {epics:?} {stories:?}"
    );
    let metrics = daemon.metrics().await;
    let coalesced = metrics
        .lines()
        .find_map(|l| l.strip_prefix("council_sync_webhook_coalesced_total "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert_eq!(
        coalesced,
        Some(8.0),
        "edits 1–5 and 6–10 each read once, the label alone between them"
    );
    daemon.kill().await;

    // Every delivery stored was handled exactly once.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&store_url_of(&config))
        .await
        .expect("open store");
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT started, attempts, CASE WHEN processed_at IS NULL THEN 0 ELSE 1 END \
         FROM delivery_outcomes ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .expect("outcomes");
    assert!(rows.len() >= 12, "every delivery has its outcome: {rows:?}");
    assert!(
        rows.iter().all(|&r| r == (1, 1, 1)),
        "each started once, attempted once, processed: {rows:?}"
    );
}
