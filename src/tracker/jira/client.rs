//! Our typed Jira REST client (v3 Cloud, v2 Data Center) on reqwest.
//!
//! Reads and idempotent writes (search, get, remote links by `globalId`) go through the
//! [`RetryPolicy`]; creates, comments and transitions are sent once, because a retry after a
//! lost answer would duplicate them: the caller looks its marker up before trying again.
//! Every request first waits on a per-host rate limiter, so a burst of work (a backfill, many
//! accepted concerns at once) stays under Jira's limits instead of collecting 429s.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod admin;

pub use self::admin::{
    IssueTypeStatuses, JiraWebhook, Named, ProjectInfo, Workflow, WorkflowTransition,
};
use super::auth::JiraCredentials;
use super::error::JiraError;
use super::model::{
    BulkCreateRequest, BulkElementError, Comment, CommentRequest, CreateIssueRequest, CreatedIssue,
    CreatedIssues, Issue, Myself, NewIssueFields, RemoteLink, RemoteLinkIds, RemoteLinkRequest,
    SearchJqlRequest, SearchJqlResponse, SearchRequest, SearchResponse, Transition, TransitionId,
    TransitionRequest, Transitions, limits,
};
use crate::config::JiraApiVersion;
use crate::markup::{markdown_to_adf, markdown_to_wiki};
use crate::retry::RetryPolicy;

/// A rate limiter shared by clients, keyed by host.
pub type JiraRateLimiter = DefaultKeyedRateLimiter<String>;

/// Default pace per Jira host: 10 requests a second, bursts of 20 (`[limits.jira]` changes
/// it; `crate::config::limits` cites Atlassian's pages).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = crate::config::limits::JIRA_REQUESTS_PER_SECOND;
/// Burst allowed above the steady pace (see [`DEFAULT_REQUESTS_PER_SECOND`]).
pub const DEFAULT_BURST: u32 = crate::config::limits::JIRA_BURST;
/// Whole-request timeout: long enough for a 50-issue bulk create on a slow Data Center.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Page size of searches (Cloud caps `/search/jql` pages at 100 for full issues).
pub const SEARCH_PAGE_SIZE: u32 = 100;
/// Jira's limit of issues per bulk create.
pub const BULK_LIMIT: usize = 50;
/// Most issue ids one search may name in `reconcileIssues` (the schema's `maxItems`).
pub const MAX_RECONCILE: usize = 50;
/// Upper bound of pages in one search, so a server that never ends paging cannot loop us.
const MAX_PAGES: usize = 1000;

/// A test on each page of a search: `true` ends the search after that page.
pub type PageStop<'a> = Option<&'a (dyn Fn(&[Issue]) -> bool + Send + Sync)>;

/// Result of one element of a bulk create.
pub type BulkItem = Result<CreatedIssue, BulkElementError>;

