//! Moving an issue to another project, as Jira's "Move" does: the issue gets the next key of
//! the target project and keeps its id; its old key goes on resolving to it (Jira redirects
//! a moved issue's old key), and the `jira:issue_updated` webhook carries a `project` and a
//! `Key` changelog item (made by the change detection in [`super::hooks`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

use super::state::StoredIssue;
use super::{ControlError, JiraSandbox, actor};

impl JiraSandbox {
    /// Moves issue `key` into `project` as person `actor`; returns it under its new key.
    pub fn move_as(
        &self,
        key: &str,
        project: &str,
        actor: &str,
    ) -> Result<StoredIssue, ControlError> {
        let issue = actor::as_actor(actor, || {
            let mut state = self.lock();
            state.people.register(actor);
            let idx = state
                .issue_index(key)
                .ok_or_else(|| ControlError::NoIssue(key.to_owned()))?;
            let target = state
                .project(project)
                .map(|p| p.key.clone())
                .ok_or_else(|| ControlError::Invalid(format!("No project '{project}'.")))?;
            if state.issues[idx].project == target {
                return Err(ControlError::Invalid(format!(
                    "{key} is already in project {target}."
                )));
            }
            // Only the key is used: the issue keeps its id.
            let (_, new_key) = state.allocate_key(&target);
            let old_key = std::mem::replace(&mut state.issues[idx].key, new_key);
            let id = state.issues[idx].id;
            state.moved_keys.insert(old_key.to_uppercase(), id);
            let issue = &mut state.issues[idx];
            issue.project = target;
            // Components belong to a project; Jira asks for new ones on a move.
            issue.components.clear();
            issue.updated = chrono::Utc::now();
            Ok::<_, ControlError>(issue.clone())
        })?;
        self.changed();
        Ok(issue)
    }
}

/// Body of the move action.
#[derive(Debug, Deserialize)]
pub struct MoveAs {
    project: String,
    #[serde(rename = "as")]
    actor: String,
}

/// `POST /_sandbox/jira/issues/{key}/move` `{project, as}`.
pub async fn move_issue(
    State(sb): State<Arc<JiraSandbox>>,
    Path(key): Path<String>,
    Json(m): Json<MoveAs>,
) -> Response {
    super::control::respond(sb.move_as(&key, &m.project, &m.actor))
}
