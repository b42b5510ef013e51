//! A small client of the sandbox's control API (`/_sandbox/...`): acts as people on the
//! GitHub and Jira side and waits for changes without sleeping. Used by the demo and the
//! integration tests.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Why a control call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ControlError {
    #[error("sandbox request {what} failed: {reason}")]
    Http { what: String, reason: String },
    #[error("timed out after {0:?} waiting for: {1}")]
    Timeout(Duration, String),
}

/// The control API of one sandbox.
#[derive(Debug, Clone)]
pub struct SandboxControl {
    base: String,
    http: reqwest::Client,
}

impl SandboxControl {
    /// `base` is the sandbox's URL, e.g. `http://127.0.0.1:8900`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http: crate::crypto::http_client(),
        }
    }

    /// The sandbox's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ControlError> {
        let what = format!("{method} {path}");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.map_err(|e| ControlError::Http {
            what: what.clone(),
            reason: e.to_string(),
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| ControlError::Http {
            what: what.clone(),
            reason: e.to_string(),
        })?;
        if !status.is_success() {
            return Err(ControlError::Http {
                what,
                reason: format!("{status}: {text}"),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ControlError::Http {
            what,
            reason: format!("bad JSON: {e}"),
        })
    }

    /// GET a control path.
    pub async fn get(&self, path: &str) -> Result<Value, ControlError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// POST JSON to a control path.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ControlError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// PATCH JSON to a control path.
    pub async fn patch(&self, path: &str, body: Value) -> Result<Value, ControlError> {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }

    /// PUT JSON to a control path.
    pub async fn put(&self, path: &str, body: Value) -> Result<Value, ControlError> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Drops (or resumes) webhook deliveries, to simulate lost webhooks.
    pub async fn drop_webhooks(&self, drop: bool) -> Result<(), ControlError> {
        self.put("/_sandbox/webhooks/drop", json!({ "drop": drop }))
            .await?;
        Ok(())
    }

    /// DELETE a control path.
    pub async fn delete(&self, path: &str) -> Result<Value, ControlError> {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// Opens an issue as `user`; returns its number.
    pub async fn open_issue(
        &self,
        repo: &str,
        user: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<u64, ControlError> {
        let v = self
            .post(
                &format!("/_sandbox/github/repos/{repo}/issues"),
                json!({"as": user, "title": title, "body": body, "labels": labels}),
            )
            .await?;
        v["number"].as_u64().ok_or_else(|| ControlError::Http {
            what: "open issue".into(),
            reason: format!("no number in {v}"),
        })
    }

    /// Opens `count` issues as `user` in one request (titled `"{title} {i}"`, same body and
    /// labels: `POST /_sandbox/github/repos/{o}/{r}/issues/bulk`); returns their numbers.
    pub async fn open_issues(
        &self,
        repo: &str,
        user: &str,
        count: usize,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<Vec<u64>, ControlError> {
        let v = self
            .post(
                &format!("/_sandbox/github/repos/{repo}/issues/bulk"),
                json!({"as": user, "count": count, "title": title, "body": body, "labels": labels}),
            )
            .await?;
        v["numbers"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .ok_or_else(|| ControlError::Http {
                what: "open issues".into(),
                reason: format!("no numbers in {v}"),
            })
    }

    /// Edits an issue's body as `user`.
    pub async fn edit_body(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        body: &str,
    ) -> Result<(), ControlError> {
        self.patch(
            &format!("/_sandbox/github/repos/{repo}/issues/{number}"),
            json!({"as": user, "body": body}),
        )
        .await?;
        Ok(())
    }

    /// Comments on an issue as `user`.
    pub async fn comment(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        body: &str,
    ) -> Result<(), ControlError> {
        self.post(
            &format!("/_sandbox/github/repos/{repo}/issues/{number}/comments"),
            json!({"as": user, "body": body}),
        )
        .await?;
        Ok(())
    }

    /// Closes or reopens an issue as `user` (`state_reason`: `completed`, `not_planned`, `reopened`).
    pub async fn set_state(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        state: &str,
        reason: Option<&str>,
    ) -> Result<(), ControlError> {
        self.patch(
            &format!("/_sandbox/github/repos/{repo}/issues/{number}"),
            json!({"as": user, "state": state, "state_reason": reason}),
        )
        .await?;
        Ok(())
    }

    /// Adds a label as `user`.
    pub async fn add_label(
        &self,
        repo: &str,
        number: u64,
        user: &str,
        label: &str,
    ) -> Result<(), ControlError> {
        self.post(
            &format!("/_sandbox/github/repos/{repo}/issues/{number}/labels"),
            json!({"as": user, "labels": [label]}),
        )
        .await?;
        Ok(())
    }

    /// The full state of an issue (labels, comments, state, state_reason).
    pub async fn issue(&self, repo: &str, number: u64) -> Result<Value, ControlError> {
        self.get(&format!("/_sandbox/github/repos/{repo}/issues/{number}"))
            .await
    }

    /// Jira issues matching `jql`, with their full state.
    pub async fn jira_issues(&self, jql: &str) -> Result<Vec<Value>, ControlError> {
        let v = self
            .get(&format!("/_sandbox/jira/issues?jql={}", urlencode(jql)))
            .await?;
        Ok(match v {
            Value::Array(items) => items,
            other => other["issues"].as_array().cloned().unwrap_or_default(),
        })
    }

    /// Moves a Jira issue to `status` as `user` (through the workflow's transitions).
    pub async fn jira_transition(
        &self,
        key: &str,
        user: &str,
        status: &str,
    ) -> Result<(), ControlError> {
        self.post(
            &format!("/_sandbox/jira/issues/{key}/transition"),
            json!({"as": user, "to": status}),
        )
        .await?;
        Ok(())
    }

    /// Assigns a Jira issue as `user` (`None` unassigns).
    pub async fn jira_assign(
        &self,
        key: &str,
        user: &str,
        assignee: Option<&str>,
    ) -> Result<(), ControlError> {
        self.post(
            &format!("/_sandbox/jira/issues/{key}/assign"),
            json!({"as": user, "assignee": assignee}),
        )
        .await?;
        Ok(())
    }

    /// Creates a sprint on `project`'s board with `issues` in it, started when `start`.
    pub async fn jira_sprint(
        &self,
        project: &str,
        name: &str,
        issues: &[&str],
        start: bool,
        user: &str,
    ) -> Result<Value, ControlError> {
        self.post(
            "/_sandbox/jira/sprints",
            json!({"project": project, "name": name, "issues": issues, "start": start, "as": user}),
        )
        .await
    }

    /// Closes the active sprint of `project`'s board, if any (a board has one active sprint
    /// at a time; a demo run again on the same sandbox starts a new one).
    pub async fn jira_close_active_sprints(
        &self,
        project: &str,
        user: &str,
    ) -> Result<(), ControlError> {
        let boards = self
            .agile_get(
                &format!("/rest/agile/1.0/board?projectKeyOrId={project}"),
                user,
            )
            .await?;
        for board in boards["values"].as_array().into_iter().flatten() {
            let Some(id) = board["id"].as_u64() else {
                continue;
            };
            let sprints = self
                .agile_get(
                    &format!("/rest/agile/1.0/board/{id}/sprint?state=active"),
                    user,
                )
                .await?;
            for sprint in sprints["values"].as_array().into_iter().flatten() {
                if let Some(sid) = sprint["id"].as_u64() {
                    self.post(
                        &format!("/_sandbox/jira/sprints/{sid}/close"),
                        json!({"as": user}),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// A GET on the sandbox's Jira Agile API as `user` (it takes any basic credentials).
    async fn agile_get(&self, path: &str, user: &str) -> Result<Value, ControlError> {
        let fail = |e: reqwest::Error| ControlError::Http {
            what: format!("GET {path}"),
            reason: e.to_string(),
        };
        self.http
            .get(format!("{}{path}", self.base))
            .basic_auth(format!("{user}@example.com"), Some("sandbox"))
            .send()
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)
    }

    /// Drops (or resumes) the Jira half's webhook deliveries.
    pub async fn drop_jira_webhooks(&self, drop: bool) -> Result<(), ControlError> {
        self.put("/_sandbox/jira/webhooks/drop", json!({ "drop": drop }))
            .await?;
        Ok(())
    }

    /// The sandbox's change counter now.
    pub async fn version(&self) -> Result<u64, ControlError> {
        let v = self.get("/_sandbox/changes?after=0&timeout_ms=0").await?;
        Ok(v["version"].as_u64().unwrap_or(0))
    }

    /// Evaluates `check` after every sandbox change until it returns `Some`, or `timeout`.
    /// Long-polls the change feed: no fixed sleeps.
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, ControlError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, ControlError>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.version().await?;
            if let Some(found) = check().await? {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ControlError::Timeout(timeout, what.to_owned()));
            }
            let wait_ms = left.as_millis().min(5_000);
            self.get(&format!(
                "/_sandbox/changes?after={seen}&timeout_ms={wait_ms}"
            ))
            .await?;
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
