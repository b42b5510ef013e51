//! GitHub's GraphQL answers as the tracker reads them, and the mapping from them to what
//! the `Tracker` trait reports: one small function per reported field, so that the mapping
//! is easy to follow (and to move when the trait changes).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::settings::GithubProjectsSettings;
use crate::tracker::{self, IterationState, Progress, TrackedIssue, TrackerIssue};

/// `{ nodes: [...] }` of a connection.
#[derive(Debug, Clone, Deserialize)]
pub struct Nodes<T> {
    /// The page's nodes (GitHub may give `null` entries for items it cannot show).
    #[serde(default = "Vec::new")]
    pub nodes: Vec<Option<T>>,
}

impl<T> Nodes<T> {
    /// The non-null nodes.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.nodes.iter().flatten()
    }
}

/// `{ id }`.
#[derive(Debug, Clone, Deserialize)]
pub struct IdRef {
    /// Node id.
    pub id: String,
}

/// `{ name }` of a field (through `ProjectV2FieldCommon`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct FieldRef {
    /// The field's name.
    pub name: Option<String>,
}

/// One value of a project item (`fieldValues`), the two kinds the tracker reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "__typename", rename_all_fields = "camelCase")]
pub enum FieldValue {
    /// A single-select value (Status, Team).
    ProjectV2ItemFieldSingleSelectValue {
        /// Option name.
        name: Option<String>,
        /// Option id.
        option_id: Option<String>,
        /// Its field.
        #[serde(default)]
        field: FieldRef,
    },
    /// An iteration value.
    ProjectV2ItemFieldIterationValue {
        /// Iteration id.
        iteration_id: String,
        /// Iteration title.
        title: String,
        /// First day (`YYYY-MM-DD`).
        start_date: String,
        /// Length in days.
        duration: u32,
        /// Its field.
        #[serde(default)]
        field: FieldRef,
    },
    /// Any other kind of value (text, date, number, labels, …).
    #[serde(other)]
    Other,
}

/// A project item of an issue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemNode {
    /// Item node id.
    pub id: String,
    /// Its project.
    pub project: IdRef,
    /// Its field values.
    pub field_values: Nodes<FieldValue>,
}

/// An assignee.
#[derive(Debug, Clone, Deserialize)]
pub struct Assignee {
    /// Login.
    pub login: String,
    /// Display name, when set.
    pub name: Option<String>,
}

/// `{ nameWithOwner }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoRef {
    /// `owner/name`.
    pub name_with_owner: String,
}

/// An issue as `fragment IssueFields` reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueNode {
    /// Node id.
    pub id: String,
    /// Number in its repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Where people open it.
    pub url: String,
    /// `OPEN` or `CLOSED`.
    pub state: String,
    /// `COMPLETED`, `NOT_PLANNED`, `REOPENED`, `DUPLICATE` or null.
    pub state_reason: Option<String>,
    /// Last change (RFC 3339).
    pub updated_at: String,
    /// Its repository.
    pub repository: RepoRef,
    /// Assignees.
    pub assignees: Nodes<Assignee>,
    /// Its project items (any project).
    pub project_items: Nodes<ItemNode>,
}

/// A project field as `ProjectFields` reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldNode {
    /// `ProjectV2Field`, `ProjectV2SingleSelectField` or `ProjectV2IterationField`.
    #[serde(rename = "__typename")]
    pub typename: String,
    /// Field node id.
    pub id: Option<String>,
    /// Field name.
    pub name: Option<String>,
    /// Single-select options.
    #[serde(default)]
    pub options: Vec<OptionNode>,
    /// Iteration configuration.
    pub configuration: Option<IterationConfig>,
}

/// A single-select option.
#[derive(Debug, Clone, Deserialize)]
pub struct OptionNode {
    /// Option id (what `updateProjectV2ItemFieldValue` takes).
    pub id: String,
    /// Option name.
    pub name: String,
}

/// An iteration field's iterations.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IterationConfig {
    /// Current and future iterations.
    #[serde(default)]
    pub iterations: Vec<Iteration>,
    /// Past iterations.
    #[serde(default)]
    pub completed_iterations: Vec<Iteration>,
}

/// One iteration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Iteration {
    /// Iteration id.
    pub id: String,
    /// Title, e.g. `Iteration 3`.
    pub title: String,
    /// First day.
    pub start_date: String,
    /// Length in days.
    pub duration: u32,
}

/// The project with its fields.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectNode {
    /// Project node id.
    pub id: String,
    /// Where people open it.
    pub url: String,
    /// Its fields.
    pub fields: Nodes<FieldNode>,
}

