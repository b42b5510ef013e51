//! A stateful stand-in for GitHub and Jira on loopback: one HTTP listener serving the GitHub
//! REST routes the daemon uses, the Jira half's routes, and a control API under `/_sandbox/`
//! that acts as people, sets webhook targets, injects faults and reports changes.
//!
//! Layers, outermost first: faults (every API route, GitHub and Jira), then for GitHub REST
//! authentication + rate-limit/request-id headers + ETags. Webhook deliveries go out from
//! one background task, in change order. `SandboxHandle::shutdown` stops the listener,
//! answers held requests with 503 (without running their handlers) and stops deliveries.

pub mod control;
pub mod embedded;
pub mod faults;
pub mod feed;
pub mod github;
pub mod jira;
pub mod persist;
pub mod requests;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::faults::Faults;
use self::feed::ChangeFeed;
use self::github::GithubHub;
use self::github::http::ApiError;
use self::github::model::{MemberRole, MemberState, Membership, World};
use self::jira::JiraSandbox;
use self::webhooks::Deliveries;
use crate::config::{Config, CouncilMembers};

/// How long `shutdown` waits for in-flight requests before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The listen address could not be bound.
    #[error("sandbox cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Waiting for Ctrl-C failed (standalone mode).
    #[error("sandbox cannot wait for a shutdown signal: {0}")]
    Signal(std::io::Error),
    /// A saved state could not be read back.
    #[error("sandbox cannot restore its saved state: {0}")]
    Restore(#[source] serde_json::Error),
}

/// A team to seed, with its members.
#[derive(Debug, Clone)]
pub struct TeamSeed {
    /// Organisation login.
    pub org: String,
    /// Team slug.
    pub slug: String,
    /// Members: login, state, role.
    pub members: Vec<(String, MemberState, MemberRole)>,
}

/// A repository to seed.
#[derive(Debug, Clone)]
pub struct RepoSeed {
    /// Owner login.
    pub owner: String,
    /// Repository name.
    pub name: String,
    /// Whether the owner is an organisation (deliveries then carry `organization`).
    pub org: bool,
}

/// What a sandbox starts with.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Listen address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Where webhook deliveries go (settable later via `POST /_sandbox/webhooks`).
    pub webhook_url: Option<String>,
    /// Secret the deliveries are signed with.
    pub webhook_secret: Option<SecretString>,
    /// The only token GitHub REST accepts; `None` accepts any token as the bot's.
    pub bot_token: Option<String>,
    /// Login of the token's user (default `council-sync-bot`, type `Bot`).
    pub bot_login: String,
    /// Organisations, teams and members.
    pub teams: Vec<TeamSeed>,
    /// Repositories.
    pub repos: Vec<RepoSeed>,
    /// Projects (v2) to make when the sandbox has none of that owner and number (a saved
    /// state keeps its own, items included).
    pub projects: Vec<github::projects::ops::ProjectSeed>,
    /// Organisation login → issue types to define when the organisation has none.
    pub issue_types: Vec<(String, Vec<String>)>,
    /// The Jira half, served on the same listener.
    pub jira: Arc<JiraSandbox>,
    /// The change counter; give a clone to the Jira half so its changes bump it too.
    pub feed: ChangeFeed,
    /// A state saved by an earlier run (`[sandbox] state_dir`) to start from; the seeds
    /// above are applied on top (they are idempotent).
    pub saved: Option<persist::Saved>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_url: None,
            webhook_secret: None,
            bot_token: None,
            bot_login: github::BOT_LOGIN.into(),
            teams: Vec::new(),
            repos: Vec::new(),
            projects: Vec::new(),
            issue_types: Vec::new(),
            jira: Arc::new(JiraSandbox::default()),
            feed: ChangeFeed::new(),
            saved: None,
        }
    }
}

impl SandboxOptions {
    /// Options from the daemon's config: `[sandbox].listen`, the watched repositories, the
    /// council team with `[sandbox].council_members` as active members, the webhook secret,
    /// and deliveries to the daemon's `/webhooks/github`.
    pub fn from_config(cfg: &Config) -> Self {
        let sb = cfg.sandbox.clone().unwrap_or_default();
        // GitHub Projects: the team repositories (where stories go) exist too.
        let team_repos = cfg.teams.values().filter_map(|t| t.repo.as_ref());
        let mut names: Vec<&String> = cfg.github.repos.iter().chain(team_repos).collect();
        names.sort_by_key(|r| r.to_lowercase());
        names.dedup_by_key(|r| r.to_lowercase());
        let repos = names
            .into_iter()
            .filter_map(|r| r.split_once('/'))
            .map(|(owner, name)| RepoSeed {
                owner: owner.into(),
                name: name.into(),
                org: true,
            })
            .collect();
        let teams = match &cfg.github.council {
            CouncilMembers::Team(t) => t
                .split_once('/')
                .map(|(org, slug)| TeamSeed {
                    org: org.into(),
                    slug: slug.into(),
                    members: sb
                        .council_members
                        .iter()
                        .map(|m| (m.clone(), MemberState::Active, MemberRole::Member))
                        .collect(),
                })
                .into_iter()
                .collect(),
            CouncilMembers::Logins(_) => Vec::new(),
        };
        Self {
            listen: sb.listen,
            webhook_url: Some(format!("http://{}/webhooks/github", cfg.server.listen)),
            webhook_secret: cfg.github.webhook_secret.clone(),
            teams,
            repos,
            ..Self::default()
        }
    }
}

