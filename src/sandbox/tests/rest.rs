//! GitHub REST: pagination, ETags, auth, labels, closing, membership, comments.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{REPO, start};
use crate::github::client::{IssueState, StateReason};

#[tokio::test]
async fn lists_issues_with_link_pagination_and_filters() {
    let env = start().await;
    for i in 0..5 {
        let labels: &[&str] = if i % 2 == 0 { &["sre-concern"] } else { &[] };
        env.open("alice", &format!("concern {i}"), labels).await;
    }
    let resp = env
        .get(&format!("/repos/{REPO}/issues?state=all&per_page=2"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let link = resp.headers()["link"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");
    let page: Vec<Value> = resp.json().await.expect("json");
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["number"], 5, "newest first by default");

    let client = env.client();
    let all = client.list_issues(REPO, &[], None).await.expect("list");
    assert_eq!(
        all.iter().map(|i| i.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let labelled = client
        .list_issues(REPO, &["sre-concern".into()], None)
        .await
        .expect("list");
    assert_eq!(labelled.len(), 3);
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        client
            .list_issues(REPO, &[], Some(future))
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn etag_and_headers_and_auth() {
    let env = start().await;
    let n = env.open("alice", "etag", &[]).await;
    let path = format!("/repos/{REPO}/issues/{n}");
    let first = env.get(&path).await;
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-used",
        "x-ratelimit-resource",
        "x-github-request-id",
    ] {
        assert!(first.headers().contains_key(h), "missing {h}");
    }
    let etag = first.headers()["etag"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let again = env
        .http
        .get(env.url(&path))
        .bearer_auth(super::TOKEN)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    env.ctl(
        Method::PATCH,
        &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
        Some(json!({ "as": "alice", "title": "changed" })),
    )
    .await;
    let changed = env
        .http
        .get(env.url(&path))
        .bearer_auth(super::TOKEN)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(changed.status(), StatusCode::OK);

    let anon = env.http.get(env.url(&path)).send().await.expect("GET");
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anon.json().await.expect("json");
    assert_eq!(body["message"], "Requires authentication");
    assert!(body["documentation_url"].is_string());
    let wrong = env
        .http
        .get(env.url(&path))
        .header("authorization", "token nope")
        .send()
        .await
        .expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issue_has_the_fields_the_spec_requires() {
    let env = start().await;
    let n = env.open("alice", "shape", &["sre-concern"]).await;
    let issue: Value = env
        .get(&format!("/repos/{REPO}/issues/{n}"))
        .await
        .json()
        .await
        .expect("json");
    for k in [
        "id",
        "node_id",
        "url",
        "repository_url",
        "labels_url",
        "comments_url",
        "events_url",
        "html_url",
        "number",
        "state",
        "title",
        "user",
        "labels",
        "assignee",
        "milestone",
        "locked",
        "comments",
        "closed_at",
        "created_at",
        "updated_at",
        "state_reason",
        "author_association",
        "reactions",
        "timeline_url",
    ] {
        assert!(issue.get(k).is_some(), "issue lacks {k}");
    }
    assert!(
        issue["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&env.sb.base_url())
    );
    assert_eq!(issue["author_association"], "MEMBER");
    assert_eq!(issue["user"]["login"], "alice");
    assert_eq!(issue["labels"][0]["name"], "sre-concern");
    let missing = env.get(&format!("/repos/{REPO}/issues/999")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["message"], "Not Found");
    let invalid = env
        .http
        .post(env.url(&format!("/repos/{REPO}/issues")))
        .bearer_auth(super::TOKEN)
        .json(&json!({ "body": "x" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.expect("json");
    assert_eq!(body["errors"][0]["field"], "title");
}

#[tokio::test]
async fn labels_close_reopen_through_the_client() {
    let env = start().await;
    let client = env.client();
    let n = env.open("alice", "labels", &[]).await;
    let labels = client
        .add_labels(
            REPO,
            n,
            &["ready-for-council".into(), "council/accepted".into()],
        )
        .await
        .expect("add");
    assert_eq!(labels, vec!["ready-for-council", "council/accepted"]);
    let repo_labels: Vec<Value> = env
        .get(&format!("/repos/{REPO}/labels"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(repo_labels.len(), 2, "labels are auto-created");

    client
        .remove_label(REPO, n, "council/accepted")
        .await
        .expect("remove");
    client
        .remove_label(REPO, n, "council/accepted")
        .await
        .expect("already gone is fine");
    let raw = env
        .http
        .delete(env.url(&format!(
            "/repos/{REPO}/issues/{n}/labels/council%2Faccepted"
        )))
        .bearer_auth(super::TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(raw.status(), StatusCode::NOT_FOUND);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["message"], "Label does not exist");

    client
        .close_issue(REPO, n, StateReason::NotPlanned)
        .await
        .expect("close");
    let issue = client.get_issue(REPO, n).await.expect("get");
    assert_eq!(
        (issue.state, issue.state_reason),
        (IssueState::Closed, Some(StateReason::NotPlanned))
    );
    assert_eq!(issue.labels, vec!["ready-for-council"]);
    assert_eq!(issue.author, "alice");
    client.reopen_issue(REPO, n).await.expect("reopen");
    let issue = client.get_issue(REPO, n).await.expect("get");
    assert_eq!(
        (issue.state, issue.state_reason),
        (IssueState::Open, Some(StateReason::Reopened))
    );

    let state = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
            None,
        )
        .await;
    let events: Vec<&str> = state["events"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["event"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        events,
        vec![
            "opened",
            "labeled",
            "labeled",
            "unlabeled",
            "closed",
            "reopened"
        ]
    );
}

#[tokio::test]
async fn membership_and_current_user() {
    let env = start().await;
    let client = env.client();
    assert_eq!(
        client.current_user().await.expect("user"),
        "council-sync-bot"
    );
    assert!(
        client
            .is_team_member("acme", "sre-council", "alice")
            .await
            .expect("alice")
    );
    assert!(
        !client
            .is_team_member("acme", "sre-council", "carol")
            .await
            .expect("pending")
    );
    assert!(
        !client
            .is_team_member("acme", "sre-council", "mallory")
            .await
            .expect("absent")
    );
    assert!(
        !client
            .is_team_member("acme", "no-such-team", "alice")
            .await
            .expect("no team")
    );
    env.ctl(
        Method::POST,
        "/_sandbox/github/orgs/acme/teams/sre-council/members",
        Some(json!({ "login": "carol", "state": "active" })),
    )
    .await;
    assert!(
        client
            .is_team_member("acme", "sre-council", "carol")
            .await
            .expect("now active")
    );
    let me: Value = env.get("/user").await.json().await.expect("json");
    assert_eq!(me["type"], "Bot");
}

#[tokio::test]
async fn comments_paginate_and_edit() {
    let env = start().await;
    let client = env.client();
    let n = env.open("alice", "comments", &[]).await;
    let mut ids = Vec::new();
    for i in 0..103 {
        ids.push(
            client
                .create_comment(REPO, n, &format!("comment {i}"))
                .await
                .expect("create"),
        );
    }
    client
        .update_comment(REPO, ids[0], "<!-- council-sync -->\ntracking")
        .await
        .expect("update");
    let comments = client.list_comments(REPO, n).await.expect("list");
    assert_eq!(comments.len(), 103, "all pages followed");
    assert_eq!(comments[0].body, "<!-- council-sync -->\ntracking");
    assert_eq!(comments[0].author, "council-sync-bot");
    let page = env
        .get(&format!(
            "/repos/{REPO}/issues/{n}/comments?per_page=100&page=2"
        ))
        .await;
    let rest: Vec<Value> = page.json().await.expect("json");
    assert_eq!(rest.len(), 3);
    let gone = env
        .http
        .delete(env.url(&format!("/repos/{REPO}/issues/comments/{}", ids[1])))
        .bearer_auth(super::TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        client.get_issue(REPO, n).await.map(|i| i.number).ok(),
        Some(n)
    );
    assert_eq!(
        client.list_comments(REPO, n).await.expect("list").len(),
        102
    );
}

#[tokio::test]
async fn user_view_type_matches_the_shape() {
    let env = start().await;
    let me: Value = env.get("/user").await.json().await.expect("json");
    assert_eq!(me["user_view_type"], "private");
    assert!(me.get("two_factor_authentication").is_some());
    let alice: Value = env.get("/users/alice").await.json().await.expect("json");
    assert_eq!(alice["user_view_type"], "public");
    assert_eq!(
        env.get("/users/nobody").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn repeated_issue_reads_are_conditional_and_see_changes() {
    let env = start().await;
    let client = env.client();
    let n = env.open("alice", "conditional", &[]).await;
    let first = client.get_issue(REPO, n).await.expect("first read");
    assert_eq!(client.not_modified_count(), 0);
    let again = client.get_issue(REPO, n).await.expect("second read");
    assert_eq!(
        client.not_modified_count(),
        1,
        "answered 304 from the ETag cache"
    );
    assert_eq!(again.title, first.title);
    client
        .add_labels(REPO, n, &["needs-info".into()])
        .await
        .expect("label");
    let changed = client
        .get_issue(REPO, n)
        .await
        .expect("read after a change");
    assert_eq!(
        client.not_modified_count(),
        1,
        "a changed issue is read in full"
    );
    assert_eq!(changed.labels, vec!["needs-info"]);
    let comments = client.list_comments(REPO, n).await.expect("comments");
    let again = client.list_comments(REPO, n).await.expect("comments again");
    assert_eq!((comments.len(), again.len()), (0, 0));
    assert_eq!(
        client.not_modified_count(),
        1,
        "lists are read in full: GitHub's description declares no 304 for them"
    );
}

/// The bulk control route opens `count` issues in one request, numbered in order and
/// titled `"{title} {i}"`, each as the public routes show a single open; the client's
/// `issue_pages` reads them back a page of 100 at a time. A count of 0 is refused.
#[tokio::test]
async fn a_bulk_open_makes_each_issue_and_pages_read_them_back() {
    let env = start().await;
    let before = env.open("alice", "first", &[]).await;
    let v = env
        .ctl(
            Method::POST,
            &format!("/_sandbox/github/repos/{REPO}/issues/bulk"),
            Some(json!({"as": "alice", "count": 250, "title": "Concern", "body": "b", "labels": ["sre-concern"]})),
        )
        .await;
    let numbers: Vec<u64> = v["numbers"]
        .as_array()
        .expect("numbers")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(numbers, (before + 1..=before + 250).collect::<Vec<_>>());
    let one: Value = env
        .get(&format!("/repos/{REPO}/issues/{}", numbers[7]))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(one["title"], "Concern 7");
    assert_eq!(one["user"]["login"], "alice");
    assert_eq!(one["labels"][0]["name"], "sre-concern");

    let client = env.client();
    let mut pages = client
        .issue_pages(REPO, &["sre-concern".to_owned()], None)
        .expect("pages");
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    while let Some(page) = pages.next_page().await.expect("page") {
        sizes.push(page.len());
        seen.extend(page.iter().map(|i| i.number));
    }
    assert_eq!(sizes, vec![100, 100, 50]);
    seen.sort_unstable();
    assert_eq!(
        seen, numbers,
        "every labelled issue once, the unlabelled one not"
    );

    let resp = env
        .http
        .post(env.url(&format!("/_sandbox/github/repos/{REPO}/issues/bulk")))
        .json(&json!({"as": "alice", "count": 0, "title": "None"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
