//! `council-sync demo`: the daemon and the embedded sandbox on loopback, a scripted council
//! session against them, and a check of every step. No accounts, no tokens, no network.

pub mod control;
pub mod projects;
pub mod script;
pub mod view;

use crate::config::{Config, EpicLink, JiraApiVersion, JiraAuth};
use secrecy::SecretString;

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
    // The board on a free loopback port; the agenda's sessions every two weeks from today.
    cfg.server.board = Some(crate::config::BoardConfig {
        listen: "127.0.0.1:0".to_owned(),
    });
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    cfg.agenda.first_session = Some(format!("{today} 00:00"));
    cfg.store.url = format!("sqlite://{}", dir.join("council-sync-demo.db").display());
    if let Some(sandbox) = cfg.sandbox.as_mut() {
        sandbox.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    }
    let jc = cfg
        .jira
        .as_mut()
        .ok_or_else(|| DemoError::Config(crate::config::NO_JIRA.into()))?;
    match jira_api {
        3 => jc.api_version = JiraApiVersion::V3,
        2 => {
            jc.api_version = JiraApiVersion::V2;
            jc.auth = JiraAuth::Bearer {
                token: None,
                token_file: None,
            };
            jc.epic_link = EpicLink::CustomField {
                epic_link_field: "customfield_10008".into(),
                epic_name_field: "customfield_10011".into(),
            };
        }
        other => return Err(DemoError::Version(other)),
    }
    Ok(cfg)
}

/// Which tracker the demo plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoTracker {
    /// Jira, REST v3 (Cloud) or v2 (Data Center).
    Jira(u8),
    /// GitHub Projects: the concern is the epic, stories are sub-issues in team repositories.
    GithubProjects,
}

/// The demo's organisation and project number on GitHub Projects.
pub const DEMO_PROJECT: (&str, u64) = ("acme", 1);

