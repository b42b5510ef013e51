//! A tracker delivery: the tracker turns it into cues, and each concern they touch gets a
//! sync job.

use crate::engine::EngineError;
use crate::engine::context::Ctx;
use crate::engine::jobs::{Job, KeyedJob, queued};
use crate::github::webhook::events::GithubEvent;
use crate::store::Delivery;
use crate::tracker::{Cue, Tracker, TrackerDelivery};

/// A tracker webhook is a cue to re-read the concerns it touches: the tracker turns the
/// delivery into [`Cue`]s (its own writes coming back yield only creation records), and
/// the engine acts on those alone, whatever the tracker.
pub(crate) async fn process_tracker<T: Tracker + 'static>(
    cx: &Ctx<T>,
    delivery: &Delivery,
) -> Result<(), EngineError> {
    let jobs = cue_jobs(cx, delivery).await?;
    Ok(cx
        .store
        .commit_decision(Some(delivery.seq), None, None, &queued(&jobs)?)
        .await?)
}

/// A GitHub delivery about a concern repository that the tracker reads too (with GitHub
/// Projects, a repository that holds concerns and a team's stories): its cues are
/// queued before the council handles it. Keyed by the delivery, so a retry queues
/// nothing twice.
pub(crate) async fn also_for_tracker<T: Tracker + 'static>(
    cx: &Ctx<T>,
    scope: &crate::config::Scope,
    delivery: &Delivery,
    event: &GithubEvent,
) -> Result<(), EngineError> {
    let repo = match event {
        GithubEvent::Issues(e) => e.repo.as_str(),
        _ => return Ok(()),
    };
    if !scope.tracker_reads(&delivery.event, Some(repo)) {
        return Ok(());
    }
    let jobs = cue_jobs(cx, delivery).await?;
    if !jobs.is_empty() {
        cx.store
            .commit_decision(None, None, None, &queued(&jobs)?)
            .await?;
    }
    Ok(())
}

/// The sync jobs a tracker delivery's cues ask for (creation records and moves are
/// applied on the way).
async fn cue_jobs<T: Tracker + 'static>(
    cx: &Ctx<T>,
    delivery: &Delivery,
) -> Result<Vec<KeyedJob>, EngineError> {
    let cues = cx
        .tracker
        .cues(
            TrackerDelivery {
                event: &delivery.event,
                payload: &delivery.payload,
            },
            cx.tracker_account().await?,
        )
        .map_err(|e| EngineError::Decode {
            what: "tracker delivery",
            reason: e.to_string(),
        })?;
    let mut renamed = false;
    let mut keys: Vec<&str> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    let mut all = false;
    for cue in &cues {
        match cue {
            // Names the item an earlier create made (also the daemon's own, whose
            // answer may have been lost): the next marker search asks for it by id.
            Cue::Created { marker, id, key } => {
                cx.store.record_created(marker, id, key).await?;
            }
            // A move renames the item (same id): links follow it first, so the lookup
            // below finds the concern under the new key.
            Cue::Moved { from, to, id } => {
                let followed = cx
                    .store
                    .follow_tracker_move(from, to, id.as_deref())
                    .await?;
                tracing::info!(%from, %to, followed, "tracker item moved");
                renamed |= followed > 0;
            }
            Cue::Changed { keys: changed } => keys.extend(changed.iter().map(String::as_str)),
            Cue::ChangedIds { ids: named } => ids.extend(named.iter().map(String::as_str)),
            Cue::ChangedAll => all = true,
        }
    }
    let mut concerns: Vec<(String, u64)> = Vec::new();
    if all {
        concerns.extend(
            cx.store
                .linked_concerns()
                .await?
                .into_iter()
                .filter(|c| c.stage.is_syncing())
                .map(|c| (c.repo, c.number)),
        );
    } else {
        for key in keys {
            if let Some(c) = cx.store.concern_for_tracker_key(key).await? {
                concerns.push(c);
            }
        }
        for id in ids {
            match cx.store.concern_for_tracker_id(id).await? {
                Some(c) => concerns.push(c),
                // Links made before ids were kept cannot be found by id: for them, as
                // before, every concern in flight is re-read.
                None if cx.store.has_links_without_ids().await? => {
                    concerns.extend(
                        cx.store
                            .linked_concerns()
                            .await?
                            .into_iter()
                            .filter(|c| c.stage.is_syncing())
                            .map(|c| (c.repo, c.number)),
                    );
                    break;
                }
                None => {}
            }
        }
    }
    concerns.sort();
    concerns.dedup();
    // The source's stored word keeps job keys what they were before cues existed.
    let source = delivery.source.as_str();
    let mut jobs: Vec<KeyedJob> = Vec::new();
    for (repo, number) in concerns {
        jobs.push(KeyedJob::new(
            format!("sync:{repo}#{number}:{source}:{}", delivery.delivery_id),
            Job::SyncFromTracker {
                repo: repo.clone(),
                number,
            },
        ));
        // A renamed story may leave every state as it was, so the sync alone would see
        // nothing to show: the tracking comment is re-rendered with the new key.
        if renamed {
            jobs.push(KeyedJob::new(
                format!("tracking:{repo}#{number}:moved:{}", delivery.delivery_id),
                Job::Tracking { repo, number },
            ));
        }
    }
    Ok(jobs)
}
