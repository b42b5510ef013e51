//! `council-sync demo`: the daemon and the embedded sandbox on loopback, a scripted council
//! session against them, and a check of every step. No accounts, no tokens, no network.

pub mod control;
pub mod script;
pub mod view;

use crate::config::{Config, EpicLink, JiraApiVersion, JiraAuth};
use crate::daemon;

/// The shipped sandbox configuration, the demo's starting point.
pub const SANDBOX_CONFIG: &str = include_str!("../../config/sandbox.toml");

/// Why the demo could not run at all (as opposed to a step that did not happen).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the shipped config/sandbox.toml does not load: {0}")]
    Config(String),
    #[error("jira api version must be 2 or 3, not {0}")]
    Version(u8),
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
}

/// The sandbox config, adjusted for a throw-away run: any free ports, a store in `dir`, and
/// the Jira flavour asked for (Data Center uses bearer auth and the Epic Link field).
pub fn demo_config(dir: &std::path::Path, jira_api: u8) -> Result<Config, DemoError> {
    let mut cfg = Config::from_toml_str(SANDBOX_CONFIG, std::iter::empty())
        .map_err(|e| DemoError::Config(e.to_string()))?;
    cfg.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.store.url = format!("sqlite://{}", dir.join("council-sync-demo.db").display());
    if let Some(sandbox) = cfg.sandbox.as_mut() {
        sandbox.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    }
    match jira_api {
        3 => cfg.jira.api_version = JiraApiVersion::V3,
        2 => {
            cfg.jira.api_version = JiraApiVersion::V2;
            cfg.jira.auth = JiraAuth::Bearer {
                token: None,
                token_file: None,
            };
            cfg.jira.epic_link = EpicLink::CustomField {
                epic_link_field: "customfield_10008".into(),
                epic_name_field: "customfield_10011".into(),
            };
        }
        other => return Err(DemoError::Version(other)),
    }
    Ok(cfg)
}

/// Runs the demo; `Ok(false)` when a step did not happen.
pub async fn run(jira_api: u8) -> Result<bool, DemoError> {
    let dir = tempfile::tempdir().map_err(|e| DemoError::Config(format!("no temp dir: {e}")))?;
    let cfg = demo_config(dir.path(), jira_api)?;
    let running = daemon::start(cfg.clone()).await?;
    let sandbox_url = running.sandbox_url().unwrap_or_default();
    println!(
        "council-sync demo: daemon on http://{}, sandbox (GitHub + Jira REST v{jira_api}) on {sandbox_url}\n",
        running.server_addr()
    );
    let ctl = control::SandboxControl::new(sandbox_url);
    let setup = script::Setup {
        repo: cfg.github.repos.first().cloned().unwrap_or_default(),
        labels: cfg.labels.clone(),
        bot: running.bot_login().to_owned(),
        epic_project: cfg.jira.epic_project.clone(),
    };
    let transcript = script::council_session(&ctl, &setup).await;
    running.shutdown().await;
    Ok(transcript.failed.is_empty())
}
