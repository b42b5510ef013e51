//! `[limits.github]` and `[limits.jira]`: how fast the daemon may call each host.
//!
//! The defaults are the hosts' published limits, so the daemon paces itself before the host
//! has to say no (a `Retry-After` or rate-limit answer is still honoured by `crate::retry`):
//! * GitHub's secondary rate limits ("Rate limits for the REST API",
//!   <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>):
//!   no more than 100 concurrent requests, no more than 80 content-creating requests a
//!   minute and no more than 500 an hour, and no more than 2,000 GraphQL points a minute
//!   (<https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits>).
//! * Jira Cloud's burst rate limits ("Rate limiting",
//!   <https://developer.atlassian.com/cloud/jira/platform/rate-limiting/>): the budgets are
//!   cost-based and not published as numbers; API-token traffic is governed by per-second
//!   burst limits, and the page's worked example puts one budget at 10 calls a second. Data
//!   Center's admin-set limits are commonly about 10 a second per user
//!   (<https://confluence.atlassian.com/adminjiraserver/improving-instance-stability-with-rate-limiting-983794911.html>).
//!   Default: 10 requests a second, bursts of 20.
//!
//! A large `backfill` runs at these limits, and says up front how long they make it take.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;

/// GitHub's published cap on concurrent requests.
pub const GITHUB_CONCURRENT: usize = 100;
/// GitHub's published content-creating requests a minute.
pub const GITHUB_CONTENT_PER_MINUTE: u32 = 80;
/// GitHub's published content-creating requests an hour.
pub const GITHUB_CONTENT_PER_HOUR: u32 = 500;
/// GitHub's published GraphQL points a minute.
pub const GITHUB_GRAPHQL_POINTS_PER_MINUTE: u32 = 2000;
/// Default steady pace of Jira calls, a second (see the module note).
pub const JIRA_REQUESTS_PER_SECOND: u32 = 10;
/// Default burst of Jira calls above the steady pace.
pub const JIRA_BURST: u32 = 20;

/// `[limits]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// `[limits.github]`.
    pub github: GithubLimits,
    /// `[limits.jira]`.
    pub jira: JiraLimits,
}

/// `[limits.github]`: GitHub's secondary limits (defaults: the published ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GithubLimits {
    /// Requests in flight at once. Default 100.
    pub concurrent: usize,
    /// Content-creating requests (POST, PATCH, PUT, DELETE, GraphQL mutations) a minute.
    /// Default 80.
    pub content_per_minute: u32,
    /// Content-creating requests an hour. Default 500.
    pub content_per_hour: u32,
    /// Content-creating requests that may go at once before the per-minute pace applies.
    /// Default: `content_per_minute` (GitHub counts over the minute).
    pub content_burst: Option<u32>,
    /// GraphQL points a minute (a query costs 1, a mutation 5). Default 2,000.
    pub graphql_points_per_minute: u32,
}

impl Default for GithubLimits {
    fn default() -> Self {
        Self {
            concurrent: GITHUB_CONCURRENT,
            content_per_minute: GITHUB_CONTENT_PER_MINUTE,
            content_per_hour: GITHUB_CONTENT_PER_HOUR,
            content_burst: None,
            graphql_points_per_minute: GITHUB_GRAPHQL_POINTS_PER_MINUTE,
        }
    }
}

/// `[limits.jira]`: the pace of Jira calls, per Jira host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JiraLimits {
    /// Steady requests a second. Default 10.
    pub requests_per_second: u32,
    /// Requests that may go at once above the steady pace. Default 20.
    pub burst: u32,
}

impl Default for JiraLimits {
    fn default() -> Self {
        Self {
            requests_per_second: JIRA_REQUESTS_PER_SECOND,
            burst: JIRA_BURST,
        }
    }
}

impl GithubLimits {
    /// The content burst in force (`content_burst`, else `content_per_minute`).
    pub fn burst(&self) -> u32 {
        self.content_burst.unwrap_or(self.content_per_minute)
    }
}

/// How long `writes` content-creating GitHub requests take at these limits, from a rested
/// limiter: each limit lets its burst go at once, then spreads the rest evenly (governor's
/// GCRA); the slower of the per-minute and per-hour limits decides. Pure.
pub fn github_writes_take(limits: &GithubLimits, writes: u64) -> Duration {
    let minute = paced(writes, limits.burst(), limits.content_per_minute, 60);
    let hour = paced(
        writes,
        limits.content_per_hour,
        limits.content_per_hour,
        3600,
    );
    minute.max(hour)
}

/// How long `calls` Jira requests take at these limits, from a rested limiter. Pure.
pub fn jira_calls_take(limits: &JiraLimits, calls: u64) -> Duration {
    paced(calls, limits.burst, limits.requests_per_second, 1)
}

/// `n` events under a quota of `per` per `period_secs` with a burst of `burst`.
fn paced(n: u64, burst: u32, per: u32, period_secs: u64) -> Duration {
    let beyond = n.saturating_sub(u64::from(burst.max(1)));
    let per = u64::from(per.max(1));
    Duration::from_secs_f64(beyond as f64 * period_secs as f64 / per as f64)
}

