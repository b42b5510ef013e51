//! Wiring of the whole daemon: store, webhook server, engine, and (when configured) the
//! embedded sandbox. `run` and `demo` share it, so the demo exercises the real path.
//!
//! Start order: config, listener, store, receiver; GitHub and Jira are not needed to start
//! (the engine's task resolves the identities in the background, see [`start`]).
//!
//! Shutdown order (SIGINT/SIGTERM or `Running::shutdown`): stop accepting webhooks and let
//! in-flight requests finish (each is stored before it is answered), then let the engine
//! finish the round in progress, all within `server.drain`; what still runs then (a call to
//! a hung server) is cut, and the store is closed. The drain bounds shutdown whatever the
//! HTTP timeouts are, inside an orchestrator's grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::concern::form::IssueForm;
use crate::config::{Config, JiraConfig, TrackerKind};
use crate::engine::{Engine, OwnAccounts};
use crate::github::client::GithubClient;
use crate::health::Health;
use crate::retry::RetryPolicy;
use crate::server;
use crate::store::{InboxWriter, Store, StoreLock};
use crate::tracker::AnyTracker;
use crate::tracker::Tracker;
use crate::tracker::github_projects::GithubProjectsTracker;
use crate::tracker::jira::JiraTracker;
use crate::tracker::jira::progress::ProgressRules;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("config: {0}")]
    Config(String),
    #[error("sandbox: {0}")]
    Sandbox(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The store named by `store.url` cannot be opened (the URL itself is not shown: it
    /// may hold a password).
    #[error("store.url: cannot open the store: {0}")]
    OpenStore(#[source] crate::store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("GitHub: {0}")]
    Github(#[from] crate::github::client::GithubError),
    #[error("issue form: {0}")]
    Form(String),
    #[error("tracker: {0}")]
    Tracker(String),
    #[error("{0}")]
    Engine(String),
}

/// A stand-in for GitHub and the tracker running inside the daemon's process
/// (`[sandbox] embedded = true`). The daemon knows it only through this trait: the sandbox
/// module implements it, and a build without the `sandbox` feature has none.
pub trait Embedded: Send + Sync {
    /// Its base URL (GitHub's REST API and the tracker's under one host).
    fn base_url(&self) -> String;
    /// Sends the tracker's webhooks to `url`, signed with `secret` when one is given.
    fn send_tracker_webhooks(&self, url: String, secret: Option<SecretString>);
    /// Stops it.
    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Starts an embedded stand-in listening for the daemon at the given address and points
/// the config at it (API URLs, tokens, webhook secrets, its store); the error says why it
/// could not start. main.rs and the demo pass the sandbox's; `None` in a build without it.
pub type Embed = fn(&mut Config, SocketAddr) -> EmbedStart<'_>;

/// What an [`Embed`] hook returns: the start in progress, borrowing the config it adjusts.
pub type EmbedStart<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Embedded>, String>> + Send + 'a>>;

/// A started daemon.
pub struct Running {
    server_addr: SocketAddr,
    board_addr: Option<SocketAddr>,
    sandbox: Option<Box<dyn Embedded>>,
    bot_login: watch::Receiver<Option<String>>,
    health: Arc<Health>,
    drain: Duration,
    stop: watch::Sender<bool>,
    server_task: JoinHandle<()>,
    engine_task: JoinHandle<()>,
    agenda_task: JoinHandle<()>,
    store: Store,
    /// What `agenda_markdown` reads with: GitHub, the form, `[agenda]`.
    agenda_view: (GithubClient, IssueForm, crate::config::AgendaConfig),
    /// The SQLite store's exclusive lock (`None` on PostgreSQL), released after the store
    /// is closed.
    store_lock: Option<StoreLock>,
}

impl Running {
    /// Where the webhook server listens.
    pub fn server_addr(&self) -> SocketAddr {
        self.server_addr
    }

    /// Where the board listens (`[server.board]`), when it is on.
    pub fn board_addr(&self) -> Option<SocketAddr> {
        self.board_addr
    }

    /// The embedded sandbox's base URL, when there is one.
    pub fn sandbox_url(&self) -> Option<String> {
        self.sandbox.as_ref().map(|s| s.base_url())
    }

    /// The login the daemon writes as, once its identity check has succeeded (it waits for
    /// it; empty if the daemon stops first).
    pub async fn bot_login(&self) -> String {
        let mut rx = self.bot_login.clone();
        match rx.wait_for(Option::is_some).await {
            Ok(login) => login.clone().unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The agenda of the next session as `council-sync agenda` prints it (Markdown), from
    /// this daemon's store and GitHub.
    ///
    /// # Errors
    /// When `[agenda]` gives no cadence, or the store or GitHub fails.
    pub async fn agenda_markdown(&self) -> Result<String, crate::agenda::AgendaError> {
        let (github, form, cfg) = &self.agenda_view;
        let a =
            crate::agenda::gather(&self.store, github, form, cfg, jiff::Timestamp::now()).await?;
        Ok(crate::agenda::render::markdown(&a))
    }

    /// The dependencies' health, as `/status` shows it.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Stops accepting, lets in-flight work finish for up to `server.drain`, then cuts what
    /// is still running (a call held by a hung server), closes the store, stops the sandbox.
    /// A write cut off this way is left `running` in the outbox; the next start re-queues
    /// it and its marker search (with the create-attempt record) resolves it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + self.drain;
        let mut server_task = self.server_task;
        let mut engine_task = self.engine_task;
        let mut agenda_task = self.agenda_task;
        if tokio::time::timeout_at(deadline, &mut server_task)
            .await
            .is_err()
        {
            tracing::warn!(drain = ?self.drain, "webhook requests still running after the drain; cutting them");
            server_task.abort();
        }
        if tokio::time::timeout_at(deadline, &mut engine_task)
            .await
            .is_err()
        {
            tracing::warn!(drain = ?self.drain, "outgoing calls still running after the drain; cutting them (resolved after restart)");
            engine_task.abort();
            let _ = engine_task.await;
        }
        if tokio::time::timeout_at(deadline, &mut agenda_task)
            .await
            .is_err()
        {
            agenda_task.abort();
        }
        self.store.close().await;
        drop(self.store_lock);
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

/// The issue form the config names, or the shipped one.
pub fn issue_form(cfg: &Config) -> Result<IssueForm, DaemonError> {
    match &cfg.criteria.issue_form {
        Some(path) => IssueForm::load(path).map_err(|e| DaemonError::Form(e.to_string())),
        None => Ok(IssueForm::shipped()),
    }
}

/// Starts everything; returns once webhooks are accepted.
///
/// Nothing here waits on GitHub or Jira: the receiver listens and stores deliveries from
/// the first second, while the engine's task resolves the daemon's identities (GitHub
/// `/user`, Jira `myself`) with backoff and only then acts on stored work, since it needs
/// the bot login to ignore its own events. Only a bad config or an unusable store stops
/// the start.
pub async fn start(mut cfg: Config, embed: Option<Embed>) -> Result<Running, DaemonError> {
    let form = issue_form(&cfg)?;
    // Bind first: the embedded sandbox must know where to deliver webhooks (port 0 allowed).
    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: cfg.server.listen,
            source,
        })?;
    let server_addr = listener
        .local_addr()
        .map_err(|source| DaemonError::Listen {
            addr: cfg.server.listen,
            source,
        })?;
    let board_listener = bind_board(&cfg).await?;
    let sandbox = match cfg.sandbox.clone().filter(|s| s.embedded) {
        Some(_) => {
            let embed = embed.ok_or_else(|| {
                DaemonError::Config(
                    "sandbox.embedded: this build has no sandbox (built without the `sandbox` \
                     feature); remove [sandbox] or build with it"
                        .into(),
                )
            })?;
            Some(
                embed(&mut cfg, server_addr)
                    .await
                    .map_err(DaemonError::Sandbox)?,
            )
        }
        None => None,
    };
    let github_token = github_token(&cfg)?;
    let webhook_secret = webhook_secret(&cfg)?;
    // Optional: each Jira receiver is on only when its secret or token is configured.
    let (jira_webhook_secret, jira_webhook_token) = match &cfg.jira {
        Some(jira) => (
            jira.webhook_secret()
                .map_err(|p| DaemonError::Config(p.to_string()))?,
            jira.webhook_token()
                .map_err(|p| DaemonError::Config(p.to_string()))?,
        ),
        None => (None, None),
    };

    let store = Store::open_with(&cfg.store.url, &cfg.store.options())
        .await
        .map_err(DaemonError::OpenStore)?;
    // One daemon per SQLite file: a second one refuses to start here, before it touches
    // any work (replicas need PostgreSQL). Held until the daemon stops. Taken after the
    // open, so a store that cannot be opened at all is reported as such.
    let store_lock = StoreLock::acquire(&cfg.store.url).map_err(DaemonError::Store)?;
    let requeued = store.requeue_running().await?;
    if requeued > 0 {
        tracing::info!(
            requeued,
            "resuming writes left unfinished by the previous run"
        );
    }
    let (inbox, writer_task) = InboxWriter::spawn(store.clone());
    let scope = crate::config::Scope::of(&cfg);

    let clients = Clients::new(&cfg, &store, github_token.as_ref()).await?;
    // The agenda poster shares the engine's GitHub client (its connections, ETags and App
    // token): building a second one would, with an App and no installation_id, ask GitHub
    // again at every start.
    let agenda_cfg = Arc::new(cfg.clone());
    let agenda_github = clients.github.clone();
    let agenda_form = form.clone();
    let agenda_view = (clients.github.clone(), form.clone(), cfg.agenda.clone());
    if let Some(sb) = &sandbox {
        // The embedded sandbox plays Jira Cloud: signed admin webhooks to /webhooks/jira.
        let url = format!("http://{server_addr}/webhooks/jira");
        sb.send_tracker_webhooks(url, jira_webhook_secret.clone());
    }

    let health = Arc::new(Health::default());
    let drain = cfg.server.drain;
    let (stop, stop_rx) = watch::channel(false);
    let (login_tx, bot_login) = watch::channel(None);
    let board_addr = match board_listener {
        Some(listener) => Some(spawn_board(
            listener,
            crate::board::BoardState {
                store: store.clone(),
                titles: crate::board::Titles::new(clients.github.clone(), form.clone()),
                agenda: cfg.agenda.clone(),
            },
            stop_rx.clone(),
        )?),
        None => None,
    };
    let engine_task = tokio::spawn(run_engine(
        cfg,
        store.clone(),
        clients,
        form,
        health.clone(),
        login_tx,
        stop_rx.clone(),
    ));
    let agenda_task = tokio::spawn(crate::agenda::schedule::run(
        store.clone(),
        agenda_github,
        agenda_form,
        agenda_cfg,
        stop_rx.clone(),
    ));
    crate::metrics::install();
    let router = server::router(server::ServerState {
        inbox,
        github_secret: webhook_secret,
        jira_secret: jira_webhook_secret,
        jira_token: jira_webhook_token,
        scope,
    })
    .merge(crate::metrics::router(store.clone()))
    .layer(axum::Extension(health.clone()))
    .layer(axum::Extension(store.clone()));
    let mut server_stop = stop_rx;
    let server_task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = server::serve(listener, router, shutdown).await {
            tracing::error!(error = %e, "webhook server stopped");
        }
        // The router (and with it the last inbox handle) is gone: the writer drains and ends.
        let _ = writer_task.await;
    });
    tracing::info!(%server_addr, "council-sync receiving webhooks");
    Ok(Running {
        server_addr,
        board_addr,
        sandbox,
        bot_login,
        health,
        drain,
        stop,
        server_task,
        engine_task,
        agenda_task,
        store,
        agenda_view,
        store_lock,
    })
}

/// Binds the board's own listener when `[server.board]` turns it on.
async fn bind_board(cfg: &Config) -> Result<Option<tokio::net::TcpListener>, DaemonError> {
    let Some(board) = &cfg.server.board else {
        return Ok(None);
    };
    let Some(addr) = board
        .addr()
        .map_err(|e| DaemonError::Config(format!("server.board.listen: {e}")))?
    else {
        return Ok(None);
    };
    tokio::net::TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| DaemonError::Listen { addr, source })
}

/// Serves the board on `listener` until `stop`; returns where it listens. A board that
/// stops serving (its socket failed) is logged; webhooks go on.
fn spawn_board(
    listener: tokio::net::TcpListener,
    state: crate::board::BoardState,
    mut stop: watch::Receiver<bool>,
) -> Result<SocketAddr, DaemonError> {
    let addr = listener
        .local_addr()
        .map_err(|source| DaemonError::Listen {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            source,
        })?;
    let router = crate::board::router(Arc::new(state));
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = server::serve(listener, router, shutdown).await {
            tracing::error!(error = %e, "board server stopped");
        }
    });
    tracing::info!(%addr, "council board");
    Ok(addr)
}

