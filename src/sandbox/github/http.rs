//! What every GitHub REST answer has in common: the error shape, authentication, rate-limit
//! and request-id headers, weak ETags with `If-None-Match` → 304, and `Link` pagination.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::GithubHub;
use super::app::TokenCheck;

/// GitHub's documentation link in error bodies.
const DOCS: &str = "https://docs.github.com/rest";
/// The primary rate limit GitHub gives a token per hour (shown, not enforced: use faults
/// to test limits).
const RATE_LIMIT: u64 = 5000;
/// Length of one rate-limit window, in seconds.
const RATE_WINDOW_SECS: u64 = 3600;
/// Largest body the sandbox buffers to compute an ETag.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// An error answered in GitHub's shape: `{"message","documentation_url","status"}` and, for
/// 422, `errors`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<Value>,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            errors: Vec::new(),
        }
    }

    /// `404 Not Found`, as GitHub answers for anything missing or hidden.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// `400 Problems parsing JSON`.
    pub fn bad_json() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Problems parsing JSON")
    }

    /// `422 Validation Failed` naming the field and GitHub's error code.
    pub fn validation(resource: &str, field: &str, code: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "Validation Failed".into(),
            errors: vec![json!({ "resource": resource, "field": field, "code": code })],
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "documentation_url": DOCS,
            "status": self.status.as_u16().to_string(),
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// Parses a JSON body, answering GitHub's 400 on malformed JSON.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_json())
}

/// Parses an issue or comment number from the path (GitHub answers 404 for garbage).
pub fn number(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::not_found())
}

/// The primary rate-limit counter shown in `x-ratelimit-*`.
#[derive(Debug, Default)]
pub struct RateCounter {
    window: AtomicU64,
    used: AtomicU64,
}

impl RateCounter {
    /// Counts one request; returns (used, reset epoch seconds).
    fn count(&self) -> (u64, u64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let window = now / RATE_WINDOW_SECS;
        if self.window.swap(window, Ordering::SeqCst) != window {
            self.used.store(0, Ordering::SeqCst);
        }
        let used = self.used.fetch_add(1, Ordering::SeqCst) + 1;
        (used, (window + 1) * RATE_WINDOW_SECS)
    }
}

fn request_id() -> String {
    let r: [u16; 2] = rand::random();
    let r2: [u32; 2] = rand::random();
    format!(
        "{:04X}:{:04X}:{:06X}:{:07X}:{:08X}",
        r[0],
        r[1],
        r2[0] & 0xff_ffff,
        r2[1] & 0xfff_ffff,
        r2[0]
    )
}

/// The token in `Authorization: Bearer X` or `token X`.
fn token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The layer over GitHub REST routes: authentication, then headers and ETags on the answer.
pub async fn layer(State(hub): State<Arc<GithubHub>>, req: Request, next: Next) -> Response {
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let is_get = req.method() == Method::GET;
    let app_check = token(req.headers()).map(|t| hub.app.check(t));
    let mut resp = match token(req.headers()) {
        None => ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication").into_response(),
        Some(_) if app_check == Some(TokenCheck::Refused) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials").into_response()
        }
        Some(_) if app_check == Some(TokenCheck::Live) && req.uri().path() == "/user" => {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "Resource not accessible by integration",
            )
            .into_response()
        }
        Some(_) if app_check == Some(TokenCheck::Live) => next.run(req).await,
        Some(t) if hub.bot_token.as_deref().is_some_and(|want| want != t) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials").into_response()
        }
        Some(_) => next.run(req).await,
    };
    if is_get && resp.status() == StatusCode::OK {
        resp = with_etag(resp, if_none_match).await;
    }
    let (used, reset) = hub.rate.count();
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    h.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(RATE_LIMIT.saturating_sub(used)),
    );
    h.insert("x-ratelimit-reset", HeaderValue::from(reset));
    h.insert("x-ratelimit-used", HeaderValue::from(used));
    h.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    // Classic tokens see their scopes on every answer; fine-grained and App tokens do not.
    if let Some(v) = hub
        .admin
        .scopes()
        .and_then(|s| HeaderValue::from_str(&s).ok())
    {
        h.insert("x-oauth-scopes", v);
    }
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    h.insert(
        "x-github-media-type",
        HeaderValue::from_static("github.v3; format=json"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-github-request-id", v);
    }
    resp
}

