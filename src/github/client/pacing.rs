//! Pacing of GitHub calls under GitHub's secondary rate limits, before GitHub has to say no.
//!
//! GitHub's published secondary limits
//! (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>,
//! <https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits>):
//! no more than 100 concurrent requests; no more than 80 content-creating requests a minute
//! and 500 an hour; no more than 2,000 GraphQL points a minute, where a query costs 1
//! point and a mutation 5 (all set by `[limits.github]`). Every call first takes a
//! concurrency permit; every REST write (POST, PATCH, PUT, DELETE) waits on the per-minute
//! and the per-hour content limiters; every GraphQL document waits on
//! the points limiter for its cost, and a mutation also on the content limiter (it creates
//! content). The limits are fixed quotas (governor's GCRA): a burst up to the quota goes at
//! once, then calls are spread evenly. `Retry-After` and `x-ratelimit-reset` answers, when
//! GitHub still says no, are honoured by `crate::retry`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// GitHub's cap on concurrent requests per token.
pub const MAX_CONCURRENT: usize = 100;
/// Content-creating requests a minute GitHub allows (secondary limit).
pub const CONTENT_PER_MINUTE: u32 = 80;
/// Content-creating requests an hour GitHub allows (secondary limit).
pub const CONTENT_PER_HOUR: u32 = 500;
/// GraphQL points a minute GitHub allows (secondary limit).
pub const GRAPHQL_POINTS_PER_MINUTE: u32 = 2000;
/// Points GitHub charges a GraphQL query against the secondary limit.
pub const QUERY_POINTS: u32 = 1;
/// Points GitHub charges a GraphQL mutation against the secondary limit.
pub const MUTATION_POINTS: u32 = 5;

/// The limits to pace by (defaults: GitHub's published ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingLimits {
    /// Concurrent requests.
    pub concurrent: usize,
    /// Content-creating requests a minute.
    pub content_per_minute: u32,
    /// Content-creating requests an hour.
    pub content_per_hour: u32,
    /// Content-creating requests that may go at once before the per-minute pace applies.
    pub content_burst: u32,
    /// GraphQL points a minute.
    pub graphql_points_per_minute: u32,
}

impl From<&crate::config::GithubLimits> for PacingLimits {
    fn from(l: &crate::config::GithubLimits) -> Self {
        Self {
            concurrent: l.concurrent,
            content_per_minute: l.content_per_minute,
            content_per_hour: l.content_per_hour,
            content_burst: l.burst(),
            graphql_points_per_minute: l.graphql_points_per_minute,
        }
    }
}

impl Default for PacingLimits {
    fn default() -> Self {
        Self {
            concurrent: MAX_CONCURRENT,
            content_per_minute: CONTENT_PER_MINUTE,
            content_per_hour: CONTENT_PER_HOUR,
            content_burst: CONTENT_PER_MINUTE,
            graphql_points_per_minute: GRAPHQL_POINTS_PER_MINUTE,
        }
    }
}

/// What kind of call is about to go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A REST read.
    Read,
    /// A REST write (creates or changes content).
    Write,
    /// A GraphQL query.
    Query,
    /// A GraphQL mutation.
    Mutation,
}

