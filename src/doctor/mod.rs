//! `council-sync doctor`: checks, live and read-only, everything the daemon will need from
//! GitHub and Jira, and prints a table of ok / missing / wrong with the fix for each.
//!
//! [`needs`] says what the daemon needs (shared with `setup`, so both agree), [`github`],
//! [`jira`] and [`projects`] (GitHub Projects as the tracker) check it through the
//! product's own clients (no HTTP of their own), and
//! [`report`] renders the table. A check that fails for want of rights it cannot have
//! (webhooks need repository or Jira admin) is `unchecked`, with the manual check as fix.

pub mod github;
pub mod jira;
pub mod needs;
pub mod projects;
pub mod report;
pub mod workflow;

use secrecy::SecretString;

pub use self::report::{Finding, Report, Verdict};
use crate::config::{Config, TrackerKind};
use crate::github::client::{GithubClient, GithubError};
use crate::retry::RetryPolicy;
use crate::tracker::jira::{JiraClient, JiraCredentials, JiraError};

/// Why the checks could not start (a bad URL or missing token; the checks themselves
/// report problems as findings, not errors).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// A secret is missing or unreadable.
    #[error("{0}")]
    Config(String),
    /// The GitHub client could not be built.
    #[error(transparent)]
    Github(#[from] GithubError),
    /// The Jira client could not be built.
    #[error(transparent)]
    Jira(#[from] JiraError),
}

/// The clients `doctor` and `setup` use, built from the config's secrets.
pub struct Clients {
    /// GitHub, with `github.token` or the App.
    pub github: GithubClient,
    /// Jira, with `jira.auth`; `None` when the tracker is GitHub Projects.
    pub jira: Option<JiraClient>,
}

impl Clients {
    /// Builds the clients (GitHub: the App installation when `[github.app]` is set, else
    /// the token; Jira only with `[tracker] kind = "jira"`); fails when a credential is
    /// missing (named by its config key).
    pub async fn from_config(cfg: &Config) -> Result<Self, DoctorError> {
        // Interactive: a host that cannot be reached fails in seconds, naming it.
        let policy = RetryPolicy::from(&cfg.retry).interactive();
        let gh_token: Option<SecretString> = cfg
            .github
            .token()
            .map_err(|p| DoctorError::Config(p.to_string()))?;
        let github =
            GithubClient::from_config(&cfg.github, gh_token.as_ref(), policy.clone()).await?;
        let jira = match cfg.tracker.kind {
            TrackerKind::Jira => Some(jira_client(cfg, policy)?),
            TrackerKind::GithubProjects => None,
        };
        Ok(Self { github, jira })
    }
}

/// The Jira client of `[jira]`.
fn jira_client(cfg: &Config, policy: RetryPolicy) -> Result<JiraClient, DoctorError> {
    let jc = cfg
        .jira_section()
        .map_err(|e| DoctorError::Config(e.to_owned()))?;
    let jira_token = jc
        .auth
        .token()
        .map_err(|p| DoctorError::Config(p.to_string()))?
        .ok_or_else(|| {
            DoctorError::Config(
                "jira.auth.token: no Jira token (set COUNCIL_JIRA__AUTH__TOKEN or jira.auth.token_file)"
                    .into(),
            )
        })?;
    let creds = JiraCredentials::from_config(&jc.auth, jira_token);
    Ok(JiraClient::new(
        &jc.base_url,
        creds,
        jc.api_version,
        policy,
    )?)
}

/// Runs every check; the report says whether anything blocks.
pub async fn run(cfg: &Config, clients: &Clients) -> Report {
    let mut report = Report::default();
    if cfg.server.public_url.is_none() {
        report.push(Finding::advises(
            "config",
            "server.public_url",
            Verdict::Missing,
            "webhook URLs cannot be compared exactly",
            "set server.public_url to the URL GitHub and Jira reach the daemon at",
        ));
    }
    github::check(cfg, &clients.github, &mut report).await;
    match &clients.jira {
        Some(jira) => jira::check(cfg, jira, &mut report).await,
        None => projects::check(cfg, &clients.github, &mut report).await,
    }
    report
}
