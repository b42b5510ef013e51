//! The reading and small-writing half of [`JiraTracker`] that keeps GitHub in step with Jira:
//! current status, assignee and sprint of epics and stories, transitions by target status
//! name, edits, assignment, comments and the daemon's own account.
//!
//! Reads and PUTs go through the retry policy (they are idempotent); transitions and
//! comments are sent once, because repeating them after a lost answer would move twice or
//! comment twice; the caller re-reads the issue before it tries again.

use chrono::{DateTime, Duration};
use serde_json::{Value, json};

use super::client::SEARCH_PAGE_SIZE;
use super::error::JiraError;
use super::jql;
use super::model::Issue;
use super::tracker::{JiraTracker, SYNC_LABEL};
use crate::config::JiraApiVersion;
use crate::tracker::{Iteration, IterationState, ListPage, TrackedIssue, TrackerError};

/// A sprint as Jira's sprint field reports it (Jira's own words; the engine sees an
/// [`Iteration`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SprintInfo {
    /// Jira's sprint id.
    pub id: u64,
    /// Name, e.g. `Sprint 42, team payments`.
    pub name: String,
    /// `future`, `active` or `closed` (lower-cased; Data Center writes upper case).
    pub state: String,
    /// `startDate`, ms since the epoch, when set.
    pub start_ms: Option<i64>,
    /// `endDate`, ms since the epoch, when set.
    pub end_ms: Option<i64>,
}

impl SprintInfo {
    /// The neutral iteration; `None` for a state Jira does not document.
    pub fn iteration(&self) -> Option<Iteration> {
        let state = match self.state.as_str() {
            "future" => IterationState::Future,
            "active" => IterationState::Active,
            "closed" => IterationState::Closed,
            _ => return None,
        };
        Some(Iteration {
            id: self.id.to_string(),
            name: self.name.clone(),
            state,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
        })
    }
}

/// Jira compares `updated` at minute granularity: poll with this much overlap.
const POLL_OVERLAP: Duration = Duration::minutes(1);
/// Keys per `key in (…)` query, well under Jira's JQL length limits.
const KEYS_PER_QUERY: usize = 100;

/// The sprints in a sprint field value: Cloud's objects, or Data Center's legacy
/// `com.atlassian.greenhopper.service.sprint.Sprint@…[id=…,state=…,name=…]` strings; a single
/// value or an array; anything unreadable is skipped.
pub fn parse_sprints(v: &Value) -> Vec<SprintInfo> {
    match v {
        Value::Array(items) => items.iter().filter_map(parse_one).collect(),
        other => parse_one(other).into_iter().collect(),
    }
}

