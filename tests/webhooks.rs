//! The webhook receiver of the real binary: signature, size, malformed and unrelated
//! deliveries each get the documented answer, and a delivery is stored once.

mod common;

use common::*;

async fn post(
    url: &str,
    event: &str,
    id: &str,
    sig: Option<String>,
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = council_sync::crypto::http_client()
        .post(format!("{url}/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", id)
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = sig {
        req = req.header("X-Hub-Signature-256", sig);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn sign(body: &[u8]) -> Option<String> {
    Some(council_sync::github::webhook::signature::sign(
        WEBHOOK_SECRET.as_bytes(),
        body,
    ))
}

#[tokio::test]
async fn receiver_answers_each_kind_of_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&write_embedded_config(dir.path())).await;
    let url = daemon.url.clone();
    let fixtures = shared_dir().join("fixtures/github-webhooks");
    // GitHub's example delivery, about the repository config/sandbox.toml watches.
    let mut opened: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures.join("issues.opened.json")).expect("fixture"),
    )
    .expect("json");
    opened["repository"]["full_name"] = "acme/platform-concerns".into();
    let opened = serde_json::to_vec(&opened).expect("json");
    let ping = std::fs::read(fixtures.join("ping.json")).expect("fixture");

    assert_eq!(
        post(&url, "issues", "a", None, opened.clone()).await.0,
        401,
        "no signature"
    );
    let wrong = Some(council_sync::github::webhook::signature::sign(
        b"not-the-secret",
        &opened,
    ));
    assert_eq!(
        post(&url, "issues", "a", wrong, opened.clone()).await.0,
        401,
        "wrong secret"
    );
    let (status, text) = post(
        &url,
        "issues",
        "b",
        sign(b"{not json"),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 400, "malformed JSON: {text}");
    assert!(!text.contains('\n'), "one-line reason: {text:?}");
    let sparse = br#"{"action":"opened","repository":{"full_name":"acme/platform-concerns"}}"#;
    let (status, text) = post(&url, "issues", "c", sign(sparse), sparse.to_vec()).await;
    assert_eq!(status, 400, "handled event that does not decode: {text}");
    assert_eq!(
        post(&url, "ping", "d", sign(&ping), ping.clone()).await.0,
        202,
        "ping"
    );
    let big = vec![b' '; 26 * 1024 * 1024];
    assert_eq!(
        post(&url, "issues", "e", sign(&big), big).await.0,
        413,
        "over 25 MiB"
    );
    let (status, text) = post(&url, "issues", "f", sign(&opened), opened.clone()).await;
    assert_eq!((status, text.contains("queued")), (202, true), "{text}");
    let (status, text) = post(&url, "issues", "f", sign(&opened), opened.clone()).await;
    assert_eq!((status, text.contains("duplicate")), (202, true), "{text}");
    let health = council_sync::crypto::http_client()
        .get(format!("{url}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

/// An organisation hook and a repository hook both pointing at the daemon: GitHub sends
/// every event twice, as two deliveries with different ids. An accept still makes one epic,
/// one story per team and one tracking comment; and `doctor` warns about the pair.
#[tokio::test]
async fn twin_hooks_deliver_twice_and_the_daemon_acts_once() {
    const TEAMS: [&str; 2] = ["payments", "data"];
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    // Both hooks through GitHub's REST API, as a person or `setup` registers them.
    let daemon = Daemon::start(&config).await;
    world.deliver_jira_to(&daemon).await;
    let hook_url = format!("{}/webhooks/github", daemon.url);
    for owner in ["orgs/acme".to_owned(), format!("repos/{}", world.repo)] {
        let created = council_sync::crypto::http_client()
            .post(format!("{}/{owner}/hooks", world.sandbox_url))
            .bearer_auth("test-github-token")
            .json(&serde_json::json!({"name": "web", "active": true,
                "events": ["issues", "issue_comment"],
                "config": {"url": hook_url, "content_type": "json", "secret": WEBHOOK_SECRET}}))
            .send()
            .await
            .expect("create hook");
        assert_eq!(created.status().as_u16(), 201, "{owner} hook created");
    }

    let n = world.ready_concern(&TEAMS).await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, TEAMS.len()).await;
    assert_eq!(daemon.terminate().await.code(), Some(0));

    // Each event reached the daemon twice, under two delivery ids.
    let log = world
        .ctl()
        .get("/_sandbox/deliveries")
        .await
        .expect("delivery log");
    let labeled: Vec<&serde_json::Value> = log
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|d| {
                    d["action"] == "labeled"
                        && d["outcome"] == "delivered"
                        && d["repository"]
                            .as_str()
                            .is_some_and(|r| r.eq_ignore_ascii_case(&world.repo))
                })
                .collect()
        })
        .unwrap_or_default();
    let ids: std::collections::HashSet<&str> =
        labeled.iter().filter_map(|d| d["id"].as_str()).collect();
    let hooks: std::collections::HashSet<u64> = labeled
        .iter()
        .filter_map(|d| d["hook_id"].as_u64())
        .collect();
    assert!(
        hooks.len() == 2 && ids.len() == labeled.len() && labeled.len() >= 2,
        "{labeled:?}"
    );

    let (epics, stories) = world.jira_for(n, &TEAMS).await;
    assert_eq!(epics.len(), 1, "one epic");
    assert_eq!(
        stories.len(),
        TEAMS.len(),
        "one story per team: {stories:?}"
    );
    let issue = world.issue(n).await;
    assert_eq!(
        council_sync::demo::view::tracking_comments(&issue).len(),
        1,
        "one tracking comment"
    );

    let out = tokio::process::Command::new(common::binary())
        .args(["doctor", "--config"])
        .arg(&config)
        .envs(common::secrets_for(&config))
        .output()
        .await
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("organisation webhook") && l.contains(&world.repo))
        .unwrap_or_else(|| panic!("doctor warns about the twin hooks:\n{text}"));
    assert!(
        line.starts_with(" wrong") && line.contains(&hook_url) && line.contains("twice"),
        "an advice naming the URL: {line}"
    );
}
