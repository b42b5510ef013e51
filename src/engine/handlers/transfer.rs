//! Following a GitHub issue transferred to another repository (`issues.transferred`, then
//! `opened` with `changes.old_issue` in the new one; or GitHub's redirect when both
//! deliveries were missed): the concern keeps its decisions, epic and stories under the new
//! address, and everything that shows the address is brought along: the tracking comment
//! says where it came from, the epic's link back and its description point at the new issue.

use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::jobs::{IssueChange, Job, KeyedJob};
use crate::tracker::Tracker;

/// Records the transfer `from` → `to` in the store and queues the writes that show the
/// new address. Returns whether the concern followed now. Idempotent: a replay (the
/// other delivery of the same transfer, or a restart after the store followed but before
/// the jobs were queued) queues the same keyed jobs again, which is a no-op.
pub(crate) async fn follow_transfer<T: Tracker + 'static>(
    cx: &Ctx<T>,
    from: (&str, u64),
    to: (&str, u64),
    node_id: Option<&str>,
) -> Result<bool, EngineError> {
    let followed = cx.store.follow_issue_transfer(from, to, node_id).await?;
    tracing::info!(from = ?from, to = ?to, followed, "issue transferred");
    let came_from = format!("{}#{}", from.0, from.1);
    let moved = followed
        || cx.store.concern_moved_from(to.0, to.1).await?.as_deref() == Some(came_from.as_str());
    if moved {
        for job in transfer_jobs(from, to) {
            cx.enqueue_job(job).await?;
        }
    }
    Ok(followed)
}

/// Runs [`Job::Relink`]: the epic's link back to GitHub follows the issue to `repo#number`
/// from `from_repo#from_number`. Nothing to do before the epic exists (it is then made
/// with the new address).
pub(crate) async fn relink<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    from_repo: &str,
    from_number: u64,
) -> Result<(), EngineError> {
    let Some(record) = cx.store.get_concern(repo, number).await? else {
        return Ok(());
    };
    let Some(epic_key) = &record.epic_key else {
        return Ok(());
    };
    let loaded = cx.load(repo, number).await?;
    let issue = &loaded.issue;
    let old_url = old_address(&issue.html_url, (repo, number), (from_repo, from_number));
    cx.tracker
        .relink_github(epic_key, &old_url, &issue.html_url, &issue.title)
        .await?;
    Ok(())
}

/// The jobs that bring the new address everywhere it shows, keyed by the transfer.
fn transfer_jobs(from: (&str, u64), to: (&str, u64)) -> Vec<KeyedJob> {
    let (repo, number) = (to.0.to_owned(), to.1);
    let key = |what: &str| format!("{what}:{}#{}:moved-from:{}#{}", to.0, to.1, from.0, from.1);
    vec![
        KeyedJob::new(
            key("relink"),
            Job::Relink {
                repo: repo.clone(),
                number,
                from_repo: from.0.to_owned(),
                from_number: from.1,
            },
        ),
        // The epic's description links the issue: re-rendered with the new address.
        KeyedJob::new(
            key("follow-edit"),
            Job::FollowIssue {
                repo: repo.clone(),
                number,
                change: IssueChange::Edited,
            },
        ),
        KeyedJob::new(key("tracking"), Job::Tracking { repo, number }),
    ]
}

/// The issue's old `html_url`, from its new one: same host, the old `owner/name/issues/n`.
/// Falls back to `https://github.com/...` when the new URL does not end as expected.
fn old_address(new_url: &str, to: (&str, u64), from: (&str, u64)) -> String {
    let tail = format!("/{}/issues/{}", to.0, to.1);
    let lower = new_url.to_ascii_lowercase();
    let base = if lower.ends_with(&tail.to_ascii_lowercase()) {
        &new_url[..new_url.len() - tail.len()]
    } else {
        "https://github.com"
    };
    format!("{base}/{}/issues/{}", from.0, from.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_address_keeps_the_host() {
        assert_eq!(
            old_address(
                "http://127.0.0.1:4000/acme/moved/issues/3",
                ("acme/moved", 3),
                ("acme/concerns", 12)
            ),
            "http://127.0.0.1:4000/acme/concerns/issues/12"
        );
        assert_eq!(
            old_address(
                "https://github.com/Acme/Moved/issues/3",
                ("acme/moved", 3),
                ("acme/concerns", 12)
            ),
            "https://github.com/acme/concerns/issues/12"
        );
        assert_eq!(
            old_address("odd", ("a/b", 1), ("c/d", 2)),
            "https://github.com/c/d/issues/2"
        );
    }

    #[test]
    fn jobs_are_keyed_by_the_transfer() {
        let a = transfer_jobs(("acme/x", 1), ("acme/y", 2));
        let b = transfer_jobs(("acme/x", 1), ("acme/y", 2));
        let keys: Vec<&str> = a.iter().map(|j| j.key.as_str()).collect();
        assert_eq!(keys, b.iter().map(|j| j.key.as_str()).collect::<Vec<_>>());
        assert!(
            keys.iter()
                .all(|k| k.contains("acme/y#2:moved-from:acme/x#1"))
        );
        assert!(matches!(a[0].job, Job::Relink { from_number: 1, .. }));
    }
}
