//! `[agenda]`: when the council meets and where the agenda of the next session goes.
//!
//! The cadence is civil time in an IANA time zone (`first_session` at 14:00 Europe/Berlin
//! stays at 14:00 across daylight-saving changes), so `first_session` and `every` are kept as
//! text here and turned into `jiff` values by [`crate::agenda::Cadence::from_config`];
//! [`AgendaConfig::problems`] reports every value that would not parse, naming its key.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;

/// Where the agenda is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostTo {
    /// Nowhere: `council-sync agenda` prints it, the daemon posts nothing (the default).
    #[default]
    None,
    /// One issue per session in the council repository, labelled, found again by a hidden
    /// marker and edited in place until the session starts, then left as the record.
    Issue,
}

/// The council's sessions and their agenda.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgendaConfig {
    /// The first session, as civil date and time in `time_zone`: `2026-01-08 14:00` (or
    /// `2026-01-08T14:00`). Anchors the cadence. No default: without it there is no agenda.
    pub first_session: Option<String>,
    /// IANA time zone of the sessions (`Europe/Berlin`). Default `UTC`.
    pub time_zone: String,
    /// Time between sessions, in calendar units (`2 weeks`, `1 month`, `7 days`), added in
    /// `time_zone` so the wall-clock time stays put across DST. Default `2 weeks`.
    pub every: String,
    /// How long before a session its agenda issue is first posted (the daemon then edits it
    /// as the concerns move, until the session starts). Default 2 days.
    #[serde(with = "humantime_serde")]
    pub post_before: Duration,
    /// `issue` or `none` (the default).
    pub post_to: PostTo,
    /// How often the daemon brings the agenda issue up to date once it is due. Each round
    /// reads the store and the listed issues (conditional requests), so minutes, not
    /// seconds. Default 5m.
    #[serde(with = "humantime_serde")]
    pub refresh: Duration,
    /// Repository (`owner/name`) of the agenda issues. Default: the first of `github.repos`.
    pub repo: Option<String>,
    /// Label on every agenda issue (created by GitHub if missing). Default `council/agenda`.
    pub label: String,
    /// A concern that has needed information for longer than this is listed as stuck.
    /// Default 14 days.
    #[serde(with = "humantime_serde")]
    pub stuck_after: Duration,
    /// Lines of each answer quoted on the agenda. Default 2.
    pub answer_lines: usize,
}

impl Default for AgendaConfig {
    fn default() -> Self {
        Self {
            first_session: None,
            time_zone: "UTC".to_owned(),
            every: "2 weeks".to_owned(),
            post_before: Duration::from_secs(2 * 86_400),
            post_to: PostTo::None,
            refresh: Duration::from_secs(5 * 60),
            repo: None,
            label: "council/agenda".to_owned(),
            stuck_after: Duration::from_secs(14 * 86_400),
            answer_lines: 2,
        }
    }
}

/// Shortest `refresh`: a round reads the store and every listed issue, so more often than
/// this spends GitHub's rate limit for nothing the council would notice.
const MIN_REFRESH: Duration = Duration::from_secs(10);

/// Longest `answer_lines` that still makes an agenda and not a copy of every issue.
const MAX_ANSWER_LINES: usize = 20;

impl AgendaConfig {
    /// The repository agenda issues go to: `repo`, else the first watched repository.
    pub fn repository<'a>(&'a self, watched: &'a [String]) -> Option<&'a str> {
        self.repo
            .as_deref()
            .or_else(|| watched.first().map(String::as_str))
    }

