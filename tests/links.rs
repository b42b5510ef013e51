//! Links follow the thing, not its name: a Jira story moved to another project (new key,
//! same id; Jira's `jira:issue_updated` with a `Key` changelog item) stays the concern's
//! story, the tracking comment shows where it went, and the concern is not declared done
//! on the stories that kept their keys. The full sweep follows a moved story or epic in the
//! store too, when no webhook told the daemon.

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

/// A concern issue transferred to another watched repository (`issues.transferred` in the
/// old one, `opened` with `changes.old_issue` in the new one) stays the same concern: no
/// second epic, and its stories' progress reaches the issue where it is now.
#[tokio::test]
async fn a_transferred_concern_keeps_its_epic_and_stories() {
    let world = World::new().await;
    let c = world.ctl();
    let (owner, _) = world.repo.split_once('/').expect("owner/name");
    let other_name = format!("{}-moved", world.repo.split_once('/').expect("name").1);
    let other = format!("{owner}/{other_name}");
    c.post(
        "/_sandbox/github/repos",
        json!({"owner": owner, "name": other_name}),
    )
    .await
    .expect("second repo");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let text = std::fs::read_to_string(&config).expect("config").replace(
        &format!("repos = [\"{}\"]", world.repo),
        &format!("repos = [\"{}\", \"{other}\"]", world.repo),
    );
    std::fs::write(&config, text).expect("config");
    let daemon = world.daemon(&config).await;
    world.deliver_jira_to(&daemon).await;
    c.post(
        &format!("/_sandbox/github/repos/{other}/hooks"),
        json!({"url": format!("{}/webhooks/github", daemon.url), "secret": WEBHOOK_SECRET}),
    )
    .await
    .expect("hook on the second repo");

    let teams = ["payments"];
    let n = world.ready_concern(&teams).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, teams.len()).await;
    let id = world.issue_id(n).await;
    let (_, stories) = world.jira_for(n, &teams).await;
    let story = stories[0].1.key.clone();

    let moved = c
        .post(
            &format!("/_sandbox/github/repos/{}/issues/{n}/transfer", world.repo),
            json!({"as": "alice", "to": other}),
        )
        .await
        .expect("transfer");
    let m = moved["number"].as_u64().expect("new number");
    assert_eq!(moved["issue"]["id"].as_u64(), Some(id), "same issue");
    // Both deliveries of the transfer reach the daemon and are processed before a team
    // moves its story. (Known gap: a tracker event processed before the transfer's
    // deliveries writes to the old address; the next reconcile repairs it.)
    let lower = other.to_lowercase();
    c.wait_for("the transfer's opened delivery", WAIT, || async {
        let log = c.get("/_sandbox/deliveries").await?;
        let delivered = log.as_array().is_some_and(|ds| {
            ds.iter().any(|d| {
                d["action"] == "opened"
                    && d["repository"].as_str() == Some(lower.as_str())
                    && d["outcome"] == "delivered"
            })
        });
        Ok(delivered.then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    daemon.wait_settled(&c).await;

    c.jira_transition(&story, "erin", "In Progress")
        .await
        .expect("start");
    c.wait_for("council/in-progress on the moved issue", WAIT, || async {
        let i = c.issue(&other, m).await?;
        Ok(view::has_label(&i, "council/in-progress").then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let epic_marker = council_sync::engine::epic_marker(id);
    let epics = c
        .jira_issues(&format!("labels = \"{epic_marker}\""))
        .await
        .expect("jql");
    assert_eq!(epics.len(), 1, "no second epic after the transfer");
    let issue = c.issue(&other, m).await.expect("issue");
    assert_eq!(
        view::tracking_comments(&issue).len(),
        1,
        "the tracking comment came along; no second one"
    );
    assert!(
        !view::has_label(&issue, "needs-info") && !view::has_label(&issue, "ready-for-council"),
        "not a new concern: {:?}",
        view::labels(&issue)
    );

    // The tracking comment says where the concern came from, and the epic's link back to
    // GitHub points at the new address: the one link, updated in place by its globalId.
    let came_from = format!("Moved from {}#{n}", world.repo);
    world_issue_at(
        &c,
        &other,
        m,
        "the tracking comment names the old address",
        |i| tracking(i).contains(&came_from),
    )
    .await;
    let epic_key = view::jira(&epics[0]).key;
    let new_tail = format!("/{other}/issues/{m}");
    c.wait_for("the epic's link back follows the issue", WAIT, || async {
        let epic = c.jira_issues(&format!("key = {epic_key}")).await?;
        let urls = epic
            .first()
            .map(|e| view::jira(e).remote_links)
            .unwrap_or_default();
        Ok((urls.len() == 1 && urls[0].ends_with(&new_tail)).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

/// Waits until issue `repo#n` satisfies `cond`.
async fn world_issue_at(
    c: &council_sync::demo::control::SandboxControl,
    repo: &str,
    n: u64,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    c.wait_for(what, WAIT, || async {
        let i = c.issue(repo, n).await?;
        Ok(cond(&i).then_some(i))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The transfer's deliveries are lost: the next tracker event reads the issue at its old
/// address, GitHub answers from the new one, and the daemon follows it there.
#[tokio::test]
async fn a_transfer_whose_webhooks_were_lost_is_followed_from_githubs_answer() {
    // Its own sandbox: dropping deliveries applies to every repository of a sandbox.
    let world = World::private().await;
    let c = world.ctl();
    let (owner, name) = world.repo.split_once('/').expect("owner/name");
    let other_name = format!("{name}-lost");
    let other = format!("{owner}/{other_name}");
    c.post(
        "/_sandbox/github/repos",
        json!({"owner": owner, "name": other_name}),
    )
    .await
    .expect("second repo");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let text = std::fs::read_to_string(&config).expect("config").replace(
        &format!("repos = [\"{}\"]", world.repo),
        &format!("repos = [\"{}\", \"{other}\"]", world.repo),
    );
    std::fs::write(&config, text).expect("config");
    let daemon = world.daemon(&config).await;
    world.deliver_jira_to(&daemon).await;
    let teams = ["payments"];
    let n = world.ready_concern(&teams).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, teams.len()).await;
    let (_, stories) = world.jira_for(n, &teams).await;
    let story = stories[0].1.key.clone();
    daemon.wait_settled(&c).await;

    // No hook on the new repository, and the old repository's deliveries dropped.
    c.drop_webhooks(true).await.expect("drop");
    let moved = c
        .post(
            &format!("/_sandbox/github/repos/{}/issues/{n}/transfer", world.repo),
            json!({"as": "alice", "to": other}),
        )
        .await
        .expect("transfer");
    let m = moved["number"].as_u64().expect("new number");
    c.wait_for("the transfer's deliveries dropped", WAIT, || async {
        let log = c.get("/_sandbox/deliveries").await?;
        let dropped = |action: &str| {
            log.as_array().is_some_and(|ds| {
                ds.iter()
                    .any(|d| d["action"] == action && d["outcome"] == "dropped")
            })
        };
        Ok((dropped("transferred") && dropped("opened")).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    c.drop_webhooks(false).await.expect("undrop");

    c.jira_transition(&story, "erin", "In Progress")
        .await
        .expect("start");
    c.wait_for("council/in-progress on the moved issue", WAIT, || async {
        let i = c.issue(&other, m).await?;
        Ok(view::has_label(&i, "council/in-progress").then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

/// The sibling of a moved story: the epic moved to another project (Cloud and Data Center
/// both report the new key in a `Key` changelog item) is shown under its new key.
async fn epic_moved_to_another_project_is_shown_with_its_new_key(jira_api: u8) {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), jira_api);
    let daemon = world.daemon(&config).await;
    world.deliver_jira_to(&daemon).await;
    let teams = ["payments"];
    let n = world.ready_concern(&teams).await;
    let c = world.ctl();
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, teams.len()).await;
    let (epics, _) = world.jira_for(n, &teams).await;
    let old_key = epics[0].key.clone();
    let moved = c
        .post(
            &format!("/_sandbox/jira/issues/{old_key}/move"),
            json!({"project": world.project("platform"), "as": "dana"}),
        )
        .await
        .expect("move");
    let new_key = moved["key"].as_str().expect("new key").to_owned();
    assert_ne!(new_key, old_key);
    world
        .wait_issue(n, "the tracking comment shows the epic's new key", |i| {
            let t = tracking(i);
            t.contains(&format!("Epic: [{new_key}]")) && !t.contains(&format!("[{old_key}]"))
        })
        .await;
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

#[tokio::test]
async fn an_epic_moved_to_another_project_cloud() {
    epic_moved_to_another_project_is_shown_with_its_new_key(3).await;
}

#[tokio::test]
async fn an_epic_moved_to_another_project_data_center() {
    epic_moved_to_another_project_is_shown_with_its_new_key(2).await;
}

/// A story and an epic moved to another project while no daemon ran (no webhook): the full
/// sweep finds them missing under their stored keys, follows each to its new key in the
/// store, and reconciles the two concerns; the next sweep finds nothing to do (before, the
/// links stayed under the old keys and every sweep reconciled them again).
async fn the_sweep_follows_moved_items_in_the_store(jira_api: u8) {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), jira_api);
    let c = world.ctl();
    let body = complete_body(&["payments"]);
    let mut concerns = Vec::new();
    for title in ["Story moves", "Epic moves"] {
        let n = c
            .open_issue(
                &world.repo,
                "alice",
                title,
                &body,
                &["sre-concern", "council/accepted"],
            )
            .await
            .expect("open");
        concerns.push(n);
    }
    run_ok(&config, &["backfill"]).await;
    let (_, stories) = world.jira_for(concerns[0], &["payments"]).await;
    let (epics, _) = world.jira_for(concerns[1], &["payments"]).await;
    let mut moves = Vec::new();
    for old in [stories[0].1.key.clone(), epics[0].key.clone()] {
        let moved = c
            .post(
                &format!("/_sandbox/jira/issues/{old}/move"),
                json!({"project": world.project("data"), "as": "dana"}),
            )
            .await
            .expect("move");
        let new = moved["key"].as_str().expect("new key").to_owned();
        assert_ne!(new, old);
        moves.push(new);
    }

    let out = run_ok(&config, &["reconcile", "--once", "--full"]).await;
    assert!(out.contains("reconciled 2 concern(s)"), "{out}");
    let store = council_sync::store::Store::open(&store_url_of(&config))
        .await
        .expect("store");
    let links = store
        .story_links(&world.repo, concerns[0])
        .await
        .expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].story_key, moves[0], "the story's link follows it");
    assert!(
        links[0].story_url.ends_with(&moves[0]),
        "{}",
        links[0].story_url
    );
    let epic = store
        .get_concern(&world.repo, concerns[1])
        .await
        .expect("read")
        .expect("concern");
    assert_eq!(
        epic.epic_key.as_deref(),
        Some(moves[1].as_str()),
        "the epic follows it"
    );
    store.close().await;
    let out = run_ok(&config, &["reconcile", "--once", "--full"]).await;
    assert!(
        out.contains("reconciled 0 concern(s)"),
        "nothing left: {out}"
    );
}

#[tokio::test]
async fn the_sweep_follows_moved_items_in_the_store_on_jira_cloud() {
    the_sweep_follows_moved_items_in_the_store(3).await;
}

#[tokio::test]
async fn the_sweep_follows_moved_items_in_the_store_on_jira_data_center() {
    the_sweep_follows_moved_items_in_the_store(2).await;
}
