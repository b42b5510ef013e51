//! The sandbox's answers checked against GitHub's OpenAPI description (`github-rest.json`):
//! required fields, types, `null` only where nullable, enums. A small subset of JSON Schema,
//! enough to catch drift before the Prism run (which checks everything).

use reqwest::Method;
use serde_json::{Value, json};

use super::{REPO, shared_dir, start};

struct Spec(Value);

impl Spec {
    fn load() -> Self {
        let path = shared_dir().join("specs/github-rest.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self(serde_json::from_str(&text).expect("spec is JSON"))
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                self.resolve(&self.0["components"]["schemas"][name])
            }
            None => schema,
        }
    }

    /// The 200/201 schema of an operation.
    fn response(&self, path: &str, method: &str, status: &str) -> &Value {
        let s = &self.0["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"];
        assert!(!s.is_null(), "no {status} schema for {method} {path}");
        s
    }

    fn check(&self, v: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
        let s = self.resolve(schema);
        if v.is_null() {
            if s.get("nullable") != Some(&Value::Bool(true)) && s.get("type").is_some() {
                errors.push(format!("{at}: null but not nullable"));
            }
            return;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                let ok = alts.iter().any(|alt| {
                    let mut e = Vec::new();
                    self.check(v, alt, at, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!("{at}: matches no alternative of {key}"));
                }
                return;
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.check(v, part, at, errors);
            }
        }
        let ty_ok = match s.get("type").and_then(Value::as_str) {
            Some("object") => v.is_object(),
            Some("array") => v.is_array(),
            Some("string") => v.is_string(),
            Some("integer") => v.is_i64() || v.is_u64(),
            Some("number") => v.is_number(),
            Some("boolean") => v.is_boolean(),
            _ => true,
        };
        if !ty_ok {
            errors.push(format!("{at}: {v} is not {}", s["type"]));
            return;
        }
        if let Some(en) = s.get("enum").and_then(Value::as_array)
            && !en.contains(v)
        {
            errors.push(format!("{at}: {v} not in {en:?}"));
        }
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for k in req.iter().filter_map(Value::as_str) {
                if v.get(k).is_none() {
                    errors.push(format!("{at}.{k}: required, missing"));
                }
            }
        }
        if let (Some(props), Some(obj)) = (
            s.get("properties").and_then(Value::as_object),
            v.as_object(),
        ) {
            for (k, sub) in props {
                if let Some(val) = obj.get(k) {
                    self.check(val, sub, &format!("{at}.{k}"), errors);
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.check(item, items, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

#[tokio::test]
async fn answers_match_githubs_openapi_description() {
    let spec = Spec::load();
    let env = start().await;
    let n = env.open("alice", "contract", &["sre-concern"]).await;
    let client = env.client();
    client
        .create_comment(REPO, n, "hello")
        .await
        .expect("comment");
    client
        .close_issue(REPO, n, crate::github::client::StateReason::Completed)
        .await
        .expect("close");
    let comment_id = client.list_comments(REPO, n).await.expect("list")[0].id;
    client
        .add_labels(REPO, n, &["council/accepted".to_owned()])
        .await
        .expect("label");
    client
        .remove_label(REPO, n, "council/accepted")
        .await
        .expect("unlabel");
    client.reopen_issue(REPO, n).await.expect("reopen");
    for title in ["renamed once", "renamed twice"] {
        env.ctl(
            Method::PATCH,
            &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
            Some(json!({ "as": "alice", "title": title, "body": format!("body {title}") })),
        )
        .await;
    }
    let events = client.list_issue_events(REPO, n).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "closed",
            "labeled",
            "unlabeled",
            "reopened",
            "renamed",
            "renamed"
        ],
        "body edits and comments are not issue events: {events:?}"
    );
    let raw: Value = env
        .get(&format!("/repos/{REPO}/issues/{n}/events"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        raw[4]["rename"],
        json!({ "from": "contract", "to": "renamed once" })
    );
    assert_eq!(
        raw[5]["rename"],
        json!({ "from": "renamed once", "to": "renamed twice" })
    );
    assert_eq!(raw[0]["state_reason"], "completed");
    assert_eq!(raw[1]["actor"]["login"], raw[2]["actor"]["login"]);
    assert!(events.iter().all(|e| e.actor.is_some()));
    assert_eq!(events[1].label.as_deref(), Some("council/accepted"));

    let milestone = env
        .http
        .post(env.url(&format!("/repos/{REPO}/milestones")))
        .bearer_auth(super::TOKEN)
        .json(&json!({"title": "v1", "description": "first", "due_on": "2030-01-01T00:00:00Z"}))
        .send()
        .await
        .expect("POST milestone");
    let milestone: Value = milestone.json().await.expect("json");
    let mut errors = Vec::new();
    spec.check(
        &milestone,
        spec.response("/repos/{owner}/{repo}/milestones", "post", "201"),
        "created milestone",
        &mut errors,
    );
    let cases = [
        (
            "/repos/{owner}/{repo}/milestones",
            format!("/repos/{REPO}/milestones?state=all"),
        ),
        (
            "/repos/{owner}/{repo}/milestones/{milestone_number}",
            format!("/repos/{REPO}/milestones/1"),
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}",
            format!("/repos/{REPO}/issues/{n}"),
        ),
        (
            "/repos/{owner}/{repo}/issues",
            format!("/repos/{REPO}/issues?state=all"),
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            format!("/repos/{REPO}/issues/{n}/comments"),
        ),
        (
            "/repos/{owner}/{repo}/issues/comments/{comment_id}",
            format!("/repos/{REPO}/issues/comments/{comment_id}"),
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            format!("/repos/{REPO}/issues/{n}/labels"),
        ),
        (
            "/repos/{owner}/{repo}/issues/{issue_number}/events",
            format!("/repos/{REPO}/issues/{n}/events"),
        ),
        (
            "/repos/{owner}/{repo}/labels",
            format!("/repos/{REPO}/labels"),
        ),
        ("/repos/{owner}/{repo}", format!("/repos/{REPO}")),
        ("/user", "/user".into()),
        ("/users/{username}", "/users/alice".into()),
        (
            "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            "/orgs/acme/teams/sre-council/memberships/alice".into(),
        ),
    ];
    for (template, path) in cases {
        let body: Value = env.get(&path).await.json().await.expect("json");
        spec.check(
            &body,
            spec.response(template, "get", "200"),
            &path,
            &mut errors,
        );
    }
    let created = env
        .ctl(
            Method::GET,
            &format!("/_sandbox/github/repos/{REPO}/issues/{n}"),
            None,
        )
        .await;
    spec.check(
        &created["issue"],
        spec.response("/repos/{owner}/{repo}/issues", "post", "201"),
        "created issue",
        &mut errors,
    );
    let bad = json!({ "id": "x" });
    let mut must_fail = Vec::new();
    spec.check(
        &bad,
        spec.response("/repos/{owner}/{repo}/issues/{issue_number}", "get", "200"),
        "bad",
        &mut must_fail,
    );
    assert!(!must_fail.is_empty(), "the checker catches a bad issue");
    assert!(errors.is_empty(), "{errors:#?}");
}
