//! What every handler works with: the store, the two clients, the config and the form, and
//! the daemon's own identities. Shared by the loops; handlers take `&Ctx` and their job's data.

use std::sync::Arc;

use super::EngineError;
use super::jobs::KeyedJob;
use crate::concern::form::IssueForm;
use crate::config::{Config, CouncilMembers};
use crate::github::client::GithubClient;
use crate::store::Store;
use crate::tracker::Tracker;

/// The handlers' context.
pub struct Ctx<T> {
    pub(crate) store: Store,
    pub(crate) github: GithubClient,
    pub(crate) tracker: T,
    pub(crate) config: Arc<Config>,
    pub(crate) form: IssueForm,
    /// The daemon's own login: events it caused are not reacted to.
    pub(crate) bot_login: String,
    /// The daemon's own tracker account: tracker webhooks it caused are not reacted to.
    pub(crate) tracker_account: String,
}

impl<T: Tracker + 'static> Ctx<T> {
    /// Queues one job outside a decision; `false` when its key was queued before.
    pub(crate) async fn enqueue_job(&self, job: KeyedJob) -> Result<bool, EngineError> {
        Ok(self
            .store
            .enqueue(&job.key, job.job.kind(), &job.payload()?)
            .await?)
    }

    /// Whether `login` may decide for the council.
    pub(crate) async fn is_council_member(&self, login: &str) -> Result<bool, EngineError> {
        match &self.config.github.council {
            CouncilMembers::Logins(logins) => {
                Ok(logins.iter().any(|l| l.eq_ignore_ascii_case(login)))
            }
            CouncilMembers::Team(team) => {
                let (org, slug) = team.split_once('/').unwrap_or((team.as_str(), ""));
                Ok(self.github.is_team_member(org, slug, login).await?)
            }
        }
    }
}