/// First wait between identity checks while GitHub or Jira fails; doubles up to
/// [`IDENTITY_RETRY_MAX`].
const IDENTITY_RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between identity checks during an outage: an outage's end is noticed
/// within this, and a long outage costs two cheap calls a half-minute.
const IDENTITY_RETRY_MAX: Duration = Duration::from_secs(30);
/// How often a running daemon re-checks GitHub (`/user`, conditional: a 304 costs no rate
/// limit) and Jira (`myself`) for `/status`.
const HEALTH_PROBE_INTERVAL: Duration = Duration::from_secs(30);

/// The engine's task: waits for the identities (retrying in the background while GitHub
/// or Jira fails, reported in `health`), then runs the engine and a periodic health probe
/// until `stop`.
async fn run_engine(
    cfg: Config,
    store: Store,
    clients: Clients,
    form: IssueForm,
    health: Arc<Health>,
    login_tx: watch::Sender<Option<String>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = IDENTITY_RETRY_FIRST;
    let accounts = loop {
        match clients.identities(&health).await {
            Ok(accounts) => break accounts,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot resolve the daemon's identities yet; deliveries are stored and handled once it can");
            }
        }
        // Full jitter, so replicas restarted together do not probe in step.
        let pause = wait.mul_f64(rand::random::<f64>().max(0.5));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        wait = (wait * 2).min(IDENTITY_RETRY_MAX);
    };
    let _ = login_tx.send(Some(accounts.github.clone()));
    tracing::info!(bot = %accounts.github, "identities resolved; acting on stored work");
    let probe_clients = clients.clone();
    let engine = Arc::new(clients.into_engine(cfg, store, form, Some(accounts)));
    health.set_engine_running(true);
    let probe = {
        let health = health.clone();
        let mut stop = stop.clone();
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(HEALTH_PROBE_INTERVAL) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let _ = probe_clients.identities(&health).await;
            }
        }
    };
    tokio::join!(engine.run(stop), probe);
    health.set_engine_running(false);
}

