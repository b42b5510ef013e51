//! The sandbox's agile data: one scrum board per project and the sprints on them.
//!
//! Rules follow Jira Software: a sprint starts `future`, is started once (`active`, with
//! start and end dates) and closed once (`closed`, with a complete date); a board has at most
//! one active sprint (parallel sprints off); an issue is in at most one open sprint, while
//! the closed sprints it was in stay in its sprint field.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::render::time_rfc3339;
use super::state::State;

/// Default length of a sprint started without an end date: Jira's default two weeks.
const DEFAULT_SPRINT_DAYS: i64 = 14;
/// Most issues one `POST /sprint/{id}/issue` may move (Jira's limit).
pub const MOVE_LIMIT: usize = 50;

/// Where a sprint is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SprintState {
    /// Planned, not started.
    Future,
    /// Running.
    Active,
    /// Finished.
    Closed,
}

impl SprintState {
    /// `future`, `active`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Future => "future",
            Self::Active => "active",
            Self::Closed => "closed",
        }
    }

    /// By name, case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "future" => Some(Self::Future),
            "active" => Some(Self::Active),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A board (always scrum, one per project).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Board {
    /// Id.
    pub id: u64,
    /// Name, e.g. `PAY board`.
    pub name: String,
    /// The project's key.
    pub project: String,
}

/// A sprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sprint {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// State.
    pub state: SprintState,
    /// The board it was made on.
    pub origin_board_id: u64,
    /// Goal.
    pub goal: Option<String>,
    /// Planned or actual start.
    pub start_date: Option<DateTime<Utc>>,
    /// Planned end.
    pub end_date: Option<DateTime<Utc>>,
    /// When it was closed.
    pub complete_date: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_date: DateTime<Utc>,
}

impl Sprint {
    /// Whether issues may still move in (future or active).
    pub fn is_open(&self) -> bool {
        self.state != SprintState::Closed
    }

    /// Agile API shape (`GET /rest/agile/1.0/sprint/{id}`) and webhook `sprint` object.
    pub fn json(&self, base: &str) -> Value {
        let mut v = json!({
            "id": self.id,
            "self": format!("{base}/rest/agile/1.0/sprint/{}", self.id),
            "state": self.state.as_str(),
            "name": self.name,
            "createdDate": time_rfc3339(self.created_date),
            "originBoardId": self.origin_board_id,
            "goal": self.goal.clone().unwrap_or_default(),
        });
        for (key, at) in [
            ("startDate", self.start_date),
            ("endDate", self.end_date),
            ("completeDate", self.complete_date),
        ] {
            if let Some(at) = at {
                v[key] = json!(time_rfc3339(at));
            }
        }
        v
    }

    /// The sprint field as Cloud (REST v3) shows it: an object per sprint.
    pub fn field_object(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "name": self.name,
            "state": self.state.as_str(),
            "boardId": self.origin_board_id,
            "goal": self.goal.clone().unwrap_or_default(),
        });
        for (key, at) in [
            ("startDate", self.start_date),
            ("endDate", self.end_date),
            ("completeDate", self.complete_date),
        ] {
            if let Some(at) = at {
                v[key] = json!(time_rfc3339(at));
            }
        }
        v
    }

    /// The sprint field as older Data Center REST v2 shows it: GreenHopper's `toString()`.
    pub fn field_legacy(&self) -> String {
        let date = |d: Option<DateTime<Utc>>| d.map_or_else(|| "<null>".to_owned(), time_rfc3339);
        format!(
            "com.atlassian.greenhopper.service.sprint.Sprint@{:x}[id={},rapidViewId={},state={},name={},goal={},startDate={},endDate={},completeDate={},activatedDate={},sequence={},synced=false,autoStartStop=false,incompleteIssuesDestinationId=<null>]",
            0x1f00 + self.id,
            self.id,
            self.origin_board_id,
            self.state.as_str().to_ascii_uppercase(),
            self.name,
            self.goal.clone().unwrap_or_default(),
            date(self.start_date),
            date(self.end_date),
            date(self.complete_date),
            date(self.start_date),
            self.id,
        )
    }
}

/// Why an agile operation was refused (worded like Jira; 404 for `Missing`, else 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgileError {
    /// No such board, sprint or issue.
    #[error("{0}")]
    Missing(String),
    /// Not allowed in the current state.
    #[error("{0}")]
    Invalid(String),
}

/// A requested change of a sprint (partial update).
#[derive(Debug, Clone, Default)]
pub struct SprintChange {
    /// New name.
    pub name: Option<String>,
    /// New state.
    pub state: Option<SprintState>,
    /// New goal.
    pub goal: Option<String>,
    /// New start.
    pub start_date: Option<DateTime<Utc>>,
    /// New end.
    pub end_date: Option<DateTime<Utc>>,
}

