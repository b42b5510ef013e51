//! [`Job::Materialize`]: the epic (and the team stories) made in the tracker, found again by
//! marker after a crash; and queuing it again after it failed for good or was parked.

use std::collections::HashMap;

use crate::council::Stage;
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::describe::{IssueFacts, epic_request, story_requests};
use crate::engine::jobs::{Job, KeyedJob};
use crate::engine::plan::digest;
use crate::github::client::Issue;
use crate::store::{EpicRecord, now_ms};
use crate::tracker::{TrackedIssue, Tracker, TrackerIssue};

use super::tracking::Sent;

/// Runs [`Job::Materialize`]: the epic (and the stories), the stories' state read at once,
/// and the tracking comment showing them, edited here rather than by a job of its own (a
/// failed edit is queued as one, `tracking:…:job-<row_id>`).
///
/// Returns what the tracking comment was set to ([`Sent`]), for the caller to record with
/// the job's completion in one commit ([`crate::store::Store::complete_with_tracking`]).
pub(crate) async fn run<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    stories: bool,
    row_id: i64,
) -> Result<Option<Sent>, EngineError> {
    let fetched = materialize(cx, repo, number, stories).await?;
    // The new stories' status, read back by `materialize` and recorded with them, is
    // carried over to GitHub at once, so the tracking comment shows it (issue 8); a failed
    // read is repaired by the next sync.
    if stories && let Err(e) = super::sync_from_tracker::sync_seen(cx, repo, number, fetched).await
    {
        tracing::warn!(repo, number, error = %e, "reading the new stories failed");
    }
    match super::tracking::refresh_tracking_unrecorded(cx, repo, number).await {
        Ok(sent) => Ok(sent),
        Err(e) => {
            tracing::warn!(repo, number, error = %e, "tracking comment left to its own job");
            cx.enqueue_job(KeyedJob::new(
                format!("tracking:{repo}#{number}:job-{row_id}"),
                Job::Tracking {
                    repo: repo.into(),
                    number,
                },
            ))
            .await?;
            Ok(None)
        }
    }
}

/// Makes sure the epic (and with `stories`, one story per team) exists, and records it.
/// Returns the stories (and the epic) as the tracker showed them when read back after
/// their creation, by key (empty without stories, or when that read failed).
pub(crate) async fn materialize<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    stories: bool,
) -> Result<HashMap<String, TrackedIssue>, EngineError> {
    let loaded = cx.load(repo, number).await?;
    let (issue, parsed) = (&loaded.issue, &loaded.parsed);
    let facts = IssueFacts {
        id: issue.id,
        number,
        repo,
        title: &issue.title,
        html_url: &issue.html_url,
    };
    // The stories of known teams never wait on an unknown one: they are made now, and
    // the unknown teams are reported (an edit that fixes them re-runs this job at once).
    let known = |team: &str| cx.config.teams.contains_key(team);
    let requests: Vec<_> = if stories {
        let submitter = cx.store.submitter(repo, number).await?;
        story_requests(&facts, parsed, &cx.form, submitter.as_deref())
            .into_iter()
            .filter(|r| known(&r.team))
            .collect()
    } else {
        Vec::new()
    };
    let mut request = epic_request(&facts, parsed, &cx.form);
    // A tracker that batches (GitHub Projects) leaves the epic's project add to the
    // stories' batch when stories follow in this job.
    request.stories_follow = !requests.is_empty();
    // The stories' markers are looked up with the epic's (one search instead of two).
    request.story_markers = requests.iter().map(|r| r.marker.clone()).collect();
    let epic = cx.tracker.find_or_create_epic(&request).await?;
    // The epic's link back to GitHub does not wait for the stories, nor they for it.
    let (linked, rest) = tokio::join!(
        cx.tracker.link_epic(&epic, &request),
        record_and_make_stories(
            cx, repo, number, stories, &loaded, &epic, &request, &requests
        ),
    );
    linked?;
    rest
}