/// A Jira client for one site.
#[derive(Clone)]
pub struct JiraClient {
    http: reqwest::Client,
    base: String,
    host: String,
    credentials: JiraCredentials,
    version: JiraApiVersion,
    policy: RetryPolicy,
    limiter: Arc<JiraRateLimiter>,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient")
            .field("base", &self.base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A limiter with the default quota ([`DEFAULT_REQUESTS_PER_SECOND`], [`DEFAULT_BURST`]).
pub fn default_rate_limiter() -> Arc<JiraRateLimiter> {
    rate_limiter(&crate::config::JiraLimits::default())
}

/// A limiter pacing each Jira host at `[limits.jira]` (a zero, which `config check`
/// refuses, counts as 1).
pub fn rate_limiter(limits: &crate::config::JiraLimits) -> Arc<JiraRateLimiter> {
    let per_second = NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

impl JiraClient {
    /// A client for `base_url` (e.g. `https://acme.atlassian.net`, without `/rest`).
    pub fn new(
        base_url: &str,
        credentials: JiraCredentials,
        version: JiraApiVersion,
        policy: RetryPolicy,
    ) -> Result<Self, JiraError> {
        let parsed = url::Url::parse(base_url)
            .map_err(|e| JiraError::Config(format!("base_url {base_url:?}: {e}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| JiraError::Config(format!("base_url {base_url:?} has no host")))?
            .to_owned();
        if credentials.header_value().is_none() {
            return Err(JiraError::Config(
                "credentials contain characters not allowed in a header".into(),
            ));
        }
        let http = crate::crypto::http_client_builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("council-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JiraError::Config(format!("http client: {e}")))?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            host,
            credentials,
            version,
            policy,
            limiter: default_rate_limiter(),
        })
    }

    /// Shares one limiter between clients (the key is the host, so one site shares a pace).
    pub fn with_rate_limiter(mut self, limiter: Arc<JiraRateLimiter>) -> Self {
        self.limiter = limiter;
        self
    }

    /// Which REST flavour this client speaks.
    pub fn version(&self) -> JiraApiVersion {
        self.version
    }

    /// Where a person opens the issue.
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.base)
    }

    /// A Markdown text in this flavour's body format: ADF on v3, wiki markup on v2, within
    /// Jira's limit for rich text ([`limits::TEXT`]): a longer text is cut with a visible
    /// note that the full text is in the GitHub issue.
    pub fn body_from_markdown(&self, markdown: &str) -> Value {
        match self.version {
            JiraApiVersion::V3 => {
                limits::fit_markdown(markdown, limits::TEXT, markdown_to_adf, |doc| {
                    limits::java_len(&doc.to_string())
                })
                .unwrap_or_else(|| markdown_to_adf(""))
            }
            JiraApiVersion::V2 => Value::String(
                limits::fit_markdown(markdown, limits::TEXT, markdown_to_wiki, |s| {
                    limits::java_len(s)
                })
                .unwrap_or_default(),
            ),
        }
    }

    /// Creates one issue. Sent once, never retried (see the module note).
    pub async fn create_issue(&self, fields: &NewIssueFields) -> Result<CreatedIssue, JiraError> {
        let body = CreateIssueRequest { fields };
        let text = self.send_once(Method::POST, "issue", Some(&body)).await?;
        decode("POST /issue", &text)
    }

    /// Creates up to [`BULK_LIMIT`] issues in one call. Returns one result per request
    /// element, in request order: Jira lists created issues in order, skipping failed ones,
    /// and names failures by `failedElementNumber`.
    pub async fn create_issues_bulk(
        &self,
        issues: &[NewIssueFields],
    ) -> Result<Vec<BulkItem>, JiraError> {
        const CALL: &str = "POST /issue/bulk";
        if issues.len() > BULK_LIMIT {
            return Err(JiraError::Protocol {
                call: CALL.into(),
                reason: format!("{} issues, Jira takes at most {BULK_LIMIT}", issues.len()),
            });
        }
        let body = BulkCreateRequest {
            issue_updates: issues
                .iter()
                .map(|fields| CreateIssueRequest { fields })
                .collect(),
        };
        let (status, headers, text) = self
            .send_raw(Method::POST, "issue/bulk", Some(&body))
            .await?;
        // Jira answers 201 when something was created and 400 when nothing was, both with the
        // same body; anything else (or a 400 without that body) is a plain error.
        let parsed: Option<CreatedIssues> = serde_json::from_str(&text).ok();
        match parsed {
            Some(created)
                if status.is_success()
                    || status == StatusCode::BAD_REQUEST && !created.errors.is_empty() =>
            {
                pair_bulk_results(issues.len(), created).map_err(|reason| JiraError::Protocol {
                    call: CALL.into(),
                    reason,
                })
            }
            _ if status.is_success() => Err(JiraError::Decode {
                call: CALL.into(),
                reason: "body is not a CreatedIssues document".into(),
            }),
            _ => Err(JiraError::from_response(CALL, status, &headers, &text)),
        }
    }

    /// One issue with the given fields (empty: Jira's default set).
    pub async fn get_issue(&self, key: &str, fields: &[&str]) -> Result<Issue, JiraError> {
        let path = format!("issue/{}", path_segment(key));
        let fields = fields.join(",");
        let query: Vec<(&str, &str)> = if fields.is_empty() {
            vec![]
        } else {
            vec![("fields", fields.as_str())]
        };
        self.policy
            .run("GET /issue/{key}", || async {
                let text = self.send_query(Method::GET, &path, &query).await?;
                decode("GET /issue/{key}", &text)
            })
            .await
    }

    /// Every issue matching `jql`, all pages: `/search/jql` with `nextPageToken` on v3,
    /// `/search` with `startAt` on v2.
    pub async fn search_all(&self, jql: &str, fields: &[&str]) -> Result<Vec<Issue>, JiraError> {
        self.search_all_paged(jql, fields, SEARCH_PAGE_SIZE).await
    }

    /// [`Self::search_all`] asking for read-after-write consistency of the issues with
    /// these ids (Cloud's `reconcileIssues`, at most [`MAX_RECONCILE`] of them; Atlassian's
    /// "search and reconcile" guide). Data Center's `/search` has no such parameter: there
    /// the ids are ignored and the caller reads known issues directly.
    pub async fn search_all_reconciled(
        &self,
        jql: &str,
        fields: &[&str],
        reconcile: &[u64],
    ) -> Result<Vec<Issue>, JiraError> {
        let ids = &reconcile[..reconcile.len().min(MAX_RECONCILE)];
        self.search_pages(jql, fields, SEARCH_PAGE_SIZE, ids, None)
            .await
    }

    /// [`Self::search_all`] with an explicit page size.
    pub async fn search_all_paged(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: u32,
    ) -> Result<Vec<Issue>, JiraError> {
        self.search_pages(jql, fields, page_size, &[], None).await
    }

    /// Every page of a search (pages of [`SEARCH_PAGE_SIZE`]) until `stop` says a page is
    /// the last one needed (after that page), or the results end.
    pub async fn search_until(
        &self,
        jql: &str,
        fields: &[&str],
        stop: &(dyn Fn(&[Issue]) -> bool + Send + Sync),
    ) -> Result<Vec<Issue>, JiraError> {
        self.search_pages(jql, fields, SEARCH_PAGE_SIZE, &[], Some(stop))
            .await
    }

    /// Every page of a search, one [`Self::page`] after another from the first, until the
    /// results end (the page's own rule, the same as [`Self::search_page`]'s) or `stop`
    /// says a page is the last one needed. More than [`MAX_PAGES`] pages is a
    /// [`JiraError::Protocol`].
    async fn search_pages(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: u32,
        reconcile: &[u64],
        stop: PageStop<'_>,
    ) -> Result<Vec<Issue>, JiraError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (issues, next) = self
                .page(jql, fields, page_size, cursor.as_deref(), reconcile)
                .await?;
            let enough = stop.is_some_and(|f| f(&issues));
            all.extend(issues);
            match next {
                Some(next) if !enough => cursor = Some(next),
                _ => return Ok(all),
            }
        }
        Err(JiraError::Protocol {
            call: self.search_call().into(),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// The search call of this flavour, as errors name it.
    fn search_call(&self) -> &'static str {
        match self.version {
            JiraApiVersion::V3 => "POST /search/jql",
            JiraApiVersion::V2 => "POST /search",
        }
    }

    /// One page of a search, from `cursor` (`None`: the first page), and the cursor of the
    /// next page (`None`: this was the last). v3: `POST /search/jql`, the cursor is Jira's
    /// `nextPageToken` and the page ends the search when `isLast` is true or no token
    /// comes back; v2: `POST /search`, the cursor is the next `startAt` (decimal), and the
    /// search ends when a page is empty or `startAt + issues` reaches `total`
    /// (<https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/>,
    /// Data Center's `/rest/api/2/search`). A v2 cursor that is not a number is a
    /// [`JiraError::Protocol`].
    pub async fn search_page(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Issue>, Option<String>), JiraError> {
        self.page(jql, fields, page_size, cursor, &[]).await
    }

    /// [`Self::search_page`] with Cloud's `reconcileIssues` (v3 only; Data Center has none).
    async fn page(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: u32,
        cursor: Option<&str>,
        reconcile: &[u64],
    ) -> Result<(Vec<Issue>, Option<String>), JiraError> {
        let call = self.search_call();
        match self.version {
            JiraApiVersion::V3 => {
                let body = SearchJqlRequest {
                    jql,
                    fields,
                    max_results: page_size,
                    next_page_token: cursor.map(str::to_owned),
                    reconcile_issues: reconcile,
                };
                let page: SearchJqlResponse = self
                    .policy
                    .run(call, || async {
                        let text = self
                            .send_once(Method::POST, "search/jql", Some(&body))
                            .await?;
                        decode(call, &text)
                    })
                    .await?;
                let next = match page.next_page_token {
                    Some(t) if page.is_last != Some(true) && !page.issues.is_empty() => Some(t),
                    _ => None,
                };
                Ok((page.issues, next))
            }
            JiraApiVersion::V2 => {
                let start_at = match cursor {
                    None => 0,
                    Some(c) => c.parse::<u32>().map_err(|_| JiraError::Protocol {
                        call: call.into(),
                        reason: format!("page cursor {c:?} is not a startAt"),
                    })?,
                };
                let body = SearchRequest {
                    jql,
                    start_at,
                    max_results: page_size,
                    fields,
                };
                let page: SearchResponse = self
                    .policy
                    .run(call, || async {
                        let text = self.send_once(Method::POST, "search", Some(&body)).await?;
                        decode(call, &text)
                    })
                    .await?;
                let got = u32::try_from(page.issues.len()).unwrap_or(u32::MAX);
                let reached = start_at.saturating_add(got);
                let next = (got > 0 && u64::from(reached) < u64::from(page.total))
                    .then(|| reached.to_string());
                Ok((page.issues, next))
            }
        }
    }

    /// Adds or updates (same `globalId`) a remote link; safe to retry.
    pub async fn put_remote_link(
        &self,
        key: &str,
        link: &RemoteLinkRequest,
    ) -> Result<RemoteLinkIds, JiraError> {
        const CALL: &str = "POST /issue/{key}/remotelink";
        let path = format!("issue/{}/remotelink", path_segment(key));
        self.policy
            .run(CALL, || async {
                let text = self.send_once(Method::POST, &path, Some(link)).await?;
                decode(CALL, &text)
            })
            .await
    }

    /// The issue's remote link with this `globalId` (`GET /issue/{key}/remotelink?globalId=`,
    /// one `RemoteIssueLink`); `None` when Jira answers 404 (no such link).
    pub async fn remote_link_by_global_id(
        &self,
        key: &str,
        global_id: &str,
    ) -> Result<Option<RemoteLink>, JiraError> {
        const CALL: &str = "GET /issue/{key}/remotelink?globalId";
        let path = format!("issue/{}/remotelink", path_segment(key));
        let found = self
            .policy
            .run(CALL, || async {
                let text = self
                    .send_query(Method::GET, &path, &[("globalId", global_id)])
                    .await?;
                decode(CALL, &text)
            })
            .await;
        match found {
            Ok(link) => Ok(Some(link)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Transitions available from the issue's current status.
    pub async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError> {
        const CALL: &str = "GET /issue/{key}/transitions";
        let path = format!("issue/{}/transitions", path_segment(key));
        let t: Transitions = self
            .policy
            .run(CALL, || async {
                let text = self.send_query(Method::GET, &path, &[]).await?;
                decode(CALL, &text)
            })
            .await?;
        Ok(t.transitions)
    }

    /// Performs a transition by id. Sent once.
    pub async fn transition(&self, key: &str, transition_id: &str) -> Result<(), JiraError> {
        let path = format!("issue/{}/transitions", path_segment(key));
        let body = TransitionRequest {
            transition: TransitionId {
                id: transition_id.to_owned(),
            },
        };
        let (status, headers, text) = self.send_raw(Method::POST, &path, Some(&body)).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(JiraError::from_response(
                "POST /issue/{key}/transitions",
                status,
                &headers,
                &text,
            ))
        }
    }

    /// Adds a comment written in Markdown (converted for this flavour). Sent once.
    pub async fn add_comment(&self, key: &str, markdown: &str) -> Result<Comment, JiraError> {
        let path = format!("issue/{}/comment", path_segment(key));
        let body = CommentRequest {
            body: self.body_from_markdown(markdown),
        };
        let text = self.send_once(Method::POST, &path, Some(&body)).await?;
        decode("POST /issue/{key}/comment", &text)
    }

    /// Edits an issue (`PUT /issue/{key}` with `{"fields": …}`); setting fields is
    /// idempotent, so it goes through the retry policy.
    pub async fn edit_issue(&self, key: &str, fields: &Value) -> Result<(), JiraError> {
        let path = format!("issue/{}", path_segment(key));
        let body = serde_json::json!({ "fields": fields });
        self.put_no_content("PUT /issue/{key}", &path, &body).await
    }

    /// Sets or clears the assignee (`PUT /issue/{key}/assignee`): v3 by `accountId`, v2 by
    /// `name`. Idempotent, so retried.
    pub async fn assign_issue(&self, key: &str, account: Option<&str>) -> Result<(), JiraError> {
        let path = format!("issue/{}/assignee", path_segment(key));
        let field = match self.version {
            JiraApiVersion::V3 => "accountId",
            JiraApiVersion::V2 => "name",
        };
        let body = serde_json::json!({ field: account });
        self.put_no_content("PUT /issue/{key}/assignee", &path, &body)
            .await
    }

    /// The calling account (`GET /myself`).
    pub async fn myself(&self) -> Result<Myself, JiraError> {
        const CALL: &str = "GET /myself";
        self.policy
            .run(CALL, || async {
                let text = self.send_query(Method::GET, "myself", &[]).await?;
                decode(CALL, &text)
            })
            .await
    }

    async fn put_no_content(&self, call: &str, path: &str, body: &Value) -> Result<(), JiraError> {
        self.policy
            .run(call, || async {
                let (status, headers, text) = self.send_raw(Method::PUT, path, Some(body)).await?;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(JiraError::from_response(call, status, &headers, &text))
                }
            })
            .await
    }

    /// The path of an API call from the site's root (`/rest/api/3/issue/bulk`).
    fn api_path(&self, path: &str) -> String {
        format!(
            "/rest/api/{}/{}",
            self.version.number(),
            path.trim_start_matches('/')
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}/rest/api/{}/{path}", self.base, self.version.number())
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(auth) = self.credentials.header_value() {
            req = req.header(AUTHORIZATION, auth);
        }
        req
    }

    /// One attempt; an error status becomes a [`JiraError::Status`].
    async fn send_once<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<String, JiraError> {
        let call = format!("{method} /{path}");
        let (status, headers, text) = self.send_raw(method, path, body).await?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(JiraError::from_response(&call, status, &headers, &text))
        }
    }

    async fn send_query(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<String, JiraError> {
        let call = format!("{method} /{path}");
        self.limiter.until_key_ready(&self.host).await;
        let resp = self
            .request(method, path)
            .query(query)
            .send()
            .await
            .map_err(|e| {
                record(&self.host, &call, &self.api_path(path), None, None);
                transport(&call, &e)
            })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        record(
            &self.host,
            &call,
            &self.api_path(path),
            Some(status.as_u16()),
            Some(&headers),
        );
        let text = resp.text().await.map_err(|e| transport(&call, &e))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(JiraError::from_response(&call, status, &headers, &text))
        }
    }

    async fn send_raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), JiraError> {
        let call = format!("{method} /{path}");
        self.limiter.until_key_ready(&self.host).await;
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| {
            record(&self.host, &call, &self.api_path(path), None, None);
            transport(&call, &e)
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        record(
            &self.host,
            &call,
            &self.api_path(path),
            Some(status.as_u16()),
            Some(&headers),
        );
        let text = resp.text().await.map_err(|e| transport(&call, &e))?;
        tracing::debug!(call = %call, status = status.as_u16(), "jira call");
        Ok((status, headers, text))
    }
}

/// Counts one call for `/metrics` (`call` is `METHOD …`, `path` the path from the site's
/// root; `status` `None` when no answer came) and the rate limit the answer reports left.
fn record(
    host: &str,
    call: &str,
    path: &str,
    status: Option<u16>,
    headers: Option<&reqwest::header::HeaderMap>,
) {
    let method = call.split_once(' ').map_or("?", |(m, _)| m);
    crate::metrics::api::record_call(host, method, path, status);
    if let Some(h) = headers {
        crate::metrics::api::record_rate_limit(host, h);
    }
}

fn transport(call: &str, err: &reqwest::Error) -> JiraError {
    JiraError::Transport {
        call: call.to_owned(),
        reason: crate::retry::error_chain(err),
        unreachable: crate::retry::is_unreachable(err),
    }
}

fn decode<T: DeserializeOwned>(call: &str, text: &str) -> Result<T, JiraError> {
    serde_json::from_str(text).map_err(|e| JiraError::Decode {
        call: call.to_owned(),
        reason: e.to_string(),
    })
}

/// An issue key or id as one URL path segment (keys are `[A-Z0-9_]+-\d+`, but a key that
/// came from outside must not be able to change the path).
fn path_segment(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pairs a bulk answer with the request: element `i` failed if some error names it,
/// otherwise it is the next created issue.
fn pair_bulk_results(requested: usize, created: CreatedIssues) -> Result<Vec<BulkItem>, String> {
    let mut failures: Vec<Option<BulkElementError>> = (0..requested).map(|_| None).collect();
    for err in created.errors {
        let n = err.failed_element_number;
        let slot = failures
            .get_mut(n)
            .ok_or_else(|| format!("failedElementNumber {n} outside the {requested} requested"))?;
        *slot = Some(err);
    }
    let expected_ok = failures.iter().filter(|f| f.is_none()).count();
    if expected_ok != created.issues.len() {
        return Err(format!(
            "{} issues created but {expected_ok} requests did not fail",
            created.issues.len()
        ));
    }
    let mut issues = created.issues.into_iter();
    let mut out = Vec::with_capacity(requested);
    for failure in failures {
        match failure {
            Some(err) => out.push(Err(err)),
            None => match issues.next() {
                Some(issue) => out.push(Ok(issue)),
                None => return Err("fewer issues than successful elements".into()),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::jira::model::ErrorCollection;

    fn created(key: &str) -> CreatedIssue {
        CreatedIssue {
            id: key.into(),
            key: key.into(),
            self_url: String::new(),
        }
    }

    fn failed(n: usize) -> BulkElementError {
        BulkElementError {
            status: Some(400),
            element_errors: ErrorCollection::default(),
            failed_element_number: n,
        }
    }

    #[test]
    fn bulk_results_follow_request_order() {
        let answer = CreatedIssues {
            issues: vec![created("A-1"), created("A-2")],
            errors: vec![failed(1)],
        };
        let out = pair_bulk_results(3, answer).expect("paired");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().map(|i| i.key.as_str()).ok(), Some("A-1"));
        assert!(out[1].is_err());
        assert_eq!(out[2].as_ref().map(|i| i.key.as_str()).ok(), Some("A-2"));
    }

    #[test]
    fn bulk_results_reject_inconsistent_answers() {
        let too_many = CreatedIssues {
            issues: vec![created("A-1"), created("A-2")],
            errors: vec![failed(0)],
        };
        assert!(pair_bulk_results(2, too_many).is_err());
        let out_of_range = CreatedIssues {
            issues: vec![],
            errors: vec![failed(5)],
        };
        assert!(pair_bulk_results(1, out_of_range).is_err());
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(path_segment("SRE-12"), "SRE-12");
        assert_eq!(path_segment("../x y"), "%2E%2E%2Fx%20y");
    }
}