/// The daemon's clients, built from the config without any call (so a start never waits
/// on GitHub or Jira).
#[derive(Clone)]
pub struct Clients {
    github: GithubClient,
    tracker: AnyTracker,
    /// `github.bot_login` when configured (then `/user` is only a health check).
    configured_login: Option<String>,
}

impl Clients {
    /// Builds the GitHub client and the configured tracker ([`build_tracker`]); fails only
    /// on a bad config.
    pub async fn new(
        cfg: &Config,
        store: &Store,
        github_token: Option<&SecretString>,
    ) -> Result<Self, DaemonError> {
        let policy = RetryPolicy::from(&cfg.retry);
        // With a GitHub App and no `installation_id`, this asks GitHub once which
        // installation holds the first repository: set `github.app.installation_id` for a
        // start that never waits on GitHub.
        let github = GithubClient::from_config(&cfg.github, github_token, policy.clone())
            .await?
            .with_pacing((&cfg.limits.github).into());
        let tracker = build_tracker(cfg, store, policy, &github)?;
        Ok(Self {
            github,
            tracker,
            configured_login: cfg.github.bot_login.clone(),
        })
    }

    /// Asks GitHub (`GET /user`) and Jira (`myself`) who the daemon is, recording each
    /// answer in `health`. Both are asked even when the first fails, so `/status` names
    /// every failing dependency.
    pub async fn identities(&self, health: &Health) -> Result<OwnAccounts, DaemonError> {
        let github = self.github.current_user().await;
        match &github {
            Ok(_) => health.ok(crate::health::GITHUB, crate::store::now_ms()),
            Err(e) => health.failing(
                crate::health::GITHUB,
                &e.to_string(),
                crate::store::now_ms(),
            ),
        }
        let tracker = self.tracker.own_account().await;
        match &tracker {
            Ok(_) => health.ok(crate::health::JIRA, crate::store::now_ms()),
            Err(e) => health.failing(crate::health::JIRA, &e.to_string(), crate::store::now_ms()),
        }
        let github = match (&self.configured_login, github) {
            (Some(login), _) => login.clone(),
            (None, Ok(login)) => login,
            (None, Err(e)) => return Err(e.into()),
        };
        let tracker = tracker.map_err(|e| DaemonError::Tracker(e.to_string()))?;
        Ok(OwnAccounts { github, tracker })
    }

