//! The Jira half of the sandbox (REST v3 and v2). Work in progress.

pub mod create;
pub mod jql;
pub mod state;

use std::sync::Arc;

/// Jira's state in the sandbox.
#[derive(Debug, Default)]
pub struct JiraSandbox {}

/// Routes under `/rest/...` (the Jira API) and `/_sandbox/jira/...` (control).
pub fn router(_state: Arc<JiraSandbox>) -> axum::Router {
    axum::Router::new()
}
