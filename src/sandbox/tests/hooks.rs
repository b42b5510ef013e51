//! Webhook deliveries (order, signature, payload shapes like the fixtures, the drop switch)
//! and the change feed.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::http::HeaderMap;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{REPO, options, shared_dir, start, start_with};
use crate::sandbox::webhooks::sign;

const SECRET: &str = "s3cret";

struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A tiny receiver: every POST /hook goes to the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Received { headers, body });
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

fn fixture(name: &str) -> Value {
    let path = shared_dir().join("fixtures/github-webhooks").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Keys the fixture has that ours lacks (fields a real delivery carries but we do not).
fn missing(ours: &Value, theirs: &Value, ignore: &[&str]) -> Vec<String> {
    keys(theirs)
        .difference(&keys(ours))
        .filter(|k| !ignore.contains(&k.as_str()))
        .cloned()
        .collect()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    rx.recv().await.expect("a delivery")
}

#[tokio::test]
async fn deliveries_are_signed_ordered_and_shaped_like_githubs() {
    let (url, mut rx) = receiver().await;
    let env = start_with(super::super::SandboxOptions {
        webhook_url: Some(url),
        webhook_secret: Some(SecretString::from(SECRET)),
        ..options()
    })
    .await;
    let n = env.open("alice", "concern", &[]).await;
    env.ctl(
        Method::POST,
        &format!("/_sandbox/github/repos/{REPO}/issues/{n}/labels"),
        Some(json!({ "as": "bob", "labels": ["council/accepted"] })),
    )
    .await;
    env.ctl(
        Method::PATCH,
        &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
        Some(json!({ "as": "alice", "title": "better" })),
    )
    .await;
    let client = env.client();
    let cid = client
        .create_comment(REPO, n, "tracking")
        .await
        .expect("comment");
    client
        .update_comment(REPO, cid, "tracking v2")
        .await
        .expect("edit");
    client
        .remove_label(REPO, n, "council/accepted")
        .await
        .expect("unlabel");
    env.ctl(
        Method::PATCH,
        &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
        Some(json!({ "as": "alice", "state": "closed" })),
    )
    .await;

    let expected = [
        ("issues", "opened"),
        ("issues", "labeled"),
        ("issues", "edited"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issues", "unlabeled"),
        ("issues", "closed"),
    ];
    let mut got = Vec::new();
    for (event, action) in expected {
        let d = next(&mut rx).await;
        assert_eq!(d.header("x-github-event"), event);
        assert_eq!(
            d.header("x-hub-signature-256"),
            sign(SECRET.as_bytes(), &d.body),
            "signature over the exact body"
        );
        assert!(uuid::Uuid::parse_str(d.header("x-github-delivery")).is_ok());
        assert_eq!(d.header("user-agent"), "GitHub-Hookshot/sandbox");
        assert_eq!(d.header("content-type"), "application/json");
        let p = d.json();
        assert_eq!(p["action"], action);
        assert_eq!(p["repository"]["full_name"], REPO);
        assert_eq!(p["organization"]["login"], "acme");
        got.push(p);
    }
    assert_eq!(got[0]["sender"]["login"], "alice");
    assert_eq!(got[1]["sender"]["login"], "bob");
    assert_eq!(got[1]["label"]["name"], "council/accepted");
    assert_eq!(got[2]["changes"]["title"]["from"], "concern");
    assert_eq!(got[3]["sender"]["login"], "council-sync-bot");
    assert_eq!(got[3]["sender"]["type"], "Bot");
    assert_eq!(got[3]["comment"]["body"], "tracking");
    assert_eq!(got[4]["changes"]["body"]["from"], "tracking");
    assert_eq!(got[6]["issue"]["state_reason"], "completed");

    // Shapes: every key of the real deliveries is present in ours.
    let labeled = fixture("issues.labeled.json");
    assert_eq!(missing(&got[1], &labeled, &[]), Vec::<String>::new());
    assert_eq!(
        missing(&got[1]["issue"], &labeled["issue"], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        missing(&got[1]["repository"], &labeled["repository"], &[]),
        Vec::<String>::new()
    );
    assert_eq!(
        missing(&got[1]["sender"], &labeled["sender"], &[]),
        Vec::<String>::new()
    );
    let commented = fixture("issue_comment.created.json");
    assert_eq!(
        missing(&got[3], &commented, &["installation"]),
        Vec::<String>::new()
    );
    assert_eq!(
        missing(&got[3]["comment"], &commented["comment"], &[]),
        Vec::<String>::new()
    );
    let edited = fixture("issues.edited.json");
    assert_eq!(missing(&got[2], &edited, &[]), Vec::<String>::new());

    let log = env.ctl(Method::GET, "/_sandbox/deliveries", None).await;
    let outcomes: Vec<&str> = log
        .as_array()
        .map(|l| l.iter().filter_map(|d| d["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes.len(), 7);
    assert!(outcomes.iter().all(|o| *o == "delivered"));
}

#[tokio::test]
async fn drop_switch_and_runtime_target() {
    let (url, mut rx) = receiver().await;
    let env = start().await;
    // No target yet: logged as no_target, nothing sent.
    env.open("alice", "before target", &[]).await;
    env.ctl(
        Method::POST,
        "/_sandbox/webhooks",
        Some(json!({ "url": url, "secret": SECRET })),
    )
    .await;
    env.ctl(
        Method::PUT,
        "/_sandbox/webhooks/drop",
        Some(json!({ "drop": true })),
    )
    .await;
    env.open("alice", "dropped", &[]).await;
    env.ctl(
        Method::PUT,
        "/_sandbox/webhooks/drop",
        Some(json!({ "drop": false })),
    )
    .await;
    env.open("alice", "delivered", &[]).await;
    let d = next(&mut rx).await;
    assert_eq!(
        d.json()["issue"]["title"],
        "delivered",
        "earlier ones never arrived"
    );
    assert_eq!(
        d.header("x-hub-signature-256"),
        sign(SECRET.as_bytes(), &d.body)
    );
    let log = env.ctl(Method::GET, "/_sandbox/deliveries", None).await;
    let outcomes: Vec<&str> = log
        .as_array()
        .map(|l| l.iter().filter_map(|d| d["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(&outcomes[..2], ["no_target", "dropped"]);
}

#[tokio::test]
async fn change_feed_long_polls() {
    let env = start().await;
    let v = env.ctl(Method::GET, "/_sandbox/changes", None).await["version"]
        .as_u64()
        .expect("version");
    let idle = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/changes?after={v}&timeout_ms=20"),
            None,
        )
        .await;
    assert_eq!(idle["version"].as_u64(), Some(v), "times out unchanged");
    let url = env.url(&format!("/_sandbox/changes?after={v}&timeout_ms=30000"));
    let http = env.http.clone();
    let waiter =
        tokio::spawn(async move { http.get(url).send().await.ok()?.json::<Value>().await.ok() });
    env.open("alice", "change", &[]).await;
    let seen = waiter
        .await
        .ok()
        .flatten()
        .and_then(|b| b["version"].as_u64())
        .expect("version");
    assert!(seen > v);
    env.sb.feed().bump();
    assert!(
        env.sb.feed().version() > seen,
        "the Jira half's bumps share the counter"
    );
}

#[tokio::test]
async fn repository_hooks_take_their_repositorys_deliveries() {
    let (global_url, mut global_rx) = receiver().await;
    let (own_url, mut own_rx) = receiver().await;
    let env = start().await;
    env.ctl(
        Method::POST,
        "/_sandbox/webhooks",
        Some(json!({ "url": global_url, "secret": SECRET })),
    )
    .await;
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos",
        Some(json!({ "owner": "acme", "name": "Other" })),
    )
    .await;
    // The hook is keyed case-insensitively, as GitHub's repository names are.
    let hook = env
        .ctl(
            Method::POST,
            "/_sandbox/github/repos/ACME/other/hooks",
            Some(json!({ "url": own_url, "secret": "own-secret" })),
        )
        .await;
    assert_eq!(hook["repository"], "acme/Other");
    let hook_id = hook["id"].as_u64().expect("hook id");
    assert!(hook_id > 1, "repository hooks do not reuse the global id");

    let open_other = |title: &str| {
        env.ctl(
            Method::POST,
            "/_sandbox/github/repos/acme/Other/issues",
            Some(json!({ "as": "alice", "title": title })),
        )
    };
    open_other("to the repository's hook").await;
    env.open("alice", "to the global target", &[]).await;

    let own = next(&mut own_rx).await;
    assert_eq!(own.json()["issue"]["title"], "to the repository's hook");
    assert_eq!(
        own.header("x-hub-signature-256"),
        sign(b"own-secret", &own.body)
    );
    assert_eq!(own.header("x-github-hook-id"), hook_id.to_string());
    let global = next(&mut global_rx).await;
    assert_eq!(global.json()["issue"]["title"], "to the global target");
    assert_eq!(
        global.header("x-hub-signature-256"),
        sign(SECRET.as_bytes(), &global.body)
    );
    assert_eq!(global.header("x-github-hook-id"), "1");

    // Removing the hook sends the repository's deliveries to the global target again.
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos/acme/Other/hooks",
        Some(json!({ "url": null })),
    )
    .await;
    open_other("back to the global target").await;
    let back = next(&mut global_rx).await;
    assert_eq!(back.json()["issue"]["title"], "back to the global target");
    assert!(
        own_rx.try_recv().is_err(),
        "nothing more for the removed hook"
    );

    let log = env.ctl(Method::GET, "/_sandbox/deliveries", None).await;
    let seen: Vec<(u64, String, u64)> = log
        .as_array()
        .expect("log")
        .iter()
        .map(|d| {
            (
                d["seq"].as_u64().unwrap_or(0),
                d["repository"].as_str().unwrap_or_default().to_owned(),
                d["hook_id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (1, "acme/other".to_owned(), hook_id),
            (2, "acme/council".to_owned(), 1),
            (3, "acme/other".to_owned(), 1),
        ]
    );

    // A hook needs an existing repository and a URL.
    let missing = env
        .http
        .post(env.url("/_sandbox/github/repos/acme/nope/hooks"))
        .json(&json!({ "url": own_url }))
        .send()
        .await
        .expect("POST");
    assert_eq!(missing.status(), 404);
    let bad = env
        .http
        .post(env.url("/_sandbox/github/repos/acme/Other/hooks"))
        .json(&json!({ "url": "not a url" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(bad.status(), 422);
}

/// An organisation hook (`POST /orgs/{org}/hooks`, what `setup` registers on GitHub
/// Projects) gets the events it subscribes to of every repository of the organisation,
/// beside the repository's own hook (each its own delivery, id and signature), and nothing
/// it does not subscribe to; the global target then gets none of the organisation's.
#[tokio::test]
async fn organisation_hooks_take_the_events_they_subscribe_to() {
    let (global_url, mut global_rx) = receiver().await;
    let (own_url, mut own_rx) = receiver().await;
    let (org_url, mut org_rx) = receiver().await;
    let env = start().await;
    env.ctl(
        Method::POST,
        "/_sandbox/webhooks",
        Some(json!({ "url": global_url, "secret": SECRET })),
    )
    .await;
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos",
        Some(json!({ "owner": "acme", "name": "payments", "org": true })),
    )
    .await;
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos",
        Some(json!({ "owner": "zed", "name": "elsewhere" })),
    )
    .await;
    let api = |path: &str, body: Value| {
        env.http
            .post(env.url(path))
            .bearer_auth(super::TOKEN)
            .json(&body)
            .send()
    };
    let hook = |url: &str, secret: &str, events: &[&str]| {
        json!({ "name": "web", "events": events,
                "config": { "url": url, "content_type": "json", "secret": secret } })
    };
    let own = api(
        "/repos/acme/council/hooks",
        hook(&own_url, "own-secret", &["issues", "issue_comment"]),
    )
    .await
    .expect("repo hook");
    assert_eq!(own.status(), 201);
    let org = api(
        "/orgs/acme/hooks",
        hook(&org_url, "org-secret", &["issues"]),
    )
    .await
    .expect("org hook");
    assert_eq!(org.status(), 201);
    let org_id = org.json::<Value>().await.expect("hook")["id"]
        .as_u64()
        .expect("id");

    let n = env.open("alice", "to both hooks", &[]).await;
    let (a, b) = (next(&mut own_rx).await, next(&mut org_rx).await);
    assert_eq!(a.json()["issue"]["title"], "to both hooks");
    assert_eq!(b.json()["issue"]["title"], "to both hooks");
    assert_ne!(a.header("x-github-delivery"), b.header("x-github-delivery"));
    assert_eq!(b.header("x-github-hook-id"), org_id.to_string());
    assert_eq!(
        b.header("x-hub-signature-256"),
        sign(b"org-secret", &b.body)
    );
    // issue_comment: the repository's hook subscribes, the organisation's does not.
    env.ctl(
        Method::POST,
        &format!("/_sandbox/github/repos/{REPO}/issues/{n}/comments"),
        Some(json!({ "as": "alice", "body": "only the repository's hook" })),
    )
    .await;
    assert_eq!(
        next(&mut own_rx).await.json()["comment"]["body"],
        "only the repository's hook"
    );
    // A repository of the organisation without a hook of its own: the organisation's.
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos/acme/payments/issues",
        Some(json!({ "as": "alice", "title": "a team repository" })),
    )
    .await;
    assert_eq!(
        next(&mut org_rx).await.json()["issue"]["title"],
        "a team repository"
    );
    // Another owner's repository: the global target, as before.
    env.ctl(
        Method::POST,
        "/_sandbox/github/repos/zed/elsewhere/issues",
        Some(json!({ "as": "alice", "title": "not acme's" })),
    )
    .await;
    assert_eq!(
        next(&mut global_rx).await.json()["issue"]["title"],
        "not acme's"
    );
    assert!(org_rx.try_recv().is_err() && own_rx.try_recv().is_err());
    let log = env.ctl(Method::GET, "/_sandbox/deliveries", None).await;
    let to_global: Vec<&Value> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|d| d["hook_id"] == 1)
        .collect();
    assert_eq!(to_global.len(), 1, "{log}");
}
