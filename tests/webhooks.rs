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