/// `organization { id projectV2 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgNode {
    /// Organisation node id.
    pub id: String,
    /// The project, null when missing or hidden.
    pub project_v2: Option<ProjectNode>,
}

/// `ProjectFields`' data.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectFieldsData {
    /// Null when the organisation does not exist.
    pub organization: Option<OrgNode>,
}

/// `IssueState`'s data.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueStateData {
    /// Null when the repository does not exist.
    pub repository: Option<RepoWithIssue>,
}

/// `repository { id issue }`.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoWithIssue {
    /// Repository node id.
    pub id: String,
    /// Null when the issue does not exist.
    pub issue: Option<IssueNode>,
}

/// `RepositoryId`'s data.
#[derive(Debug, Clone, Deserialize)]
pub struct RepositoryIdData {
    /// Null when the repository does not exist.
    pub repository: Option<IdRef>,
}

/// `nodes(ids:)` entries: issues, or anything else.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "__typename")]
pub enum AnyNode {
    /// An issue.
    Issue(Box<IssueNode>),
    /// Something else (a pull request, a draft issue).
    #[serde(other)]
    Other,
}

/// `IssueNodes`' data.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueNodesData {
    /// One entry per id asked, null for an unknown id.
    pub nodes: Vec<Option<AnyNode>>,
}

/// `createIssue { issue }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateIssueData {
    /// The payload.
    pub create_issue: Option<CreatedIssue>,
}

/// `{ issue }`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedIssue {
    /// The new issue.
    pub issue: Option<IssueNode>,
}

/// `addProjectV2ItemById { item { id } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddItemData {
    /// The payload.
    pub add_project_v2_item_by_id: Option<AddedItem>,
}

/// `{ item }`.
#[derive(Debug, Clone, Deserialize)]
pub struct AddedItem {
    /// The item.
    pub item: Option<IdRef>,
}

/// A page of project items.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectItemsData {
    /// The project (null when the id is wrong).
    pub node: Option<ItemsOwner>,
}

/// `... on ProjectV2 { items }`.
#[derive(Debug, Clone, Deserialize)]
pub struct ItemsOwner {
    /// The page (absent when the node is not a project).
    pub items: Option<ItemsPage>,
}

/// One page of items.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemsPage {
    /// Paging.
    pub page_info: PageInfo,
    /// Items.
    #[serde(default)]
    pub nodes: Vec<Option<PageItem>>,
}

/// `pageInfo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// More pages follow.
    pub has_next_page: bool,
    /// Cursor of the last item.
    pub end_cursor: Option<String>,
}

/// An item of the page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageItem {
    /// Item node id.
    pub id: String,
    /// Last change of the item (field values).
    pub updated_at: String,
    /// Its content; only issues are read.
    pub content: Option<AnyNode>,
}

// ---- mapping: GitHub's data → the trait's fields, one function per field ----

/// `owner/name#number`: the key people read and the tracker parses back.
pub fn key(issue: &IssueNode) -> String {
    format!("{}#{}", issue.repository.name_with_owner, issue.number)
}

/// Splits `owner/name#number`.
pub fn parse_key(key: &str) -> Option<(String, u64)> {
    let (repo, n) = key.rsplit_once('#')?;
    let (o, r) = repo.split_once('/')?;
    if o.is_empty() || r.is_empty() || r.contains('/') {
        return None;
    }
    Some((repo.to_owned(), n.parse().ok()?))
}

/// The item of `issue` in the project `project_id`.
pub fn item_in<'a>(issue: &'a IssueNode, project_id: &str) -> Option<&'a ItemNode> {
    issue
        .project_items
        .iter()
        .find(|i| i.project.id == project_id)
}

/// The single-select value of the field named `field` (case-insensitive).
pub fn single_select<'a>(item: Option<&'a ItemNode>, field: &str) -> Option<&'a str> {
    item?.field_values.iter().find_map(|v| match v {
        FieldValue::ProjectV2ItemFieldSingleSelectValue {
            name: Some(n),
            field: f,
            ..
        } if f
            .name
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(field)) =>
        {
            Some(n.as_str())
        }
        _ => None,
    })
}

/// Whether the issue is closed.
pub fn is_closed(issue: &IssueNode) -> bool {
    issue.state.eq_ignore_ascii_case("CLOSED")
}

/// The status shown to people: the Status option, else `Closed`/`Open`.
pub fn status(issue: &IssueNode, item: Option<&ItemNode>, s: &GithubProjectsSettings) -> String {
    match single_select(item, &s.status_field) {
        Some(name) => name.to_owned(),
        None if is_closed(issue) => "Closed".into(),
        None => "Open".into(),
    }
}

