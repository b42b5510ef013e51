//! The sandbox's Jira data: projects, issues, comments, remote links, and the workflow.
//!
//! Plain data with synchronous methods; the HTTP layer locks it for the length of one call
//! (never across an await) and renders the result per API version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::jql::{Facts, OrderField, Query};
use super::people::Directory;
use super::sprints::{Board, Sprint};

/// A project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// Numeric id.
    pub id: u64,
    /// Key, e.g. `SRE`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Components by name, with their ids.
    pub components: BTreeMap<String, u64>,
    /// Fields taken off this project's create screen (e.g. `reporter`): a create that sets
    /// one is refused with "Field '…' cannot be set", and createmeta does not list it.
    #[serde(default)]
    pub hidden_fields: Vec<String>,
    /// Transition ids taken out of this project's workflow (of [`TRANSITIONS`]), so that
    /// a status can be made unreachable, as an administrator's workflow edit does.
    #[serde(default)]
    pub removed_transitions: Vec<String>,
}

impl Project {
    /// Whether `field` is on the create screen (not hidden).
    pub fn on_create_screen(&self, field: &str) -> bool {
        !self.hidden_fields.iter().any(|f| f == field)
    }
}

/// An issue type of the sandbox's (global) scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueType {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// 1 for epics, 0 for standard types, -1 for sub-tasks.
    pub hierarchy_level: i32,
}

/// The issue types every project has.
pub const ISSUE_TYPES: &[IssueType] = &[
    IssueType {
        id: "10000",
        name: "Epic",
        hierarchy_level: 1,
    },
    IssueType {
        id: "10001",
        name: "Story",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10002",
        name: "Task",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10004",
        name: "Bug",
        hierarchy_level: 0,
    },
    IssueType {
        id: "10003",
        name: "Sub-task",
        hierarchy_level: -1,
    },
];

/// Finds an issue type by name (case-insensitive) or id.
pub fn issue_type(name_or_id: &str) -> Option<IssueType> {
    ISSUE_TYPES
        .iter()
        .copied()
        .find(|t| t.id == name_or_id || t.name.eq_ignore_ascii_case(name_or_id))
}

/// The workflow's statuses and their categories: To Do (new); In Progress and In Review
/// (indeterminate); Done and Won't Do (done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Category `new`.
    ToDo,
    /// Category `indeterminate`.
    InProgress,
    /// Category `indeterminate`.
    InReview,
    /// Category `done`.
    Done,
    /// Category `done` (closed without doing it).
    WontDo,
}

impl Status {
    /// All statuses.
    pub const ALL: [Status; 5] = [
        Status::ToDo,
        Status::InProgress,
        Status::InReview,
        Status::Done,
        Status::WontDo,
    ];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ToDo => "To Do",
            Self::InProgress => "In Progress",
            Self::InReview => "In Review",
            Self::Done => "Done",
            Self::WontDo => "Won't Do",
        }
    }

    /// Status id as Jira numbers them.
    pub fn id(self) -> &'static str {
        match self {
            Self::ToDo => "10000",
            Self::InProgress => "3",
            Self::InReview => "10002",
            Self::Done => "10001",
            Self::WontDo => "10003",
        }
    }

    /// `(id, key, colorName, name)` of the status category.
    pub fn category(self) -> (u64, &'static str, &'static str, &'static str) {
        match self {
            Self::ToDo => (2, "new", "blue-gray", "To Do"),
            Self::InProgress | Self::InReview => (4, "indeterminate", "yellow", "In Progress"),
            Self::Done | Self::WontDo => (3, "done", "green", "Done"),
        }
    }

    /// By name, case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Every status name, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// By display name, as serialised (a saved sandbox state is read back with it).
impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Status::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown status {name:?}")))
    }
}