/// Adds `ETag: W/"sha256"` over the body; answers 304 when `If-None-Match` has it.
async fn with_etag(resp: Response, if_none_match: Option<HeaderValue>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Server Error").into_response();
    };
    let etag = format!("W/\"{}\"", hex::encode(Sha256::digest(&bytes)));
    let matches = if_none_match
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                t.trim() == "*"
                    || t.trim().trim_start_matches("W/") == etag.trim_start_matches("W/")
            })
        });
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60, s-maxage=60"),
    );
    parts.headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization, Cookie, X-GitHub-OTP"),
    );
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `page` and `per_page` from the query (GitHub: default 30, at most 100).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page.
    pub page: usize,
    /// Items per page.
    pub per_page: usize,
}

impl Page {
    /// Items before this page.
    pub fn skip(&self) -> usize {
        self.page.saturating_sub(1).saturating_mul(self.per_page)
    }

    /// Reads `page`/`per_page` from query pairs.
    pub fn from_query(q: &[(String, String)]) -> Self {
        let get = |k: &str| {
            q.iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        Self {
            page: get("page").unwrap_or(1).max(1),
            per_page: get("per_page").unwrap_or(30).clamp(1, 100),
        }
    }
}

/// Query pairs of a raw query string.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// One page of `items` as a JSON answer with GitHub's `Link` header (`next`/`last`, and
/// `prev`/`first` after the first page). `url` is the request's URL without query.
pub fn paginate(items: Vec<Value>, page: Page, url: &str, query: &[(String, String)]) -> Response {
    let total = items.len();
    let chunk: Vec<Value> = items
        .into_iter()
        .skip(page.skip())
        .take(page.per_page)
        .collect();
    paginated(total, chunk, page, url, query)
}

/// [`paginate`] for a listing rendered only on the page asked for (`chunk`, the items
/// `page.skip()..` of `total`): a page of 100 out of 10,000 issues renders 100.
pub fn paginated(
    total: usize,
    chunk: Vec<Value>,
    page: Page,
    url: &str,
    query: &[(String, String)],
) -> Response {
    let last = total.div_ceil(page.per_page).max(1);
    let link_to = |p: usize| {
        let mut pairs: Vec<(String, String)> =
            query.iter().filter(|(k, _)| k != "page").cloned().collect();
        pairs.push(("page".into(), p.to_string()));
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("<{url}?{q}>")
    };
    let mut links = Vec::new();
    if page.page > 1 {
        links.push(format!(
            "{}; rel=\"prev\"",
            link_to((page.page - 1).min(last))
        ));
    }
    if page.page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page.page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page.page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut resp = axum::Json(Value::Array(chunk)).into_response();
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_caps() {
        let q = |s: &str| query_pairs(Some(s));
        let p = Page::from_query(&q(""));
        assert_eq!((p.page, p.per_page), (1, 30));
        let p = Page::from_query(&q("per_page=500&page=0"));
        assert_eq!((p.page, p.per_page), (1, 100));
    }

    #[test]
    fn link_header_has_next_and_last() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let q = query_pairs(Some("per_page=2&state=all"));
        let resp = paginate(items, Page::from_query(&q), "http://x/repos/a/b/issues", &q);
        let link = resp
            .headers()
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert_eq!(
            link,
            "<http://x/repos/a/b/issues?per_page=2&state=all&page=2>; rel=\"next\", \
             <http://x/repos/a/b/issues?per_page=2&state=all&page=3>; rel=\"last\""
        );
    }

    #[test]
    fn reads_both_token_schemes() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("token abc"));
        assert_eq!(token(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(token(&h), Some("xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic xyz"));
        assert_eq!(token(&h), None);
    }
}
