//! The GitHub REST client the engine uses: issues, comments, labels, team membership.
//!
//! Built on octocrab's raw `_get`/`_post`/… calls rather than its typed routes, because the
//! typed routes turn an error answer into an error without its headers, and retrying needs
//! `Retry-After` and `x-ratelimit-*` (`crate::retry::classify`). octocrab's own retry is off
//! (it would retry a POST at once, duplicating comments); every call goes through
//! `crate::retry::RetryPolicy`. Pages are followed through the `Link` header, made relative
//! so octocrab keeps sending the token (it drops it for absolute URLs to other hosts).

mod admin;
mod app;
mod error;
mod model;
pub mod pacing;
mod projects;

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use octocrab::Octocrab;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

mod etags;

pub use self::admin::{HookSpec, RepoAccess, RepoFile, RepoHook, RepoPermissions};
pub use self::error::GithubError;
pub use self::model::{Comment, Issue, IssueEvent, IssueState, StateReason};
use self::model::{RawComment, RawId, RawIssue, RawIssueEvent, RawLabel, RawMembership, RawUser};
pub use self::pacing::{Pacer, PacingLimits};
pub use self::projects::{IssueType, SubIssue};
use crate::retry::{RetryPolicy, classify};

/// Connect timeout per attempt: a healthy GitHub accepts in well under a second.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read timeout per attempt: GitHub's own limit for a request is 10 s; leave headroom.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Page size for lists: GitHub's maximum, fewest round trips.
const PER_PAGE: u32 = 100;

/// Installs *ring* as the process's rustls provider (once; later calls do nothing): see
/// [`crate::crypto::install`].
pub fn install_crypto_provider() {
    crate::crypto::install();
}

/// An answer that passed the status check.
struct Answer {
    headers: HeaderMap,
    body: String,
}

/// A GitHub REST client for one token.
#[derive(Debug, Clone)]
pub struct GithubClient {
    octo: Octocrab,
    policy: RetryPolicy,
    etags: std::sync::Arc<etags::EtagCache>,
    /// With a GitHub App: the App-authenticated (JWT) client and the installation id.
    app: Option<(Octocrab, u64)>,
    /// The API's host, for the calls' metrics (`api.github.com`).
    host: std::sync::Arc<str>,
    /// Secondary-limit pacing shared by clones (`pacing`).
    pacer: std::sync::Arc<Pacer>,
    /// On GitHub Enterprise Server, the same credentials on the base GraphQL lives under
    /// (`https://HOST/api`, see [`graphql_base`]); `None` where `/graphql` is under the
    /// REST base (github.com, the sandbox).
    graphql: Option<Octocrab>,
}

/// The base a GraphQL client joins `/graphql` to, when it is not the REST base `api_url`
/// itself. GitHub Enterprise Server serves REST under `https://HOST/api/v3` and GraphQL at
/// `https://HOST/api/graphql`
/// (<https://docs.github.com/enterprise-server@3.13/graphql/guides/forming-calls-with-graphql#the-graphql-endpoint>),
/// so its GraphQL base is `https://HOST/api`; github.com serves both under
/// `https://api.github.com` (then `None`). octocrab joins every path to its base and
/// drops the token for absolute URLs to other hosts, hence a second client on that base.
pub fn graphql_base(api_url: &str) -> Option<String> {
    api_url
        .trim_end_matches('/')
        .strip_suffix("/api/v3")
        .map(|host| format!("{host}/api"))
}

/// `owner/name` split and percent-encoded for a path.
fn repo_path(repo: &str) -> Result<String, GithubError> {
    match repo.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
            Ok(format!("/repos/{}/{}", seg(o), seg(n)))
        }
        _ => Err(GithubError::Invalid(format!(
            "repository {repo:?} is not owner/name"
        ))),
    }
}

/// Percent-encodes one path segment (label names hold `/` and spaces).
fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `rel="next"` target of a `Link` header, as a path and query (see module doc).
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    let target = link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>'))
    })?;
    match url::Url::parse(target) {
        Ok(u) => Some(match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }),
        Err(_) => target.starts_with('/').then(|| target.to_owned()),
    }
}