/// The shortest walk through the workflow from one status to another (empty if equal).
pub fn path_between(from: Status, to: Status) -> Vec<&'static Transition> {
    let mut frontier = vec![(from, Vec::new())];
    let mut seen = vec![from];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (at, walk) in frontier {
            if at == to {
                return walk;
            }
            for t in transitions_from(at) {
                if !seen.contains(&t.to) {
                    seen.push(t.to);
                    let mut longer: Vec<&'static Transition> = walk.clone();
                    longer.push(t);
                    next.push((t.to, longer));
                }
            }
        }
        frontier = next;
    }
    Vec::new()
}

/// A workflow transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Id posted to perform it.
    pub id: &'static str,
    /// Name shown on the button.
    pub name: &'static str,
    /// The statuses it starts from; empty for a global transition (from every other status).
    pub from: &'static [Status],
    /// To.
    pub to: Status,
}

impl Transition {
    /// Global transitions (Jira's "all statuses can move here") show `isGlobal: true`.
    pub fn is_global(&self) -> bool {
        self.from.is_empty()
    }

    fn starts_at(&self, status: Status) -> bool {
        if self.is_global() {
            self.to != status
        } else {
            self.from.contains(&status)
        }
    }
}

/// A realistic software workflow: work moves To Do → In Progress ⇄ In Review; Done and
/// Won't Do are global (reachable from every status, as on Jira's default boards), and both
/// reopen to To Do. So every status can reach To Do, Done and Won't Do in one step or two.
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        id: "11",
        name: "Start progress",
        from: &[Status::ToDo],
        to: Status::InProgress,
    },
    Transition {
        id: "51",
        name: "Request review",
        from: &[Status::InProgress],
        to: Status::InReview,
    },
    Transition {
        id: "61",
        name: "Request changes",
        from: &[Status::InReview],
        to: Status::InProgress,
    },
    Transition {
        id: "31",
        name: "Stop progress",
        from: &[Status::InProgress, Status::InReview],
        to: Status::ToDo,
    },
    Transition {
        id: "21",
        name: "Done",
        from: &[],
        to: Status::Done,
    },
    Transition {
        id: "71",
        name: "Won't do",
        from: &[],
        to: Status::WontDo,
    },
    Transition {
        id: "41",
        name: "Reopen",
        from: &[Status::Done, Status::WontDo],
        to: Status::ToDo,
    },
];

/// Transitions available from a status.
pub fn transitions_from(status: Status) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(move |t| t.starts_at(status))
}

/// A body in the format it was written: ADF (v3) or wiki markup (v2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    /// An ADF document.
    Adf(Value),
    /// A wiki-markup string.
    Wiki(String),
}

/// A string is wiki markup, anything else an ADF document (serialised untagged: an
/// untagged derive would take every string for an ADF `Value`).
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Body::Wiki(s),
            other => Body::Adf(other),
        })
    }
}

/// A comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredComment {
    /// Id.
    pub id: u64,
    /// Author's name.
    pub author: String,
    /// Body.
    pub body: Body,
    /// When.
    pub created: DateTime<Utc>,
}

/// A remote link (upserted by `globalId`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRemoteLink {
    /// Id.
    pub id: u64,
    /// Identity for upserts.
    pub global_id: Option<String>,
    /// Target URL.
    pub url: String,
    /// Link text.
    pub title: String,
    /// Relation text.
    pub relationship: Option<String>,
    /// The request's `application`, as sent.
    pub application: Option<Value>,
}

/// An issue with everything tests may want to see.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredIssue {
    /// Numeric id.
    pub id: u64,
    /// Key.
    pub key: String,
    /// Project key.
    pub project: String,
    /// Issue type name.
    pub issue_type: String,
    /// Title.
    pub summary: String,
    /// Body.
    pub description: Option<Body>,
    /// Labels.
    pub labels: Vec<String>,
    /// Component names.
    pub components: Vec<String>,
    /// Parent or epic key (Cloud `parent` and DC Epic Link are one relation here).
    pub parent: Option<String>,
    /// Epic Name (`customfield_10011`).
    pub epic_name: Option<String>,
    /// Workflow status.
    pub status: Status,
    /// Assignee's name.
    pub assignee: Option<String>,
    /// Reporter's name.
    pub reporter: String,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
    /// Comments, oldest first.
    pub comments: Vec<StoredComment>,
    /// Remote links.
    pub remote_links: Vec<StoredRemoteLink>,
    /// Sprints the issue is or was in (ids, oldest first; at most one open).
    pub sprints: Vec<u64>,
    /// Who created it (Jira's `creator`, which a `reporter` set on create does not change);
    /// `None` in states saved before it was kept, where the reporter stands in.
    #[serde(default)]
    pub creator: Option<String>,
    /// Values of administrator-made custom fields, by field id (`customfield_N`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