/// The item's progress: a closed issue is done whatever its Status (closed as not planned
/// included: nothing more will happen); the done option is done; no option or the todo
/// option is todo; any other option is under way.
pub fn progress(
    issue: &IssueNode,
    item: Option<&ItemNode>,
    s: &GithubProjectsSettings,
) -> Progress {
    if is_closed(issue) {
        return Progress::Done;
    }
    match single_select(item, &s.status_field) {
        Some(n) if n.eq_ignore_ascii_case(&s.done_status) => Progress::Done,
        None => Progress::Todo,
        Some(n) if n.eq_ignore_ascii_case(&s.todo_status) => Progress::Todo,
        Some(_) => Progress::InProgress,
    }
}

/// The first assignee's display name (else login).
pub fn assignee(issue: &IssueNode) -> Option<String> {
    issue
        .assignees
        .iter()
        .next()
        .map(|a| a.name.clone().unwrap_or_else(|| a.login.clone()))
}

/// The first assignee's login (accounts are GitHub logins on both sides).
pub fn assignee_account(issue: &IssueNode) -> Option<String> {
    issue.assignees.iter().next().map(|a| a.login.clone())
}

/// The Iteration field's value: `active` when today is within it, `future` before,
/// `closed` after; its id is GitHub's iteration id, its start and end (exclusive) are
/// midnight UTC of its first day and of the day after its last.
pub fn iteration(
    item: Option<&ItemNode>,
    s: &GithubProjectsSettings,
    today: NaiveDate,
) -> Option<tracker::Iteration> {
    item?.field_values.iter().find_map(|v| match v {
        FieldValue::ProjectV2ItemFieldIterationValue {
            iteration_id,
            title,
            start_date,
            duration,
            field,
        } if field
            .name
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(&s.iteration_field)) =>
        {
            let first = NaiveDate::parse_from_str(start_date, "%Y-%m-%d").ok();
            let at_midnight = |d: NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc().timestamp_millis())
            };
            Some(tracker::Iteration {
                id: iteration_id.clone(),
                name: title.clone(),
                state: iteration_state(start_date, *duration, today),
                start_ms: first.and_then(at_midnight),
                end_ms: first
                    .and_then(|d| d.checked_add_days(chrono::Days::new(u64::from(*duration))))
                    .and_then(at_midnight),
            })
        }
        _ => None,
    })
}

/// Future, active or closed for an iteration starting `start` lasting `days` (an
/// unreadable start is future).
pub fn iteration_state(start: &str, days: u32, today: NaiveDate) -> IterationState {
    let Ok(first) = NaiveDate::parse_from_str(start, "%Y-%m-%d") else {
        return IterationState::Future;
    };
    // An end beyond the calendar (a corrupt date) never ends.
    let Some(end) = first.checked_add_days(chrono::Days::new(u64::from(days))) else {
        return if today < first {
            IterationState::Future
        } else {
            IterationState::Active
        };
    };
    if today < first {
        IterationState::Future
    } else if today < end {
        IterationState::Active
    } else {
        IterationState::Closed
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (0 when unreadable).
pub fn millis(t: &str) -> i64 {
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc).timestamp_millis())
        .unwrap_or(0)
}

/// The issue as the trait's `TrackerIssue`.
pub fn tracker_issue(issue: &IssueNode, team: Option<String>) -> TrackerIssue {
    TrackerIssue {
        key: key(issue),
        id: issue.id.clone(),
        url: issue.url.clone(),
        team,
    }
}

