//! What every handler works with: the store, the two clients, the config and the form, and
//! the daemon's own identities. Shared by the loops; handlers take `&Ctx` and their job's data.

use std::sync::Arc;

use super::EngineError;
use super::jobs::KeyedJob;
use super::loaded::{IssueMemo, Loaded};
use crate::concern::form::IssueForm;
use crate::config::{Config, CouncilMembers};
use crate::github::client::GithubClient;
use crate::store::Store;
use crate::tracker::Tracker;

/// The handlers' context.
pub struct Ctx<T> {
    /// Durable state: concerns, links, inbox, outbox.
    pub(crate) store: Store,
    /// The GitHub client (every GitHub call goes through it).
    pub(crate) github: GithubClient,
    /// The tracker chosen in config, seen only through the `Tracker` trait.
    pub(crate) tracker: T,
    /// The daemon's configuration.
    pub(crate) config: Arc<Config>,
    /// The issue form concerns are parsed with.
    pub(crate) form: IssueForm,
    /// The daemon's own GitHub login and tracker account ([`Ctx::bot_login`],
    /// [`Ctx::tracker_account`]): known at start, or asked for when first needed.
    own: OwnIdentities,
    /// The issues loaded by the concerns whose jobs run now ([`Ctx::load`]).
    pub(crate) issues: IssueMemo,
}

impl<T: Tracker + 'static> Ctx<T> {
    /// The context over these parts.
    pub(crate) fn new(
        store: Store,
        github: GithubClient,
        tracker: T,
        config: Arc<Config>,
        form: IssueForm,
        accounts: Option<super::OwnAccounts>,
    ) -> Self {
        let issues = IssueMemo::for_store(store.backend());
        Self {
            store,
            github,
            tracker,
            config,
            form,
            own: OwnIdentities::from(accounts),
            issues,
        }
    }

    /// The daemon's own GitHub login: events it caused are not reacted to. Known at start
    /// for `run`; for a one-shot command, `github.bot_login` or `GET /user`, asked once and
    /// only when something needs it (a sweep that finds nothing changed never does).
    ///
    /// Errors: GitHub's, when it has to be asked and cannot answer.
    pub(crate) async fn bot_login(&self) -> Result<&str, EngineError> {
        let login = self
            .own
            .github
            .get_or_try_init(|| async {
                match &self.config.github.bot_login {
                    Some(login) if !login.trim().is_empty() => Ok(login.clone()),
                    _ => self.github.current_user().await,
                }
            })
            .await?;
        Ok(login)
    }

    /// The daemon's own tracker account ([`Tracker::own_account`]): tracker webhooks it
    /// caused are not reacted to. Known at start for `run`, else asked once when needed.
    ///
    /// Errors: the tracker's, when it has to be asked and cannot answer.
    pub(crate) async fn tracker_account(&self) -> Result<&str, EngineError> {
        let account = self
            .own
            .tracker
            .get_or_try_init(|| self.tracker.own_account())
            .await?;
        Ok(account)
    }

    /// The issue as GitHub has it and its parsed concern: read once per run of the
    /// concern's jobs (see [`super::loaded`]), read now outside one.
    pub(crate) async fn load(&self, repo: &str, number: u64) -> Result<Arc<Loaded>, EngineError> {
        if let Some(kept) = self.issues.get(repo, number) {
            return Ok(kept);
        }
        let issue = self.github.get_issue(repo, number).await?;
        let loaded = Arc::new(Loaded::new(issue, &self.form));
        self.issues.keep(repo, number, &loaded);
        Ok(loaded)
    }

    /// The tracker account of GitHub user `login`: the tracker's own when it knows it
    /// ([`Tracker::account_for_github`]), else `[users]`.
    pub(crate) fn github_user_account(&self, login: &str) -> Option<String> {
        self.tracker
            .account_for_github(login)
            .or_else(|| self.config.users.get(login).cloned())
    }

    /// The concern issues (labelled `labels.concern`, pull requests left out) of every
    /// watched repository, all pages, each with its repository: what `backfill` imports
    /// and the full sweep compares.
    pub(crate) async fn concern_issues(
        &self,
    ) -> Result<Vec<(String, crate::github::client::Issue)>, EngineError> {
        let mut all = Vec::new();
        for repo in &self.config.github.repos {
            let issues = self
                .github
                .list_issues(
                    repo,
                    std::slice::from_ref(&self.config.labels.concern),
                    None,
                )
                .await?;
            all.extend(
                issues
                    .into_iter()
                    .filter(|i| !i.is_pull_request)
                    .map(|i| (repo.clone(), i)),
            );
        }
        Ok(all)
    }

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

/// The daemon's own accounts, each set once: at start, or when first asked for.
#[derive(Debug, Default)]
struct OwnIdentities {
    github: tokio::sync::OnceCell<String>,
    tracker: tokio::sync::OnceCell<String>,
}

impl From<Option<super::OwnAccounts>> for OwnIdentities {
    fn from(accounts: Option<super::OwnAccounts>) -> Self {
        match accounts {
            Some(a) => Self {
                github: tokio::sync::OnceCell::new_with(Some(a.github)),
                tracker: tokio::sync::OnceCell::new_with(Some(a.tracker)),
            },
            None => Self::default(),
        }
    }
}