/// What follows the epic's creation: with `stories` the teams' stories (`requests`, those
/// of configured teams) made, read back (their first status: Jira's create answer has
/// none) and recorded with the epic and what the read showed, in one commit; the epic
/// recorded alone when no story is to be made now or making them failed.
#[allow(clippy::too_many_arguments)]
async fn record_and_make_stories<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    stories: bool,
    loaded: &crate::engine::loaded::Loaded,
    epic: &TrackerIssue,
    request: &crate::tracker::EpicRequest,
    requests: &[crate::tracker::StoryRequest],
) -> Result<HashMap<String, TrackedIssue>, EngineError> {
    let parsed = &loaded.parsed;
    // What the epic says now: an edit event that changes nothing will not rewrite it.
    let hash = digest(&format!("{}\n{}", request.summary, request.description_md));
    let record = EpicRecord {
        key: &epic.key,
        url: &epic.url,
        id: stable_id(&epic.id),
        hash: &hash,
    };
    let record_alone = || async {
        cx.store
            .record_epic(repo, number, record.key, record.url, record.id, record.hash)
            .await
    };
    // Without stories to make now, the epic is recorded at once.
    if !stories || parsed.teams.is_empty() || requests.is_empty() {
        record_alone().await?;
    }
    if !stories {
        return Ok(HashMap::new());
    }
    if parsed.teams.is_empty() {
        return Err(EngineError::Invalid("the concern names no team".into()));
    }
    let known = |team: &str| cx.config.teams.contains_key(team);
    let unknown: Vec<&str> = parsed
        .teams
        .iter()
        .map(String::as_str)
        .filter(|t| !known(t))
        .collect();
    // With stories, the epic is recorded with them (one commit for both), or alone when
    // they cannot be made now, so the tracking comment shows it while they are retried.
    let made: Vec<TrackerIssue> = if requests.is_empty() {
        Vec::new()
    } else {
        match cx.tracker.ensure_stories(epic, requests).await {
            Ok(made) => made,
            Err(e) => {
                record_alone().await?;
                return Err(e.into());
            }
        }
    };
    let epic_pending = (!requests.is_empty()).then_some(&record);
    let links: Vec<(&str, &str, &str, Option<&str>)> = made
        .iter()
        .map(|s| {
            let team = s.team.as_deref().unwrap_or_default();
            (team, s.key.as_str(), s.url.as_str(), stable_id(&s.id))
        })
        .collect();
    let fetched = read_back(cx, epic, &made).await;
    let seen: Vec<(&str, crate::store::StoryState)> = made
        .iter()
        .filter_map(|s| {
            let t = fetched.get(&s.key)?;
            Some((s.team.as_deref()?, super::sync_from_tracker::story_state(t)))
        })
        .collect();
    // What the made stories add up to, when all of them were read back (the sync that
    // follows puts it right if other links count too).
    let progress = (!made.is_empty() && seen.len() == made.len()).then(|| {
        let items: Vec<_> = made
            .iter()
            .filter_map(|s| fetched.get(&s.key))
            .map(|t| super::sync_from_tracker::item(None, t))
            .collect();
        crate::council::sync::overall(&items)
    });
    // The epic (unless recorded above), the links, what the tracker shows of them and,
    // when every team's story is made, the stage: one commit.
    cx.store
        .record_stories_seen(
            repo,
            number,
            epic_pending,
            &links,
            unknown.is_empty(),
            &seen,
            progress,
        )
        .await?;
    if !unknown.is_empty() {
        return Err(EngineError::Invalid(format!(
            "no tracker project is configured for team(s) {}; add them under [teams] \
             or fix the team names in the issue",
            unknown.join(", ")
        )));
    }
    Ok(fetched)
}

/// The epic and the stories just made as the tracker shows them (one read), by key; empty
/// when nothing was made or the read failed (the sync that follows reads them again).
async fn read_back<T: Tracker + 'static>(
    cx: &Ctx<T>,
    epic: &TrackerIssue,
    made: &[TrackerIssue],
) -> HashMap<String, TrackedIssue> {
    if made.is_empty() {
        return HashMap::new();
    }
    let keys: Vec<String> = std::iter::once(&epic.key)
        .chain(made.iter().map(|s| &s.key))
        .cloned()
        .collect();
    match cx.tracker.fetch(&keys).await {
        Ok(found) => found.into_iter().map(|t| (t.key.clone(), t)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the new stories back failed");
            HashMap::new()
        }
    }
}

/// A tracker issue's stable id as the store keeps it (`None` when the tracker gave none).
fn stable_id(id: &str) -> Option<&str> {
    Some(id).filter(|i| !i.is_empty())
}

/// Queues the epic and stories again when their job failed for good (a 4xx such as a
/// missing project, fixed since, or teams unknown then) or was parked (it kept taking the
/// process down). Only then: while the first job is pending or retrying, a second
/// creator could race it past the marker check.
///
/// A failed job is queued again by every reconcile pass and by an edit. A parked one only
/// when its input changed: its retry key carries a digest of the issue's title and body,
/// so a restart or a pass over the same input queues nothing, and an edit queues it at
/// once. Returns whether it queued a retry.
pub(crate) async fn retry_failed_materialize<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    stage: Stage,
    issue: &Issue,
) -> Result<bool, EngineError> {
    let keys = [
        format!("epic:{repo}#{number}"),
        format!("stories:{repo}#{number}"),
    ];
    let mut failed = false;
    let mut parked = false;
    for key in &keys {
        match cx.store.outbox_state(key).await?.as_deref() {
            Some("failed") => failed = true,
            Some("parked") => parked = true,
            Some("pending" | "running") => return Ok(false),
            _ => {}
        }
    }
    let input = input_digest(issue);
    let mut same_input = false;
    for key in &keys {
        same_input |= cx.store.parked_input(key).await?.as_deref() == Some(input.as_str());
    }
    if parked && same_input {
        return Ok(false);
    }
    let key = if parked {
        format!("epic:{repo}#{number}:retry:input-{input}")
    } else if failed {
        format!("epic:{repo}#{number}:retry:{}", now_ms())
    } else {
        return Ok(false);
    };
    let stories = !cx.config.council.two_step || stage == Stage::Vetted;
    let job = Job::Materialize {
        repo: repo.into(),
        number,
        stories,
    };
    cx.enqueue_job(KeyedJob::new(key, job)).await
}

/// A digest of what creating a concern's epic and stories reads from its issue (title and
/// body): a parked creation is queued again only when this changes.
pub(crate) fn input_digest(issue: &Issue) -> String {
    digest(&format!(
        "{}\n{}",
        issue.title,
        issue.body.as_deref().unwrap_or("")
    ))
}