    /// The engine over these clients.
    pub fn into_engine(
        self,
        cfg: Config,
        store: Store,
        form: IssueForm,
        accounts: Option<OwnAccounts>,
    ) -> Engine<AnyTracker> {
        let wake = store.inbox_notify();
        Engine::new(
            store,
            self.github,
            self.tracker,
            Arc::new(cfg),
            form,
            accounts,
            wake,
        )
    }
}

/// The engine with its clients, for the one-shot commands. The daemon's own accounts are
/// asked for only when a step needs them (a full sweep that finds nothing changed costs its
/// listing pages and nothing else); a failure to answer then is that step's error.
pub async fn build_engine(
    cfg: Config,
    store: Store,
    github_token: Option<SecretString>,
    form: IssueForm,
) -> Result<Engine<AnyTracker>, DaemonError> {
    let clients = Clients::new(&cfg, &store, github_token.as_ref()).await?;
    Ok(clients.into_engine(cfg, store, form, None))
}

/// A GitHub client for the config (token from env or file, or the App), for the one-shot
/// commands `agenda` and `roadmap`.
pub async fn github_client(cfg: &Config) -> Result<GithubClient, DaemonError> {
    let token = github_token(cfg)?;
    Ok(
        GithubClient::from_config(&cfg.github, token.as_ref(), RetryPolicy::from(&cfg.retry))
            .await?,
    )
}

