//! The request log: every API request the sandbox served (GitHub and Jira, never the
//! `/_sandbox/` control routes), numbered in arrival order, so a test or a bench can count
//! the calls one piece of work made (`GET /_sandbox/requests?after=SEQ`).
//!
//! The log keeps the last [`KEPT`] requests; the counters (`total`, per service, reads and
//! writes apart) count every request since the sandbox started.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::http::Method;
use serde::Serialize;

/// Requests kept for listing; older ones are only counted.
pub const KEPT: usize = 20_000;
/// Most entries one listing returns.
pub const PAGE: usize = 5_000;

/// One served request.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    /// Arrival number, from 1.
    pub seq: u64,
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// `github` or `jira` (Jira's paths start with `/rest/`).
    pub service: &'static str,
}

/// Counters since the start.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Every request.
    pub total: u64,
    /// GitHub reads (GET, HEAD).
    pub github_reads: u64,
    /// GitHub writes (POST, PATCH, PUT, DELETE), GraphQL included.
    pub github_writes: u64,
    /// Jira reads (GET, and POST searches: `/search`, `/search/jql`).
    pub jira_reads: u64,
    /// Jira writes.
    pub jira_writes: u64,
}

/// The log.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    counts: Counts,
    kept: VecDeque<Logged>,
}

/// Whether a Jira POST only reads (a JQL search sent as POST, as Cloud's `/search/jql`).
fn jira_post_reads(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or(path);
    p.ends_with("/search") || p.ends_with("/search/jql")
}

impl RequestLog {
    /// Records one request.
    pub fn record(&self, method: &Method, path_and_query: &str) {
        let jira = path_and_query.starts_with("/rest/");
        let read = method == Method::GET
            || method == Method::HEAD
            || (jira && method == Method::POST && jira_post_reads(path_and_query));
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut inner.counts;
        c.total += 1;
        match (jira, read) {
            (false, true) => c.github_reads += 1,
            (false, false) => c.github_writes += 1,
            (true, true) => c.jira_reads += 1,
            (true, false) => c.jira_writes += 1,
        }
        let seq = c.total;
        if inner.kept.len() == KEPT {
            inner.kept.pop_front();
        }
        inner.kept.push_back(Logged {
            seq,
            method: method.as_str().to_owned(),
            path: path_and_query.to_owned(),
            service: if jira { "jira" } else { "github" },
        });
    }

    /// The counters, and the kept requests after `after` (at most [`PAGE`] of them).
    pub fn since(&self, after: u64) -> (Counts, Vec<Logged>) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let listed = inner
            .kept
            .iter()
            .filter(|l| l.seq > after)
            .take(PAGE)
            .cloned()
            .collect();
        (inner.counts.clone(), listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reads_and_writes_per_service_and_lists_after_a_mark() {
        let log = RequestLog::default();
        log.record(&Method::GET, "/repos/a/b/issues?since=x");
        log.record(&Method::POST, "/repos/a/b/issues/1/comments");
        log.record(&Method::POST, "/rest/api/3/search/jql");
        log.record(&Method::POST, "/rest/api/2/issue/bulk");
        let (c, listed) = log.since(2);
        assert_eq!(
            (
                c.total,
                c.github_reads,
                c.github_writes,
                c.jira_reads,
                c.jira_writes
            ),
            (4, 1, 1, 1, 1)
        );
        let seqs: Vec<u64> = listed.iter().map(|l| l.seq).collect();
        assert_eq!(seqs, [3, 4]);
        assert_eq!(listed[0].service, "jira");
    }
}