#[cfg(test)]
impl StoredIssue {
    /// A minimal issue `P-{id}` of project P for unit tests: To Do, created and updated now,
    /// with the given type and labels and nothing else set.
    pub(crate) fn sample(id: u64, issue_type: &str, labels: &[&str]) -> Self {
        StoredIssue {
            id,
            key: format!("P-{id}"),
            project: "P".into(),
            issue_type: issue_type.into(),
            summary: "s".into(),
            description: None,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            components: vec![],
            parent: None,
            epic_name: None,
            status: Status::ToDo,
            assignee: None,
            reporter: "r".into(),
            created: Utc::now(),
            updated: Utc::now(),
            comments: vec![],
            remote_links: vec![],
            sprints: vec![],
            creator: None,
            custom: BTreeMap::new(),
        }
    }
}

impl StoredIssue {
    /// The issue as the JQL evaluator sees it.
    pub fn facts<'a>(&'a self, id: &'a str) -> Facts<'a> {
        Facts {
            key: &self.key,
            id,
            project: &self.project,
            parent: self.parent.as_deref(),
            labels: &self.labels,
            issue_type: &self.issue_type,
            status: self.status.name(),
            sprints: &self.sprints,
            custom: &self.custom,
            created: self.created,
            updated: self.updated,
        }
    }

    fn key_number(&self) -> u64 {
        self.key
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// Everything the sandbox holds. Serialised as a whole to save it (`[sandbox] state_dir`);
/// request counters and the search index are not saved (a restored state is all visible).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Projects by key.
    pub projects: BTreeMap<String, Project>,
    /// Issues in creation order; writes are noted (see [`super::issues`]).
    pub issues: super::issues::Issues,
    next_project_id: u64,
    next_issue_id: u64,
    next_other_id: u64,
    issue_counters: BTreeMap<String, u64>,
    /// Write calls served, by name (`create`, `bulk`), so tests can count requests.
    #[serde(skip)]
    pub write_calls: BTreeMap<&'static str, u64>,
    /// Boards by id (one per project, made with it).
    pub boards: BTreeMap<u64, Board>,
    /// Sprints by id.
    pub sprints: BTreeMap<u64, Sprint>,
    pub(super) next_sprint_id: u64,
    /// People the sandbox knows.
    pub people: Directory,
    /// REST write requests per acting handle (`GET /_sandbox/jira/stats`).
    pub writes_by: BTreeMap<String, u64>,
    /// What search sees (lags the issues when a search lag is set).
    #[serde(skip)]
    pub index: super::index::SearchIndex,
    /// Old keys of moved issues (upper-case) → issue id: an old key still finds the issue.
    pub moved_keys: BTreeMap<String, u64>,
    /// Custom fields an administrator added (`POST /field`).
    #[serde(default)]
    pub custom_fields: Vec<super::custom::CustomField>,
}

impl State {
    /// Refuses a query naming custom fields that do not exist or that JQL cannot compare
    /// exactly (see [`super::jql::Query::check_custom_fields`]).
    pub fn check_query(&self, query: &super::jql::Query) -> Result<(), super::jql::JqlError> {
        query.check_custom_fields(|id| {
            self.custom_fields
                .iter()
                .find(|f| f.id == id)
                .map(|f| f.kind.exact())
        })
    }

    /// The administrator-made custom field `customfield_N` (or `cf[N]`), if it exists.
    pub fn custom_field(&self, name: &str) -> Option<&super::custom::CustomField> {
        let id = super::custom::parse_id(name)?;
        self.custom_fields.iter().find(|f| f.id == id)
    }

