//! The daemon's agenda poster: once a session is less than `[agenda] post_before` away, it
//! posts the agenda issue and keeps it up to date every `[agenda] refresh`, until the
//! session starts; then the next session's turn comes. Restarts and replicas are safe
//! because [`post`](super::post) finds the issue by its marker and claims its creation.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use super::{AgendaError, Cadence, Posted, gather, post};
use crate::concern::form::IssueForm;
use crate::config::{Config, PostTo};
use crate::github::client::GithubClient;
use crate::store::{Role, Store};

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// The next session is further away than `post_before`.
    NotYet,
    /// The agenda issue was posted or checked.
    Posted(Posted),
}

/// One round at `now`: post (or refresh) the next session's agenda issue when it is due.
pub async fn round(
    store: &Store,
    github: &GithubClient,
    form: &IssueForm,
    cfg: &Config,
    now: Timestamp,
) -> Result<Round, AgendaError> {
    let a = &cfg.agenda;
    let session = Cadence::from_config(a)?.next_after(now)?;
    let before = SignedDuration::try_from(a.post_before).unwrap_or(SignedDuration::MAX);
    let due = session
        .starts
        .timestamp()
        .checked_sub(before)
        .unwrap_or(Timestamp::MIN);
    if now < due {
        return Ok(Round::NotYet);
    }
    let Some(repo) = a.repository(&cfg.github.repos) else {
        // `config check` reports this; nothing to post to.
        return Ok(Round::NotYet);
    };
    let agenda = gather(store, github, form, a, now).await?;
    Ok(Round::Posted(
        post(github, store, repo, &a.label, &agenda, now).await?,
    ))
}

/// Runs rounds every `[agenda] refresh` until `stop` turns true. Does nothing unless
/// `[agenda] post_to = "issue"`.
pub async fn run(
    store: Store,
    github: GithubClient,
    form: IssueForm,
    cfg: Arc<Config>,
    mut stop: watch::Receiver<bool>,
) {
    if cfg.agenda.post_to != PostTo::Issue {
        return;
    }
    loop {
        // Replicas on one PostgreSQL store: one of them posts each round.
        match store.lead_due(Role::Agenda, cfg.agenda.refresh).await {
            Ok(Some(lead)) => {
                match round(&store, &github, &form, &cfg, Timestamp::now()).await {
                    Ok(Round::Posted(p)) => tracing::debug!(?p, "agenda round"),
                    Ok(Round::NotYet) => {}
                    Err(e) => tracing::warn!(error = %e, "agenda round failed; next round retries"),
                }
                lead.release().await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "agenda round skipped: store unavailable"),
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(cfg.agenda.refresh) => {}
        }
    }
}