/// The issue as the trait's `TrackedIssue`, reading the item of `project_id`.
/// `item_updated_ms` is the item's own last change (field values), when known.
pub fn tracked(
    issue: &IssueNode,
    project_id: &str,
    s: &GithubProjectsSettings,
    item_updated_ms: Option<i64>,
) -> TrackedIssue {
    let item = item_in(issue, project_id);
    TrackedIssue {
        key: key(issue),
        id: issue.id.clone(),
        url: issue.url.clone(),
        summary: issue.title.clone(),
        status: status(issue, item, s),
        progress: progress(issue, item, s),
        assignee: assignee(issue),
        assignee_account: assignee_account(issue),
        iteration: iteration(item, s, Utc::now().date_naive()),
        updated_ms: millis(&issue.updated_at).max(item_updated_ms.unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> GithubProjectsSettings {
        serde_json::from_value(json!({ "owner": "acme", "number": 1 })).expect("settings")
    }

    fn issue(state: &str, status: Option<&str>) -> IssueNode {
        let mut values = vec![json!({ "__typename": "ProjectV2ItemFieldTextValue" })];
        if let Some(s) = status {
            values.push(json!({ "__typename": "ProjectV2ItemFieldSingleSelectValue",
                "name": s, "optionId": "o1", "field": { "name": "Status" } }));
        }
        values.push(json!({ "__typename": "ProjectV2ItemFieldIterationValue",
            "iterationId": "cfc16e4d", "title": "Iteration 2", "startDate": "2026-11-23",
            "duration": 14, "field": { "name": "Iteration" } }));
        serde_json::from_value(json!({
            "id": "I_1", "number": 4, "title": "t", "url": "u", "state": state,
            "stateReason": null, "updatedAt": "2026-11-30T01:00:00Z",
            "repository": { "nameWithOwner": "acme/pay" },
            "assignees": { "nodes": [{ "login": "carol", "name": null }] },
            "projectItems": { "nodes": [{ "id": "PVTI_1", "project": { "id": "P" },
                "fieldValues": { "nodes": values } }] }
        }))
        .expect("issue")
    }

    #[test]
    fn progress_follows_status_and_state() {
        let s = settings();
        let cases = [
            ("OPEN", None, Progress::Todo, "Open"),
            ("OPEN", Some("Todo"), Progress::Todo, "Todo"),
            (
                "OPEN",
                Some("In Progress"),
                Progress::InProgress,
                "In Progress",
            ),
            ("OPEN", Some("In review"), Progress::InProgress, "In review"),
            ("OPEN", Some("done"), Progress::Done, "done"),
            ("CLOSED", Some("In Progress"), Progress::Done, "In Progress"),
            ("CLOSED", None, Progress::Done, "Closed"),
        ];
        for (state, st, cat, shown) in cases {
            let i = issue(state, st);
            let item = item_in(&i, "P");
            assert_eq!(progress(&i, item, &s), cat, "{state} {st:?}");
            assert_eq!(status(&i, item, &s), shown);
        }
        let i = issue("OPEN", None);
        assert!(item_in(&i, "other").is_none());
        assert_eq!(key(&i), "acme/pay#4");
        assert_eq!(assignee_account(&i).as_deref(), Some("carol"));
    }

    #[test]
    fn the_iteration_field_is_the_iteration() {
        let s = settings();
        let i = issue("OPEN", None);
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
        let sp = iteration(item_in(&i, "P"), &s, day("2026-11-30")).expect("iteration");
        assert_eq!(sp.name, "Iteration 2");
        assert_eq!(sp.state, IterationState::Active);
        assert_eq!(sp.id, "cfc16e4d");
        assert!(sp.start_ms.is_some_and(|start| sp.end_ms > Some(start)));
        assert_eq!(
            iteration_state("2026-11-23", 14, day("2026-11-22")),
            IterationState::Future
        );
        assert_eq!(
            iteration_state("2026-11-23", 14, day("2026-12-07")),
            IterationState::Closed
        );
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(parse_key("acme/pay#12"), Some(("acme/pay".into(), 12)));
        assert_eq!(parse_key("acme#12"), None);
        assert_eq!(parse_key("a/b/c#1"), None);
        assert_eq!(parse_key("acme/pay#x"), None);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::tracker::github_projects::tracker::{marker_comment, marker_of};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn keys_parse_back(owner in "[A-Za-z0-9][A-Za-z0-9-]{0,38}", name in "[A-Za-z0-9._-]{1,100}", n in 1u64..u64::MAX) {
            let key = format!("{owner}/{name}#{n}");
            prop_assert_eq!(parse_key(&key), Some((format!("{owner}/{name}"), n)));
        }

        #[test]
        fn any_text_never_panics_the_key_parser(s in ".{0,80}") {
            let _ = parse_key(&s);
            let _ = marker_of(&s);
            let _ = iteration_state(&s, 14, NaiveDate::MIN);
            let _ = iteration_state("262143-12-31", u32::MAX, NaiveDate::MAX);
        }

        #[test]
        fn a_marker_survives_any_text_around_it(m in "council-sync-[a-z0-9-]{1,40}", before in "[^<]{0,200}") {
            let body = format!("{before}\n\n{}", marker_comment(&m));
            prop_assert_eq!(marker_of(&body), Some(m.as_str()));
        }

        #[test]
        fn an_iteration_moves_from_future_to_active_to_closed(offset in -60i64..60, days in 1u32..60) {
            let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
            let start = today + chrono::Duration::days(offset);
            let state = iteration_state(&start.format("%Y-%m-%d").to_string(), days, today);
            let expected = if offset > 0 { IterationState::Future } else if -offset < i64::from(days) { IterationState::Active } else { IterationState::Closed };
            prop_assert_eq!(state, expected);
        }
    }
}
