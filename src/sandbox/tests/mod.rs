//! Black-box tests: a sandbox on port 0 driven over HTTP with `GithubClient` and reqwest.
//! No sleeps for synchronisation: deliveries arrive on a channel, faults and the change
//! feed are waited for through their long-poll routes.

mod contract;
mod faults;
mod hooks;
mod peer_routes;
mod rest;

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::github::model::{MemberRole, MemberState};
use super::{RepoSeed, Sandbox, SandboxHandle, SandboxOptions, TeamSeed};
use crate::github::client::GithubClient;
use crate::retry::RetryPolicy;

pub(super) const REPO: &str = "acme/council";
pub(super) const TOKEN: &str = "ghs_sandbox_token";

/// A running sandbox plus an HTTP client for it.
pub(super) struct Env {
    pub sb: SandboxHandle,
    pub http: reqwest::Client,
}

pub(super) fn options() -> SandboxOptions {
    SandboxOptions {
        bot_token: Some(TOKEN.into()),
        teams: vec![TeamSeed {
            org: "acme".into(),
            slug: "sre-council".into(),
            members: vec![
                ("alice".into(), MemberState::Active, MemberRole::Maintainer),
                ("carol".into(), MemberState::Pending, MemberRole::Member),
            ],
        }],
        repos: vec![RepoSeed {
            owner: "acme".into(),
            name: "council".into(),
            org: true,
        }],
        ..SandboxOptions::default()
    }
}

pub(super) async fn start_with(opts: SandboxOptions) -> Env {
    let sb = Sandbox::start(opts).await.expect("sandbox starts");
    Env {
        sb,
        http: crate::crypto::http_client(),
    }
}

pub(super) async fn start() -> Env {
    start_with(options()).await
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sb.base_url())
    }

    /// A GitHub client with short backoff (Retry-After still honoured up to 5 s).
    pub fn client(&self) -> GithubClient {
        let policy = RetryPolicy {
            give_up_unreachable: false,
            attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
        };
        GithubClient::new(&self.sb.base_url(), &SecretString::from(TOKEN), policy)
            .expect("client builds")
    }

    /// A control-API call; panics unless 2xx.
    pub async fn ctl(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("control call");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Opens an issue as `who`; returns its number.
    pub async fn open(&self, who: &str, title: &str, labels: &[&str]) -> u64 {
        let body = json!({ "as": who, "title": title, "body": "### Why is this SRE?\n\ntoil", "labels": labels });
        let v = self
            .ctl(
                Method::POST,
                &format!("/_sandbox/github/repos/{REPO}/issues"),
                Some(body),
            )
            .await;
        v["number"].as_u64().expect("issue number")
    }

    /// An authenticated REST GET.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET")
    }
}

/// `shared/` beside the checkout: `$COUNCIL_SHARED_DIR`, then `../shared`, then `/work/shared`.
pub(super) fn shared_dir() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("COUNCIL_SHARED_DIR") {
        return dir.into();
    }
    let beside = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if beside.is_dir() {
        beside
    } else {
        "/work/shared".into()
    }
}
