//! What a sync peer (jirahub 0.3.0 with its `jira` and PyGithub clients) needs beyond the
//! daemon's own calls: repository milestones and the token's `permissions`, Jira's
//! `/rest/api/latest/` alias, administrators' custom fields (create, set, read, JQL `cf[N]`,
//! clear) in both API flavours, and `creator` with the fields every issue answer carries.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Env, REPO, options, start, start_with};
use crate::sandbox::SandboxOptions;
use crate::sandbox::jira::JiraSandbox;

#[tokio::test]
async fn milestones_are_created_listed_by_state_and_the_repo_says_what_the_token_may_do() {
    let env = start().await;
    let repo: Value = env
        .get(&format!("/repos/{REPO}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(repo["permissions"]["push"], true, "{repo}");
    assert_eq!(repo["permissions"]["admin"], false);

    let list = |q: &'static str| {
        let env = &env;
        async move {
            let v: Value = env
                .get(&format!("/repos/{REPO}/milestones{q}"))
                .await
                .json()
                .await
                .expect("json");
            v.as_array()
                .map(|a| a.iter().map(|m| m["title"].clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        }
    };
    assert!(list("").await.is_empty());
    let post = |body: Value| {
        env.http
            .post(env.url(&format!("/repos/{REPO}/milestones")))
            .bearer_auth(super::TOKEN)
            .json(&body)
            .send()
    };
    let later = post(json!({"title": "later", "due_on": "2031-01-01T00:00:00Z"}))
        .await
        .expect("POST");
    assert_eq!(later.status(), StatusCode::CREATED);
    let later: Value = later.json().await.expect("json");
    assert_eq!(later["number"], 1);
    assert_eq!(later["due_on"], "2031-01-01T00:00:00Z");
    let soon = post(json!({"title": "soon", "due_on": "2030-01-01T00:00:00Z"}))
        .await
        .expect("POST");
    assert_eq!(soon.status(), StatusCode::CREATED);
    let done = post(json!({"title": "done", "state": "closed"}))
        .await
        .expect("POST");
    assert_eq!(done.status(), StatusCode::CREATED);
    for bad in [
        json!({"title": "soon"}),
        json!({}),
        json!({"title": "x", "state": "gone"}),
    ] {
        let r = post(bad.clone()).await.expect("POST");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    assert_eq!(
        list("").await,
        [json!("soon"), json!("later")],
        "by due date"
    );
    assert_eq!(
        list("?direction=desc").await,
        [json!("later"), json!("soon")]
    );
    assert_eq!(list("?state=closed").await, [json!("done")]);
    assert_eq!(list("?state=all").await.len(), 3);
    let bad = env
        .get(&format!("/repos/{REPO}/milestones?state=nope"))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let one: Value = env
        .get(&format!("/repos/{REPO}/milestones/2"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(one["title"], "soon");
    assert_eq!(
        env.get(&format!("/repos/{REPO}/milestones/9"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

async fn jira_env() -> Env {
    let jira = JiraSandbox::new(&["MIR"]);
    start_with(SandboxOptions {
        jira: Arc::new(jira),
        ..options()
    })
    .await
}

/// A Jira REST call as `user` (basic auth); status and JSON body.
async fn jira(env: &Env, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = env
        .http
        .request(method, env.url(path))
        .basic_auth("jirahub", Some("token"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("Jira call");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn latest_is_the_v2_api() {
    let env = jira_env().await;
    let (status, info) = jira(&env, Method::GET, "/rest/api/latest/serverInfo", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["deploymentType"], "Server", "{info}");
    let (status, created) = jira(
        &env,
        Method::POST,
        "/rest/api/latest/issue",
        Some(json!({"fields": {"project": "MIR", "issuetype": {"name": "Task"}, "summary": "s", "description": "wiki *text*"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    let (status, issue) = jira(
        &env,
        Method::GET,
        &format!("/rest/api/latest/issue/{key}?fields=description"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        issue["fields"]["description"], "wiki *text*",
        "a v2 string, not ADF"
    );
    assert!(
        issue["self"]
            .as_str()
            .unwrap_or_default()
            .contains("/rest/api/2/issue/"),
        "{issue}"
    );
    let (status, found) = jira(
        &env,
        Method::GET,
        "/rest/api/latest/search?jql=project%20%3D%20MIR",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["total"], 1);
}

#[tokio::test]
async fn custom_fields_are_created_set_read_searched_and_cleared_in_both_flavours() {
    let env = jira_env().await;
    let field = |name: &str, kind: &str, searcher: &str| {
        json!({
            "name": name,
            "type": format!("com.atlassian.jira.plugin.system.customfieldtypes:{kind}"),
            "searcherKey": format!("com.atlassian.jira.plugin.system.customfieldtypes:{searcher}"),
        })
    };
    let (status, url) = jira(
        &env,
        Method::POST,
        "/rest/api/2/field",
        Some(field("GitHub URL", "url", "exacttextsearcher")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{url}");
    let (status, meta) = jira(
        &env,
        Method::POST,
        "/rest/api/3/field",
        Some(field("Metadata", "textarea", "textsearcher")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{meta}");
    let (status, _) = jira(
        &env,
        Method::POST,
        "/rest/api/2/field",
        Some(field("x", "url", "textsearcher")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a searcher the type does not take"
    );
    let (status, _) = jira(
        &env,
        Method::POST,
        "/rest/api/2/field",
        Some(field("x", "cascadingselect", "cascadingselectsearcher")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a type the sandbox does not keep"
    );
    let url_id = url["schema"]["customId"].as_u64().expect("customId");
    let meta_id = meta["schema"]["customId"].as_u64().expect("customId");
    let (uf, mf) = (
        format!("customfield_{url_id}"),
        format!("customfield_{meta_id}"),
    );
    let (_, fields) = jira(&env, Method::GET, "/rest/api/2/field", None).await;
    let listed = fields.as_array().cloned().unwrap_or_default();
    assert!(
        listed
            .iter()
            .any(|f| f["id"] == uf.as_str() && f["clauseNames"][0] == format!("cf[{url_id}]"))
    );
    assert!(listed.iter().any(|f| f["id"] == mf.as_str()));

    for (v, n) in [(2, 1), (3, 2)] {
        let link = format!("https://github.com/acme/council/issues/{n}");
        let description = if v == 2 {
            json!("d")
        } else {
            json!({"type": "doc", "version": 1, "content": []})
        };
        let (status, created) = jira(
            &env,
            Method::POST,
            &format!("/rest/api/{v}/issue"),
            Some(json!({"fields": {
                "project": {"key": "MIR"}, "issuetype": {"name": "Task"}, "summary": "s",
                "description": description, uf.clone(): link, mf.clone(): "{\"comments\": []}",
            }})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "v{v}: {created}");
        let key = created["key"].as_str().unwrap_or_default().to_owned();
        let (_, issue) = jira(
            &env,
            Method::GET,
            &format!("/rest/api/{v}/issue/{key}"),
            None,
        )
        .await;
        assert_eq!(issue["fields"][&uf], link.as_str(), "v{v}");
        assert_eq!(issue["fields"][&mf], "{\"comments\": []}");

        for jql in [
            format!("project = 'MIR' and cf[{url_id}] = '{link}' order by updated asc"),
            format!("{uf} in (\"{link}\", \"https://x\")"),
        ] {
            let (status, found) = if v == 2 {
                jira(
                    &env,
                    Method::POST,
                    "/rest/api/2/search",
                    Some(json!({"jql": jql})),
                )
                .await
            } else {
                jira(
                    &env,
                    Method::POST,
                    "/rest/api/3/search/jql",
                    Some(json!({"jql": jql, "fields": ["summary"]})),
                )
                .await
            };
            assert_eq!(status, StatusCode::OK, "{jql}: {found}");
            let keys: Vec<&str> = found["issues"]
                .as_array()
                .map(|a| a.iter().filter_map(|i| i["key"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(keys, [key.as_str()], "v{v}: {jql}");
        }

        let (_, other) = jira(
            &env,
            Method::POST,
            "/rest/api/2/search",
            Some(json!({"jql": format!("cf[{url_id}] != 'https://x'")})),
        )
        .await;
        assert_eq!(other["total"], 1, "v{v}: != matches the one value set");
        let (status, _) = jira(
            &env,
            Method::PUT,
            &format!("/rest/api/{v}/issue/{key}"),
            Some(json!({"fields": {uf.clone(): null}})),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, issue) = jira(
            &env,
            Method::GET,
            &format!("/rest/api/{v}/issue/{key}"),
            None,
        )
        .await;
        assert_eq!(issue["fields"][&uf], Value::Null, "cleared, still listed");
        let (_, found) = jira(
            &env,
            Method::POST,
            "/rest/api/2/search",
            Some(json!({"jql": format!("cf[{url_id}] = '{link}'")})),
        )
        .await;
        assert_eq!(found["total"], 0);
        let (_, other) = jira(
            &env,
            Method::POST,
            "/rest/api/2/search",
            Some(json!({"jql": format!("cf[{url_id}] != 'https://x'")})),
        )
        .await;
        assert_eq!(
            other["total"], 0,
            "!= never matches an empty field (every issue's is cleared by now)"
        );
    }

    for (jql, why) in [
        (
            format!("cf[{meta_id}] = 'x'"),
            "operator '=' is not supported",
        ),
        ("cf[99999] = 'x'".to_owned(), "does not exist"),
    ] {
        let (status, body) = jira(
            &env,
            Method::POST,
            "/rest/api/2/search",
            Some(json!({"jql": jql})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{jql}");
        assert!(body.to_string().contains(why), "{jql}: {body}");
    }
    let (status, body) = jira(
        &env,
        Method::POST,
        "/rest/api/2/issue",
        Some(json!({"fields": {"project": "MIR", "issuetype": {"name": "Task"}, "summary": "s", uf.clone(): "not a url"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][&uf].is_string(), "{body}");
}

#[tokio::test]
async fn issues_say_who_created_them_and_carry_every_configured_field() {
    let env = jira_env().await;
    for v in [2, 3] {
        let (status, created) = jira(
            &env,
            Method::POST,
            &format!("/rest/api/{v}/issue"),
            Some(json!({"fields": {"project": "MIR", "issuetype": {"name": "Task"}, "summary": "s"}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().unwrap_or_default();
        let (_, issue) = jira(
            &env,
            Method::GET,
            &format!("/rest/api/{v}/issue/{key}"),
            None,
        )
        .await;
        let f = &issue["fields"];
        assert_eq!(
            f["creator"]["displayName"], f["reporter"]["displayName"],
            "v{v}: {f}"
        );
        assert!(f["creator"].is_object());
        assert_eq!(f["fixVersions"], json!([]));
        assert_eq!(f["versions"], json!([]));
        assert!(f.get("priority").is_some_and(Value::is_null));
        if v == 2 {
            assert_eq!(f["creator"]["name"], "jirahub", "Data Center names users");
        }
    }
}

#[tokio::test]
async fn my_permissions_answer_per_flavour_and_name_unknown_projects() {
    let env = jira_env().await;
    // Data Center: every permission when none is named (jirahub's `check-permissions`).
    let (status, all) = jira(
        &env,
        Method::GET,
        "/rest/api/2/mypermissions?projectKey=MIR",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    for key in [
        "BROWSE_PROJECTS",
        "EDIT_ISSUES",
        "ADD_COMMENTS",
        "TRANSITION_ISSUES",
    ] {
        assert_eq!(
            all["permissions"][key]["havePermission"], true,
            "{key}: {all}"
        );
    }
    // Cloud: `permissions` is required; the answer has only what was asked.
    let (status, _) = jira(
        &env,
        Method::GET,
        "/rest/api/3/mypermissions?projectKey=MIR",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, some) = jira(
        &env,
        Method::GET,
        "/rest/api/3/mypermissions?projectKey=MIR&permissions=EDIT_ISSUES,ADD_COMMENTS",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        some["permissions"].as_object().map(|m| m.len()),
        Some(2),
        "{some}"
    );
    let (status, _) = jira(
        &env,
        Method::GET,
        "/rest/api/3/mypermissions?permissions=NOPE",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = jira(
        &env,
        Method::GET,
        "/rest/api/2/mypermissions?projectKey=GONE",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = jira(
        &env,
        Method::GET,
        "/rest/api/latest/mypermissions?issueKey=MIR-99",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