/// The sandbox server.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds `opts.listen`, seeds the state and serves until the handle shuts it down.
    pub async fn start(opts: SandboxOptions) -> Result<SandboxHandle, SandboxError> {
        crate::github::client::install_crypto_provider();
        let bind_err = |source| SandboxError::Bind {
            addr: opts.listen,
            source,
        };
        let listener = TcpListener::bind(opts.listen).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let base_url = format!("http://{addr}");

        let mut world = match &opts.saved {
            Some(saved) => {
                let mut world: World =
                    serde_json::from_value(saved.github.clone()).map_err(SandboxError::Restore)?;
                world.base_url = base_url.clone();
                opts.jira
                    .restore(saved.jira.clone())
                    .map_err(SandboxError::Restore)?;
                world
            }
            None => World::new(base_url.clone(), &opts.bot_login),
        };
        for t in &opts.teams {
            for (login, state, role) in &t.members {
                world.set_member(
                    &t.org,
                    &t.slug,
                    login,
                    Membership {
                        state: *state,
                        role: *role,
                    },
                );
            }
        }
        for r in &opts.repos {
            world.create_repo(&r.owner, &r.name, r.org);
        }
        for p in &opts.projects {
            if world.projects.project(&p.owner, p.number).is_none() {
                github::projects::ops::seed_project(&mut world, p.clone());
            }
        }
        for (org, names) in &opts.issue_types {
            if !world
                .projects
                .issue_types
                .contains_key(&org.to_ascii_lowercase())
            {
                github::projects::ops::set_issue_types(&mut world, org, names.clone());
            }
        }
        let (deliveries, delivery_task) =
            Deliveries::start(opts.webhook_url.clone(), opts.webhook_secret.clone());
        let hub = Arc::new(GithubHub::new(
            world,
            deliveries.clone(),
            opts.feed.clone(),
            opts.bot_token.clone(),
        ));
        let faults = Arc::new(Faults::default());
        let ctl = control::ControlState {
            feed: opts.feed.clone(),
            deliveries,
            faults: faults.clone(),
        };

        let github_api = github::rest::router(hub.clone())
            .merge(github::admin::router(hub.clone()))
            .merge(github::app::router(hub.clone()))
            .layer(from_fn_with_state(hub.clone(), github::http::layer));
        let app = Router::new()
            .merge(github_api)
            .merge(github::control::router(hub.clone()))
            .merge(github::admin::control_router(hub.clone()))
            .merge(github::app::control_router(hub.clone()))
            .merge(github::projects::control::router(hub.clone()))
            .merge(control::router(ctl))
            .merge(jira::router(opts.jira.clone()))
            .fallback(|| async { ApiError::not_found().into_response() })
            .layer(from_fn_with_state(faults.clone(), faults::layer));

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            // Before routing: `/rest/api/latest/` is Jira's alias of `/rest/api/2/`.
            let app = tower::Layer::layer(&axum::middleware::map_request(jira_latest), app);
            if let Err(err) = axum::serve(
                listener,
                axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
            )
            .with_graceful_shutdown(stop)
            .await
            {
                tracing::error!(error = %err, "sandbox server stopped");
            }
        });
        tracing::info!(%base_url, "sandbox listening");
        Ok(SandboxHandle {
            addr,
            base_url,
            jira: opts.jira.clone(),
            feed: opts.feed,
            hub,
            faults,
            stop: Some(stop_tx),
            server: Some(server),
            delivery_task,
            paired_store: None,
            saver: None,
        })
    }
}

async fn jira_latest(req: axum::extract::Request) -> axum::extract::Request {
    jira::latest_alias(req)
}

