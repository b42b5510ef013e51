//! Faults: error statuses with Retry-After through the client's retry, held requests.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{REPO, start};

#[tokio::test]
async fn a_503_with_retry_after_is_retried_after_the_wait() {
    let env = start().await;
    let n = env.open("alice", "flaky", &[]).await;
    let fault = env
        .ctl(Method::POST, "/_sandbox/faults", Some(json!({ "method": "GET", "path_regex": format!("^/repos/{REPO}/issues/{n}$"), "status": 503, "retry_after": 1, "times": 1 })))
        .await;
    let id = fault["id"].as_u64().expect("id");
    let raw = env.get(&format!("/repos/{REPO}/issues/{n}")).await;
    assert_eq!(raw.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(raw.headers()["retry-after"], "1");
    let body: Value = raw.json().await.expect("json");
    assert!(body["message"].is_string() && body["documentation_url"].is_string());

    env.ctl(Method::DELETE, &format!("/_sandbox/faults/{id}"), None)
        .await;
    env.ctl(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "path_regex": "/issues/\\d+$", "status": 429, "retry_after": 1, "times": 1 })),
    )
    .await;
    let started = Instant::now();
    let issue = env
        .client()
        .get_issue(REPO, n)
        .await
        .expect("succeeds on retry");
    assert_eq!(issue.number, n);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After, not the 10 ms backoff"
    );
    let faults = env.ctl(Method::GET, "/_sandbox/faults", None).await;
    assert_eq!(faults[0]["hits"], 1);
}

#[tokio::test]
async fn a_held_request_has_no_effect_until_released() {
    let env = start().await;
    let n = env.open("alice", "held", &[]).await;
    let fault = env
        .ctl(
            Method::POST,
            "/_sandbox/faults",
            Some(json!({ "method": "POST", "path_regex": "/comments$", "hold": true })),
        )
        .await;
    let id = fault["id"].as_u64().expect("id");
    let client = env.client();
    let call = tokio::spawn(async move { client.create_comment(REPO, n, "held comment").await });
    let held = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/faults/{id}/held?timeout_ms=30000"),
            None,
        )
        .await;
    assert_eq!(held["held"], 1);
    let state = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
            None,
        )
        .await;
    assert_eq!(
        state["comments"].as_array().map(Vec::len),
        Some(0),
        "nothing happened yet"
    );
    env.ctl(
        Method::POST,
        &format!("/_sandbox/faults/{id}/release"),
        None,
    )
    .await;
    let cid = call
        .await
        .expect("task")
        .expect("comment created after release");
    let state = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
            None,
        )
        .await;
    assert_eq!(state["comments"][0]["id"].as_u64(), Some(cid));
}

#[tokio::test]
async fn a_held_request_never_released_never_reaches_the_handler() {
    let env = start().await;
    let n = env.open("alice", "killed", &[]).await;
    let fault = env
        .ctl(
            Method::POST,
            "/_sandbox/faults",
            Some(json!({ "path_regex": "/labels$", "hold": true, "times": 1 })),
        )
        .await;
    let id = fault["id"].as_u64().expect("id");
    let http = env.http.clone();
    let url = env.url(&format!("/repos/{REPO}/issues/{n}/labels"));
    let call = tokio::spawn(async move {
        http.post(url)
            .bearer_auth(super::TOKEN)
            .json(&json!({ "labels": ["x"] }))
            .send()
            .await
            .map(|r| r.status())
    });
    env.ctl(
        Method::GET,
        &format!("/_sandbox/faults/{id}/held?timeout_ms=30000"),
        None,
    )
    .await;
    let hub = env.sb.github();
    env.sb.shutdown().await;
    let status = call.await.expect("task").expect("answered at shutdown");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let labels = hub.read(|w| {
        w.repo("acme", "council")
            .and_then(|r| r.issue(n))
            .map(|i| i.labels.clone())
    });
    assert_eq!(labels, Some(Vec::new()), "the handler never ran");
}
