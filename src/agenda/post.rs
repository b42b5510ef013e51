//! Posting the agenda as one GitHub issue per session (`[agenda] post_to = "issue"`).
//!
//! The issue is found again by a hidden marker naming the session's start
//! (`<!-- council-sync:agenda:2026-12-10T13:00:00Z -->`) among the issues carrying the agenda
//! label, and edited in place while the session has not started; afterwards it is left
//! alone as the record. Creating is the one write that is not idempotent on GitHub, so it is
//! guarded twice: the marker lookup (a restart after a crash finds what it made) and a
//! leased claim in the store (two replicas, or the daemon and a `--post`, never both
//! create). All calls go through the GitHub client module.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::AgendaError;
use super::model::Agenda;
use super::render;
use crate::github::client::GithubClient;
use crate::store::{AgendaClaim, Store};

/// How long a claim on creating a session's issue holds: far longer than one create call
/// takes (with its timeouts), short enough that a replica that died mid-way is replaced on
/// the next round.
pub const CLAIM_LEASE_MS: i64 = 5 * 60 * 1000;

/// What posting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Opened the session's issue (its number).
    Created(u64),
    /// Edited the session's issue in place.
    Updated(u64),
    /// The issue already says this.
    Unchanged(u64),
    /// Another replica is creating the issue right now.
    Busy,
}

/// The hidden marker that names a session's agenda issue.
pub fn marker(starts_at: Timestamp) -> String {
    format!("<!-- council-sync:agenda:{starts_at} -->")
}

/// The agenda issue's title: `Council session 3 — Thu 10 Dec 2026`.
pub fn title(agenda: &Agenda) -> String {
    let tz = TimeZone::get(&agenda.session.time_zone).unwrap_or(TimeZone::UTC);
    let day = agenda
        .session
        .starts_at
        .to_zoned(tz)
        .strftime("%a %-d %b %Y")
        .to_string();
    format!("Council session {} — {day}", agenda.session.number)
}

/// The agenda issue's body: the Markdown agenda and its marker.
pub fn body(agenda: &Agenda) -> String {
    format!(
        "{}\n{}\n",
        render::markdown(agenda).trim_end(),
        marker(agenda.session.starts_at)
    )
}

/// Creates or edits the issue of `agenda`'s session in `repo`. Refuses once the session has
/// started (`now` at or after its start): the issue is then the record.
pub async fn post(
    github: &GithubClient,
    store: &Store,
    repo: &str,
    label: &str,
    agenda: &Agenda,
    now: Timestamp,
) -> Result<Posted, AgendaError> {
    if now >= agenda.session.starts_at {
        return Err(AgendaError::SessionStarted(agenda.session.starts_at));
    }
    let marker = marker(agenda.session.starts_at);
    let title = title(agenda);
    let body = body(agenda);
    if let Some(posted) = edit_existing(github, repo, label, &marker, &title, &body).await? {
        return Ok(posted);
    }
    let key = agenda.session.starts_at.to_string();
    match store
        .claim_agenda_post(&key, now.as_millisecond(), CLAIM_LEASE_MS)
        .await?
    {
        AgendaClaim::Busy => {
            // The holder may have finished between our lookup and our claim.
            Ok(edit_existing(github, repo, label, &marker, &title, &body)
                .await?
                .unwrap_or(Posted::Busy))
        }
        AgendaClaim::Claimed => {
            let labels = [label.to_owned()];
            let issue = github.create_issue(repo, &title, &body, &labels).await?;
            tracing::info!(repo, number = issue.number, "agenda issue opened");
            Ok(Posted::Created(issue.number))
        }
    }
}

/// Finds the session's issue by its marker and brings its text up to date.
async fn edit_existing(
    github: &GithubClient,
    repo: &str,
    label: &str,
    marker: &str,
    title: &str,
    body: &str,
) -> Result<Option<Posted>, AgendaError> {
    let labels = [label.to_owned()];
    let found = github
        .list_issues(repo, &labels, None)
        .await?
        .into_iter()
        .filter(|i| !i.is_pull_request)
        .find(|i| i.body.as_deref().is_some_and(|b| b.contains(marker)));
    let Some(issue) = found else {
        return Ok(None);
    };
    let same = issue.title == title && issue.body.as_deref().map(str::trim) == Some(body.trim());
    if same {
        return Ok(Some(Posted::Unchanged(issue.number)));
    }
    github
        .edit_issue_text(repo, issue.number, title, body)
        .await?;
    Ok(Some(Posted::Updated(issue.number)))
}