fn decode<T: DeserializeOwned>(path: &str, body: &str) -> Result<T, GithubError> {
    serde_json::from_str(body).map_err(|source| GithubError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// An issue listing read a page at a time ([`GithubClient::issue_pages`]).
#[derive(Debug)]
pub struct IssuePages<'a> {
    client: &'a GithubClient,
    /// The next page's path and query; `None` after the last page.
    next: Option<String>,
}

impl IssuePages<'_> {
    /// The next page of issues (pull requests included, flagged), `None` after the last.
    /// Errors as [`GithubClient::list_issues`].
    pub async fn next_page(&mut self) -> Result<Option<Vec<Issue>>, GithubError> {
        let Some(path) = self.next.take() else {
            return Ok(None);
        };
        let answer = self.client.call(Method::GET, &path, None).await?;
        let raw: Vec<RawIssue> = decode(&path, &answer.body)?;
        self.next = next_link(&answer.headers);
        Ok(Some(raw.into_iter().map(Issue::from).collect()))
    }
}

impl GithubClient {
    /// A client for `api_url` (`https://api.github.com`, `https://HOST/api/v3`, or the
    /// sandbox's base URL) authenticating with `token`.
    pub fn new(
        api_url: &str,
        token: &SecretString,
        policy: RetryPolicy,
    ) -> Result<Self, GithubError> {
        install_crypto_provider();
        let with_token = |base: &str| {
            Octocrab::builder()
                .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
                .set_connect_timeout(Some(CONNECT_TIMEOUT))
                .set_read_timeout(Some(READ_TIMEOUT))
                .base_uri(base.trim_end_matches('/'))
                .map_err(|e| GithubError::Setup(format!("api_url {api_url:?}: {e}")))?
                .personal_token(token.expose_secret().to_owned())
                .build()
                .map_err(|e| GithubError::Setup(e.to_string()))
        };
        Ok(Self {
            octo: with_token(api_url)?,
            policy,
            etags: Default::default(),
            app: None,
            host: crate::metrics::api::host_of(api_url).into(),
            pacer: Pacer::new(PacingLimits::default()),
            graphql: graphql_base(api_url)
                .map(|base| with_token(&base))
                .transpose()?,
        })
    }

