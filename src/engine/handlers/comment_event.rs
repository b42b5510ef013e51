//! An `issue_comment` delivery: `/results …` from anyone but the daemon records the
//! concern's results.

use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::inbox::done;
use crate::engine::jobs::{Job, KeyedJob, queued};
use crate::github::webhook::events::IssueCommentEvent;
use crate::tracker::Tracker;

/// `/results …` from anyone but the daemon records the concern's results.
pub(crate) async fn on_comment<T: Tracker + 'static>(
    cx: &Ctx<T>,
    seq: i64,
    c: &IssueCommentEvent,
) -> Result<(), EngineError> {
    let body = c.comment_body.trim_start();
    let is_results = body
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("/results"));
    let text = body.get(8..).unwrap_or("").trim();
    if !is_results || text.is_empty() {
        return done(cx, seq).await;
    }
    let Some(record) = cx.store.get_concern(&c.repo, c.issue.number).await? else {
        return done(cx, seq).await;
    };
    if !record.stage.is_syncing() {
        return done(cx, seq).await;
    }
    let job = KeyedJob::new(
        format!("results:{}#{}:{}", c.repo, c.issue.number, c.comment_id),
        Job::RecordResults {
            repo: c.repo.clone(),
            number: c.issue.number,
            text: text.to_owned(),
            by: c.sender.clone(),
        },
    );
    Ok(cx
        .store
        .commit_decision(Some(seq), None, None, &queued(std::slice::from_ref(&job))?)
        .await?)
}
