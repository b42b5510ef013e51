//! The real router, driven in-process with the shared example deliveries signed with a test
//! secret, over a real SQLite store.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

use super::*;
use crate::github::webhook::events::parses;
use crate::github::webhook::{fixtures, signature};
use crate::store::testing::temp_store;
use crate::store::{Source, Store};

const SECRET: &str = "test-webhook-secret";
const JIRA_SECRET: &str = "test-jira-webhook-secret";
const JIRA_TOKEN: &str = "dc-token-4f1c9a0e7b2d4c8f9e6a1b3c5d7e9f00";

struct Harness {
    router: Router,
    store: Store,
    writer_task: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

/// Every receiver on: GitHub, Jira Cloud (secret) and Jira Data Center (token).
async fn harness() -> Harness {
    harness_with(Some(JIRA_SECRET), Some(JIRA_TOKEN)).await
}

/// The fixtures' repository and the Jira project of the sample bodies.
fn test_scope() -> crate::config::Scope {
    let mut scope = crate::config::Scope::default();
    scope.watch_repo("Codertocat/Hello-World");
    scope.watch_jira_project("PAY");
    scope
}

async fn harness_with(jira_secret: Option<&str>, jira_token: Option<&str>) -> Harness {
    harness_scoped(jira_secret, jira_token, test_scope()).await
}

async fn harness_scoped(
    jira_secret: Option<&str>,
    jira_token: Option<&str>,
    scope: crate::config::Scope,
) -> Harness {
    let (store, dir) = temp_store().await;
    let (inbox, writer_task) = InboxWriter::spawn(store.clone());
    let router = router(ServerState {
        inbox,
        github_secret: SecretString::from(SECRET),
        jira_secret: jira_secret.map(SecretString::from),
        jira_token: jira_token.map(SecretString::from),
        scope,
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
        let before = parses();
        let (status, text) = send(&h.router, signed(&event, &delivery, body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {text}", path.display());
        assert_eq!(status_field(&text), "queued");
        assert_eq!(parses() - before, 1, "{}: body parsed once", path.display());
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
        // The routing columns hold what the engine would read from the body itself.
        let decoded = crate::github::webhook::events::decode(event, body).expect("decodes");
        let routing = crate::engine::coalesce::routing_of(&decoded);
        assert!(
            routing.is_some(),
            "{delivery}: every handled event names its issue"
        );
        assert_eq!(row.routing, routing, "{delivery}");
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
        let before = parses();
        let (status, text) = send(&h.router, webhook(Some(&event), None, Some(sig), body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {text}", path.display());
        assert_eq!(status_field(&text), "ignored");
        assert_eq!(parses() - before, 1, "{}: body parsed once", path.display());
        ignored += 1;
    }
    assert_eq!(ignored, 7, "ping and the projects_v2_item fixtures");
    // An `issues` action the council ignores is asked for its repository (a tracker's cue
    // when that is a team repository): still one parse, where there were three.
    let assigned =
        br#"{"action":"milestoned","issue":{"id":9,"number":1},"repository":{"full_name":"o/r"}}"#
            .to_vec();
    let before = parses();
    let (status, _) = send(&h.router, signed("issues", "d-assigned", assigned)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(parses() - before, 1, "ignored issues action parsed once");
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
                br#"{"action":"opened","issue":{"number":1},"repository":{"full_name":"Codertocat/Hello-World"}}"#.to_vec(),
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

/// An organisation-wide hook (or an App on every repository) delivers about repositories
/// the daemon does not watch, and organisation events without any repository: each is
/// answered 202 `ignored` and none is stored. Siblings: issues, issue_comment, Jira issue
/// events of an unconfigured project.
#[tokio::test]
async fn deliveries_outside_the_scope_are_ignored_and_not_stored() {
    let h = harness().await;
    crate::metrics::install();
    let ignored_before = ignored_counts(&h).await;
    let mut cases = Vec::new();
    for name in [
        "issues.opened.json",
        "issues.labeled.json",
        "issue_comment.created.json",
    ] {
        let mut payload: Value = serde_json::from_slice(&fixtures::read(name)).expect("json");
        payload["repository"]["full_name"] = "Codertocat/Another-Repo".into();
        let event = name.split('.').next().expect("event").to_owned();
        cases.push((event.clone(), serde_json::to_vec(&payload).expect("json")));
        // The same without any repository (organisation level).
        payload
            .as_object_mut()
            .expect("object")
            .remove("repository");
        cases.push((event, serde_json::to_vec(&payload).expect("json")));
    }
    for (i, (event, body)) in cases.into_iter().enumerate() {
        let (status, text) = send(&h.router, signed(&event, &format!("o{i}"), body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{event}: {text}");
        assert_eq!(status_field(&text), "ignored", "{event} #{i}");
    }
    // Watched, whatever the case GitHub spells the name in.
    let mut payload: Value =
        serde_json::from_slice(&fixtures::read("issues.opened.json")).expect("json");
    payload["repository"]["full_name"] = "codertocat/hello-world".into();
    let (status, text) = send(
        &h.router,
        signed(
            "issues",
            "o-case",
            serde_json::to_vec(&payload).expect("json"),
        ),
    )
    .await;
    assert_eq!(
        (status, status_field(&text).as_str()),
        (StatusCode::ACCEPTED, "queued")
    );
    // Jira: an issue of a project no team uses.
    let jira = br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"9","key":"HR-3","fields":{"project":{"key":"HR"}}},"changelog":{"items":[{"field":"status"}]}}"#;
    let req = Request::post(format!("/webhooks/jira/{JIRA_TOKEN}"))
        .header("x-atlassian-webhook-identifier", "j-hr")
        .body(Body::from(jira.to_vec()))
        .expect("request");
    let (status, text) = send(&h.router, req).await;
    assert_eq!(
        (status, status_field(&text).as_str()),
        (StatusCode::ACCEPTED, "ignored")
    );
    let stored = h.store.pending_deliveries(10).await.expect("pending");
    assert_eq!(stored.len(), 1, "only the watched delivery");
    // Each one counted as ignored: a repository outside the scope as `scope`, one without
    // any repository (no issue to act on) as `event` (other tests of this process may
    // count more meanwhile, never fewer).
    let after = ignored_counts(&h).await;
    assert!(
        after.0 >= ignored_before.0 + 3,
        "{ignored_before:?} → {after:?}"
    );
    assert!(after.1 > ignored_before.1, "{ignored_before:?} → {after:?}");
    assert!(
        after.2 >= ignored_before.2 + 3,
        "{ignored_before:?} → {after:?}"
    );
}

/// `council_sync_webhook_ignored_total`: (GitHub `scope`, tracker `scope`, GitHub `event`).
async fn ignored_counts(h: &Harness) -> (u64, u64, u64) {
    let req = Request::get("/metrics")
        .body(Body::empty())
        .expect("request");
    let (status, text) = send(&crate::metrics::router(h.store.clone()), req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let count = |source: &str, reason: &str| {
        text.lines()
            .filter(|l| l.starts_with(crate::metrics::WEBHOOK_IGNORED))
            .filter(|l| l.contains(&format!("source=\"{source}\"")))
            .filter(|l| l.contains(&format!("reason=\"{reason}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    (
        count("github", "scope"),
        count("tracker", "scope"),
        count("github", "event"),
    )
}

/// With GitHub Projects as the tracker, its GitHub webhooks are stored as tracker
/// deliveries (the tracker turns them into cues): `projects_v2_item`, `sub_issues`, and
/// `issues` of a team repository, whatever the action (also one the council ignores).
/// Concern repositories stay the council's; other repositories stay ignored; with Jira,
/// none of these is stored.
#[tokio::test]
async fn github_projects_deliveries_are_stored_for_the_tracker() {
    let mut scope = crate::config::Scope::default();
    scope.watch_repo("Codertocat/Hello-World");
    scope.watch_tracker_repo("acme/payments");
    let h = harness_scoped(None, None, scope).await;
    let issue_in = |repo: &str, action: &str| {
        let mut payload: Value =
            serde_json::from_slice(&fixtures::read("issues.opened.json")).expect("json");
        payload["repository"]["full_name"] = repo.into();
        payload["action"] = action.into();
        serde_json::to_vec(&payload).expect("json")
    };
    let item = serde_json::json!({ "action": "edited", "projects_v2_item": {
        "project_node_id": "PVT_1", "content_node_id": "I_9", "content_type": "Issue" },
        "organization": { "login": "acme" }, "sender": { "login": "dave" } });
    let sub = serde_json::json!({ "action": "sub_issue_added",
        "parent_issue": { "number": 3, "repository_url": "https://api.github.com/repos/acme/concerns" },
        "sub_issue": { "number": 7, "repository_url": "https://api.github.com/repos/acme/payments" },
        "sender": { "login": "dave" } });
    let cases: Vec<(&str, Vec<u8>, &str, Option<Source>)> = vec![
        (
            "projects_v2_item",
            serde_json::to_vec(&item).expect("json"),
            "queued",
            Some(Source::Tracker),
        ),
        (
            "sub_issues",
            serde_json::to_vec(&sub).expect("json"),
            "queued",
            Some(Source::Tracker),
        ),
        (
            "issues",
            issue_in("Acme/Payments", "closed"),
            "queued",
            Some(Source::Tracker),
        ),
        (
            "issues",
            issue_in("acme/payments", "pinned"),
            "queued",
            Some(Source::Tracker),
        ),
        (
            "issues",
            issue_in("Codertocat/Hello-World", "opened"),
            "queued",
            Some(Source::Github),
        ),
        (
            "issues",
            issue_in("acme/elsewhere", "closed"),
            "ignored",
            None,
        ),
        (
            "issue_comment",
            {
                let mut c: Value =
                    serde_json::from_slice(&fixtures::read("issue_comment.created.json"))
                        .expect("json");
                c["repository"]["full_name"] = "acme/payments".into();
                serde_json::to_vec(&c).expect("json")
            },
            "ignored",
            None,
        ),
    ];
    let mut want = Vec::new();
    for (i, (event, body, answer, source)) in cases.into_iter().enumerate() {
        let (status, text) = send(&h.router, signed(event, &format!("p{i}"), body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{event} #{i}: {text}");
        assert_eq!(status_field(&text), answer, "{event} #{i}");
        if let Some(source) = source {
            want.push((format!("p{i}"), source));
        }
    }
    let stored: Vec<(String, Source)> = h
        .store
        .pending_deliveries(20)
        .await
        .expect("pending")
        .into_iter()
        .map(|d| {
            // The tracker's deliveries are the tracker's to read: no routing columns.
            assert_eq!(
                d.routing.is_some(),
                d.source == Source::Github,
                "{}",
                d.delivery_id
            );
            (d.delivery_id, d.source)
        })
        .collect();
    assert_eq!(stored, want);

    // With Jira as the tracker the same deliveries are not the tracker's.
    let jira = harness().await;
    for (i, event) in ["projects_v2_item", "sub_issues"].into_iter().enumerate() {
        let body = if i == 0 { &item } else { &sub };
        let (_, text) = send(
            &jira.router,
            signed(
                event,
                &format!("j{i}"),
                serde_json::to_vec(body).expect("json"),
            ),
        )
        .await;
        assert_eq!(status_field(&text), "ignored", "{event}");
    }
    assert!(nothing_stored(&jira.store).await);
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

// ---- Jira -------------------------------------------------------------------------------

/// A Jira Cloud status change, shaped like ../shared/specs/JIRA-WEBHOOKS.md.
const JIRA_ISSUE_UPDATED: &str = r#"{"timestamp":1727087443918,"webhookEvent":"jira:issue_updated",
  "issue_event_type_name":"issue_generic",
  "user":{"accountId":"557058:f58131cb","displayName":"Dana Ops"},
  "issue":{"id":"77256","key":"PAY-14","fields":{"status":{"name":"In Progress",
           "statusCategory":{"key":"indeterminate"}}}},
  "changelog":{"id":"10400","items":[{"field":"status","fromString":"To Do","toString":"In Progress"}]}}"#;

/// A Data Center sprint start (no accountId anywhere).
const JIRA_SPRINT_STARTED: &str = r#"{"timestamp":1727100000000,"webhookEvent":"sprint_started",
  "sprint":{"id":37,"state":"active","name":"PLAT Sprint 37","originBoardId":5}}"#;

/// A Jira request to `path`; `None` leaves a header out.
fn jira_request(
    path: &str,
    identifier: Option<&str>,
    signature: Option<String>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(id) = identifier {
        req = req.header("x-atlassian-webhook-identifier", id);
    }
    if let Some(sig) = signature {
        req = req.header("x-hub-signature", sig);
    }
    req.body(Body::from(body)).expect("request")
}

fn jira_signed(identifier: Option<&str>, body: &[u8]) -> Request<Body> {
    let sig = signature::sign_prefixed("sha256=", JIRA_SECRET.as_bytes(), body);
    jira_request("/webhooks/jira", identifier, Some(sig), body.to_vec())
}

fn jira_with_token(token: &str, identifier: Option<&str>, body: &[u8]) -> Request<Body> {
    jira_request(
        &format!("/webhooks/jira/{token}"),
        identifier,
        None,
        body.to_vec(),
    )
}

async fn nothing_stored(store: &Store) -> bool {
    store
        .pending_deliveries(10)
        .await
        .expect("pending")
        .is_empty()
}

#[tokio::test]
async fn jira_cloud_signed_delivery_is_queued_once() {
    let h = harness().await;
    let body = JIRA_ISSUE_UPDATED.as_bytes();
    let (status, text) = send(&h.router, jira_signed(Some("wh-1"), body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    assert_eq!(status_field(&text), "queued");
    // Jira's retry of the same delivery (same identifier, retry header).
    let mut retry = jira_signed(Some("wh-1"), body);
    retry.headers_mut().insert(
        "x-atlassian-webhook-retry",
        axum::http::HeaderValue::from_static("1"),
    );
    let (status, text) = send(&h.router, retry).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(status_field(&text), "duplicate");

    let stored = h.store.pending_deliveries(10).await.expect("pending");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source, Source::Tracker);
    assert_eq!(stored[0].delivery_id, "wh-1");
    assert_eq!(stored[0].event, "jira:issue_updated");
    assert_eq!(stored[0].action, None);
    assert_eq!(stored[0].payload, body, "stored exactly as signed");
}

#[tokio::test]
async fn jira_data_center_token_delivery_is_queued() {
    let h = harness().await;
    let body = JIRA_SPRINT_STARTED.as_bytes();
    let (status, text) = send(&h.router, jira_with_token(JIRA_TOKEN, Some("dc-1"), body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    assert_eq!(status_field(&text), "queued");
    let stored = h.store.pending_deliveries(10).await.expect("pending");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].source, stored[0].event.as_str()),
        (Source::Tracker, "sprint_started")
    );
    // The same identifier from GitHub's side is another delivery; from Jira's, a duplicate.
    let (_, text) = send(&h.router, jira_signed(Some("dc-1"), body)).await;
    assert_eq!(status_field(&text), "duplicate");
}

#[tokio::test]
async fn jira_wrong_token_or_signature_is_401_and_not_stored() {
    let h = harness().await;
    let body = JIRA_ISSUE_UPDATED.as_bytes();
    let almost = format!("{}x", &JIRA_TOKEN[..JIRA_TOKEN.len() - 1]);
    let longer = format!("{JIRA_TOKEN}0");
    let mut requests = vec![
        jira_with_token(&almost, Some("a"), body),
        jira_with_token(&longer, Some("b"), body),
        jira_with_token("short", Some("c"), body),
        // Unsigned.
        jira_request("/webhooks/jira", Some("d"), None, body.to_vec()),
        // Signed with another secret.
        jira_request(
            "/webhooks/jira",
            Some("e"),
            Some(signature::sign_prefixed("sha256=", b"not-the-secret", body)),
            body.to_vec(),
        ),
        // GitHub's secret under GitHub's header is not Jira's signature.
        {
            let mut req = jira_request("/webhooks/jira", Some("f"), None, body.to_vec());
            let sig = signature::sign(SECRET.as_bytes(), body);
            req.headers_mut()
                .insert("x-hub-signature-256", sig.parse().expect("header value"));
            req
        },
        // A bare hex digest without the `sha256=` prefix.
        {
            let sig = signature::sign_prefixed("", JIRA_SECRET.as_bytes(), body);
            jira_request("/webhooks/jira", Some("g"), Some(sig), body.to_vec())
        },
    ];
    // Signed, then tampered with.
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    let sig = signature::sign_prefixed("sha256=", JIRA_SECRET.as_bytes(), body);
    requests.push(jira_request(
        "/webhooks/jira",
        Some("h"),
        Some(sig),
        tampered,
    ));
    for req in requests {
        let path = req.uri().path().to_owned();
        let (status, text) = send(&h.router, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {text}");
        assert!(!text.contains(JIRA_TOKEN) && !text.contains(JIRA_SECRET));
    }
    assert!(nothing_stored(&h.store).await);
}

#[tokio::test]
async fn jira_routes_are_404_unless_configured() {
    let body = JIRA_ISSUE_UPDATED.as_bytes();
    let none = harness_with(None, None).await;
    let (status, _) = send(&none.router, jira_signed(Some("a"), body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&none.router, jira_with_token(JIRA_TOKEN, Some("b"), body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(nothing_stored(&none.store).await);

    // Each route by its own setting: a secret does not open the token route, nor back.
    let cloud = harness_with(Some(JIRA_SECRET), None).await;
    assert_eq!(
        send(&cloud.router, jira_signed(Some("c"), body)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&cloud.router, jira_with_token(JIRA_SECRET, Some("d"), body))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let dc = harness_with(None, Some(JIRA_TOKEN)).await;
    assert_eq!(
        send(&dc.router, jira_with_token(JIRA_TOKEN, Some("e"), body))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&dc.router, jira_signed(Some("f"), body)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn jira_irrelevant_events_are_accepted_but_not_stored() {
    let h = harness().await;
    for body in [
        r#"{"webhookEvent":"board_updated","board":{"id":5,"name":"PAY board"}}"#,
        r#"{"webhookEvent":"jira:version_released","version":{"id":"10000","name":"1.2"}}"#,
        r#"{"webhookEvent":"comment_deleted","comment":{"id":"3"}}"#,
        r#"{"webhookEvent":"user_updated","user":{"name":"dana"}}"#,
    ] {
        // Ignored events need no identifier.
        let (status, text) = send(&h.router, jira_signed(None, body.as_bytes())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}: {text}");
        assert_eq!(status_field(&text), "ignored");
        let (status, text) = send(
            &h.router,
            jira_with_token(JIRA_TOKEN, Some("x"), body.as_bytes()),
        )
        .await;
        assert_eq!(
            (status, status_field(&text).as_str()),
            (StatusCode::ACCEPTED, "ignored")
        );
    }
    assert!(nothing_stored(&h.store).await);
}

#[tokio::test]
async fn jira_bad_requests_are_400_with_one_line_reason() {
    let h = harness().await;
    let cases = [
        (
            jira_signed(Some("a"), b"{\"webhookEvent\": \"jira:issue_updated\""),
            "not a Jira webhook body",
        ),
        (
            jira_signed(Some("b"), br#"{"timestamp": 1727087443918}"#),
            "missing webhookEvent",
        ),
        (
            jira_with_token(JIRA_TOKEN, Some("c"), b"not json\nat all"),
            "not a Jira webhook body",
        ),
        (
            jira_signed(None, JIRA_ISSUE_UPDATED.as_bytes()),
            "missing X-Atlassian-Webhook-Identifier",
        ),
        (
            jira_with_token(JIRA_TOKEN, Some(" "), JIRA_SPRINT_STARTED.as_bytes()),
            "missing X-Atlassian-Webhook-Identifier",
        ),
    ];
    for (req, reason) in cases {
        let (status, text) = send(&h.router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains(reason), "{text:?} lacks {reason:?}");
        assert!(!text.contains('\n'), "{text:?}");
    }
    assert!(nothing_stored(&h.store).await);
}

#[tokio::test]
async fn jira_oversized_body_is_413() {
    let h = harness().await;
    let body = vec![b' '; MAX_WEBHOOK_BODY + 1];
    let (status, _) = send(&h.router, jira_signed(Some("big"), &body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = send(&h.router, jira_with_token(JIRA_TOKEN, Some("big"), &body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn jira_store_failure_is_503_so_jira_retries() {
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
        jira_signed(Some("a"), JIRA_ISSUE_UPDATED.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    let (status, _) = send(
        &router,
        jira_with_token(JIRA_TOKEN, Some("b"), JIRA_SPRINT_STARTED.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn readyz_follows_the_store() {
    let readyz = || {
        Request::get("/readyz")
            .body(Body::empty())
            .expect("request")
    };
    let h = harness().await;
    assert_eq!(send(&h.router, readyz()).await.0, StatusCode::OK);
    h.store.close().await;
    assert_eq!(
        send(&h.router, readyz()).await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "database closed"
    );

    let h = harness().await;
    h.writer_task.abort();
    let _ = (&mut { h.writer_task }).await;
    assert_eq!(
        send(&h.router, readyz()).await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "writer gone"
    );
}

#[tokio::test]
async fn state_debug_hides_secrets() {
    let (store, _dir) = temp_store().await;
    let (inbox, _task) = InboxWriter::spawn(store);
    let state = ServerState {
        inbox,
        github_secret: SecretString::from(SECRET),
        jira_secret: Some(SecretString::from(JIRA_SECRET)),
        jira_token: Some(SecretString::from(JIRA_TOKEN)),
        scope: test_scope(),
    };
    let text = format!("{state:?}");
    for secret in [SECRET, JIRA_SECRET, JIRA_TOKEN] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn logged_path_hides_the_token() {
    assert_eq!(
        logged_path(&format!("/webhooks/jira/{JIRA_TOKEN}")),
        "/webhooks/jira/<token>"
    );
    assert_eq!(logged_path("/webhooks/jira/a/b"), "/webhooks/jira/<token>");
    assert_eq!(logged_path("/webhooks/jira"), "/webhooks/jira");
    assert_eq!(logged_path("/webhooks/jira/"), "/webhooks/jira/");
    assert_eq!(logged_path("/webhooks/github"), "/webhooks/github");
}

/// The request log through the real router at TRACE: the path is there, the token is not.
#[tokio::test]
async fn request_log_never_shows_the_token() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let h = harness().await;
    {
        // The test runtime is current-thread: the router runs on this thread.
        let _guard = tracing::subscriber::set_default(subscriber);
        let body = JIRA_ISSUE_UPDATED.as_bytes();
        let (status, _) = send(&h.router, jira_with_token(JIRA_TOKEN, Some("log-1"), body)).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let wrong = format!("{JIRA_TOKEN}-guess");
        let (status, _) = send(&h.router, jira_with_token(&wrong, Some("log-2"), body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let log = String::from_utf8(buffer.0.lock().expect("log buffer").clone()).expect("utf-8");
    assert!(log.contains("/webhooks/jira/<token>"), "{log}");
    assert!(log.contains("jira webhook stored"), "{log}");
    assert!(!log.contains(JIRA_TOKEN), "{log}");
}