    /// The client a call to `path` goes through: GraphQL's own on GitHub Enterprise Server.
    fn octo_for(&self, path: &str) -> &Octocrab {
        match &self.graphql {
            Some(g) if path == "/graphql" => g,
            _ => &self.octo,
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, GithubError> {
        self.attempt_with(method, path, body, false).await
    }

    /// One attempt; `conditional` GETs send the cached ETag (`If-None-Match`).
    async fn attempt_with(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        conditional: bool,
    ) -> Result<Answer, GithubError> {
        let transport = |source: octocrab::Error| GithubError::Transport {
            method: method.to_string(),
            host: self.host.to_string(),
            path: path.to_owned(),
            transient: matches!(
                source,
                octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. }
            ),
            source: Box::new(source),
        };
        let kind = match (method, path) {
            (&Method::GET, _) => pacing::CallKind::Read,
            (&Method::POST, "/graphql") => {
                let doc = body
                    .and_then(|b| b.get("query"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if projects::is_mutation(doc) {
                    pacing::CallKind::Mutation
                } else {
                    pacing::CallKind::Query
                }
            }
            _ => pacing::CallKind::Write,
        };
        let _slot = self.pacer.admit(kind).await;
        let resp = match *method {
            Method::GET => {
                let cached = if conditional {
                    self.etags.get(path)
                } else {
                    None
                };
                let validator = cached.map(|c| {
                    let mut h = HeaderMap::new();
                    h.insert(reqwest::header::IF_NONE_MATCH, c.etag);
                    h
                });
                self.octo._get_with_headers(path, validator).await
            }
            Method::POST => self.octo_for(path)._post(path, body).await,
            Method::PATCH => self.octo._patch(path, body).await,
            Method::PUT => self.octo._put(path, body).await,
            Method::DELETE => self.octo._delete(path, body).await,
            _ => {
                return Err(GithubError::Invalid(format!(
                    "method {method} not supported"
                )));
            }
        }
        .inspect_err(|_| self.record_call(method, path, body, None))
        .map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        self.record_call(method, path, body, Some(status.as_u16()));
        crate::metrics::api::record_rate_limit(&self.host, &headers);
        let text = self.octo.body_to_string(resp).await.map_err(transport)?;
        if status == reqwest::StatusCode::NOT_MODIFIED
            && *method == Method::GET
            && conditional
            && let Some(cached) = self.etags.get(path)
        {
            self.etags.hit();
            return Ok(Answer {
                headers: cached.headers,
                body: cached.body,
            });
        }
        if status.is_success() {
            if *method == Method::GET && conditional {
                self.etags.put(path, &headers, &text);
            }
            return Ok(Answer {
                headers,
                body: text,
            });
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        Err(GithubError::Status {
            method: method.to_string(),
            path: path.to_owned(),
            status: status.as_u16(),
            message,
            hint: classify(status, &headers, SystemTime::now()),
        })
    }

    /// Counts one attempt in the API metrics: by templated path, and GraphQL calls (all to
    /// `/graphql`) by their operation name.
    fn record_call(&self, method: &Method, path: &str, body: Option<&Value>, status: Option<u16>) {
        use crate::metrics::api;
        if path == "/graphql" {
            let doc = body
                .and_then(|b| b.get("query"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let route = api::graphql_route(&projects::operation_name(doc));
            api::record_route_call(&self.host, method.as_str(), route, status);
        } else {
            api::record_call(&self.host, method.as_str(), path, status);
        }
    }

    /// One call with retries.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer, GithubError> {
        let what = format!("{method} {path}");
        self.policy
            .run(&what, || self.attempt(&method, path, body.as_ref()))
            .await
    }

    /// Every page of a list, following `Link: rel="next"`.
    async fn all_pages<T: DeserializeOwned>(&self, first: String) -> Result<Vec<T>, GithubError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(path) = next.take() {
            let answer = self.call(Method::GET, &path, None).await?;
            items.extend(decode::<Vec<T>>(&path, &answer.body)?);
            next = next_link(&answer.headers);
        }
        Ok(items)
    }

    /// How many reads GitHub answered 304 (served from the ETag cache) so far.
    pub fn not_modified_count(&self) -> u64 {
        self.etags.not_modified()
    }

    /// The token's login (`GET /user`), so the daemon can ignore its own writes.
    /// A GitHub App installation is `{slug}[bot]` (its token may not read `/user`).
    pub async fn current_user(&self) -> Result<String, GithubError> {
        if let Some(login) = self.app_login().await {
            return login;
        }
        let a = self.call(Method::GET, "/user", None).await?;
        Ok(decode::<RawUser>("/user", &a.body)?.login)
    }

    /// One issue.
    pub async fn get_issue(&self, repo: &str, number: u64) -> Result<Issue, GithubError> {
        let path = format!("{}/issues/{number}", repo_path(repo)?);
        // Conditional: the engine re-reads the issue for every cue; GitHub's description
        // declares the 304 here (and not on list routes, which are read in full).
        let what = format!("GET {path}");
        let a = self
            .policy
            .run(&what, || self.attempt_with(&Method::GET, &path, None, true))
            .await?;
        Ok(decode::<RawIssue>(&path, &a.body)?.into())
    }

    /// Issues of `repo` (open and closed) having all of `labels`, changed at or after
    /// `since`, all pages. Pull requests are included, flagged `is_pull_request`.
    pub async fn list_issues(
        &self,
        repo: &str,
        labels: &[String],
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Issue>, GithubError> {
        let mut pages = self.issue_pages(repo, labels, since)?;
        let mut all = Vec::new();
        while let Some(page) = pages.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// [`GithubClient::list_issues`] a page (100 issues) at a time, following the `Link`
    /// header's `next` (<https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api>),
    /// so a caller going through thousands of issues holds one page. Nothing is read until
    /// [`IssuePages::next_page`]; `Err` only for a repository name that is not `owner/name`.
    pub fn issue_pages(
        &self,
        repo: &str,
        labels: &[String],
        since: Option<DateTime<Utc>>,
    ) -> Result<IssuePages<'_>, GithubError> {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("state", "all")
            .append_pair("per_page", &PER_PAGE.to_string());
        q.append_pair("sort", "updated")
            .append_pair("direction", "asc");
        if !labels.is_empty() {
            q.append_pair("labels", &labels.join(","));
        }
        if let Some(s) = since {
            q.append_pair("since", &s.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        let query = q.finish();
        Ok(IssuePages {
            client: self,
            next: Some(format!("{}/issues?{query}", repo_path(repo)?)),
        })
    }

    /// Every comment of an issue, oldest first.
    pub async fn list_comments(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Comment>, GithubError> {
        let path = format!(
            "{}/issues/{number}/comments?per_page={PER_PAGE}",
            repo_path(repo)?
        );
        let raw: Vec<RawComment> = self.all_pages(path).await?;
        Ok(raw.into_iter().map(Comment::from).collect())
    }

    /// Every event of an issue (labeled, unlabeled, closed, reopened, renamed, …), oldest
    /// first, all pages: `GET /repos/{owner}/{repo}/issues/{issue_number}/events`
    /// (<https://docs.github.com/rest/issues/events#list-issue-events>). The reconcile reads
    /// who applied a decision label, and when, from it.
    pub async fn list_issue_events(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<IssueEvent>, GithubError> {
        let path = format!(
            "{}/issues/{number}/events?per_page={PER_PAGE}",
            repo_path(repo)?
        );
        let raw: Vec<RawIssueEvent> = self.all_pages(path).await?;
        Ok(raw.into_iter().map(IssueEvent::from).collect())
    }

    /// Comments on an issue; returns the new comment's id. Not idempotent: look the
    /// comment's marker up before calling again after a failure.
    pub async fn create_comment(
        &self,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<u64, GithubError> {
        let path = format!("{}/issues/{number}/comments", repo_path(repo)?);
        // One attempt only: a retry after an answer that got lost would post twice. The
        // caller's outbox job retries later, after looking for the comment's marker.
        let a = self
            .attempt(&Method::POST, &path, Some(&json!({ "body": body })))
            .await?;
        Ok(decode::<RawId>(&path, &a.body)?.id)
    }

    /// One comment: `GET /repos/{owner}/{repo}/issues/comments/{comment_id}`
    /// (<https://docs.github.com/rest/issues/comments#get-an-issue-comment>). Not
    /// conditional: GitHub's description declares no 304 on this route.
    pub async fn get_comment(&self, repo: &str, comment_id: u64) -> Result<Comment, GithubError> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(repo)?);
        let a = self.call(Method::GET, &path, None).await?;
        Ok(decode::<RawComment>(&path, &a.body)?.into())
    }

    /// Replaces a comment's body.
    pub async fn update_comment(
        &self,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(repo)?);
        self.call(Method::PATCH, &path, Some(json!({ "body": body })))
            .await?;
        Ok(())
    }

    /// Adds labels (GitHub creates missing ones); returns the issue's labels after.
    pub async fn add_labels(
        &self,
        repo: &str,
        number: u64,
        labels: &[String],
    ) -> Result<Vec<String>, GithubError> {
        let path = format!("{}/issues/{number}/labels", repo_path(repo)?);
        let a = self
            .call(Method::POST, &path, Some(json!({ "labels": labels })))
            .await?;
        Ok(decode::<Vec<RawLabel>>(&path, &a.body)?
            .into_iter()
            .map(|l| l.name)
            .collect())
    }

    /// Removes a label; a label already gone (404) is success.
    pub async fn remove_label(
        &self,
        repo: &str,
        number: u64,
        label: &str,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/{number}/labels/{}", repo_path(repo)?, seg(label));
        match self.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Closes an issue with a reason (`not_planned` for a rejected concern).
    pub async fn close_issue(
        &self,
        repo: &str,
        number: u64,
        reason: StateReason,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/{number}", repo_path(repo)?);
        let body = json!({ "state": "closed", "state_reason": reason.as_str() });
        self.call(Method::PATCH, &path, Some(body)).await?;
        Ok(())
    }

    /// Opens an issue with `labels` (GitHub creates missing labels):
    /// `POST /repos/{owner}/{repo}/issues`
    /// (<https://docs.github.com/rest/issues/issues#create-an-issue>). One attempt only, as
    /// with comments: a retry after a lost answer would open a second issue, so the caller
    /// looks for the issue's marker before calling again.
    pub async fn create_issue(
        &self,
        repo: &str,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<Issue, GithubError> {
        let path = format!("{}/issues", repo_path(repo)?);
        let payload = json!({ "title": title, "body": body, "labels": labels });
        let a = self.attempt(&Method::POST, &path, Some(&payload)).await?;
        Ok(decode::<RawIssue>(&path, &a.body)?.into())
    }

    /// Replaces an issue's title and body (`PATCH /repos/{owner}/{repo}/issues/{n}`).
    pub async fn edit_issue_text(
        &self,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/{number}", repo_path(repo)?);
        self.call(
            Method::PATCH,
            &path,
            Some(json!({ "title": title, "body": body })),
        )
        .await?;
        Ok(())
    }

    /// Reopens an issue.
    pub async fn reopen_issue(&self, repo: &str, number: u64) -> Result<(), GithubError> {
        let path = format!("{}/issues/{number}", repo_path(repo)?);
        self.call(Method::PATCH, &path, Some(json!({ "state": "open" })))
            .await?;
        Ok(())
    }

    /// Whether `login` is an active member of `org/slug` (404 and `pending` are not).
    pub async fn is_team_member(
        &self,
        org: &str,
        slug: &str,
        login: &str,
    ) -> Result<bool, GithubError> {
        let path = format!(
            "/orgs/{}/teams/{}/memberships/{}",
            seg(org),
            seg(slug),
            seg(login)
        );
        // Not conditional: GitHub's description declares no 304 for this route, and a
        // decision label is rare enough that a full read costs nothing.
        let what = format!("GET {path}");
        let read = self
            .policy
            .run(&what, || {
                self.attempt_with(&Method::GET, &path, None, false)
            })
            .await;
        match read {
            Ok(a) => Ok(decode::<RawMembership>(&path, &a.body)?.state == "active"),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_link_is_made_relative() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://ghe.example/api/v3/repos/a/b/issues?per_page=2&page=2>; rel=\"next\", \
                 <https://ghe.example/api/v3/repos/a/b/issues?per_page=2&page=5>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("/api/v3/repos/a/b/issues?per_page=2&page=2")
        );
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://x/y?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn repo_paths_are_checked_and_encoded() {
        assert_eq!(
            repo_path("acme/sre council").ok().as_deref(),
            Some("/repos/acme/sre%20council")
        );
        assert!(repo_path("acme").is_err());
        assert!(repo_path("a/b/c").is_err());
        assert_eq!(seg("council/accepted"), "council%2Faccepted");
    }

    #[test]
    fn graphql_has_its_own_base_only_on_enterprise_server() {
        assert_eq!(graphql_base("https://api.github.com"), None);
        assert_eq!(graphql_base("http://127.0.0.1:8080"), None);
        assert_eq!(
            graphql_base("https://ghe.example/api/v3/").as_deref(),
            Some("https://ghe.example/api")
        );
    }

    /// GitHub Enterprise Server: REST goes under `/api/v3`, GraphQL to `/api/graphql`, both
    /// with the token (a local server stands for GHES and records what it is sent).
    #[tokio::test]
    async fn on_enterprise_server_graphql_goes_to_api_graphql_with_the_token() {
        type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, bool)>>>;
        let seen: Seen = Default::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap| {
                let log = log.clone();
                async move {
                    let authed = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.ends_with("ghes-token"));
                    log.lock().unwrap_or_else(|p| p.into_inner()).push((
                        method.to_string(),
                        uri.path().to_owned(),
                        authed,
                    ));
                    let body = if uri.path().ends_with("/graphql") {
                        json!({ "data": { "viewer": { "login": "me" } } })
                    } else {
                        json!({ "login": "me" })
                    };
                    axum::Json(body)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let policy = RetryPolicy {
            give_up_unreachable: false,
            attempts: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        };
        let gh = GithubClient::new(
            &format!("http://{addr}/api/v3"),
            &SecretString::from("ghes-token"),
            policy,
        )
        .expect("client");
        let data: Value = gh
            .graphql("query Me {\n  viewer {\n    login\n  }\n}\n", json!({}))
            .await
            .expect("graphql");
        assert_eq!(data["viewer"]["login"], "me");
        assert_eq!(gh.current_user().await.ok().as_deref(), Some("me"));
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(
            seen,
            [
                ("POST".to_owned(), "/api/graphql".to_owned(), true),
                ("GET".to_owned(), "/api/v3/user".to_owned(), true),
            ]
        );
    }
}