    /// Adds a project (no-op if the key exists, except for new components).
    pub fn add_project(&mut self, key: &str, name: &str, components: &[String]) -> &Project {
        if !self.projects.contains_key(key) {
            self.next_project_id += 1;
            let project = Project {
                id: 10_000 + self.next_project_id - 1,
                key: key.to_owned(),
                name: name.to_owned(),
                components: BTreeMap::new(),
                hidden_fields: Vec::new(),
                removed_transitions: Vec::new(),
            };
            self.projects.insert(key.to_owned(), project);
            // Every project gets a scrum board, as a new Jira Software project does.
            let board = self.boards.len() as u64 + 1;
            self.boards.insert(
                board,
                Board {
                    id: board,
                    name: format!("{key} board"),
                    project: key.to_owned(),
                },
            );
        }
        for c in components {
            let id = self.next_id();
            if let Some(p) = self.projects.get_mut(key) {
                p.components.entry(c.clone()).or_insert(id);
            }
        }
        &self.projects[key]
    }

    /// A fresh id for comments, links and components.
    pub fn next_id(&mut self) -> u64 {
        self.next_other_id += 1;
        10_000 + self.next_other_id
    }

    /// Ids of the transitions taken out of `project`'s workflow (none for an unknown one).
    pub fn removed_transitions(&self, project: &str) -> Vec<&'static str> {
        let Some(p) = self.project(project) else {
            return Vec::new();
        };
        TRANSITIONS
            .iter()
            .filter(|t| p.removed_transitions.iter().any(|r| r == t.id))
            .map(|t| t.id)
            .collect()
    }