/// The sandbox config moved to GitHub Projects: no `[jira]`, `[github_projects]` on the
/// demo project, each team's stories in `acme/<team>`, and `[sync]` statuses that are
/// the project's Status options.
pub fn projects_config(dir: &std::path::Path) -> Result<Config, DemoError> {
    let mut cfg = demo_config(dir, 3)?;
    let (owner, number) = DEMO_PROJECT;
    cfg.tracker.kind = crate::config::TrackerKind::GithubProjects;
    cfg.jira = None;
    let text = format!("owner = \"{owner}\"\nnumber = {number}\n");
    let section = ::config::Config::builder()
        .add_source(::config::File::from_str(&text, ::config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| DemoError::Config(format!("[github_projects]: {e}")))?;
    cfg.github_projects = Some(section);
    for (name, team) in &mut cfg.teams {
        team.jira_project = None;
        team.component = None;
        team.repo = Some(format!("{owner}/{name}"));
    }
    cfg.sync.not_planned_status = "Not planned".into();
    cfg.sync.reopen_status = "Todo".into();
    cfg.sync.epic_done_status = "Done".into();
    Ok(cfg)
}

/// Where the demo's daemon finds GitHub and Jira.
#[derive(Debug, Clone, Default)]
pub struct DemoTarget {
    /// An already running sandbox (`council-sync sandbox`) instead of the embedded one.
    pub sandbox_url: Option<String>,
    /// GitHub API base URL for the daemon (e.g. a Prism proxy in front of the sandbox).
    pub github_api_url: Option<String>,
    /// Jira base URL for the daemon (e.g. a Prism proxy in front of the sandbox).
    pub jira_url: Option<String>,
    /// After the session, keep the daemon, the sandbox and the council board up until
    /// Ctrl-C or SIGTERM, so what the session made can be opened in a browser.
    pub keep: bool,
}

/// Runs the demo; `Ok(false)` when a step did not happen.
pub async fn run(tracker: DemoTracker, target: DemoTarget) -> Result<bool, DemoError> {
    let dir = tempfile::tempdir().map_err(|e| DemoError::Config(format!("no temp dir: {e}")))?;
    let mut cfg = match tracker {
        DemoTracker::Jira(api) => demo_config(dir.path(), api)?,
        DemoTracker::GithubProjects => projects_config(dir.path())?,
    };
    let webhook_secret = uuid::Uuid::new_v4().simple().to_string();
    if let Some(sandbox) = &target.sandbox_url {
        point_at_external_sandbox(&mut cfg, sandbox, &target, &webhook_secret);
    }
    let running = daemon::start(cfg.clone(), Some(crate::sandbox::embedded::EMBED)).await?;
    let sandbox_url = match (&target.sandbox_url, running.sandbox_url()) {
        (Some(url), _) => url.clone(),
        (None, Some(url)) => url,
        (None, None) => return Err(DemoError::Config("no sandbox to run against".into())),
    };
    let ctl = control::SandboxControl::new(sandbox_url.clone());
    if target.sandbox_url.is_some() {
        let daemon = running.server_addr();
        let github = serde_json::json!({"url": format!("http://{daemon}/webhooks/github"), "secret": webhook_secret});
        let jira = serde_json::json!({"url": format!("http://{daemon}/webhooks/jira"), "secret": webhook_secret});
        let set = async {
            ctl.post("/_sandbox/webhooks", github).await?;
            if tracker == DemoTracker::GithubProjects {
                return Ok(serde_json::Value::Null);
            }
            ctl.post("/_sandbox/jira/webhooks", jira).await
        };
        if let Err(e) = set.await {
            running.shutdown().await;
            return Err(DemoError::Config(format!(
                "cannot point the sandbox's webhooks at the daemon: {e}"
            )));
        }
    }
    let projects = match tracker {
        DemoTracker::Jira(_) => None,
        DemoTracker::GithubProjects => {
            let mut p = projects::ProjectsSetup::of(&cfg);
            if let Err(e) = projects::seed(&ctl, &mut p).await {
                running.shutdown().await;
                return Err(DemoError::Config(format!(
                    "cannot seed the project in the sandbox: {e}"
                )));
            }
            Some(p)
        }
    };
    let played = match tracker {
        DemoTracker::Jira(api) => format!("GitHub + Jira REST v{api}"),
        DemoTracker::GithubProjects => "GitHub + GitHub Projects".to_owned(),
    };
    println!(
        "council-sync demo: daemon on http://{}, sandbox ({played}) on {sandbox_url}",
        running.server_addr()
    );
    if let Some(p) = &projects {
        println!(
            "GitHub project: {sandbox_url}/orgs/{}/projects/{} (stories in {})",
            p.owner,
            p.number,
            p.team_repos
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(board) = running.board_addr() {
        let when = if target.keep {
            "it stays up after the session until Ctrl-C"
        } else {
            "it ends with the session; `demo --keep` keeps it up"
        };
        println!("council board on http://{board}/ ({when})");
    }
    println!();
    let setup = script::Setup {
        repo: cfg.github.repos.first().cloned().unwrap_or_default(),
        labels: cfg.labels.clone(),
        bot: running.bot_login().await,
        epic_project: cfg
            .jira
            .as_ref()
            .map(|j| j.epic_project.clone())
            .unwrap_or_default(),
        projects,
    };
    let agenda = async || match running.agenda_markdown().await {
        Ok(md) => md,
        Err(e) => format!("(no agenda: {e})"),
    };
    let transcript = script::council_session(&ctl, &setup, agenda).await;
    if target.keep {
        let board = running
            .board_addr()
            .map(|b| format!(", the council board on http://{b}/"))
            .unwrap_or_default();
        println!(
            "\n--keep: the daemon on http://{}, the sandbox on {sandbox_url}{board} stay up; \
             Ctrl-C (or SIGTERM) ends them.",
            running.server_addr()
        );
        daemon::wait_for_signal().await;
    }
    running.shutdown().await;
    if target.sandbox_url.is_some() && tracker != DemoTracker::GithubProjects {
        // Jira targets are sandbox-wide; a dead one would only slow later deliveries.
        let _ = ctl.delete("/_sandbox/jira/webhooks").await;
    }
    Ok(transcript.failed.is_empty())
}

/// Uses a sandbox started elsewhere: no embedded one, the daemon's API calls go to the
/// given URLs (or the sandbox itself), with sandbox-only credentials.
fn point_at_external_sandbox(
    cfg: &mut Config,
    sandbox: &str,
    target: &DemoTarget,
    webhook_secret: &str,
) {
    cfg.sandbox = None;
    cfg.github.api_url = target
        .github_api_url
        .clone()
        .unwrap_or_else(|| sandbox.to_owned());
    cfg.github.token = Some(SecretString::from("sandbox-token".to_owned()));
    cfg.github.webhook_secret = Some(SecretString::from(webhook_secret.to_owned()));
    let Some(jc) = cfg.jira.as_mut() else {
        return;
    };
    jc.base_url = target
        .jira_url
        .clone()
        .unwrap_or_else(|| sandbox.to_owned());
    jc.webhook_secret = Some(SecretString::from(webhook_secret.to_owned()));
    let token = Some(SecretString::from("sandbox-token".to_owned()));
    jc.auth = match &jc.auth {
        JiraAuth::Basic { email, .. } => JiraAuth::Basic {
            email: email.clone(),
            token,
            token_file: None,
        },
        JiraAuth::Bearer { .. } => JiraAuth::Bearer {
            token,
            token_file: None,
        },
    };
}
