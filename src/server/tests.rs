//! The real router, driven in-process with the shared example deliveries signed with a test
//! secret, over a real SQLite store.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

use super::*;
use crate::github::webhook::{fixtures, signature};
use crate::store::testing::temp_store;
use crate::store::{Source, Store};

const SECRET: &str = "test-webhook-secret";

struct Harness {
    router: Router,
    store: Store,
    writer_task: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

async fn harness() -> Harness {
    let (store, dir) = temp_store().await;
    let (inbox, writer_task) = InboxWriter::spawn(store.clone());
    let router = router(ServerState {
        inbox,
        github_secret: SecretString::from(SECRET),
    });
    Harness {
        router,
        store,
        writer_task,
        _dir: dir,
    }
}

/// A webhook request; `None` leaves a header out.
fn webhook(
    event: Option<&str>,
    delivery: Option<&str>,
    signature: Option<String>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::post("/webhooks/github").header("content-type", "application/json");
    if let Some(event) = event {
        req = req.header("x-github-event", event);
    }
    if let Some(delivery) = delivery {
        req = req.header("x-github-delivery", delivery);
    }
    if let Some(sig) = signature {
        req = req.header("x-hub-signature-256", sig);
    }
    req.body(Body::from(body)).expect("request")
}

fn signed(event: &str, delivery: &str, body: Vec<u8>) -> Request<Body> {
    let sig = signature::sign(SECRET.as_bytes(), &body);
    webhook(Some(event), Some(delivery), Some(sig), body)
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn status_field(body: &str) -> String {
    let json: Value = serde_json::from_str(body).expect("json answer");
    json["status"].as_str().expect("status").to_owned()
}

#[tokio::test]
async fn healthz_answers() {
    let h = harness().await;
    let req = Request::get("/healthz")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&h.router, req).await, (StatusCode::OK, "ok".into()));
}

#[tokio::test]
async fn handled_fixtures_are_queued_once_then_duplicate() {
    let h = harness().await;
    let mut expected = Vec::new();
    for path in fixtures::github_webhook_files() {
        let (event, action) = fixtures::event_and_action(&path);
        if !matches!(event.as_str(), "issues" | "issue_comment") {
            continue;
        }
        let body = std::fs::read(&path).expect("fixture");
        let delivery = format!("delivery-{}", path.display());
        let (status, text) = send(&h.router, signed(&event, &delivery, body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {text}", path.display());
        assert_eq!(status_field(&text), "queued");
        let (status, text) = send(&h.router, signed(&event, &delivery, body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(status_field(&text), "duplicate", "{}", path.display());
        expected.push((delivery, event, action, body));
    }
    assert_eq!(expected.len(), 7, "every issues/issue_comment fixture");

    let stored = h.store.pending_deliveries(100).await.expect("pending");
    assert_eq!(stored.len(), expected.len(), "each stored once");
    for (row, (delivery, event, action, body)) in stored.iter().zip(&expected) {
        assert_eq!(row.source, Source::Github);
        assert_eq!(&row.delivery_id, delivery);
        assert_eq!(&row.event, event);
        assert_eq!(&row.action, action);
        assert_eq!(&row.payload, body, "stored exactly as signed");
    }
}

#[tokio::test]
async fn ignored_events_are_accepted_but_not_stored() {
    let h = harness().await;
    let mut ignored = 0;
    for path in fixtures::github_webhook_files() {
        let (event, _) = fixtures::event_and_action(&path);
        if matches!(event.as_str(), "issues" | "issue_comment") {
            continue;
        }
        let body = std::fs::read(&path).expect("fixture");
        // Ignored events need no delivery id.
        let sig = signature::sign(SECRET.as_bytes(), &body);
        let (status, text) = send(&h.router, webhook(Some(&event), None, Some(sig), body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {text}", path.display());
        assert_eq!(status_field(&text), "ignored");
        ignored += 1;
    }
    assert_eq!(ignored, 7, "ping and the projects_v2_item fixtures");
    let assigned = br#"{"action":"milestoned","issue":{"number":1}}"#.to_vec();
    let (status, _) = send(&h.router, signed("issues", "d-assigned", assigned)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        h.store
            .pending_deliveries(10)
            .await
            .expect("pending")
            .is_empty()
    );
}

#[tokio::test]
async fn missing_or_wrong_signature_is_401() {
    let h = harness().await;
    let body = fixtures::read("issues.opened.json");
    let (status, _) = send(
        &h.router,
        webhook(Some("issues"), Some("d1"), None, body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let wrong = signature::sign(b"not-the-secret", &body);
    let (status, text) = send(
        &h.router,
        webhook(Some("issues"), Some("d1"), Some(wrong), body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!text.contains(SECRET));

    // Signed, then tampered with.
    let sig = signature::sign(SECRET.as_bytes(), &body);
    let mut tampered = body;
    tampered.push(b' ');
    let (status, _) = send(
        &h.router,
        webhook(Some("issues"), Some("d1"), Some(sig), tampered),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        h.store
            .pending_deliveries(10)
            .await
            .expect("pending")
            .is_empty()
    );
}

#[tokio::test]
async fn bad_requests_are_400_with_one_line_reason() {
    let h = harness().await;
    let cases = [
        (
            signed("issues", "d1", b"{\"action\": \"opened\"".to_vec()),
            "not valid JSON",
        ),
        (
            signed(
                "issues",
                "d2",
                br#"{"action":"opened","issue":{"number":1}}"#.to_vec(),
            ),
            "issues.opened: missing field",
        ),
        (
            {
                let body = fixtures::read("issues.opened.json");
                let sig = signature::sign(SECRET.as_bytes(), &body);
                webhook(None, Some("d3"), Some(sig), body)
            },
            "missing X-GitHub-Event",
        ),
        (
            {
                let body = fixtures::read("issues.opened.json");
                let sig = signature::sign(SECRET.as_bytes(), &body);
                webhook(Some("issues"), None, Some(sig), body)
            },
            "missing X-GitHub-Delivery",
        ),
    ];
    for (req, reason) in cases {
        let (status, text) = send(&h.router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains(reason), "{text:?} lacks {reason:?}");
        assert!(!text.contains('\n'), "{text:?}");
    }
    assert!(
        h.store
            .pending_deliveries(10)
            .await
            .expect("pending")
            .is_empty()
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = harness().await;
    let body = vec![b' '; MAX_WEBHOOK_BODY + 1];
    let sig = signature::sign(SECRET.as_bytes(), &body);
    let (status, _) = send(
        &h.router,
        webhook(Some("issues"), Some("big"), Some(sig), body),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn store_failure_is_503_so_github_redelivers() {
    let Harness {
        router,
        writer_task,
        _dir,
        ..
    } = harness().await;
    writer_task.abort();
    let _ = writer_task.await;
    let (status, text) = send(
        &router,
        signed("issues", "d1", fixtures::read("issues.opened.json")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
}

#[tokio::test]
async fn serve_answers_then_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let h = harness().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, h.router.clone(), async move {
        let _ = stopped.await;
    }));

    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    conn.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("stopped in time")
        .expect("task")
        .expect("io");
}