    /// Every problem with this section, each naming its `agenda.*` key.
    pub fn problems(&self, watched: &[String]) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        if let Err(e) = jiff::tz::TimeZone::get(&self.time_zone) {
            out.push(ConfigProblem::error(
                "agenda.time_zone",
                format!(
                    "`{}` is not an IANA time zone ({e}); e.g. `Europe/Berlin`",
                    self.time_zone
                ),
            ));
        }
        if let Some(first) = &self.first_session
            && let Err(reason) = parse_civil(first)
        {
            out.push(ConfigProblem::error("agenda.first_session", reason));
        }
        if let Err(reason) = parse_every(&self.every) {
            out.push(ConfigProblem::error("agenda.every", reason));
        }
        if self.post_to == PostTo::Issue {
            if self.first_session.is_none() {
                out.push(ConfigProblem::error(
                    "agenda.first_session",
                    "is missing, but post_to = \"issue\" needs it to know when sessions are",
                ));
            }
            match self.repository(watched) {
                None => out.push(ConfigProblem::error(
                    "agenda.repo",
                    "is missing and github.repos is empty: name the council repository",
                )),
                Some(r) if !is_owner_name(r) => out.push(ConfigProblem::error(
                    "agenda.repo",
                    format!("`{r}` is not owner/name"),
                )),
                Some(_) => {}
            }
        }
        if self.refresh < MIN_REFRESH {
            out.push(ConfigProblem::error(
                "agenda.refresh",
                format!(
                    "{} is shorter than {}: every round reads every listed issue (default 5m)",
                    humantime::format_duration(self.refresh),
                    humantime::format_duration(MIN_REFRESH)
                ),
            ));
        }
        if self.label.trim().is_empty() {
            out.push(ConfigProblem::error(
                "agenda.label",
                "is empty; agenda issues are found again by it (default council/agenda)",
            ));
        }
        if self.answer_lines > MAX_ANSWER_LINES {
            out.push(ConfigProblem::warning(
                "agenda.answer_lines",
                format!(
                    "is {}, more than {MAX_ANSWER_LINES}: the agenda would quote whole answers",
                    self.answer_lines
                ),
            ));
        }
        out
    }
}

fn is_owner_name(r: &str) -> bool {
    matches!(r.split_once('/'), Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/'))
}

/// `first_session` as a civil date-time (`2026-01-08 14:00`, `2026-01-08T14:00:00`).
pub fn parse_civil(s: &str) -> Result<jiff::civil::DateTime, String> {
    s.trim().parse::<jiff::civil::DateTime>().map_err(|e| {
        format!("`{s}` is not a date and time like `2026-01-08 14:00` (local to time_zone): {e}")
    })
}

/// `every` as a positive calendar span (`2 weeks`, `1 month`, `14 days`).
pub fn parse_every(s: &str) -> Result<jiff::Span, String> {
    let span: jiff::Span = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a span like `2 weeks` or `1 month`: {e}"))?;
    if span.is_negative() || span.is_zero() {
        return Err(format!("`{s}` must be longer than zero"));
    }
    let shorter_than_a_day = span.get_years() == 0
        && span.get_months() == 0
        && span.get_weeks() == 0
        && span.get_days() == 0;
    if shorter_than_a_day {
        return Err(format!(
            "`{s}` is shorter than a day; sessions repeat in days, weeks or months"
        ));
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cfg: &AgendaConfig) -> Vec<String> {
        cfg.problems(&["acme/concerns".to_owned()])
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert!(keys(&AgendaConfig::default()).is_empty());
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let cfg = AgendaConfig {
            first_session: Some("next thursday".into()),
            time_zone: "Mars/Olympus".into(),
            every: "fortnightly".into(),
            label: " ".into(),
            ..AgendaConfig::default()
        };
        assert_eq!(
            keys(&cfg),
            [
                "agenda.time_zone",
                "agenda.first_session",
                "agenda.every",
                "agenda.label"
            ]
        );
    }

    #[test]
    fn every_must_be_whole_days_or_more() {
        assert!(parse_every("2 weeks").is_ok());
        assert!(parse_every("1 month").is_ok());
        assert!(parse_every("3 hours").is_err());
        assert!(parse_every("0 days").is_err());
        assert!(parse_every("-2 weeks").is_err());
    }

    #[test]
    fn posting_needs_a_first_session_and_a_repository() {
        let cfg = AgendaConfig {
            post_to: PostTo::Issue,
            repo: Some("no-slash".into()),
            ..AgendaConfig::default()
        };
        assert_eq!(keys(&cfg), ["agenda.first_session", "agenda.repo"]);
        let none = AgendaConfig {
            post_to: PostTo::Issue,
            first_session: Some("2026-01-08 14:00".into()),
            ..AgendaConfig::default()
        };
        assert!(none.problems(&[]).iter().any(|p| p.key == "agenda.repo"));
    }
}