/// Shared pacing state of one GitHub client (and its clones).
#[derive(Debug)]
pub struct Pacer {
    limits: PacingLimits,
    concurrent: Arc<Semaphore>,
    content: DefaultDirectRateLimiter,
    content_hour: DefaultDirectRateLimiter,
    points: DefaultDirectRateLimiter,
    waiting: AtomicU64,
    sent_writes: AtomicU64,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Pacer {
    /// A pacer for these limits.
    pub fn new(limits: PacingLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            concurrent: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            content: RateLimiter::direct(
                per_minute(limits.content_per_minute).allow_burst(nonzero(limits.content_burst)),
            ),
            content_hour: RateLimiter::direct(Quota::per_hour(nonzero(limits.content_per_hour))),
            points: RateLimiter::direct(per_minute(limits.graphql_points_per_minute)),
            waiting: AtomicU64::new(0),
            sent_writes: AtomicU64::new(0),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> PacingLimits {
        self.limits
    }

    /// Waits until a call of `kind` may go out under every limit; hold the slot while the
    /// request is in flight.
    pub async fn admit(&self, kind: CallKind) -> Slot {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        if matches!(kind, CallKind::Write | CallKind::Mutation) {
            self.content_hour.until_ready().await;
            self.content.until_ready().await;
        }
        let points = match kind {
            CallKind::Query => Some(QUERY_POINTS),
            CallKind::Mutation => Some(MUTATION_POINTS),
            _ => None,
        };
        if let Some(n) = points.and_then(NonZeroU32::new) {
            // Err only when `n` exceeds the whole quota, which no limit of ours allows
            // below 5 points a minute: then the call goes out unpaced rather than never.
            let _ = self.points.until_n_ready(n).await;
        }
        let permit = self.concurrent.clone().acquire_owned().await.ok();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if matches!(kind, CallKind::Write | CallKind::Mutation) {
            self.sent_writes.fetch_add(1, Ordering::SeqCst);
        }
        Slot { _permit: permit }
    }

    /// Calls waiting for admission right now (for `/status` and tests).
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Writes (REST writes and GraphQL mutations) admitted so far.
    pub fn writes_admitted(&self) -> u64 {
        self.sent_writes.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_beyond_the_quota_wait_and_reads_do_not() {
        let pacer = Pacer::new(PacingLimits {
            concurrent: 10,
            content_per_minute: 2,
            content_burst: 2,
            ..PacingLimits::default()
        });
        pacer.admit(CallKind::Write).await;
        pacer.admit(CallKind::Mutation).await;
        // Reads are not content-creating: they pass at once.
        pacer.admit(CallKind::Read).await;
        pacer.admit(CallKind::Query).await;
        let p = pacer.clone();
        let third = tokio::spawn(async move { p.admit(CallKind::Write).await });
        // The third write is parked on the limiter (a condition, not a sleep).
        while pacer.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pacer.writes_admitted(), 2);
        assert!(!third.is_finished());
        third.abort();
    }

    #[tokio::test]
    async fn the_hourly_limit_holds_writes_the_minute_would_let_through() {
        let pacer = Pacer::new(PacingLimits {
            content_per_minute: 80,
            content_per_hour: 1,
            content_burst: 80,
            ..PacingLimits::default()
        });
        pacer.admit(CallKind::Write).await;
        let p = pacer.clone();
        let second = tokio::spawn(async move { p.admit(CallKind::Write).await });
        while pacer.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pacer.writes_admitted(), 1);
        assert!(!second.is_finished());
        second.abort();
    }

    #[test]
    fn config_limits_become_pacing_limits() {
        let cfg = crate::config::GithubLimits {
            content_per_minute: 30,
            content_per_hour: 300,
            content_burst: None,
            ..crate::config::GithubLimits::default()
        };
        let p = PacingLimits::from(&cfg);
        assert_eq!(
            (p.content_per_minute, p.content_per_hour, p.content_burst),
            (30, 300, 30)
        );
        assert_eq!(
            PacingLimits::from(&crate::config::GithubLimits::default()),
            PacingLimits::default()
        );
    }

    #[tokio::test]
    async fn concurrency_is_capped() {
        let pacer = Pacer::new(PacingLimits {
            concurrent: 1,
            ..PacingLimits::default()
        });
        let held = pacer.admit(CallKind::Read).await;
        let p = pacer.clone();
        let second = tokio::spawn(async move {
            let _slot = p.admit(CallKind::Read).await;
        });
        while pacer.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!second.is_finished());
        drop(held);
        second
            .await
            .expect("second call admitted once the first is done");
        assert_eq!(pacer.waiting(), 0);
    }
}
