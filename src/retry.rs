//! Retries of outgoing HTTP calls, shared by the GitHub and Jira clients.
//!
//! Why our own and not octocrab's: octocrab's `RetryConfig::Simple` retries POSTs at once,
//! without backoff, which would duplicate an epic or a comment. Here every retry waits: the
//! server's `Retry-After` (seconds or HTTP date) when it sent one, GitHub's
//! `x-ratelimit-reset` when the primary limit is spent, otherwise exponential backoff with
//! full jitter. Only failures retrying can fix are retried (transport errors, 408, 429, 5xx,
//! a rate-limit 403); every other 4xx is returned at once. Callers make writes idempotent
//! (look the marker up before retrying a create): a retry may follow a request that did land.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::config::RetryConfig;

/// What a failed attempt says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryHint {
    /// Retrying cannot help (a 4xx such as 400, 401, 404, 422).
    Never,
    /// Transient: back off and try again.
    Backoff,
    /// The server said when: wait this long (capped by `max_backoff`).
    After(Duration),
}

/// An error that knows whether retrying it can help.
pub trait Retryable {
    /// How to treat this failure.
    fn retry_hint(&self) -> RetryHint;

    /// Whether the host could not be reached at all (connection refused, or its name did
    /// not resolve): [`RetryPolicy::give_up_unreachable`] stops there.
    fn unreachable(&self) -> bool {
        false
    }
}