/// A running sandbox. Dropping it stops the server abruptly; `shutdown` stops it cleanly.
#[derive(Debug)]
pub struct SandboxHandle {
    /// The bound address.
    pub addr: SocketAddr,
    base_url: String,
    jira: Arc<JiraSandbox>,
    feed: ChangeFeed,
    hub: Arc<GithubHub>,
    faults: Arc<Faults>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    delivery_task: JoinHandle<()>,
    /// The daemon's store beside an embedded sandbox: created with it, removed with it.
    paired_store: Option<tempfile::TempDir>,
    /// Where the state is saved, and the task saving it after changes.
    saver: Option<(std::path::PathBuf, JoinHandle<()>)>,
}

impl SandboxHandle {
    /// A fresh store for the daemon beside this (embedded) sandbox: `sqlite://` URL of a file
    /// in a new private directory that lives exactly as long as this handle. The sandbox
    /// keeps its state in memory, so its daemon's store must start empty with it: a store
    /// that outlived the sandbox would take the new sandbox's issue #1 for an old concern.
    pub fn pair_store(&mut self) -> std::io::Result<String> {
        let dir = tempfile::Builder::new()
            .prefix("council-sync-sandbox-")
            .tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("council-sync.db").display());
        self.paired_store = Some(dir);
        Ok(url)
    }

    /// The whole state (GitHub and Jira halves), as [`persist::save`] writes it.
    pub fn saved(&self) -> Result<persist::Saved, serde_json::Error> {
        saved_state(&self.hub, &self.jira)
    }

    /// Saves the state in `dir` now and after every change from now on (at most every
    /// [`persist::SAVE_EVERY`]), and once more at [`SandboxHandle::shutdown`]. A failed save
    /// is logged and tried again at the next change.
    pub fn persist_to(&mut self, dir: std::path::PathBuf) -> Result<(), persist::PersistError> {
        let path = dir.join(persist::STATE_FILE);
        let now = self
            .saved()
            .map_err(|source| persist::PersistError::Json { path, source })?;
        persist::save(&dir, &now)?;
        let (hub, jira, feed) = (self.hub.clone(), self.jira.clone(), self.feed.clone());
        let task_dir = dir.clone();
        let task = tokio::spawn(async move {
            let mut seen = feed.version();
            loop {
                let v = feed.wait_after(seen, Duration::from_secs(3600)).await;
                if v == seen {
                    continue;
                }
                tokio::time::sleep(persist::SAVE_EVERY).await;
                seen = feed.version();
                save_now(&task_dir, &hub, &jira);
            }
        });
        self.saver = Some((dir, task));
        Ok(())
    }

    /// `http://ADDR`: the GitHub API base URL (`github.api_url`) and the Jira base URL.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The change counter (the same one the options carried).
    pub fn feed(&self) -> ChangeFeed {
        self.feed.clone()
    }

    /// The Jira half's state (webhook targets, people), for the embedding daemon.
    pub fn jira(&self) -> Arc<JiraSandbox> {
        self.jira.clone()
    }

    /// The GitHub half's state, for in-process inspection.
    pub fn github(&self) -> Arc<GithubHub> {
        self.hub.clone()
    }

    /// Stops accepting, fails held requests without running them, waits up to
    /// `SHUTDOWN_GRACE` for in-flight requests, and stops webhook deliveries.
    pub async fn shutdown(mut self) {
        self.faults.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
        self.delivery_task.abort();
        if let Some((dir, task)) = self.saver.take() {
            task.abort();
            save_now(&dir, &self.hub, &self.jira);
        }
    }
}

/// Both halves' state.
fn saved_state(hub: &GithubHub, jira: &JiraSandbox) -> Result<persist::Saved, serde_json::Error> {
    Ok(persist::Saved {
        version: persist::VERSION,
        github: hub.snapshot()?,
        jira: jira.snapshot()?,
    })
}

/// Saves both halves to `dir`, logging a failure (the next change tries again).
fn save_now(dir: &std::path::Path, hub: &GithubHub, jira: &JiraSandbox) {
    let result = saved_state(hub, jira)
        .map_err(|source| persist::PersistError::Json {
            path: dir.join(persist::STATE_FILE),
            source,
        })
        .and_then(|saved| persist::save(dir, &saved));
    if let Err(e) = result {
        tracing::error!(error = %e, "saving the sandbox state failed");
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.delivery_task.abort();
        if let Some((_, task)) = self.saver.take() {
            task.abort();
        }
    }
}

/// `council-sync sandbox`: runs the sandbox until Ctrl-C or SIGTERM, printing its URL.
pub async fn run_standalone(opts: SandboxOptions) -> Result<(), SandboxError> {
    let handle = Sandbox::start(opts).await?;
    println!("sandbox listening on {}", handle.base_url());
    wait_for_signal().await?;
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> Result<(), SandboxError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(SandboxError::Signal)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(SandboxError::Signal),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(SandboxError::Signal)
    }
}
