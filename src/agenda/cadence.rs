//! When the council meets: `first_session + k × every` in the council's time zone.
//!
//! Arithmetic is `jiff`'s zoned arithmetic, so "every 2 weeks at 14:00 Europe/Berlin" stays
//! at 14:00 local time across a daylight-saving change (the instant moves by an hour), as a
//! person reading the calendar expects.

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};

use crate::config::AgendaConfig;
use crate::config::agenda::{parse_civil, parse_every};

/// Most sessions walked to find the next one: 100,000 fortnights is ~3,800 years, so only
/// a nonsensical `--at` hits it, and it then gets an error instead of a long loop.
const MAX_SESSIONS: i64 = 100_000;

/// Why the cadence cannot be worked out.
#[derive(Debug, thiserror::Error)]
pub enum CadenceError {
    /// `[agenda] first_session` is not set.
    #[error("[agenda] first_session is not set: the agenda needs to know when sessions are")]
    NoFirstSession,
    /// A value in `[agenda]` does not parse (the message names the key).
    #[error("agenda.{key}: {reason}")]
    Invalid {
        /// The key under `[agenda]`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The date is further from `first_session` than [`MAX_SESSIONS`] sessions, or outside
    /// the range of dates `jiff` handles.
    #[error("{0} is too far from the first session")]
    OutOfRange(Timestamp),
}

/// The council's sessions.
#[derive(Debug, Clone)]
pub struct Cadence {
    first: Zoned,
    every: Span,
}

/// One session, with the one before it (the agenda covers what happened in between).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// 1 for the first session.
    pub number: i64,
    /// When it starts, in the council's time zone.
    pub starts: Zoned,
    /// When the session before started; `None` for the first session.
    pub previous: Option<Zoned>,
}

impl Cadence {
    /// The cadence `[agenda]` describes.
    pub fn from_config(cfg: &AgendaConfig) -> Result<Self, CadenceError> {
        let first = cfg
            .first_session
            .as_deref()
            .ok_or(CadenceError::NoFirstSession)?;
        let civil = parse_civil(first).map_err(|reason| CadenceError::Invalid {
            key: "first_session",
            reason,
        })?;
        let tz = TimeZone::get(&cfg.time_zone).map_err(|e| CadenceError::Invalid {
            key: "time_zone",
            reason: format!("`{}`: {e}", cfg.time_zone),
        })?;
        let first = civil.to_zoned(tz).map_err(|e| CadenceError::Invalid {
            key: "first_session",
            reason: e.to_string(),
        })?;
        let every = parse_every(&cfg.every).map_err(|reason| CadenceError::Invalid {
            key: "every",
            reason,
        })?;
        Ok(Self { first, every })
    }

    /// The council's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        self.first.time_zone()
    }

    /// The start of session `index` (0-based).
    fn start(&self, index: i64) -> Result<Zoned, CadenceError> {
        let out = || CadenceError::OutOfRange(self.first.timestamp());
        let span = self.every.checked_mul(index).map_err(|_| out())?;
        self.first.checked_add(span).map_err(|_| out())
    }

    /// The first session that starts after `at`: the one whose agenda is being prepared.
    /// A session that has started is the record of the past, never the next one.
    pub fn next_after(&self, at: Timestamp) -> Result<Session, CadenceError> {
        let mut previous: Option<Zoned> = None;
        for index in 0..MAX_SESSIONS {
            let starts = self.start(index)?;
            if starts.timestamp() > at {
                return Ok(Session {
                    number: index + 1,
                    starts,
                    previous,
                });
            }
            previous = Some(starts);
        }
        Err(CadenceError::OutOfRange(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cadence(first: &str, tz: &str, every: &str) -> Cadence {
        Cadence::from_config(&AgendaConfig {
            first_session: Some(first.into()),
            time_zone: tz.into(),
            every: every.into(),
            ..AgendaConfig::default()
        })
        .expect("valid cadence")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn before_the_first_session_the_first_is_next() {
        let c = cadence("2026-01-08 14:00", "UTC", "2 weeks");
        let s = c.next_after(ts("2025-12-01T00:00:00Z")).unwrap();
        assert_eq!(s.number, 1);
        assert_eq!(s.previous, None);
        assert_eq!(s.starts.timestamp(), ts("2026-01-08T14:00:00Z"));
    }

    #[test]
    fn a_session_that_started_is_not_next() {
        let c = cadence("2026-01-08 14:00", "UTC", "2 weeks");
        let s = c.next_after(ts("2026-01-08T14:00:00Z")).unwrap();
        assert_eq!(s.number, 2);
        assert_eq!(s.starts.timestamp(), ts("2026-01-22T14:00:00Z"));
        assert_eq!(
            s.previous.map(|p| p.timestamp()),
            Some(ts("2026-01-08T14:00:00Z"))
        );
    }

    #[test]
    fn wall_clock_time_survives_daylight_saving() {
        // Berlin: CET (+01) in March before the 29th, CEST (+02) after.
        let c = cadence("2026-03-19 14:00", "Europe/Berlin", "2 weeks");
        let s = c.next_after(ts("2026-03-20T00:00:00Z")).unwrap();
        assert_eq!(s.starts.datetime().to_string(), "2026-04-02T14:00:00");
        assert_eq!(s.starts.timestamp(), ts("2026-04-02T12:00:00Z"));
        assert_eq!(
            s.previous.map(|p| p.timestamp()),
            Some(ts("2026-03-19T13:00:00Z"))
        );
    }

    #[test]
    fn monthly_cadence_uses_calendar_months() {
        let c = cadence("2026-01-31 09:30", "America/New_York", "1 month");
        let s = c.next_after(ts("2026-02-01T00:00:00Z")).unwrap();
        // Jan 31 + 1 month is clamped to Feb 28.
        assert_eq!(s.starts.datetime().to_string(), "2026-02-28T09:30:00");
    }

    #[test]
    fn missing_first_session_is_a_clear_error() {
        let e = Cadence::from_config(&AgendaConfig::default()).unwrap_err();
        assert!(matches!(e, CadenceError::NoFirstSession));
    }

    proptest::proptest! {
        /// For any instant, the next session starts after it and the previous one did not.
        #[test]
        fn next_session_brackets_the_instant(secs in 1_700_000_000i64..1_900_000_000i64, weeks in 1i64..5) {
            let c = cadence("2024-01-04 15:00", "Europe/Berlin", &format!("{weeks} weeks"));
            let at = Timestamp::from_second(secs).unwrap();
            let s = c.next_after(at).unwrap();
            proptest::prop_assert!(s.starts.timestamp() > at);
            proptest::prop_assert_eq!(s.starts.datetime().time().hour(), 15);
            if let Some(p) = s.previous {
                proptest::prop_assert!(p.timestamp() <= at);
            }
        }
    }
}
