//! [`Job::FollowIssue`](crate::engine::Job::FollowIssue): GitHub → tracker (closed as not
//! planned, reopened, edits, assignees). Each compares before it writes.

use crate::concern;
use crate::config::{Owner, Progress};
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::describe::{IssueFacts, epic_request};
use crate::engine::jobs::IssueChange;
use crate::engine::plan::digest;
use crate::github::client::{Issue, IssueState, StateReason};
use crate::store::{self, ConcernRow};
use crate::tracker::Tracker;

/// Carries a change of the GitHub issue over to the epic and stories.
pub(crate) async fn follow_issue<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    change: IssueChange,
) -> Result<(), EngineError> {
    let Some(record) = cx.store.get_concern(repo, number).await? else {
        return Ok(());
    };
    if record.epic_key.is_none() || !record.stage.is_accepted() {
        return Ok(());
    }
    let loaded = cx.load(repo, number).await?;
    let issue = &loaded.issue;
    match change {
        IssueChange::ClosedNotPlanned => follow_not_planned(cx, &record, issue).await?,
        IssueChange::Reopened => follow_reopened(cx, &record, issue).await?,
        IssueChange::Edited => follow_edit_parsed(cx, &record, issue, &loaded.parsed).await?,
        IssueChange::Assignees => follow_assignees(cx, &record, issue).await?,
    }
    super::tracking::refresh_tracking(cx, repo, number).await
}

pub(crate) async fn follow_not_planned<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    issue: &Issue,
) -> Result<(), EngineError> {
    let closed_now =
        issue.state == IssueState::Closed && issue.state_reason == Some(StateReason::NotPlanned);
    if !closed_now || record.issue_state == Some(store::IssueState::ClosedNotPlanned) {
        return Ok(());
    }
    let Some((epic, stories)) = super::sync_from_tracker::tracked(cx, record).await? else {
        return Ok(());
    };
    let target = &cx.config.sync.not_planned_status;
    for t in stories.iter().map(|(_, t)| t).chain(std::iter::once(&epic)) {
        if t.progress != Progress::Done {
            cx.tracker.move_to(&t.key, target).await?;
        }
    }
    let note = format!(
        "The SRE concern [{}#{}]({}) was closed as not planned on GitHub, so its open work moved to {target}.",
        record.repo, record.number, issue.html_url
    );
    cx.tracker.comment(&epic.key, &note).await?;
    cx.store
        .set_issue_state(
            &record.repo,
            record.number,
            store::IssueState::ClosedNotPlanned,
        )
        .await?;
    Ok(())
}

pub(crate) async fn follow_reopened<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    issue: &Issue,
) -> Result<(), EngineError> {
    if issue.state != IssueState::Open
        || record.issue_state != Some(store::IssueState::ClosedNotPlanned)
    {
        return Ok(());
    }
    let Some((epic, stories)) = super::sync_from_tracker::tracked(cx, record).await? else {
        return Ok(());
    };
    let (from, to) = (
        &cx.config.sync.not_planned_status,
        &cx.config.sync.reopen_status,
    );
    for t in stories.iter().map(|(_, t)| t).chain(std::iter::once(&epic)) {
        if t.status.eq_ignore_ascii_case(from) {
            cx.tracker.move_to(&t.key, to).await?;
        }
    }
    let note = format!(
        "The SRE concern [{}#{}]({}) was reopened on GitHub, so the work moved back to {to}.",
        record.repo, record.number, issue.html_url
    );
    cx.tracker.comment(&epic.key, &note).await?;
    cx.store
        .set_issue_state(&record.repo, record.number, store::IssueState::Open)
        .await?;
    Ok(())
}

/// The epic's summary and description follow the issue's title and answers (when GitHub
/// owns them). A hash of what was last written makes a repeated edit event a no-op.
pub(crate) async fn follow_edit<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    issue: &Issue,
) -> Result<(), EngineError> {
    let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), &cx.form);
    follow_edit_parsed(cx, record, issue, &parsed).await
}

/// [`follow_edit`] with the concern already parsed from `issue`.
pub(crate) async fn follow_edit_parsed<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    issue: &Issue,
    parsed: &concern::Concern,
) -> Result<(), EngineError> {
    let Some(epic_key) = &record.epic_key else {
        return Ok(());
    };
    let owners = &cx.config.sync.owners;
    let facts = IssueFacts {
        id: issue.id,
        number: record.number,
        repo: &record.repo,
        title: &issue.title,
        html_url: &issue.html_url,
    };
    let request = epic_request(&facts, parsed, &cx.form);
    let hash = digest(&format!("{}\n{}", request.summary, request.description_md));
    if record.synced_hash.as_deref() == Some(hash.as_str()) {
        return Ok(());
    }
    let summary = (owners.title == Owner::Github).then_some(request.summary.as_str());
    let description = (owners.answers == Owner::Github).then_some(request.description_md.as_str());
    if summary.is_some() || description.is_some() {
        cx.tracker.update(epic_key, summary, description).await?;
    }
    cx.store
        .set_synced_hash(&record.repo, record.number, &hash)
        .await?;
    Ok(())
}

/// The epic's assignee follows the issue's first assignee through `[users]`; a login
/// with no tracker account leaves the epic unassigned and is reported, not retried.
pub(crate) async fn follow_assignees<T: Tracker + 'static>(
    cx: &Ctx<T>,
    record: &ConcernRow,
    issue: &Issue,
) -> Result<(), EngineError> {
    let Some(epic_key) = &record.epic_key else {
        return Ok(());
    };
    if cx.config.sync.owners.assignee != Owner::Github {
        return Ok(());
    }
    let (account, note) = match issue.assignees.first() {
        None => (None, None),
        Some(login) => match cx.github_user_account(login) {
            Some(account) => (Some(account), None),
            None => (
                None,
                Some(format!(
                    "GitHub user @{login} has no {} account under [users], so the epic is left unassigned.",
                    cx.tracker.name()
                )),
            ),
        },
    };
    // An assignee change that leaves the first assignee (a second one added) would set the
    // epic's assignee to what it is: one read instead of a write.
    let now = cx.tracker.fetch(std::slice::from_ref(epic_key)).await?;
    let same = now
        .iter()
        .find(|t| &t.key == epic_key)
        .is_some_and(|t| t.assignee_account == account);
    if !same {
        cx.tracker.assign(epic_key, account.as_deref()).await?;
    }
    let problem = record.last_error.as_deref();
    let stale_note = problem.is_some_and(|p| p.starts_with("GitHub user @"));
    if note.is_some() || stale_note {
        cx.store
            .set_last_error(&record.repo, record.number, note.as_deref())
            .await?;
    }
    Ok(())
}