    /// Finds a project by key (case-insensitive) or id.
    pub fn project(&self, key_or_id: &str) -> Option<&Project> {
        self.projects
            .values()
            .find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id.to_string() == key_or_id)
    }

    /// Index of an issue by key (case-insensitive) or id.
    pub fn issue_index(&self, key_or_id: &str) -> Option<usize> {
        // An id is compared as a number: no string made per issue.
        let id = key_or_id
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == key_or_id);
        let found = id
            .and_then(|id| self.issues.position_of_id(id))
            .or_else(|| self.issues.position_of_key(key_or_id));
        found.or_else(|| {
            let id = self.moved_keys.get(&key_or_id.to_uppercase())?;
            self.issues.position_of_id(*id)
        })
    }

    /// An issue by key or id.
    pub fn issue(&self, key_or_id: &str) -> Option<&StoredIssue> {
        self.issue_index(key_or_id).map(|i| &self.issues[i])
    }

    /// Allocates the next id and key in a project.
    pub fn allocate_key(&mut self, project: &str) -> (u64, String) {
        self.next_issue_id += 1;
        let n = self.issue_counters.entry(project.to_owned()).or_insert(0);
        *n += 1;
        (10_000 + self.next_issue_id, format!("{project}-{n}"))
    }

    /// Issues matching the query, in its order (default: by key).
    pub fn search(&self, query: &Query) -> Vec<&StoredIssue> {
        let hits: Vec<&StoredIssue> = self
            .issues
            .iter()
            .filter(|i| {
                let id = i.id.to_string();
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&i.facts(&id)))
            })
            .collect();
        Self::in_order(hits, &query.order)
    }

    /// `hits` sorted by `order` (default: by key), then by id.
    fn in_order<'a>(
        hits: Vec<&'a StoredIssue>,
        order: &[(OrderField, bool)],
    ) -> Vec<&'a StoredIssue> {
        let by_key = [(OrderField::Key, false)];
        let order = if order.is_empty() { &by_key[..] } else { order };
        // Each issue's key number parsed once, not at every comparison.
        let mut keyed: Vec<(u64, &StoredIssue)> =
            hits.into_iter().map(|i| (i.key_number(), i)).collect();
        keyed.sort_by(|(an, a), (bn, b)| {
            for (field, desc) in order {
                let ord = match field {
                    OrderField::Updated => a.updated.cmp(&b.updated),
                    OrderField::Created => a.created.cmp(&b.created),
                    OrderField::Key => a.project.cmp(&b.project).then(an.cmp(bn)),
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord.is_ne() {
                    return ord;
                }
            }
            a.id.cmp(&b.id)
        });
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    /// Issues matching the query as the search index shows them at `now` (see
    /// [`super::index`]): ids in `reconcile` are read-after-write consistent. Same order as
    /// [`Self::search`]; the issues returned are the live ones. Filters before it sorts, so
    /// a search over many issues sorts only its hits.
    pub fn search_indexed(
        &self,
        query: &Query,
        reconcile: &[u64],
        now: std::time::Instant,
    ) -> Vec<&StoredIssue> {
        let hits: Vec<&StoredIssue> = self
            .issues
            .iter()
            .filter(|live| {
                self.index
                    .visible(live, reconcile, now)
                    .is_some_and(|seen| {
                        let id = seen.id.to_string();
                        query
                            .filter
                            .as_ref()
                            .is_none_or(|f| f.matches(&seen.facts(&id)))
                    })
            })
            .collect();
        Self::in_order(hits, &query.order)
    }

    /// Counts a served write call.
    pub fn count_write(&mut self, what: &'static str) {
        *self.write_calls.entry(what).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::jira::jql::parse;

    fn issue(state: &mut State, project: &str, labels: &[&str]) -> String {
        let (id, key) = state.allocate_key(project);
        let now = Utc::now();
        state.issues.push(StoredIssue {
            id,
            key: key.clone(),
            project: project.into(),
            issue_type: "Story".into(),
            summary: "s".into(),
            description: None,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            components: vec![],
            parent: None,
            epic_name: None,
            status: Status::ToDo,
            assignee: None,
            reporter: "bot".into(),
            created: now,
            updated: now,
            comments: vec![],
            remote_links: vec![],
            sprints: vec![],
            creator: None,
            custom: BTreeMap::new(),
        });
        key
    }

    #[test]
    fn keys_count_per_project_and_sort_numerically() {
        let mut s = State::default();
        s.add_project("A", "A", &[]);
        for _ in 0..10 {
            issue(&mut s, "A", &["x"]);
        }
        issue(&mut s, "B", &[]);
        let q = parse("labels = x ORDER BY key DESC").expect("jql");
        let keys: Vec<&str> = s.search(&q).iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys.first(), Some(&"A-10"));
        assert_eq!(keys.last(), Some(&"A-1"));
        assert_eq!(keys.len(), 10);
        assert_eq!(s.issue("b-1").map(|i| i.project.as_str()), Some("B"));
    }

    #[test]
    fn workflow_goes_both_ways() {
        let reachable = |from: Status| transitions_from(from).map(|t| t.to).collect::<Vec<_>>();
        assert_eq!(
            reachable(Status::ToDo),
            vec![Status::InProgress, Status::Done, Status::WontDo]
        );
        assert_eq!(
            reachable(Status::InProgress),
            vec![Status::InReview, Status::ToDo, Status::Done, Status::WontDo]
        );
        assert_eq!(reachable(Status::Done), vec![Status::WontDo, Status::ToDo]);
        assert_eq!(Status::from_name("in progress"), Some(Status::InProgress));
        assert_eq!(Status::from_name("won't do"), Some(Status::WontDo));
        let ids = |a, b| path_between(a, b).iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(Status::ToDo, Status::Done), vec!["21"]);
        assert_eq!(ids(Status::Done, Status::InReview), vec!["41", "11", "51"]);
        assert!(ids(Status::Done, Status::Done).is_empty());
        // Every status reaches To Do, Done and Won't Do.
        for from in Status::ALL {
            for to in [Status::ToDo, Status::Done, Status::WontDo] {
                assert!(
                    from == to || !path_between(from, to).is_empty(),
                    "{from:?} → {to:?}"
                );
            }
        }
    }
}
