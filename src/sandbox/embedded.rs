//! The sandbox inside the daemon's process (`[sandbox] embedded = true`) and the options of
//! the standalone `council-sync sandbox`. The daemon never imports this module: main.rs and
//! the demo hand [`start`] to `daemon::start` as its [`Embed`] hook, and the daemon sees
//! the running sandbox only as an [`Embedded`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

use super::feed::ChangeFeed;
use super::jira::JiraSandbox;
use super::{Sandbox, SandboxHandle, SandboxOptions};
use crate::config::Config;
use crate::daemon::{Embed, EmbedStart, Embedded};

impl Embedded for SandboxHandle {
    fn base_url(&self) -> String {
        SandboxHandle::base_url(self)
    }

    fn send_tracker_webhooks(&self, url: String, secret: Option<SecretString>) {
        // The embedded sandbox plays Jira Cloud: signed admin webhooks.
        self.jira().hooks.add_target(url, secret);
    }

    fn shutdown(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(SandboxHandle::shutdown(*self))
    }
}

/// The [`Embed`] hook: starts the sandbox and points the config at it.
pub const EMBED: Embed = start;

/// Starts the sandbox in-process and points the config at it. The sandbox takes any token;
/// a per-run random webhook secret keeps the daemon's real signature check in the path.
pub fn start(cfg: &mut Config, daemon_addr: SocketAddr) -> EmbedStart<'_> {
    Box::pin(async move {
        if cfg.github.token.is_none() && cfg.github.token_file.is_none() {
            cfg.github.token = Some(SecretString::from("sandbox-token".to_owned()));
        }
        if cfg.github.webhook_secret.is_none() && cfg.github.webhook_secret_file.is_none() {
            cfg.github.webhook_secret = Some(SecretString::from(
                uuid::Uuid::new_v4().simple().to_string(),
            ));
        }
        if let Some(jira) = cfg.jira.as_mut()
            && jira.webhook_secret.is_none()
            && jira.webhook_secret_file.is_none()
        {
            jira.webhook_secret = Some(SecretString::from(
                uuid::Uuid::new_v4().simple().to_string(),
            ));
        }
        let mut opts = SandboxOptions::from_config(cfg);
        opts.webhook_url = Some(format!("http://{daemon_addr}/webhooks/github"));
        opts.webhook_secret = cfg.github.webhook_secret().ok().flatten();
        opts.jira = jira_sandbox(cfg, &opts.feed);
        let state_dir = cfg.sandbox.as_ref().and_then(|s| s.state_dir.clone());
        if let Some(dir) = &state_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("sandbox.state_dir {}: {e}", dir.display()))?;
            opts.saved =
                super::persist::load(dir).map_err(|e| format!("sandbox.state_dir: {e}"))?;
        }
        let mut handle = Sandbox::start(opts).await.map_err(|e| e.to_string())?;
        // The sandbox and the store start and end together: a fresh pair per run, or both
        // kept in the state directory.
        cfg.store.url = match state_dir {
            Some(dir) => {
                let url = format!("sqlite://{}", dir.join("council-sync.db").display());
                handle
                    .persist_to(dir)
                    .map_err(|e| format!("sandbox.state_dir: {e}"))?;
                url
            }
            None => handle
                .pair_store()
                .map_err(|e| format!("no directory for its store: {e}"))?,
        };
        let base = handle.base_url();
        cfg.github.api_url = base.clone();
        if let Some(jira) = cfg.jira.as_mut() {
            jira.base_url = base;
        }
        Ok(Box::new(handle) as Box<dyn Embedded>)
    })
}

/// Options for `council-sync sandbox`: seeded from `cfg`, no webhook target until one is set
/// through the control API.
pub fn standalone_options(cfg: &Config, listen: SocketAddr) -> SandboxOptions {
    let mut opts = SandboxOptions::from_config(cfg);
    opts.listen = listen;
    opts.webhook_url = None;
    opts.jira = jira_sandbox(cfg, &opts.feed);
    opts
}

/// The Jira half, seeded with every configured project, bumping the shared change feed.
fn jira_sandbox(cfg: &Config, feed: &ChangeFeed) -> Arc<JiraSandbox> {
    let mut projects: Vec<&str> = cfg
        .teams
        .values()
        .filter_map(|t| t.jira_project.as_deref())
        .collect();
    if let Some(jira) = &cfg.jira {
        projects.push(&jira.epic_project);
    }
    let feed = feed.clone();
    let jira = JiraSandbox::new(&projects).with_on_change(Arc::new(move || {
        feed.bump();
    }));
    if let Some(lag) = cfg.sandbox.as_ref().map(|s| s.jira_search_lag) {
        jira.set_search_lag(lag);
    }
    Arc::new(jira)
}
