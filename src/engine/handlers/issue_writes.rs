//! The plain GitHub writes a decision queues: [`Job::Labels`](crate::engine::Job::Labels),
//! [`Job::Reply`](crate::engine::Job::Reply) (found by its marker before it is posted) and
//! [`Job::CloseNotPlanned`](crate::engine::Job::CloseNotPlanned).

use crate::council::tracking::reply_marker;
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::github::client::StateReason;
use crate::tracker::Tracker;

/// Adds and removes labels on the issue (both idempotent on GitHub's side).
pub(crate) async fn labels<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    add: &[String],
    remove: &[String],
) -> Result<(), EngineError> {
    if !add.is_empty() {
        cx.github.add_labels(repo, number, add).await?;
    }
    for label in remove {
        cx.github.remove_label(repo, number, label).await?;
    }
    Ok(())
}

/// Posts a reply, unless a comment carrying its marker is already there.
pub(crate) async fn reply<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    marker_key: &str,
    body: &str,
) -> Result<(), EngineError> {
    let marker = reply_marker(marker_key);
    let comments = cx.github.list_comments(repo, number).await?;
    if !comments.iter().any(|c| c.body.contains(&marker)) {
        cx.github.create_comment(repo, number, body).await?;
    }
    Ok(())
}

/// Closes the issue as not planned.
pub(crate) async fn close_not_planned<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
) -> Result<(), EngineError> {
    Ok(cx
        .github
        .close_issue(repo, number, StateReason::NotPlanned)
        .await?)
}
