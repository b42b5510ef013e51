//! The sync half of the Jira tracker and the sandbox's Jira additions over HTTP, both
//! flavours: status, assignee and sprint reads, polling, transitions by status name, edits,
//! assignment, the agile API, people acting through the control API, and Jira webhooks
//! received by a small axum receiver. No sleeps: webhooks are awaited on a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::e2e_tests::{Env, client, ensure_all, env, teams, tracker};
use super::model::NewIssueFields;
use crate::config::JiraApiVersion;
use crate::sandbox::jira::state::Body;
use crate::tracker::{IterationState, Progress, Tracker, TrackerError};

/// Upper bound for any single wait on the sandbox (a failure, not a pace).
const WAIT: Duration = Duration::from_secs(20);

fn http() -> reqwest::Client {
    crate::crypto::http_client()
}

async fn control(e: &Env, path: &str, body: Value) -> Value {
    let resp = http()
        .post(format!("{}/_sandbox/jira{path}", e.cfg.base_url))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// `(account the daemon sees for a person, the daemon's own account)` per flavour.
fn account(version: JiraApiVersion, name: &str) -> String {
    match version {
        JiraApiVersion::V3 => format!("557058:{name}"),
        JiraApiVersion::V2 => name.to_owned(),
    }
}

async fn reads_status_assignee_and_sprint(version: JiraApiVersion) {
    let e = env(version).await;
    let t = tracker(&e.cfg, &teams());
    let (epic, stories) = ensure_all(&t, 1).await;
    let (sto, pay) = (stories[0].key.clone(), stories[1].key.clone());
    control(
        &e,
        &format!("/issues/{sto}/transition"),
        json!({"to": "In Review", "as": "alice"}),
    )
    .await;
    control(
        &e,
        &format!("/issues/{pay}/assign"),
        json!({"assignee": "bob", "as": "carol"}),
    )
    .await;
    let sprint = control(
        &e,
        "/sprints",
        json!({"project": "PAY", "name": "Sprint 42, team payments", "issues": [pay], "start": true, "as": "carol"}),
    )
    .await;
    assert_eq!(sprint["state"], "active");

    let keys = vec![epic.key.clone(), sto.clone(), pay.clone()];
    let mut got = t.fetch(&keys).await.expect("fetch");
    got.sort_by(|a, b| a.key.cmp(&b.key));
    let by = |k: &str| got.iter().find(|i| i.key == k).expect("fetched");
    assert_eq!(got.len(), 3);
    let s = by(&sto);
    // Its category (indeterminate) decides: no status name is configured.
    assert_eq!(
        (s.status.as_str(), s.progress),
        ("In Review", Progress::InProgress)
    );
    assert_eq!(s.assignee.as_deref(), Some("Alice Adams"));
    assert_eq!(s.assignee_account, Some(account(version, "alice")));
    assert_eq!(s.url, format!("{}/browse/{sto}", e.cfg.base_url));
    let p = by(&pay);
    assert_eq!(p.progress, Progress::Todo);
    assert_eq!(p.assignee_account, Some(account(version, "bob")));
    let sp = p.iteration.clone().expect("in a sprint");
    assert_eq!(
        (sp.name.as_str(), sp.state),
        ("Sprint 42, team payments", IterationState::Active)
    );
    assert!(sp.start_ms.is_some(), "a started sprint has a start date");
    assert!(by(&epic.key).iteration.is_none());
    assert_eq!(by(&epic.key).id, epic.id);
    assert!(p.updated_ms > Utc::now().timestamp_millis() - 60_000);

    // Closed, then planned again: the future sprint wins over the closed one.
    let id = sp.id;
    control(&e, &format!("/sprints/{id}/close"), json!({"as": "carol"})).await;
    let closed = t.fetch(std::slice::from_ref(&pay)).await.expect("fetch");
    assert_eq!(
        closed[0].iteration.as_ref().map(|s| s.state),
        Some(IterationState::Closed)
    );
    control(&e, "/sprints", json!({"project": "PAY", "name": "Sprint 43", "issues": [pay], "start": false, "as": "carol"})).await;
    let next = t.fetch(std::slice::from_ref(&pay)).await.expect("fetch");
    assert_eq!(
        next[0]
            .iteration
            .as_ref()
            .map(|s| (s.name.as_str(), s.state)),
        Some(("Sprint 43", IterationState::Future))
    );
    assert!(t.fetch(&[]).await.expect("nothing").is_empty());
}

#[tokio::test]
async fn fetch_reads_status_assignee_and_sprint_v3() {
    reads_status_assignee_and_sprint(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn fetch_reads_status_assignee_and_sprint_v2() {
    reads_status_assignee_and_sprint(JiraApiVersion::V2).await;
}

/// A Task carrying the `council-sync` label (what the poll looks for).
fn synced(project: &str, n: usize) -> NewIssueFields {
    super::e2e_tests::labelled_task(project, format!("synced {n}"), "council-sync")
}

async fn polls_all_pages(version: JiraApiVersion) {
    let e = env(version).await;
    let c = client(&e.cfg);
    for batch in 0..3 {
        let fields: Vec<NewIssueFields> = (0..45).map(|n| synced("STO", batch * 45 + n)).collect();
        c.create_issues_bulk(&fields).await.expect("bulk");
    }
    let mut other = synced("STO", 999);
    other.labels = vec!["unrelated".into()];
    c.create_issue(&other).await.expect("create");
    // One issue last changed long ago: outside the window.
    {
        let mut state = e.sandbox.lock();
        let idx = state.issue_index("STO-1").expect("STO-1");
        state.issues[idx].updated = Utc::now() - chrono::Duration::hours(3);
    }
    let t = tracker(&e.cfg, &teams());
    let since = Utc::now().timestamp_millis() - 10_000;
    let got = t.updated_since(since).await.expect("poll");
    assert_eq!(
        got.len(),
        134,
        "135 synced issues, one too old; pages of 100"
    );
    let ids: std::collections::BTreeSet<&str> = got.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), got.len(), "each issue once, with its stable id");
    assert!(!got.iter().any(|i| i.key == "STO-1"));
    let all = t.updated_since(since - 4 * 3_600_000).await.expect("poll");
    assert_eq!(all.len(), 135);
}

#[tokio::test]
async fn updated_since_reads_every_page_v3() {
    polls_all_pages(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn updated_since_reads_every_page_v2() {
    polls_all_pages(JiraApiVersion::V2).await;
}

async fn moves_by_status_name(version: JiraApiVersion) {
    let e = env(version).await;
    let t = tracker(&e.cfg, &teams());
    let (_, stories) = ensure_all(&t, 2).await;
    let key = &stories[0].key;
    assert!(!t.move_to(key, "to do").await.expect("already there"));
    match t.move_to(key, "In Review").await {
        Err(TrackerError::Permanent { reason, .. }) => {
            assert!(
                reason.contains("'To Do'") && reason.contains("In Progress, Done, Won't Do"),
                "{reason}"
            );
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    assert!(t.move_to(key, "In Progress").await.expect("start"));
    assert!(t.move_to(key, "in review").await.expect("review"));
    assert!(t.move_to(key, "Won't Do").await.expect("won't do"));
    assert_eq!(
        e.sandbox.issue(key).map(|i| i.status.name()),
        Some("Won't Do")
    );
    assert!(t.move_to(key, "To Do").await.expect("reopen"));
    assert!(t.move_to(key, "Done").await.expect("done"));
    assert!(!t.move_to(key, "DONE").await.expect("already done"));
    let stats: Value = http()
        .get(format!("{}/_sandbox/jira/stats", e.cfg.base_url))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    // Epic, its link, the bulk, then five transitions; the refused and no-op moves wrote nothing.
    let me = t.own_account().await.expect("myself");
    let writes = match version {
        JiraApiVersion::V3 => {
            &stats["writes"][format!("557058:{}", me.trim_start_matches("557058:"))]
        }
        JiraApiVersion::V2 => &stats["writesByName"][&me],
    };
    assert_eq!(writes, &json!(8), "{stats}");
}

#[tokio::test]
async fn move_to_finds_transitions_by_target_v3() {
    moves_by_status_name(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn move_to_finds_transitions_by_target_v2() {
    moves_by_status_name(JiraApiVersion::V2).await;
}

async fn edits_and_assigns(version: JiraApiVersion) {
    let e = env(version).await;
    let t = tracker(&e.cfg, &teams());
    let (epic, _) = ensure_all(&t, 3).await;
    let me = t.own_account().await.expect("myself");
    assert_eq!(
        me,
        match version {
            JiraApiVersion::V3 => "557058:bot",
            JiraApiVersion::V2 => "council-sync",
        }
    );
    t.update(&epic.key, Some("Renamed"), Some("**Why SRE?** more toil"))
        .await
        .expect("update");
    let stored = e.sandbox.issue(&epic.key).expect("epic");
    assert_eq!(stored.summary, "Renamed");
    match (version, stored.description) {
        (JiraApiVersion::V3, Some(Body::Adf(doc))) => assert_eq!(doc["type"], "doc"),
        (JiraApiVersion::V2, Some(Body::Wiki(text))) => {
            assert!(text.contains("*Why SRE?*"), "{text}")
        }
        (v, other) => panic!("{v:?}: unexpected description {other:?}"),
    }
    let writes_before = e.sandbox.writes_by();
    t.update(&epic.key, None, None)
        .await
        .expect("nothing to do");
    assert_eq!(
        e.sandbox.writes_by(),
        writes_before,
        "an empty update sends nothing"
    );

    let alice = account(version, "alice");
    t.assign(&epic.key, Some(&alice)).await.expect("assign");
    let got = t
        .fetch(std::slice::from_ref(&epic.key))
        .await
        .expect("fetch");
    assert_eq!(got[0].assignee_account.as_deref(), Some(alice.as_str()));
    t.assign(&epic.key, None).await.expect("unassign");
    assert_eq!(e.sandbox.issue(&epic.key).and_then(|i| i.assignee), None);
    match t.assign(&epic.key, Some(&account(version, "nobody"))).await {
        Err(TrackerError::Permanent {
            status: Some(400),
            reason,
        }) => {
            assert!(reason.contains("does not exist"), "{reason}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
    t.comment(&epic.key, "status: **green**")
        .await
        .expect("comment");
    assert_eq!(
        e.sandbox.issue(&epic.key).map(|i| i.comments.len()),
        Some(1)
    );

    // People are found the way each flavour looks them up.
    let (path, query) = match version {
        JiraApiVersion::V3 => ("3", [("accountId", "557058:erin")]),
        JiraApiVersion::V2 => ("2", [("username", "erin")]),
    };
    let user: Value = http()
        .get(format!("{}/rest/api/{path}/user", e.cfg.base_url))
        .query(&query)
        .basic_auth("bot@example.com", Some("tok"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(user["displayName"], "Erin Evans");
    let found: Value = http()
        .get(format!("{}/rest/api/3/user/search", e.cfg.base_url))
        .query(&[("query", "dav")])
        .basic_auth("bot@example.com", Some("tok"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(found[0]["accountId"], "557058:dave");
}

#[tokio::test]
async fn update_assign_comment_and_people_v3() {
    edits_and_assigns(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn update_assign_comment_and_people_v2() {
    edits_and_assigns(JiraApiVersion::V2).await;
}

async fn agile(e: &Env, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http()
        .request(method, format!("{}/rest/agile/1.0{path}", e.cfg.base_url))
        .basic_auth("carol@example.com", Some("tok"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sprint_life_cycle_through_the_agile_api() {
    use reqwest::Method;
    let e = env(JiraApiVersion::V3).await;
    let t = tracker(&e.cfg, &teams());
    let (_, stories) = ensure_all(&t, 4).await;
    let pay = stories[1].key.clone();
    let (_, boards) = agile(&e, Method::GET, "/board?projectKeyOrId=PAY", None).await;
    assert_eq!(boards["total"], 1);
    let board = boards["values"][0]["id"].as_u64().expect("board id");
    assert_eq!(boards["values"][0]["location"]["projectKey"], "PAY");
    let (status, sprint) = agile(
        &e,
        Method::POST,
        "/sprint",
        Some(json!({"name": "Sprint 1", "originBoardId": board, "goal": "ship"})),
    )
    .await;
    assert_eq!(status, 201, "{sprint}");
    let id = sprint["id"].as_u64().expect("sprint id");
    assert_eq!(sprint["state"], "future");
    let (_, future) = agile(
        &e,
        Method::GET,
        &format!("/board/{board}/sprint?state=future"),
        None,
    )
    .await;
    assert_eq!(future["values"][0]["id"], id);
    let (status, _) = agile(
        &e,
        Method::POST,
        &format!("/sprint/{id}/issue"),
        Some(json!({"issues": [pay]})),
    )
    .await;
    assert_eq!(status, 204);
    let (_, issues) = agile(&e, Method::GET, &format!("/sprint/{id}/issue"), None).await;
    assert_eq!(issues["issues"][0]["key"], json!(pay));
    let (status, started) = agile(
        &e,
        Method::POST,
        &format!("/sprint/{id}"),
        Some(json!({"state": "active"})),
    )
    .await;
    assert_eq!((status, &started["state"]), (200, &json!("active")));
    assert!(started["endDate"].is_string());
    let (_, second) = agile(
        &e,
        Method::POST,
        "/sprint",
        Some(json!({"name": "Sprint 2", "originBoardId": board})),
    )
    .await;
    let (status, _) = agile(
        &e,
        Method::POST,
        &format!("/sprint/{}", second["id"]),
        Some(json!({"state": "active"})),
    )
    .await;
    assert_eq!(status, 400, "one active sprint per board");
    let in_sprint = client(&e.cfg)
        .search_all(&format!("sprint = {id}"), &["summary"])
        .await
        .expect("jql");
    assert_eq!(in_sprint.len(), 1);
    let (status, closed) = agile(
        &e,
        Method::POST,
        &format!("/sprint/{id}"),
        Some(json!({"state": "closed"})),
    )
    .await;
    assert_eq!((status, &closed["state"]), (200, &json!("closed")));
    assert!(closed["completeDate"].is_string());
    let (status, _) = agile(
        &e,
        Method::POST,
        &format!("/sprint/{id}/issue"),
        Some(json!({"issues": [pay]})),
    )
    .await;
    assert_eq!(status, 400, "closed sprints take no issues");
    let (status, _) = agile(&e, Method::GET, "/sprint/999", None).await;
    assert_eq!(status, 404);
    let got = t.fetch(std::slice::from_ref(&pay)).await.expect("fetch");
    assert_eq!(
        got[0].iteration.as_ref().map(|s| s.id.clone()),
        Some(id.to_string())
    );
}

/// A receiver that records every delivery; the first `fail_first` answers are 503.
async fn receiver(fail_first: usize) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicUsize::new(fail_first));
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let failures = failures.clone();
            async move {
                let _ = tx.send((headers, body));
                let left = failures.load(Ordering::SeqCst);
                if left > 0 {
                    failures.store(left - 1, Ordering::SeqCst);
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> (HeaderMap, Value) {
    let (headers, body) = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a delivery in time")
        .expect("receiver open");
    let v: Value = serde_json::from_slice(&body).expect("json body");
    (headers, v)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn webhooks_name_the_actor_and_the_change_in_order() {
    let e = env(JiraApiVersion::V3).await;
    let (signed_url, mut signed) = receiver(1).await;
    let (plain_url, mut plain) = receiver(0).await;
    control(
        &e,
        "/webhooks",
        json!({"url": signed_url, "secret": "s3cret"}),
    )
    .await;
    control(&e, "/webhooks", json!({"url": plain_url})).await;

    let t = tracker(&e.cfg, &teams());
    let (epic, stories) = ensure_all(&t, 5).await;
    let sto = stories[0].key.clone();
    t.move_to(&sto, "In Progress").await.expect("bot moves");
    control(
        &e,
        &format!("/issues/{sto}/assign"),
        json!({"assignee": "bob", "as": "alice"}),
    )
    .await;
    control(
        &e,
        &format!("/issues/{sto}/edit"),
        json!({"fields": {"summary": "Sharper"}, "as": "bob"}),
    )
    .await;
    control(&e, "/sprints", json!({"project": "STO", "name": "Sprint 7", "issues": [sto], "start": true, "as": "carol"})).await;

    let mut ids = std::collections::HashSet::new();
    let mut events = Vec::new();
    // The first delivery is refused once: its retry carries the same identifier.
    let (first, first_body) = next(&mut signed).await;
    let (retry, retry_body) = next(&mut signed).await;
    assert_eq!(
        header(&first, "x-atlassian-webhook-identifier"),
        header(&retry, "x-atlassian-webhook-identifier")
    );
    assert_eq!(header(&retry, "x-atlassian-webhook-retry"), "1");
    assert_eq!(first_body, retry_body);
    let mut pending = vec![(retry, retry_body)];
    // epic + 2 stories created, status, assignee, summary, sprint created, sprint field, started.
    while events.len() < 9 {
        let (h, body) = match pending.pop() {
            Some(p) => p,
            None => next(&mut signed).await,
        };
        assert!(
            h.get("x-hub-signature").is_some(),
            "signed target gets a signature"
        );
        assert!(
            ids.insert(header(&h, "x-atlassian-webhook-identifier").to_owned()),
            "unique ids"
        );
        events.push(body);
    }
    let kinds: Vec<String> = events
        .iter()
        .map(|v| {
            format!(
                "{}/{}",
                v["webhookEvent"].as_str().unwrap_or(""),
                v["issue_event_type_name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "jira:issue_created/issue_created",
            "jira:issue_created/issue_created",
            "jira:issue_created/issue_created",
            // Starting work also assigns the bot (the workflow's post-function).
            "jira:issue_updated/issue_updated",
            "jira:issue_updated/issue_assigned",
            "jira:issue_updated/issue_updated",
            "sprint_created/",
            "jira:issue_updated/issue_updated",
            "sprint_started/",
        ]
    );
    assert_eq!(events[0]["issue"]["key"], json!(epic.key));
    assert_eq!(events[0]["user"]["accountId"], "557058:bot");
    let status = &events[3];
    assert_eq!(
        status["user"]["accountId"], "557058:bot",
        "the daemon's own change"
    );
    assert_eq!(
        status["changelog"]["items"],
        json!([
            {"field": "assignee", "fieldtype": "jira", "fieldId": "assignee", "from": null, "fromString": null, "to": "557058:bot", "toString": "bot"},
            {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"}
        ])
    );
    assert_eq!(
        status["issue"]["fields"]["status"]["statusCategory"]["key"],
        "indeterminate"
    );
    let assigned = &events[4];
    assert_eq!(assigned["user"]["accountId"], "557058:alice");
    assert_eq!(assigned["user"]["displayName"], "Alice Adams");
    let item = &assigned["changelog"]["items"][0];
    assert_eq!(
        (&item["to"], &item["toString"]),
        (&json!("557058:bob"), &json!("Bob Brown"))
    );
    assert_eq!(item["from"], "557058:bot");
    let edited = &events[5]["changelog"]["items"][0];
    assert_eq!(
        (&edited["field"], &edited["toString"]),
        (&json!("summary"), &json!("Sharper"))
    );
    assert_eq!(events[6]["sprint"]["state"], "future");
    let sprint_item = &events[7]["changelog"]["items"][0];
    assert_eq!(sprint_item["fieldId"], "customfield_10020");
    assert_eq!(sprint_item["toString"], "Sprint 7");
    assert_eq!(events[7]["user"]["accountId"], "557058:carol");
    assert_eq!(
        events[7]["issue"]["fields"]["customfield_10020"][0]["name"],
        "Sprint 7"
    );
    assert_eq!(events[8]["sprint"]["state"], "active");
    let changelog_ids: Vec<&str> = events
        .iter()
        .filter_map(|v| v["changelog"]["id"].as_str())
        .collect();
    assert_eq!(changelog_ids.len(), 4);

    // The unsigned target got the same events, without a signature.
    for want in &events {
        let (h, got) = next(&mut plain).await;
        assert!(h.get("x-hub-signature").is_none());
        assert_eq!(got["webhookEvent"], want["webhookEvent"]);
    }

    // The log has one entry per event and target, with the attempts it took.
    let log = wait_for_log(&e, 18).await;
    assert_eq!(log.len(), 18, "9 events × 2 targets");
    assert_eq!(log[0]["outcome"], "delivered");
    assert_eq!(log[0]["attempts"], 2);

    // Dropped on purpose: logged, not sent.
    let resp = http()
        .put(format!("{}/_sandbox/jira/webhooks/drop", e.cfg.base_url))
        .json(&json!({"drop": true}))
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success());
    let before = e.changes.load(Ordering::SeqCst);
    control(
        &e,
        &format!("/issues/{sto}/transition"),
        json!({"to": "Done", "as": "dave"}),
    )
    .await;
    assert!(
        e.changes.load(Ordering::SeqCst) > before,
        "changes reach the change feed"
    );
    let dropped = wait_for_log(&e, 20).await;
    assert_eq!(dropped.len(), 20, "one event, one entry per target");
    assert_eq!(dropped[18]["outcome"], "dropped");
    assert_eq!(dropped[19]["outcome"], "dropped");
    assert_eq!(dropped[18]["payload"]["user"]["accountId"], "557058:dave");
    assert!(
        plain.try_recv().is_err() && signed.try_recv().is_err(),
        "nothing sent"
    );
}

/// The delivery log once it has `n` entries (the sandbox long-polls; no sleeping here).
async fn wait_for_log(e: &Env, n: usize) -> Vec<Value> {
    let log: Value = http()
        .get(format!("{}/_sandbox/jira/deliveries", e.cfg.base_url))
        .query(&[
            ("min", n.to_string()),
            ("timeout_ms", WAIT.as_millis().to_string()),
        ])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let entries = log.as_array().cloned().unwrap_or_default();
    assert!(entries.len() >= n, "only {} deliveries", entries.len());
    entries
}

/// The poll's listing stops after the first page it has wholly handled; an item changed
/// since is listed (newest first), and a list all in pages has every item.
async fn changed_since_stops_at_what_was_handled(version: JiraApiVersion) {
    let e = env(version).await;
    let c = client(&e.cfg);
    for batch in 0..3 {
        let fields: Vec<NewIssueFields> = (0..50).map(|n| synced("STO", batch * 50 + n)).collect();
        c.create_issues_bulk(&fields).await.expect("bulk");
    }
    let t = tracker(&e.cfg, &teams());
    let since = Utc::now().timestamp_millis() - 10_000;
    let none = std::collections::HashMap::new();
    let first = t.changed_since(since, &none).await.expect("poll");
    assert_eq!(first.len(), 150, "nothing handled yet: every page");
    let seen: std::collections::HashMap<String, i64> = first
        .iter()
        .map(|i| (i.key.clone(), i.updated_ms))
        .collect();
    let again = t.changed_since(since, &seen).await.expect("poll");
    assert_eq!(again.len(), 100, "one page, wholly handled: stop");
    {
        let mut state = e.sandbox.lock();
        let idx = state.issue_index("STO-7").expect("STO-7");
        state.issues[idx].updated = Utc::now() + chrono::Duration::seconds(5);
    }
    let changed = t.changed_since(since, &seen).await.expect("poll");
    assert_eq!(changed[0].key, "STO-7", "newest first");
    // The sweep's listing, a page at a time: 100 then 50, in key order, then no cursor
    // (v3 `nextPageToken`, v2 `startAt`).
    let first = t.list_page(None).await.expect("page 1");
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.items[0].key, "STO-1");
    let cursor = first.next.expect("a second page");
    let second = t.list_page(Some(&cursor)).await.expect("page 2");
    assert_eq!(second.items.len(), 50);
    assert_eq!(
        second.items[0].key, "STO-101",
        "no item twice, none skipped"
    );
    assert_eq!(second.items[49].key, "STO-150");
    assert_eq!(second.next, None, "the last page");
    assert!(
        t.list_page(Some("not-a-cursor")).await.is_err(),
        "a cursor Jira did not give is refused, not read as the first page"
    );
}

#[tokio::test]
async fn changed_since_stops_at_what_was_handled_v3() {
    changed_since_stops_at_what_was_handled(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn changed_since_stops_at_what_was_handled_v2() {
    changed_since_stops_at_what_was_handled(JiraApiVersion::V2).await;
}

/// Jira reads a JQL date in the searching user's profile time zone. With the daemon's
/// account in New York (west of UTC), a cursor written in UTC would be read hours late
/// and skip what changed since; in Tokyo it would re-read hours. The poll reads the
/// account's `timeZone` from `GET /myself` and writes the cursor in it.
async fn a_user_away_from_utc_misses_no_change(version: JiraApiVersion) {
    let e = env(version).await;
    let c = client(&e.cfg);
    let me = c.myself().await.expect("myself");
    let name = me.name.clone().expect("the sandbox names every user");
    for zone in ["America/New_York", "Asia/Tokyo"] {
        let resp = http()
            .put(format!(
                "{}/_sandbox/jira/users/{name}/time-zone",
                e.cfg.base_url
            ))
            .json(&json!({ "timeZone": zone }))
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_success(), "{zone}: {}", resp.status());
        let me = c.myself().await.expect("myself");
        assert_eq!(me.time_zone.as_deref(), Some(zone));

        let base = Utc::now();
        let fields: Vec<NewIssueFields> = (0..3).map(|n| synced("STO", n)).collect();
        let made = c.create_issues_bulk(&fields).await.expect("bulk");
        let keys: Vec<String> = made.into_iter().map(|r| r.expect("created").key).collect();
        // Changed 30 minutes ago, 3 hours before the cursor, and 9 hours before it.
        for (key, ago) in keys.iter().zip([30, 45 + 180, 45 + 540]) {
            let mut state = e.sandbox.lock();
            let idx = state.issue_index(key).expect("issue");
            state.issues[idx].updated = base - chrono::Duration::minutes(ago);
        }
        // A fresh tracker, as a new process: the cursor is 45 minutes old.
        let t = tracker(&e.cfg, &teams());
        let since = (base - chrono::Duration::minutes(45)).timestamp_millis();
        let listed = |got: &[crate::tracker::TrackedIssue]| {
            keys.iter()
                .map(|k| got.iter().any(|i| &i.key == k))
                .collect::<Vec<_>>()
        };
        let got = t.updated_since(since).await.expect("poll");
        assert_eq!(listed(&got), [true, false, false], "{zone}: updated_since");
        let got = t
            .changed_since(since, &std::collections::HashMap::new())
            .await
            .expect("poll");
        assert_eq!(listed(&got), [true, false, false], "{zone}: changed_since");
    }
}

#[tokio::test]
async fn a_user_away_from_utc_misses_no_change_v3() {
    a_user_away_from_utc_misses_no_change(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn a_user_away_from_utc_misses_no_change_v2() {
    a_user_away_from_utc_misses_no_change(JiraApiVersion::V2).await;
}

/// What the daemon's intake makes of a body: `"own"` (no cue but creates), else the cues.
fn intake(body: &Value, me: &str) -> String {
    let bytes = serde_json::to_vec(body).expect("json");
    let cues = super::cues::cues(&bytes, me).expect("the intake reads the body");
    let changed: Vec<String> = cues
        .iter()
        .filter_map(|c| match c {
            crate::tracker::Cue::Changed { keys } => Some(keys.join(",")),
            crate::tracker::Cue::ChangedAll => Some("*".into()),
            _ => None,
        })
        .collect();
    if changed.is_empty() {
        "own".into()
    } else {
        changed.join(" ")
    }
}

/// Every kind of event the sandbox sends, to a target of the flavour's Jira: each body
/// names every person the flavour's way (Data Center `name`/`key` and no `accountId`
/// anywhere, changelog people as user keys; Cloud `accountId` and no `name`/`key`), and
/// the daemon's intake reads it: the daemon's own writes (creates, a transition, a comment,
/// recognised by the account `/myself` names) give no change cue, other people's do.
async fn each_flavour_names_people_its_own_way(version: JiraApiVersion) {
    use crate::sandbox::jira::hook_people::foreign_ids;
    let e = env(version).await;
    let (url, mut rx) = receiver(0).await;
    control(
        &e,
        "/webhooks",
        json!({"url": url, "api_version": version.number()}),
    )
    .await;
    let t = tracker(&e.cfg, &teams());
    let me = t.own_account().await.expect("myself");
    let (_epic, stories) = ensure_all(&t, 5).await;
    let sto = stories[0].key.clone();
    t.move_to(&sto, "In Progress").await.expect("bot moves");
    control(
        &e,
        &format!("/issues/{sto}/assign"),
        json!({"assignee": "bob", "as": "alice"}),
    )
    .await;
    control(
        &e,
        &format!("/issues/{sto}/comment"),
        json!({"body": "picked up", "as": "dave"}),
    )
    .await;
    t.comment(&sto, "council-sync was here")
        .await
        .expect("bot comments");
    control(&e, "/sprints", json!({"project": "STO", "name": "Sprint 7", "issues": [sto], "start": true, "as": "carol"})).await;

    let want = [
        ("jira:issue_created", "own"),
        ("jira:issue_created", "own"),
        ("jira:issue_created", "own"),
        ("jira:issue_updated", "own"),
        ("jira:issue_updated", sto.as_str()),
        ("jira:issue_updated", sto.as_str()),
        ("comment_created", sto.as_str()),
        ("jira:issue_updated", "own"),
        ("comment_created", "own"),
        ("sprint_created", "*"),
        ("jira:issue_updated", sto.as_str()),
        ("sprint_started", "*"),
    ];
    let mut got = Vec::new();
    let mut bodies = Vec::new();
    for _ in want {
        let (_, body) = next(&mut rx).await;
        assert_eq!(
            foreign_ids(&body, version),
            Vec::<String>::new(),
            "{version:?}: {body}"
        );
        got.push((
            body["webhookEvent"].as_str().unwrap_or("").to_owned(),
            intake(&body, &me),
        ));
        bodies.push(body);
    }
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(got, want, "{version:?}");

    // Spot checks of the places people sit, in the flavour's words.
    let (id, other) = match version {
        JiraApiVersion::V3 => ("accountId", "name"),
        JiraApiVersion::V2 => ("name", "accountId"),
    };
    let assigned = &bodies[4];
    assert_eq!(assigned["user"][id], json!(account(version, "alice")));
    assert!(assigned["user"].get(other).is_none());
    let fields = &assigned["issue"]["fields"];
    for who in ["assignee", "reporter", "creator"] {
        assert!(fields[who][id].is_string(), "{who}: {}", fields[who]);
        assert!(fields[who].get(other).is_none(), "{who}: {}", fields[who]);
    }
    let item = &assigned["changelog"]["items"][0];
    assert_eq!(item["to"], json!(account(version, "bob")));
    let comment = &bodies[6]["comment"];
    assert_eq!(comment["author"][id], json!(account(version, "dave")));
    assert_eq!(comment["updateAuthor"][id], json!(account(version, "dave")));
    if version == JiraApiVersion::V2 {
        assert_eq!(assigned["user"]["key"], "alice");
        assert!(
            assigned["user"]["self"]
                .as_str()
                .is_some_and(|s| s.ends_with("/rest/api/2/user?username=alice")),
            "{}",
            assigned["user"]
        );
        assert!(!bodies.iter().any(|b| b.to_string().contains("accountId")));
    }
}

#[tokio::test]
async fn each_flavour_names_people_its_own_way_v3() {
    each_flavour_names_people_its_own_way(JiraApiVersion::V3).await;
}

#[tokio::test]
async fn each_flavour_names_people_its_own_way_v2() {
    each_flavour_names_people_its_own_way(JiraApiVersion::V2).await;
}