/// A config's clients and store without the server: for `reconcile` and `backfill`, which
/// may run beside a daemon on the same store (outbox claims are leased, keys idempotent).
pub async fn one_shot_engine(cfg: Config) -> Result<Engine<AnyTracker>, DaemonError> {
    let form = issue_form(&cfg)?;
    let github_token = github_token(&cfg)?;
    let store = Store::open_with(&cfg.store.url, &cfg.store.options())
        .await
        .map_err(DaemonError::OpenStore)?;
    build_engine(cfg, store, github_token, form).await
}

/// `council-sync reconcile --once [--full]`: one pass (what changed since the cursors) and
/// the tracker poll, or with `full` the full sweep alone (its listing of every tracker item,
/// compared with the store, covers what the poll's search would read), run to completion.
pub async fn reconcile_once(
    cfg: Config,
    full: bool,
    timeout: std::time::Duration,
) -> Result<usize, DaemonError> {
    let engine = one_shot_engine(cfg).await?;
    let err = |e: crate::engine::EngineError| DaemonError::Engine(e.to_string());
    let queued = if full {
        engine.full_sweep().await.map_err(err)?
    } else {
        let queued = engine.reconcile_pass().await.map_err(err)?;
        engine.poll_tracker().await.map_err(err)?;
        queued
    };
    engine
        .drain(std::time::Instant::now() + timeout)
        .await
        .map_err(|e| DaemonError::Engine(e.to_string()))?;
    engine.store.close().await;
    Ok(queued)
}

/// The GitHub token; `None` is fine only with a GitHub App (`[github.app]`).
fn github_token(cfg: &Config) -> Result<Option<SecretString>, DaemonError> {
    let token = cfg
        .github
        .token()
        .map_err(|p| DaemonError::Config(p.to_string()))?;
    if cfg.github.app.is_some() {
        return Ok(token);
    }
    token.map(Some).ok_or_else(|| {
        DaemonError::Config(
            "github.token: no GitHub token (set COUNCIL_GITHUB__TOKEN or github.token_file)".into(),
        )
    })
}

fn webhook_secret(cfg: &Config) -> Result<SecretString, DaemonError> {
    cfg.github.webhook_secret().map_err(|p| DaemonError::Config(p.to_string()))?.ok_or_else(|| {
        DaemonError::Config(
            "github.webhook_secret: no webhook secret (set COUNCIL_GITHUB__WEBHOOK_SECRET or github.webhook_secret_file)".into(),
        )
    })
}