fn parse_one(v: &Value) -> Option<SprintInfo> {
    match v {
        Value::Object(map) => {
            let id = match map.get("id")? {
                Value::Number(n) => n.as_u64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            Some(SprintInfo {
                id,
                name: map
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                state: map
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                start_ms: map
                    .get("startDate")
                    .and_then(Value::as_str)
                    .and_then(parse_jira_time),
                end_ms: map
                    .get("endDate")
                    .and_then(Value::as_str)
                    .and_then(parse_jira_time),
            })
        }
        Value::String(s) => parse_legacy(s),
        _ => None,
    }
}

/// Keys of GreenHopper's `Sprint.toString()`; a value runs until the next `,key=`, so a
/// name with commas (`Sprint 42, team payments`) survives.
const LEGACY_KEYS: &[&str] = &[
    "id",
    "rapidViewId",
    "state",
    "name",
    "goal",
    "startDate",
    "endDate",
    "completeDate",
    "activatedDate",
    "sequence",
    "synced",
    "autoStartStop",
    "incompleteIssuesDestinationId",
];

fn parse_legacy(s: &str) -> Option<SprintInfo> {
    let open = s.find('[')?;
    let inner = s[open + 1..].strip_suffix(']').unwrap_or(&s[open + 1..]);
    // Positions where a known `key=` starts (at the beginning or after a comma).
    let mut starts: Vec<(usize, &str)> = Vec::new();
    for key in LEGACY_KEYS {
        let pat = format!("{key}=");
        let mut from = 0;
        while let Some(at) = inner[from..].find(&pat) {
            let pos = from + at;
            if pos == 0 || inner[..pos].ends_with(',') {
                starts.push((pos, key));
            }
            from = pos + pat.len();
        }
    }
    starts.sort_unstable();
    let value = |key: &str| -> Option<&str> {
        let idx = starts.iter().position(|(_, k)| *k == key)?;
        let begin = starts[idx].0 + key.len() + 1;
        let end = starts.get(idx + 1).map_or(inner.len(), |(p, _)| p - 1);
        inner.get(begin..end.max(begin))
    };
    Some(SprintInfo {
        id: value("id")?.trim().parse().ok()?,
        name: value("name").unwrap_or_default().to_owned(),
        state: value("state")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
        start_ms: value("startDate").and_then(|v| parse_jira_time(v.trim())),
        end_ms: value("endDate").and_then(|v| parse_jira_time(v.trim())),
    })
}

/// The sprint to show: the active one, else the latest future one, else the last closed
/// one (later = higher id, as sprint ids grow with creation).
pub fn current_sprint(sprints: &[SprintInfo]) -> Option<SprintInfo> {
    let latest = |state: &str| {
        sprints
            .iter()
            .filter(|s| s.state == state)
            .max_by_key(|s| s.id)
            .cloned()
    };
    latest("active")
        .or_else(|| latest("future"))
        .or_else(|| latest("closed"))
}

/// Jira's timestamp (`2024-03-01T10:00:00.000+0000`, or RFC 3339) in epoch milliseconds.
pub fn parse_jira_time(s: &str) -> Option<i64> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// `labels = "council-sync" AND updated >= "yyyy-MM-dd HH:mm"`, a minute before `since_ms`,
/// the date written as wall-clock time in `zone`: Jira reads an absolute JQL date in the
/// querying user's profile time zone ("Dates are relative to the user's time zone",
/// <https://support.atlassian.com/jira-software-cloud/docs/jql-fields/#Updated>; the same on
/// Data Center), so a date written in UTC for a user west of UTC would skip that many hours.
pub fn updated_since_jql(since_ms: i64, zone: &jiff::tz::TimeZone) -> String {
    since_jql(since_ms, "ASC", zone)
}

/// [`updated_since_jql`] ordered newest first (the poll that stops at what it has seen).
pub fn changed_since_jql(since_ms: i64, zone: &jiff::tz::TimeZone) -> String {
    since_jql(since_ms, "DESC", zone)
}

fn since_jql(since_ms: i64, order: &str, zone: &jiff::tz::TimeZone) -> String {
    let at = jiff::Timestamp::from_millisecond(since_ms - POLL_OVERLAP.num_milliseconds())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!(
        "labels = {} AND updated >= {} ORDER BY updated {order}",
        jql::quote(SYNC_LABEL),
        jql::quote(
            &at.to_zoned(zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        )
    )
}

/// The zone JQL dates are written in for a profile `timeZone`. A missing or unknown name
/// gives the westernmost offset in use (UTC−12): Jira then reads the date at or before the
/// instant meant in any zone, so the poll reads more, never less.
pub fn jql_zone(time_zone: Option<&str>) -> jiff::tz::TimeZone {
    match time_zone.map(jiff::tz::TimeZone::get) {
        Some(Ok(zone)) => zone,
        other => {
            tracing::warn!(
                time_zone = ?time_zone,
                error = ?other.and_then(Result::err).map(|e| e.to_string()),
                "the Jira account's time zone is unknown; JQL dates are written at UTC-12 so no change is missed"
            );
            jiff::tz::TimeZone::fixed(jiff::tz::offset(-12))
        }
    }
}

impl JiraTracker {
    /// Fields a [`TrackedIssue`] is read from.
    fn tracked_fields(&self) -> Vec<&str> {
        vec![
            "summary",
            "status",
            "assignee",
            "labels",
            "updated",
            self.sprint_field.as_str(),
        ]
    }

    fn tracked(&self, issue: &Issue) -> TrackedIssue {
        let f = &issue.fields;
        let assignee = f.other.get("assignee").filter(|a| a.is_object());
        let text = |v: Option<&Value>, key: &str| {
            v.and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let account = match self.client().version() {
            JiraApiVersion::V3 => text(assignee, "accountId"),
            JiraApiVersion::V2 => text(assignee, "name").or_else(|| text(assignee, "key")),
        };
        let sprints = f
            .other
            .get(&self.sprint_field)
            .map(parse_sprints)
            .unwrap_or_default();
        let status = f
            .status
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let category = f
            .status
            .as_ref()
            .map(|s| s.status_category.key.as_str())
            .unwrap_or_default();
        TrackedIssue {
            key: issue.key.clone(),
            id: issue.id.clone(),
            url: self.client().browse_url(&issue.key),
            summary: f.summary.clone().unwrap_or_default(),
            progress: self.progress_rules().progress(&status, category),
            status,
            assignee: text(assignee, "displayName"),
            assignee_account: account,
            iteration: current_sprint(&sprints).and_then(|s| s.iteration()),
            updated_ms: f.updated.as_deref().and_then(parse_jira_time).unwrap_or(0),
        }
    }

    pub(super) async fn fetch_tracked(
        &self,
        keys: &[String],
    ) -> Result<Vec<TrackedIssue>, JiraError> {
        let fields = self.tracked_fields();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let q = format!("key in {}", jql::quoted_list(chunk));
            let found = self.client().search_all(&q, &fields).await?;
            out.extend(found.iter().map(|i| self.tracked(i)));
        }
        // Jira Cloud's search trails creation (see `attempts`): an issue made a moment ago
        // can be missing from a `key in (…)` search. A key the daemon knows is read directly
        // (always consistent) before it is reported missing; a 404 means it is gone.
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !out.iter().any(|t| t.key.eq_ignore_ascii_case(k)))
            .collect();
        for key in missing {
            match self.client().get_issue(key, &fields).await {
                Ok(issue) => out.push(self.tracked(&issue)),
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    pub(super) async fn tracked_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<TrackedIssue>, JiraError> {
        let zone = self.zone().await?;
        let found = self
            .client()
            .search_all(&updated_since_jql(since_ms, &zone), &self.tracked_fields())
            .await?;
        Ok(found.iter().map(|i| self.tracked(i)).collect())
    }

    /// The issues [`Self::tracked_since`] lists, newest first, stopping after a page whose
    /// every issue is in `seen` at its `updated` or later (an earlier poll handled it; what
    /// follows is older). In step, one page.
    pub(super) async fn tracked_changed(
        &self,
        since_ms: i64,
        seen: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<TrackedIssue>, JiraError> {
        let all_seen = |page: &[Issue]| {
            page.iter().all(|i| {
                let updated = i.fields.updated.as_deref().and_then(parse_jira_time);
                matches!((seen.get(&i.key), updated), (Some(at), Some(u)) if *at >= u)
            })
        };
        let zone = self.zone().await?;
        let found = self
            .client()
            .search_until(
                &changed_since_jql(since_ms, &zone),
                &self.tracked_fields(),
                &all_seen,
            )
            .await?;
        Ok(found.iter().map(|i| self.tracked(i)).collect())
    }

    /// Every issue carrying the daemon's label, in pages of [`super::client::SEARCH_PAGE_SIZE`]
    /// (100), ordered by key so pages do not shift while issues are updated.
    /// One page of every issue the daemon made (its label), in key order, and the cursor of
    /// the next (see [`super::client::JiraClient::search_page`]).
    pub(super) async fn tracked_page(&self, cursor: Option<&str>) -> Result<ListPage, JiraError> {
        let jql = format!("labels = {} ORDER BY key ASC", jql::quote(SYNC_LABEL));
        let (found, next) = self
            .client()
            .search_page(&jql, &self.tracked_fields(), SEARCH_PAGE_SIZE, cursor)
            .await?;
        Ok(ListPage {
            items: found.iter().map(|i| self.tracked(i)).collect(),
            next,
        })
    }

    pub(super) async fn transition_to(
        &self,
        key: &str,
        status: &str,
    ) -> Result<bool, TrackerError> {
        let issue = self.client().get_issue(key, &["status"]).await?;
        let current = issue.fields.status.map(|s| s.name).unwrap_or_default();
        if current.eq_ignore_ascii_case(status.trim()) {
            return Ok(false);
        }
        let available = self.client().transitions(key).await?;
        let target = |t: &super::model::Transition| {
            t.to.as_ref().map(|s| s.name.clone()).unwrap_or_default()
        };
        match available
            .iter()
            .find(|t| target(t).eq_ignore_ascii_case(status.trim()))
        {
            Some(t) => {
                self.client().transition(key, &t.id).await?;
                Ok(true)
            }
            None => {
                let targets: Vec<String> = available.iter().map(target).collect();
                Err(TrackerError::Permanent {
                    status: None,
                    reason: format!(
                        "{key}: no transition from '{current}' leads to '{status}'; reachable: {}",
                        if targets.is_empty() {
                            "none".to_owned()
                        } else {
                            targets.join(", ")
                        }
                    ),
                })
            }
        }
    }

    pub(super) async fn edit(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> Result<(), JiraError> {
        let mut fields = serde_json::Map::new();
        if let Some(s) = summary {
            fields.insert(
                "summary".into(),
                json!(super::model::limits::fit_line(
                    s,
                    super::model::limits::SUMMARY
                )),
            );
        }
        if let Some(md) = description_md {
            fields.insert("description".into(), self.client().body_from_markdown(md));
        }
        if fields.is_empty() {
            return Ok(());
        }
        self.client().edit_issue(key, &Value::Object(fields)).await
    }

    /// The time zone Jira reads this account's JQL dates in: the profile's `timeZone`, read
    /// once (by this or by [`Self::account`]) and kept.
    async fn zone(&self) -> Result<jiff::tz::TimeZone, JiraError> {
        self.jql_zone
            .get_or_try_init(|| async {
                let me = self.client().myself().await?;
                Ok(jql_zone(me.time_zone.as_deref()))
            })
            .await
            .cloned()
    }

    pub(super) async fn account(&self) -> Result<String, JiraError> {
        let me = self.client().myself().await?;
        // The same answer names the zone JQL dates are read in: no second call for it.
        if !self.jql_zone.initialized() {
            let _ = self.jql_zone.set(jql_zone(me.time_zone.as_deref()));
        }
        let account = match self.client().version() {
            JiraApiVersion::V3 => me.account_id,
            JiraApiVersion::V2 => me.name,
        };
        account.ok_or_else(|| JiraError::Protocol {
            call: "GET /myself".into(),
            reason: "the answer names no account".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sprint(id: u64, name: &str, state: &str) -> SprintInfo {
        SprintInfo {
            id,
            name: name.into(),
            state: state.into(),
            start_ms: None,
            end_ms: None,
        }
    }

    #[test]
    fn parses_cloud_objects_and_legacy_strings() {
        let cloud = json!([
            {"id": 1, "name": "Sprint 41", "state": "closed", "boardId": 2},
            {"id": 2, "name": "Sprint 42, team payments", "state": "active", "boardId": 2, "goal": ""}
        ]);
        assert_eq!(
            parse_sprints(&cloud),
            vec![
                sprint(1, "Sprint 41", "closed"),
                sprint(2, "Sprint 42, team payments", "active")
            ]
        );
        let legacy = json!([
            "com.atlassian.greenhopper.service.sprint.Sprint@1f01[id=7,rapidViewId=2,state=FUTURE,name=Sprint 42, team payments,goal=ship, then rest,startDate=<null>,endDate=<null>,completeDate=<null>,sequence=7]",
            "com.atlassian.greenhopper.service.sprint.Sprint@5b[rapidViewId=2,state=ACTIVE,name=S=1,id=3]",
            "garbage",
            42
        ]);
        assert_eq!(
            parse_sprints(&legacy),
            vec![
                sprint(7, "Sprint 42, team payments", "future"),
                sprint(3, "S=1", "active")
            ]
        );
        assert!(parse_sprints(&Value::Null).is_empty());
        assert_eq!(
            parse_sprints(&json!({"id": "9", "name": "x", "state": "ACTIVE"})),
            vec![sprint(9, "x", "active")]
        );
    }

    #[test]
    fn picks_active_then_future_then_closed() {
        let closed = [sprint(1, "a", "closed"), sprint(4, "d", "closed")];
        assert_eq!(current_sprint(&closed).map(|s| s.id), Some(4));
        let mut with_future = closed.to_vec();
        with_future.push(sprint(5, "e", "future"));
        assert_eq!(current_sprint(&with_future).map(|s| s.id), Some(5));
        with_future.push(sprint(3, "c", "active"));
        assert_eq!(current_sprint(&with_future).map(|s| s.id), Some(3));
        assert_eq!(current_sprint(&[]), None);
    }

    #[test]
    fn polls_with_a_minute_of_overlap() {
        // 2024-03-01 10:00:30 UTC
        assert_eq!(
            updated_since_jql(1_709_287_230_000, &jiff::tz::TimeZone::UTC),
            r#"labels = "council-sync" AND updated >= "2024-03-01 09:59" ORDER BY updated ASC"#
        );
        assert_eq!(
            parse_jira_time("2024-03-01T10:00:30.000+0000"),
            Some(1_709_287_230_000)
        );
        assert_eq!(
            parse_jira_time("2024-03-01T10:00:30+00:00"),
            Some(1_709_287_230_000)
        );
        assert_eq!(parse_jira_time("yesterday"), None);
    }

    /// The instant Jira reads the JQL's `updated >=` date as, for a user in `zone` (an
    /// ambiguous wall time is read at its earlier instant, as Java's `atZone` does).
    fn read_back(jql: &str, zone: &jiff::tz::TimeZone) -> i64 {
        let date = jql
            .split("updated >= \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a date in the JQL");
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", date)
            .expect("date")
            .to_zoned(zone.clone())
            .expect("in zone")
            .timestamp()
            .as_millisecond()
    }

    #[test]
    fn writes_the_date_in_the_users_time_zone() {
        // 2024-03-01 10:00:30 UTC is 05:00:30 in New York and 19:00:30 in Tokyo.
        let at = 1_709_287_230_000;
        let ny = jql_zone(Some("America/New_York"));
        assert!(updated_since_jql(at, &ny).contains(r#"updated >= "2024-03-01 04:59""#));
        let tokyo = jql_zone(Some("Asia/Tokyo"));
        assert!(changed_since_jql(at, &tokyo).contains(r#"updated >= "2024-03-01 18:59""#));
        // An unknown or missing zone writes at UTC-12: read in any zone, never too late.
        for unknown in [None, Some("Mars/Olympus_Mons"), Some("")] {
            let zone = jql_zone(unknown);
            assert!(updated_since_jql(at, &zone).contains(r#"updated >= "2024-02-29 21:59""#));
        }
    }

    proptest::proptest! {
        /// Whatever the instant and the user's zone (DST changes included), Jira reads the
        /// date at least the minute of overlap before it and less than two minutes before.
        #[test]
        fn the_date_jira_reads_is_the_cursor_less_the_overlap(
            since in 946_684_800_000i64..2_208_988_800_000,
            zone in proptest::sample::select(vec![
                "UTC", "America/New_York", "America/St_Johns", "Asia/Kolkata",
                "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin",
            ]),
        ) {
            let zone = jql_zone(Some(zone));
            let read = read_back(&updated_since_jql(since, &zone), &zone);
            proptest::prop_assert!(read <= since - 60_000, "read {read} for {since}");
            proptest::prop_assert!(read > since - 120_000 - 3_600_000, "read {read} for {since}");
            // Outside a wall-clock fold the reading is within the overlap and one minute.
            let fold = zone.to_ambiguous_zoned(
                jiff::Timestamp::from_millisecond(read).expect("ts").to_zoned(zone.clone()).datetime()
            ).is_ambiguous();
            if !fold {
                proptest::prop_assert!(read > since - 120_000, "read {read} for {since}");
            }
            // A user whose zone Jira knows but the daemon does not: still never too late.
            let unknown = jql_zone(None);
            let read = read_back(&updated_since_jql(since, &unknown), &zone);
            proptest::prop_assert!(read <= since - 60_000);
        }
    }
}
