//! [`Job::Tracking`](crate::engine::Job::Tracking): the tracking comment rendered from the
//! stored state and edited in place (or created).

use std::collections::BTreeSet;

use crate::concern::criteria;
use crate::council::tracking::{self, DecisionView, IssueLinkView, TrackingView};
use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::plan;
use crate::tracker::Tracker;

/// What an edit of a known tracking comment set its text to, not yet recorded: the caller
/// records it ([`crate::store::Store::set_tracking_sent`], or with the job's completion in
/// one commit, [`crate::store::Store::complete_with_tracking`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The concern's repository.
    pub(crate) repo: String,
    /// The concern's issue number.
    pub(crate) number: u64,
    /// The comment's id.
    pub(crate) comment_id: u64,
    /// The digest of the text it reads now ([`plan::digest`]).
    pub(crate) digest: String,
}

/// Renders the tracking comment from the stored state and edits it in place (or creates it).
pub(crate) async fn refresh_tracking<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
) -> Result<(), EngineError> {
    if let Some(sent) = refresh_tracking_unrecorded(cx, repo, number).await? {
        cx.store
            .set_tracking_sent(&sent.repo, sent.number, sent.comment_id, &sent.digest)
            .await?;
    }
    Ok(())
}

/// [`refresh_tracking`], except that what an edit of the known comment (or a read finding
/// it already so) set its text to is returned rather than committed. Until the caller
/// records it, the store still holds the text before, so a crash in between costs one
/// edit with the same text when the job runs again, never a lost one. A comment created
/// or found by its marker is recorded here (its id is new to the store).
pub(crate) async fn refresh_tracking_unrecorded<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
) -> Result<Option<Sent>, EngineError> {
    let Some(record) = cx.store.get_concern(repo, number).await? else {
        return Ok(None);
    };
    // The issue and the stored state the comment shows, read side by side.
    let (loaded, decisions, links, moved_from, sent) = tokio::try_join!(
        cx.load(repo, number),
        async { Ok(cx.store.decisions_for(repo, number).await?) },
        async { Ok(cx.store.story_links(repo, number).await?) },
        async { Ok(cx.store.concern_moved_from(repo, number).await?) },
        async { Ok(cx.store.tracking_sent(repo, number).await?) },
    )?;
    let issue = &loaded.issue;
    // Transferred, and the delivery saying so not processed yet (or lost): GitHub
    // answered from the new address, and the tracking comment moved with the issue.
    // Follow it there instead of editing the comment under the old name.
    if let Some((to_repo, to_number)) = issue.moved_from(repo, number) {
        let followed =
            super::transfer::follow_transfer(cx, (repo, number), (&to_repo, to_number), None)
                .await?;
        if followed {
            return Box::pin(refresh_tracking_unrecorded(cx, &to_repo, to_number)).await;
        }
        return Ok(None);
    }
    let parsed = &loaded.parsed;
    let report = criteria::check_with_form(parsed, &cx.config.criteria, &cx.form);
    let stage = record.stage;
    let linked: BTreeSet<&str> = links.iter().map(|l| l.team.as_str()).collect();
    let view = TrackingView {
        stage,
        criteria_md: criteria::render_report(&report, &cx.form),
        decisions: decisions
            .iter()
            .map(|d| DecisionView {
                kind: d.kind,
                actor: d.actor.clone(),
                at: rfc3339(d.decided_at),
            })
            .collect(),
        epic: record.epic_key.clone().map(|key| IssueLinkView {
            key,
            url: record.epic_url.clone().unwrap_or_default(),
            ..Default::default()
        }),
        stories: links
            .iter()
            .map(|l| IssueLinkView {
                key: l.story_key.clone(),
                url: l.story_url.clone(),
                team: Some(l.team.clone()),
                status: l.state.status.clone(),
                assignee: l.state.assignee.clone(),
                sprint: l.state.sprint.clone(),
            })
            .collect(),
        pending_teams: if stage.is_accepted() {
            parsed
                .teams
                .iter()
                .filter(|t| !linked.contains(t.as_str()))
                .cloned()
                .collect()
        } else {
            Vec::new()
        },
        last_error: record.last_error.clone(),
        results: record.results.clone(),
        moved_from,
    };
    let body = tracking::render(&view);
    let digest = plan::digest(&body);
    if let Some(id) = record.tracking_comment_id {
        // The store says what the daemon last wrote into this comment (whichever process
        // or replica wrote it): unchanged, no call at all. A person's edit of the daemon's
        // own comment is put right at the next change.
        if sent.as_deref() == Some(digest.as_str()) {
            return Ok(None);
        }
        // Known text, changed: edit it at once. Unknown (a row from before the text was
        // kept): the comment itself says whether an edit would change it (a read costs less
        // than an edit of the same text, which GitHub counts as content-creating and
        // notifies about); that happens once per concern.
        let there = match sent {
            Some(_) => Ok(None),
            None => cx.github.get_comment(repo, id).await.map(Some),
        };
        let sent = Sent {
            repo: repo.to_owned(),
            number,
            comment_id: id,
            digest: digest.clone(),
        };
        match there {
            Ok(Some(c)) if c.body == body => return Ok(Some(sent)),
            Ok(_) => match cx.github.update_comment(repo, id, &body).await {
                Ok(()) => return Ok(Some(sent)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            },
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    // No comment known, or it is gone: find the daemon's own by its marker (a crash after
    // posting it and before recording its id left one there) before posting one.
    let comments = cx.github.list_comments(repo, number).await?;
    let me = cx.bot_login().await?;
    let id = match comments
        .iter()
        .find(|c| tracking::is_tracking_comment(&c.body) && c.author == me)
    {
        Some(existing) if existing.body == body => existing.id,
        Some(existing) => {
            cx.github.update_comment(repo, existing.id, &body).await?;
            existing.id
        }
        None => cx.github.create_comment(repo, number, &body).await?,
    };
    cx.store
        .set_tracking_comment(repo, number, id, &digest)
        .await?;
    Ok(None)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}