/// Whether a transport error's chain says the host was not reached: the connection was
/// refused, or the name did not resolve (hyper's connector reports DNS failures as
/// `dns error` / `failed to lookup address`, with no `io::ErrorKind` of their own).
pub fn is_unreachable(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("dns error")
            || text.contains("failed to lookup address")
            || text.contains("connection refused")
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// A transport error's messages, outermost first, joined with `: ` and without repeats
/// (reqwest and hyper each wrap the cause, and each says only its own part).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// How a response status and its headers classify for retrying.
pub fn classify(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> RetryHint {
    let server_wait = retry_after(headers, now).or_else(|| rate_limit_reset(headers, now));
    let transient = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
        // GitHub answers a spent primary or secondary rate limit with 403 and these headers.
        || (status == StatusCode::FORBIDDEN && (server_wait.is_some() || ratelimit_spent(headers)));
    match (transient, server_wait) {
        (false, _) => RetryHint::Never,
        (true, Some(wait)) => RetryHint::After(wait),
        (true, None) => RetryHint::Backoff,
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn ratelimit_spent(headers: &HeaderMap) -> bool {
    header_u64(headers, "x-ratelimit-remaining") == Some(0)
}

/// GitHub's `x-ratelimit-reset` (epoch seconds) when `x-ratelimit-remaining` is 0.
fn rate_limit_reset(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !ratelimit_spent(headers) {
        return None;
    }
    let reset =
        SystemTime::UNIX_EPOCH + Duration::from_secs(header_u64(headers, "x-ratelimit-reset")?);
    Some(reset.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Backoff schedule and attempt budget, from `[retry]` in the config.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts, the first included.
    pub attempts: u32,
    /// Base of the exponential backoff.
    pub initial_backoff: Duration,
    /// Cap of any single wait, `Retry-After` included.
    pub max_backoff: Duration,
    /// Give up at once when a host cannot be reached (refused, or no such name) instead of
    /// spending the attempts: for the interactive commands (`doctor`, `setup`), which
    /// should say in seconds which host is down; the daemon keeps retrying (`false`).
    pub give_up_unreachable: bool,
}

impl From<&RetryConfig> for RetryPolicy {
    fn from(c: &RetryConfig) -> Self {
        Self {
            attempts: c.attempts.max(1),
            initial_backoff: c.initial_backoff,
            max_backoff: c.max_backoff,
            give_up_unreachable: false,
        }
    }
}

impl RetryPolicy {
    /// This policy for an interactive command: an unreachable host fails the call at once
    /// (see [`Self::give_up_unreachable`]); other failures are retried as configured.
    pub fn interactive(self) -> Self {
        Self {
            give_up_unreachable: true,
            ..self
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1) for this hint.
    pub fn delay(&self, attempt: u32, hint: RetryHint) -> Duration {
        match hint {
            RetryHint::Never => Duration::ZERO,
            RetryHint::After(wait) => wait.min(self.max_backoff),
            RetryHint::Backoff => {
                let exp = self
                    .initial_backoff
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
                let cap = exp.min(self.max_backoff);
                // Full jitter: spreads retries of many workers over the window.
                cap.mul_f64(rand::random::<f64>().max(0.1))
            }
        }
    }

    /// Runs `op` until it succeeds, fails with a `Never` hint, or the attempts are spent.
    /// `what` names the call in the log line of each retry.
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut op: F) -> Result<T, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(err) => {
                    let hint = err.retry_hint();
                    if hint == RetryHint::Never
                        || attempt >= self.attempts
                        || (self.give_up_unreachable && err.unreachable())
                    {
                        return Err(err);
                    }
                    let wait = self.delay(attempt, hint);
                    tracing::warn!(call = what, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn classifies_statuses() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let none = HeaderMap::new();
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, &none, now),
            RetryHint::Never
        );
        assert_eq!(
            classify(StatusCode::NOT_FOUND, &none, now),
            RetryHint::Never
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, &none, now),
            RetryHint::Never
        );
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, &none, now),
            RetryHint::Backoff
        );
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &none, now),
            RetryHint::Backoff
        );
        let ra = headers(&[("retry-after", "7")]);
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, &ra, now),
            RetryHint::After(Duration::from_secs(7))
        );
        let spent = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(
            classify(StatusCode::FORBIDDEN, &spent, now),
            RetryHint::After(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:05 GMT")]);
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]);
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
    }

    #[test]
    fn delays_are_capped() {
        let p = RetryPolicy {
            give_up_unreachable: false,
            attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(
            p.delay(1, RetryHint::After(Duration::from_secs(90))),
            Duration::from_secs(1)
        );
        for attempt in 1..20 {
            assert!(p.delay(attempt, RetryHint::Backoff) <= Duration::from_secs(1));
        }
    }

    #[derive(Debug)]
    struct Fail(RetryHint);
    impl std::fmt::Display for Fail {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "fail {:?}", self.0)
        }
    }
    impl Retryable for Fail {
        fn retry_hint(&self) -> RetryHint {
            self.0
        }
    }

    #[tokio::test(start_paused = true)]
    async fn run_stops_on_never_and_after_budget() {
        let p = RetryPolicy {
            give_up_unreachable: false,
            attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(1),
        };
        let mut calls = 0;
        let r: Result<(), Fail> = p
            .run("t", || {
                calls += 1;
                async { Err(Fail(RetryHint::Never)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let r: Result<(), Fail> = p
            .run("t", || {
                calls += 1;
                async { Err(Fail(RetryHint::Backoff)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls, 3);
        let mut calls = 0;
        let r: Result<u32, Fail> = p
            .run("t", || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 2 {
                        Err(Fail(RetryHint::After(Duration::from_secs(2))))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert!(matches!(r, Ok(2)));
    }

    #[derive(Debug)]
    struct Down;
    impl std::fmt::Display for Down {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "down")
        }
    }
    impl Retryable for Down {
        fn retry_hint(&self) -> RetryHint {
            RetryHint::Backoff
        }
        fn unreachable(&self) -> bool {
            true
        }
    }

    /// The daemon spends its attempts on an unreachable host; an interactive command
    /// stops at the first.
    #[tokio::test(start_paused = true)]
    async fn only_interactive_policies_give_up_on_an_unreachable_host() {
        let daemon = RetryPolicy {
            give_up_unreachable: false,
            attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        };
        for (policy, want) in [(daemon.clone(), 6), (daemon.interactive(), 1)] {
            let mut calls = 0;
            let r: Result<(), Down> = policy
                .run("t", || {
                    calls += 1;
                    async { Err(Down) }
                })
                .await;
            assert!(r.is_err());
            assert_eq!(calls, want);
        }
    }

    /// Real transport errors: a closed port (refused) and a name under `.invalid` (which
    /// never resolves, RFC 2606) count as unreachable, and the chain names the cause.
    #[tokio::test]
    async fn refused_and_unresolved_hosts_are_unreachable() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let client = crate::crypto::http_client();
        for url in [
            format!("http://127.0.0.1:{port}/"),
            "http://council-sync-test.invalid/".to_owned(),
        ] {
            let err = client.get(&url).send().await.expect_err("no server");
            assert!(is_unreachable(&err), "{url}: {}", error_chain(&err));
            let chain = error_chain(&err).to_lowercase();
            assert!(
                chain.contains("refused") || chain.contains("dns") || chain.contains("lookup"),
                "{chain}"
            );
        }
        let io = std::io::Error::other("timed out");
        assert!(!is_unreachable(&io));
    }
}