impl LimitsConfig {
    /// Every problem with `[limits]`, each naming its key: a zero is an error (nothing
    /// would ever go out); a value above the host's published limit is a warning (the host
    /// will answer with rate-limit errors, which cost retries).
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let g = &self.github;
        let zero = |key: &str, v: u64, out: &mut Vec<ConfigProblem>| {
            if v == 0 {
                out.push(ConfigProblem::error(
                    key,
                    "is 0: no call would ever go out; use at least 1",
                ));
            }
        };
        zero("limits.github.concurrent", g.concurrent as u64, &mut out);
        zero(
            "limits.github.content_per_minute",
            g.content_per_minute.into(),
            &mut out,
        );
        zero(
            "limits.github.content_per_hour",
            g.content_per_hour.into(),
            &mut out,
        );
        zero("limits.github.content_burst", g.burst().into(), &mut out);
        zero(
            "limits.github.graphql_points_per_minute",
            g.graphql_points_per_minute.into(),
            &mut out,
        );
        zero(
            "limits.jira.requests_per_second",
            self.jira.requests_per_second.into(),
            &mut out,
        );
        zero("limits.jira.burst", self.jira.burst.into(), &mut out);
        let above =
            |key: &str, v: u64, published: u64, what: &str, out: &mut Vec<ConfigProblem>| {
                if v > published {
                    out.push(ConfigProblem::warning(
                    key,
                    format!(
                        "is {v}, above GitHub's published secondary limit of {published} {what}: \
                         GitHub will answer 403/429 and the daemon will wait it out \
                         (docs.github.com, \"Rate limits for the REST API\")"
                    ),
                ));
                }
            };
        above(
            "limits.github.concurrent",
            g.concurrent as u64,
            GITHUB_CONCURRENT as u64,
            "concurrent requests",
            &mut out,
        );
        above(
            "limits.github.content_per_minute",
            g.content_per_minute.into(),
            GITHUB_CONTENT_PER_MINUTE.into(),
            "content-creating requests a minute",
            &mut out,
        );
        above(
            "limits.github.content_per_hour",
            g.content_per_hour.into(),
            GITHUB_CONTENT_PER_HOUR.into(),
            "content-creating requests an hour",
            &mut out,
        );
        above(
            "limits.github.graphql_points_per_minute",
            g.graphql_points_per_minute.into(),
            GITHUB_GRAPHQL_POINTS_PER_MINUTE.into(),
            "GraphQL points a minute",
            &mut out,
        );
        if g.content_burst.is_some_and(|b| b > g.content_per_minute) {
            out.push(ConfigProblem::warning(
                "limits.github.content_burst",
                format!(
                    "is above content_per_minute ({}): a burst that large breaks the per-minute limit",
                    g.content_per_minute
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;

    #[test]
    fn defaults_are_the_published_limits_and_raise_nothing() {
        let l = LimitsConfig::default();
        assert_eq!(
            (
                l.github.concurrent,
                l.github.content_per_minute,
                l.github.content_per_hour,
                l.github.burst(),
                l.github.graphql_points_per_minute
            ),
            (100, 80, 500, 80, 2000)
        );
        assert_eq!((l.jira.requests_per_second, l.jira.burst), (10, 20));
        assert!(l.problems().is_empty());
    }

    #[test]
    fn zeros_are_errors_and_values_above_the_published_limits_warnings() {
        let l = LimitsConfig {
            github: GithubLimits {
                concurrent: 0,
                content_per_minute: 100,
                content_per_hour: 0,
                content_burst: Some(200),
                graphql_points_per_minute: 2000,
            },
            jira: JiraLimits {
                requests_per_second: 0,
                burst: 20,
            },
        };
        let got: Vec<(String, Severity)> = l
            .problems()
            .into_iter()
            .map(|p| (p.key, p.severity))
            .collect();
        for (key, sev) in [
            ("limits.github.concurrent", Severity::Error),
            ("limits.github.content_per_hour", Severity::Error),
            ("limits.jira.requests_per_second", Severity::Error),
            ("limits.github.content_per_minute", Severity::Warning),
            ("limits.github.content_burst", Severity::Warning),
        ] {
            assert!(
                got.iter().any(|(k, s)| k == key && *s == sev),
                "{key} {sev:?} in {got:?}"
            );
        }
        assert_eq!(got.len(), 5, "{got:?}");
    }

    #[test]
    fn the_slower_limit_decides_how_long_writes_take() {
        let g = GithubLimits::default();
        // Within the burst: at once.
        assert_eq!(github_writes_take(&g, 80), Duration::ZERO);
        // 160 writes: 80 beyond the minute's burst at 80 a minute = 1 min; the hour's 500
        // burst covers them.
        assert_eq!(github_writes_take(&g, 160), Duration::from_secs(60));
        // 1,500 writes: the hour decides: 1,000 beyond its burst at 500 an hour = 2 h.
        assert_eq!(github_writes_take(&g, 1500), Duration::from_secs(7200));
        let j = JiraLimits::default();
        assert_eq!(jira_calls_take(&j, 120), Duration::from_secs(10));
    }

    proptest::proptest! {
        /// More writes never take less time, whatever the limits.
        #[test]
        fn more_writes_never_take_less(
            per_minute in 1_u32..1000, per_hour in 1_u32..10_000, burst in 1_u32..1000,
            n in 0_u64..100_000, more in 0_u64..1000,
        ) {
            let g = GithubLimits {
                content_per_minute: per_minute,
                content_per_hour: per_hour,
                content_burst: Some(burst),
                ..GithubLimits::default()
            };
            proptest::prop_assert!(github_writes_take(&g, n) <= github_writes_take(&g, n + more));
        }
    }
}
