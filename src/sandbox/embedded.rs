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
use super::github::model::{MemberRole, MemberState};
use super::github::projects::ops::ProjectSeed;
use super::jira::JiraSandbox;
use super::{Sandbox, SandboxHandle, SandboxOptions};
use crate::config::{Config, TrackerKind};
use crate::daemon::{Embed, EmbedStart, Embedded};

impl Embedded for SandboxHandle {
    fn base_url(&self) -> String {
        SandboxHandle::base_url(self)
    }

    fn send_tracker_webhooks(&self, url: String, secret: Option<SecretString>) {
        // Signed admin webhooks, in the flavour of the configured Jira (`jira_sandbox`).
        self.jira().hooks.add_target(url, secret, None);
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
/// through the control API. On GitHub Projects it also makes what an organisation owner
/// would have made before `setup` ([`projects_seed`]), and a council team without
/// `[sandbox] council_members` gets [`REHEARSAL_COUNCIL`], so the product's own config
/// (`config/github-projects.toml`) is rehearsed with nothing registered by hand.
pub fn standalone_options(cfg: &Config, listen: SocketAddr) -> SandboxOptions {
    let mut opts = SandboxOptions::from_config(cfg);
    opts.listen = listen;
    opts.webhook_url = None;
    opts.jira = jira_sandbox(cfg, &opts.feed);
    for team in opts.teams.iter_mut().filter(|t| t.members.is_empty()) {
        team.members = REHEARSAL_COUNCIL
            .iter()
            .map(|m| ((*m).to_owned(), MemberState::Active, MemberRole::Member))
            .collect();
    }
    if let Some((project, types)) = projects_seed(cfg, chrono::Utc::now().date_naive()) {
        opts.issue_types.push(types);
        opts.projects.push(project);
    }
    opts
}

/// The council members a standalone sandbox seeds when the config names none
/// (`[sandbox] council_members`): the people README's walk-throughs act as.
pub const REHEARSAL_COUNCIL: [&str; 2] = ["carol", "dave"];

/// Days the running iteration started before the sandbox, and its length: one iteration
/// under way and the next one after it, so the Iteration field has something to show.
const ITERATION_STARTED_DAYS_AGO: i64 = 3;
/// Length of each seeded iteration, in days (GitHub's default is 14).
const ITERATION_DAYS: u32 = 14;

/// With `[tracker] kind = "github-projects"`: the project `[github_projects]` names, with a
/// single-select Status field (its todo, in-progress, done and not-planned options), a Team
/// field with one option per `[teams]` name, and an Iteration field with a running and a
/// next iteration from `today`; and the owner's issue types `Task`, `Bug` and the epic's.
/// `None` on Jira or without `[github_projects]`.
pub fn projects_seed(
    cfg: &Config,
    today: chrono::NaiveDate,
) -> Option<(ProjectSeed, (String, Vec<String>))> {
    if cfg.tracker.kind != TrackerKind::GithubProjects {
        return None;
    }
    let s = cfg.github_projects_settings().ok()?;
    let mut statuses: Vec<String> = Vec::new();
    for st in [
        &s.todo_status,
        &s.in_progress_status,
        &s.done_status,
        &s.not_planned_status,
    ] {
        if !st.trim().is_empty() && !statuses.iter().any(|x| x.eq_ignore_ascii_case(st)) {
            statuses.push(st.clone());
        }
    }
    let teams: Vec<String> = cfg.teams.keys().cloned().collect();
    let start = today - chrono::Duration::days(ITERATION_STARTED_DAYS_AGO);
    let next = start + chrono::Duration::days(i64::from(ITERATION_DAYS));
    let project = ProjectSeed {
        owner: s.owner.clone(),
        number: s.number,
        title: "SRE council".into(),
        single_select: [
            (s.status_field.clone(), statuses),
            (s.team_field.clone(), teams),
        ]
        .into_iter()
        .collect(),
        iteration: [(
            s.iteration_field.clone(),
            vec![
                ("Iteration 1".to_owned(), start, ITERATION_DAYS),
                ("Iteration 2".to_owned(), next, ITERATION_DAYS),
            ],
        )]
        .into_iter()
        .collect(),
    };
    let mut types = vec!["Task".to_owned(), "Bug".to_owned()];
    if let Some(epic) = s.epic_type()
        && !types.iter().any(|t| t.eq_ignore_ascii_case(epic))
    {
        types.push(epic.to_owned());
    }
    Some((project, (s.owner, types)))
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
    // The Jira the config names: Data Center webhooks for `api_version = 2`.
    if let Some(j) = &cfg.jira {
        jira.hooks.set_flavour(j.api_version);
    }
    Arc::new(jira)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &str, env: &[(&str, &str)]) -> Config {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Config::load_with_env(std::path::Path::new(path), env).expect("config")
    }

    /// The shipped GitHub Projects example seeds the project its `[github_projects]` names
    /// (every status, one Team option per team, two iterations from today) and the owner's
    /// issue types with the epic's; an empty `epic_issue_type` adds none; Jira seeds none.
    #[test]
    fn a_github_projects_config_seeds_its_project_and_issue_types() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let cfg = config("config/github-projects.toml", &[]);
        let (project, (org, types)) = projects_seed(&cfg, today).expect("seed");
        assert_eq!((project.owner.as_str(), project.number), ("acme", 7));
        assert_eq!(
            project.single_select["Status"],
            ["Todo", "In Progress", "Done", "Not planned"]
        );
        assert_eq!(
            project.single_select["Team"],
            ["data", "identity", "networking", "payments", "platform"]
        );
        let its = &project.iteration["Iteration"];
        assert_eq!(its.len(), 2);
        assert!(its[0].1 <= today && today < its[1].1, "{its:?}");
        assert_eq!(org, "acme");
        assert_eq!(types, ["Task", "Bug", "Epic"]);

        let renamed = config(
            "config/github-projects.toml",
            &[
                ("COUNCIL_GITHUB_PROJECTS__EPIC_ISSUE_TYPE", ""),
                ("COUNCIL_GITHUB_PROJECTS__STATUS_FIELD", "Stage"),
            ],
        );
        let (project, (_, types)) = projects_seed(&renamed, today).expect("seed");
        assert!(project.single_select.contains_key("Stage"), "{project:?}");
        assert_eq!(types, ["Task", "Bug"]);

        assert!(projects_seed(&config("config/sandbox.toml", &[]), today).is_none());
    }

    /// A standalone sandbox on a config whose council team has no `council_members` seeds
    /// the rehearsal's council, and one that names members keeps them.
    #[test]
    fn a_council_without_members_gets_the_rehearsals() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let members = |cfg: &Config| -> Vec<String> {
            standalone_options(cfg, addr).teams[0]
                .members
                .iter()
                .map(|m| m.0.clone())
                .collect()
        };
        assert_eq!(
            members(&config("config/github-projects.toml", &[])),
            REHEARSAL_COUNCIL
        );
        let named = config(
            "config/github-projects.toml",
            &[("COUNCIL_SANDBOX__COUNCIL_MEMBERS", "erin")],
        );
        assert_eq!(members(&named), ["erin"]);
    }
}