impl State {
    /// The board of a project, by key.
    pub fn board_of(&self, project: &str) -> Option<&Board> {
        let key = self.project(project)?.key.clone();
        self.boards.values().find(|b| b.project == key)
    }

    /// Makes a future sprint on a board.
    pub fn create_sprint(
        &mut self,
        board: u64,
        name: &str,
        goal: Option<String>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Sprint, AgileError> {
        if !self.boards.contains_key(&board) {
            return Err(AgileError::Invalid(format!(
                "originBoardId: Board with id {board} does not exist."
            )));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(AgileError::Invalid(
                "name: Sprint name is required and must be at most 30 characters.".into(),
            ));
        }
        self.next_sprint_id += 1;
        let sprint = Sprint {
            id: self.next_sprint_id,
            name: name.to_owned(),
            state: SprintState::Future,
            origin_board_id: board,
            goal,
            start_date: start,
            end_date: end,
            complete_date: None,
            created_date: now,
        };
        self.sprints.insert(sprint.id, sprint.clone());
        Ok(sprint)
    }

    /// Applies a partial update; state moves only future → active → closed.
    pub fn update_sprint(
        &mut self,
        id: u64,
        change: SprintChange,
        now: DateTime<Utc>,
    ) -> Result<Sprint, AgileError> {
        let current =
            self.sprints.get(&id).cloned().ok_or_else(|| {
                AgileError::Missing(format!("Sprint with id {id} does not exist."))
            })?;
        let mut next = current.clone();
        if current.state == SprintState::Closed {
            return Err(AgileError::Invalid(format!(
                "Sprint {id} is closed and cannot be changed."
            )));
        }
        if let Some(name) = change.name {
            next.name = name;
        }
        if let Some(goal) = change.goal {
            next.goal = Some(goal);
        }
        if change.start_date.is_some() {
            next.start_date = change.start_date;
        }
        if change.end_date.is_some() {
            next.end_date = change.end_date;
        }
        match (current.state, change.state) {
            (_, None) => {}
            (from, Some(to)) if from == to => {}
            (SprintState::Future, Some(SprintState::Active)) => {
                let busy = self.sprints.values().any(|s| {
                    s.origin_board_id == current.origin_board_id && s.state == SprintState::Active
                });
                if busy {
                    return Err(AgileError::Invalid(
                        "A sprint is already active on this board; close it first.".into(),
                    ));
                }
                next.state = SprintState::Active;
                let start = next.start_date.unwrap_or(now);
                next.start_date = Some(start);
                next.end_date = Some(
                    next.end_date
                        .unwrap_or(start + Duration::days(DEFAULT_SPRINT_DAYS)),
                );
            }
            (SprintState::Active, Some(SprintState::Closed)) => {
                next.state = SprintState::Closed;
                next.complete_date = Some(now);
            }
            (from, Some(to)) => {
                return Err(AgileError::Invalid(format!(
                    "A sprint cannot move from {} to {}.",
                    from.as_str(),
                    to.as_str()
                )));
            }
        }
        self.sprints.insert(id, next.clone());
        Ok(next)
    }

    /// Moves issues into an open sprint, out of any other open sprint they were in.
    pub fn move_to_sprint(
        &mut self,
        id: u64,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), AgileError> {
        let sprint = self
            .sprints
            .get(&id)
            .ok_or_else(|| AgileError::Missing(format!("Sprint with id {id} does not exist.")))?;
        if !sprint.is_open() {
            return Err(AgileError::Invalid(format!(
                "Issues cannot be moved to closed sprint {id}."
            )));
        }
        if keys.len() > MOVE_LIMIT {
            return Err(AgileError::Invalid(format!(
                "At most {MOVE_LIMIT} issues can be moved at once."
            )));
        }
        let mut indexes = Vec::with_capacity(keys.len());
        for key in keys {
            let idx = self
                .issue_index(key)
                .ok_or_else(|| AgileError::Invalid(format!("Issue '{key}' does not exist.")))?;
            indexes.push(idx);
        }
        let open: Vec<u64> = self
            .sprints
            .values()
            .filter(|s| s.is_open())
            .map(|s| s.id)
            .collect();
        for idx in indexes {
            let issue = &mut self.issues[idx];
            if issue.sprints.contains(&id) {
                continue;
            }
            issue.sprints.retain(|s| !open.contains(s));
            issue.sprints.push(id);
            issue.updated = now;
        }
        Ok(())
    }

    /// The sprints an issue is or was in, oldest first.
    pub fn sprints_of(&self, ids: &[u64]) -> Vec<&Sprint> {
        ids.iter().filter_map(|id| self.sprints.get(id)).collect()
    }
}
