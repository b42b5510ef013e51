//! Before/after results: [`Job::RecordResults`](crate::engine::Job::RecordResults) records
//! them, [`Job::CopyResults`](crate::engine::Job::CopyResults) comments them on the epic,
//! and the one request for them a concern gets.

use crate::council::Reply;
use crate::council::tracking::render_reply;
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::jobs::{Job, KeyedJob};
use crate::engine::plan::digest;
use crate::store::now_ms;
use crate::tracker::Tracker;

/// Records before/after results, copies them to the epic, and updates the labels.
pub(crate) async fn record_results<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    text: &str,
    by: &str,
) -> Result<(), EngineError> {
    let Some(record) = cx.store.get_concern(repo, number).await? else {
        return Ok(());
    };
    let text = text.trim();
    if text.is_empty() || record.results.as_deref() == Some(text) {
        return Ok(());
    }
    // Queued before the results are stored, under a key of the concern and the text: a
    // run that stops in between queues the same job again, and runs racing (the body's
    // Results section and a `/results` comment, a delivery's and a reconcile's, several
    // replicas) queue one, so the epic gets the text once.
    if record.epic_key.is_some() {
        cx.enqueue_job(copy_results_job(repo, number, text, by))
            .await?;
    }
    cx.store.set_results(repo, number, text, now_ms()).await?;
    super::sync_from_tracker::sync_from_tracker(cx, repo, number).await?;
    super::tracking::refresh_tracking(cx, repo, number).await
}

/// Comments results on the concern's epic (the [`Job::CopyResults`] job).
pub(crate) async fn copy_results<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    text: &str,
    by: &str,
) -> Result<(), EngineError> {
    let Some(epic) = cx
        .store
        .get_concern(repo, number)
        .await?
        .and_then(|r| r.epic_key)
    else {
        return Ok(());
    };
    let note = format!("Before/after results presented on GitHub by @{by}:\n\n{text}");
    cx.tracker.comment(&epic, &note).await?;
    Ok(())
}

/// The marker key of the one request for before/after results a concern gets.
pub(crate) const RESULTS_REQUEST: &str = "results-request";

/// The job asking the author for the before/after results. Its key names the
/// concern only (not the delivery, poll or pass that found the stories done), so however
/// many syncs decide to ask, concurrently or one after another, the outbox holds one job;
/// the job itself looks for its marker before posting (a retry after a lost answer).
pub(crate) fn results_request_job(repo: &str, number: u64, author: &str) -> KeyedJob {
    let reply = Reply::ResultsRequested {
        author: author.to_owned(),
    };
    KeyedJob::new(
        format!("reply:{repo}#{number}:{RESULTS_REQUEST}"),
        Job::Reply {
            repo: repo.to_owned(),
            number,
            marker_key: RESULTS_REQUEST.to_owned(),
            body: render_reply(&reply, RESULTS_REQUEST),
        },
    )
}

/// The job copying `text` to the concern's epic, keyed by the concern and the text.
pub(crate) fn copy_results_job(repo: &str, number: u64, text: &str, by: &str) -> KeyedJob {
    KeyedJob::new(
        format!("results-epic:{repo}#{number}:{}", digest(text)),
        Job::CopyResults {
            repo: repo.to_owned(),
            number,
            text: text.to_owned(),
            by: by.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::tracking::reply_marker;
    use crate::store::testing::on_each_backend;

    /// Syncs that all decide to ask (a delivery's, a poll's, a reconcile's), racing: the
    /// store admits one request job, and its body carries the marker its runner checks.
    #[tokio::test]
    async fn racing_syncs_queue_one_results_request() {
        on_each_backend(|store| async move {
            let racers = (0..8).map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let job = results_request_job("acme/x", 7, "alice");
                    let payload = job.payload().expect("payload");
                    store
                        .enqueue(&job.key, job.job.kind(), &payload)
                        .await
                        .expect("enqueue")
                })
            });
            let mut admitted = 0;
            for r in futures::future::join_all(racers).await {
                admitted += usize::from(r.expect("task"));
            }
            assert_eq!(admitted, 1, "one request queued");
            let rows = store.claim_due(now_ms(), 100).await.expect("claim");
            assert_eq!(rows.len(), 1);
            let job: Job = serde_json::from_value(rows[0].payload.clone()).expect("job");
            let Job::Reply {
                marker_key, body, ..
            } = job
            else {
                panic!("not a reply: {job:?}");
            };
            assert!(body.contains(&reply_marker(&marker_key)));
            assert!(body.contains("@alice") && body.contains("before/after"));
        })
        .await;
    }

    /// The key names the concern only: another concern gets its own request.
    #[test]
    fn results_request_key_is_per_concern() {
        let a = results_request_job("acme/x", 7, "alice");
        assert_eq!(a.key, results_request_job("acme/x", 7, "bob").key);
        assert_ne!(a.key, results_request_job("acme/x", 8, "alice").key);
        assert_ne!(a.key, results_request_job("acme/y", 7, "alice").key);
    }
}
