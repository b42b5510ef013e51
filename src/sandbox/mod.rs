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
    /// The Jira half, served on the same listener.
    pub jira: Arc<JiraSandbox>,
    /// The change counter; give a clone to the Jira half so its changes bump it too.
    pub feed: ChangeFeed,
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
            jira: Arc::new(JiraSandbox::default()),
            feed: ChangeFeed::new(),
        }
    }
}

impl SandboxOptions {
    /// Options from the daemon's config: `[sandbox].listen`, the watched repositories, the
    /// council team with `[sandbox].council_members` as active members, the webhook secret,
    /// and deliveries to the daemon's `/webhooks/github`.
    pub fn from_config(cfg: &Config) -> Self {
        let sb = cfg.sandbox.clone().unwrap_or_default();
        let repos = cfg
            .github
            .repos
            .iter()
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

        let mut world = World::new(base_url.clone(), &opts.bot_login);
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
            .merge(control::router(ctl))
            .merge(jira::router(opts.jira.clone()))
            .fallback(|| async { ApiError::not_found().into_response() })
            .layer(from_fn_with_state(faults.clone(), faults::layer));

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            if let Err(err) = axum::serve(listener, app)
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
        })
    }
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
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.delivery_task.abort();
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