/// The tracker `[tracker] kind` names: the one place a kind becomes a tracker. GitHub
/// Projects works through the daemon's own GitHub client `github` (one identity, one pacer).
pub fn build_tracker(
    cfg: &Config,
    store: &Store,
    policy: RetryPolicy,
    github: &GithubClient,
) -> Result<AnyTracker, DaemonError> {
    match cfg.tracker.kind {
        TrackerKind::Jira => {
            let jira = cfg
                .jira_section()
                .map_err(|e| DaemonError::Config(e.to_owned()))?;
            let tracker = JiraTracker::new(
                jira,
                jira_token(cfg, jira)?,
                &cfg.teams,
                ProgressRules::from_config(&cfg.sync),
                policy,
            )
            .map_err(|e| DaemonError::Config(e.to_string()))?
            .with_limits(&cfg.limits.jira)
            .with_create_attempts(store.clone(), jira)
            .with_users(&cfg.users);
            Ok(AnyTracker::Jira(tracker))
        }
        TrackerKind::GithubProjects => {
            let settings = cfg
                .github_projects_settings()
                .map_err(|e| DaemonError::Config(e.to_owned()))?;
            Ok(AnyTracker::GithubProjects(std::sync::Arc::new(
                GithubProjectsTracker::new(github.clone(), settings)
                    .with_bot_login(cfg.github.bot_login.clone()),
            )))
        }
    }
}

fn jira_token(cfg: &Config, jira: &JiraConfig) -> Result<SecretString, DaemonError> {
    let embedded = cfg.sandbox.as_ref().is_some_and(|s| s.embedded);
    match jira.auth.token().map_err(|p| DaemonError::Config(p.to_string()))? {
        Some(token) => Ok(token),
        None if embedded => Ok(SecretString::from("sandbox-token".to_owned())),
        None => Err(DaemonError::Config("jira.auth.token: no Jira token (set COUNCIL_JIRA__AUTH__TOKEN or jira.auth.token_file)".into())),
    }
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run_until_signal(cfg: Config, embed: Option<Embed>) -> Result<(), DaemonError> {
    let running = start(cfg, embed).await?;
    println!("council-sync listening on http://{}", running.server_addr());
    if let Some(addr) = running.board_addr() {
        println!("council board on http://{addr}/");
    }
    if let Some(url) = running.sandbox_url() {
        println!("sandbox (GitHub + Jira) on {url}; control API under {url}/_sandbox/");
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// Returns on Ctrl-C, or on SIGTERM on Unix (Ctrl-C only when SIGTERM cannot be listened for).
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `council-sync backfill [--dry-run]`: imports the concerns that existed before the daemon.
/// `report` is told of each issue as it is handled (for a progress bar or plain lines).
pub async fn backfill(
    cfg: Config,
    dry_run: bool,
    mut report: impl FnMut(usize, usize, &crate::engine::BackfillItem),
    on_estimate: impl FnOnce(&crate::engine::BackfillEstimate),
    on_progress: impl FnMut(&crate::engine::DrainProgress),
) -> Result<crate::engine::BackfillSummary, DaemonError> {
    let (github_limits, jira_limits) = (cfg.limits.github, cfg.limits.jira);
    let tracker_kind = cfg.tracker.kind;
    let engine = one_shot_engine(cfg).await?;
    let err = |e: crate::engine::EngineError| DaemonError::Engine(e.to_string());
    let candidates = engine.backfill_candidates().await.map_err(err)?;
    let mut summary = crate::engine::BackfillSummary {
        seen: candidates.len(),
        ..Default::default()
    };
    let mut stages = Vec::new();
    for (i, (repo, issue)) in candidates.iter().enumerate() {
        let item = engine
            .backfill_one(repo, issue, dry_run)
            .await
            .map_err(err)?;
        if let Some(stage) = item.stage {
            summary.imported += 1;
            stages.push(stage);
        } else {
            summary.known += 1;
        }
        report(i + 1, candidates.len(), &item);
    }
    // The tracker's calls go at its own host's limit: Jira's `[limits.jira]`, or, for
    // GitHub Projects, GitHub's (its writes are GitHub writes).
    let tracker_take = |calls: u64| match tracker_kind {
        TrackerKind::Jira => crate::config::limits::jira_calls_take(&jira_limits, calls),
        TrackerKind::GithubProjects => {
            crate::config::limits::github_writes_take(&github_limits, calls)
        }
    };
    on_estimate(&crate::engine::BackfillEstimate::new(
        &stages,
        &github_limits,
        tracker_take,
    ));
    if !dry_run {
        // No deadline: the limits decide how long it takes, and the progress says so.
        engine
            .drain_reporting(crate::engine::STALL, on_progress)
            .await
            .map_err(err)?;
    }
    engine.store.close().await;
    Ok(summary)
}
