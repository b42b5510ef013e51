//! What the engine needs of GitHub's issues and comments: small structs decoded tolerantly
//! (unknown fields ignored), so a field GitHub adds or the sandbox leaves out that we do not
//! use never fails a call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    /// Open.
    Open,
    /// Closed.
    Closed,
}

/// Why an issue was closed (or that it was reopened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateReason {
    /// Done.
    Completed,
    /// Won't do (a rejected concern).
    NotPlanned,
    /// Reopened after being closed.
    Reopened,
    /// Closed as a duplicate.
    Duplicate,
    /// A reason this client does not know yet.
    #[serde(other)]
    Other,
}

impl StateReason {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::NotPlanned => "not_planned",
            Self::Reopened => "reopened",
            Self::Duplicate => "duplicate",
            Self::Other => "completed",
        }
    }
}

/// An issue, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// GitHub's numeric id.
    pub id: u64,
    /// Number within the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (Markdown), `None` when empty.
    pub body: Option<String>,
    /// Open or closed.
    pub state: IssueState,
    /// Why closed / reopened.
    pub state_reason: Option<StateReason>,
    /// Label names.
    pub labels: Vec<String>,
    /// Author login.
    pub author: String,
    /// Link for people.
    pub html_url: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (the `since` cursor of polling).
    pub updated_at: DateTime<Utc>,
    /// Pull requests show up in the issues list; the engine skips them.
    pub is_pull_request: bool,
    /// Assignee logins (the epic follows the first one through `[users]`).
    pub assignees: Vec<String>,
    /// How many comments it has (GitHub's `comments`; 0 when absent).
    pub comments: u64,
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Numeric id.
    pub id: u64,
    /// Author login.
    pub author: String,
    /// Body (Markdown).
    pub body: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last edit.
    pub updated_at: DateTime<Utc>,
}

#[derive(Deserialize)]
pub(super) struct RawUser {
    pub login: String,
}

#[derive(Deserialize)]
pub(super) struct RawLabel {
    pub name: String,
}

#[derive(Deserialize)]
pub(super) struct RawIssue {
    id: u64,
    number: u64,
    title: String,
    body: Option<String>,
    state: IssueState,
    state_reason: Option<StateReason>,
    #[serde(default)]
    labels: Vec<RawLabel>,
    user: Option<RawUser>,
    html_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    pull_request: Option<serde_json::Value>,
    #[serde(default)]
    assignees: Vec<RawUser>,
    #[serde(default)]
    comments: u64,
}

impl Issue {
    /// `(owner/name, number)` where the issue lives now, read from its `html_url`
    /// (`https://HOST/OWNER/NAME/issues/N`). GitHub answers a transferred issue's old address
    /// with a redirect to the new one, so this differs from what was asked for exactly when
    /// the issue was transferred. `None` when the URL has another shape.
    pub fn location(&self) -> Option<(String, u64)> {
        let path = self.html_url.split('?').next()?.trim_end_matches('/');
        let mut parts = path.rsplit('/');
        let number = parts.next()?.parse().ok()?;
        let kind = parts.next()?;
        let name = parts.next()?;
        let owner = parts.next()?;
        (kind == "issues" && !name.is_empty() && !owner.is_empty())
            .then(|| (format!("{owner}/{name}"), number))
    }

    /// Where the issue went, when it is no longer `repo#number` (a transfer).
    pub fn moved_from(&self, repo: &str, number: u64) -> Option<(String, u64)> {
        self.location()
            .filter(|(r, n)| !r.eq_ignore_ascii_case(repo) || *n != number)
    }
}

#[cfg(test)]
mod location_tests {
    use super::*;

    fn with_url(url: &str) -> Issue {
        Issue {
            id: 1,
            number: 1,
            title: String::new(),
            body: None,
            state: IssueState::Open,
            state_reason: None,
            labels: Vec::new(),
            author: String::new(),
            html_url: url.to_owned(),
            created_at: DateTime::<Utc>::default(),
            updated_at: DateTime::<Utc>::default(),
            is_pull_request: false,
            assignees: Vec::new(),
            comments: 0,
        }
    }

    #[test]
    fn a_transfer_shows_in_the_html_url() {
        let i = with_url("https://github.com/acme/infra/issues/3");
        assert_eq!(i.location(), Some(("acme/infra".into(), 3)));
        assert_eq!(i.moved_from("acme/infra", 3), None);
        assert_eq!(i.moved_from("Acme/Infra", 3), None, "names ignore case");
        assert_eq!(i.moved_from("acme/ops", 42), Some(("acme/infra".into(), 3)));
        assert_eq!(with_url("https://ghe.example/x/y/pull/3").location(), None);
        assert_eq!(with_url("not a url").location(), None);
    }
}

impl From<RawIssue> for Issue {
    fn from(r: RawIssue) -> Self {
        Self {
            id: r.id,
            number: r.number,
            title: r.title,
            body: r.body,
            state: r.state,
            state_reason: r.state_reason,
            labels: r.labels.into_iter().map(|l| l.name).collect(),
            // A deleted account shows as `null`; GitHub calls it "ghost".
            author: r.user.map(|u| u.login).unwrap_or_else(|| "ghost".into()),
            html_url: r.html_url,
            created_at: r.created_at,
            updated_at: r.updated_at,
            is_pull_request: r.pull_request.is_some(),
            assignees: r.assignees.into_iter().map(|u| u.login).collect(),
            comments: r.comments,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RawComment {
    id: u64,
    #[serde(default)]
    body: String,
    user: Option<RawUser>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<RawComment> for Comment {
    fn from(r: RawComment) -> Self {
        Self {
            id: r.id,
            author: r.user.map(|u| u.login).unwrap_or_else(|| "ghost".into()),
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RawMembership {
    pub state: String,
}

#[derive(Deserialize)]
pub(super) struct RawId {
    pub id: u64,
}

/// One entry of an issue's timeline of events (`GET /repos/{owner}/{repo}/issues/{n}/events`,
/// GitHub's `issue-event-for-issue`): who did what to the issue, and when. Only what the
/// reconcile reads; every other event kind and field is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueEvent {
    /// `labeled`, `unlabeled`, `closed`, `reopened`, `renamed`, … (GitHub's `event`).
    pub event: String,
    /// Who did it; `None` for a deleted account (GitHub sends `actor: null`).
    pub actor: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The label's name, for `labeled` / `unlabeled`.
    pub label: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RawIssueEvent {
    event: String,
    actor: Option<RawUser>,
    created_at: DateTime<Utc>,
    label: Option<RawLabel>,
}

impl From<RawIssueEvent> for IssueEvent {
    fn from(r: RawIssueEvent) -> Self {
        Self {
            event: r.event,
            actor: r.actor.map(|u| u.login),
            created_at: r.created_at,
            label: r.label.map(|l| l.name),
        }
    }
}
