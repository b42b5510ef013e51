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
    // Against the issue loaded by an earlier job of this run, if any (no read for this):
    // a label already there is not added again, one already gone not removed again.
    let kept = cx.issues.get(repo, number);
    let has = |l: &str| {
        kept.as_ref()
            .map(|k| k.issue.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
    };
    let add: Vec<String> = add
        .iter()
        .filter(|l| has(l) != Some(true))
        .cloned()
        .collect();
    let remove: Vec<&String> = remove.iter().filter(|l| has(l) != Some(false)).collect();
    // Adding and removing touch different labels: GitHub takes them in any order.
    let adding = async {
        if add.is_empty() {
            return Ok(None);
        }
        cx.github.add_labels(repo, number, &add).await.map(Some)
    };
    let removing = futures::future::try_join_all(
        remove
            .iter()
            .map(|label| cx.github.remove_label(repo, number, label)),
    );
    let (now, _) = tokio::try_join!(adding, removing)?;
    cx.issues.amend(repo, number, |i| {
        match now {
            Some(labels) => i.labels = labels,
            None => i.labels.extend(add.iter().cloned()),
        }
        i.labels
            .retain(|x| !remove.iter().any(|r| r.eq_ignore_ascii_case(x)));
    });
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
    cx.github
        .close_issue(repo, number, StateReason::NotPlanned)
        .await?;
    cx.issues.amend(repo, number, |i| {
        i.state = crate::github::client::IssueState::Closed;
        i.state_reason = Some(StateReason::NotPlanned);
    });
    Ok(())
}
