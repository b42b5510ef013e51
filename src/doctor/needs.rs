//! What the daemon needs from GitHub and Jira, in one place, so `doctor` checks and
//! `setup` creates the same things.

use crate::config::{Config, CouncilMembers, JiraApiVersion};

/// GitHub webhook events the daemon handles (`issues`: opened, edited, labeled, closed, …;
/// `issue_comment`: `/results` and answers). GitHub docs: "Webhook events and payloads".
pub const GITHUB_EVENTS: [&str; 2] = ["issues", "issue_comment"];

/// Organisation webhook events the GitHub Projects tracker handles: `projects_v2_item`
/// (Status, Team and Iteration changes: GitHub sends it only to organisation webhooks and
/// Apps), `sub_issues` (stories linked or unlinked), `issues` (the concerns, and the stories
/// in the team repositories opened, closed, assigned) and `issue_comment` (the concerns'
/// comments). One hook carries all four, so the organisation's concern repositories need no
/// hook of their own: with both, GitHub sends each event once per hook, i.e. twice.
/// GitHub docs: "Webhook events and payloads", "Types of webhooks".
pub const PROJECT_EVENTS: [&str; 4] = ["projects_v2_item", "sub_issues", "issues", "issue_comment"];

/// Whether the organisation webhook of GitHub Projects (on `org`, the project's owner)
/// delivers the events of concern repository `repo` (`owner/name`): GitHub sends an
/// organisation hook the events of every repository the organisation owns. Logins are
/// case-insensitive.
pub fn org_hook_covers(org: &str, repo: &str) -> bool {
    repo.split_once('/')
        .is_some_and(|(owner, _)| owner.eq_ignore_ascii_case(org))
}

/// Jira webhook events the daemon handles: issue changes (status, sprint, assignee),
/// comments (synced when asked) and sprints starting or closing.
pub const JIRA_EVENTS: [&str; 6] = [
    "jira:issue_created",
    "jira:issue_updated",
    "comment_created",
    "comment_updated",
    "sprint_started",
    "sprint_closed",
];

/// Where the issue form lives in each repository (GitHub reads `.github/ISSUE_TEMPLATE/`).
pub const ISSUE_FORM_PATH: &str = ".github/ISSUE_TEMPLATE/sre-concern.yml";

/// The shipped issue form, committed by `setup` when `criteria.issue_form` is not set.
pub const SHIPPED_FORM_YAML: &str = include_str!("../../.github/ISSUE_TEMPLATE/sre-concern.yml");

/// Name of the Jira webhook `setup` registers (shown in Jira's admin page).
pub const JIRA_WEBHOOK_NAME: &str = "council-sync";

/// The issue form text the repositories should carry: `criteria.issue_form` or the shipped one.
pub fn form_yaml(cfg: &Config) -> Result<String, std::io::Error> {
    match &cfg.criteria.issue_form {
        Some(path) => std::fs::read_to_string(path),
        None => Ok(SHIPPED_FORM_YAML.to_owned()),
    }
}

/// `org/slug` of the council team, when the council is a team.
pub fn council_team(cfg: &Config) -> Option<(&str, &str)> {
    match &cfg.github.council {
        CouncilMembers::Team(t) => t.split_once('/'),
        CouncilMembers::Logins(_) => None,
    }
}

/// `{server.public_url}/webhooks/github`, when the public URL is configured.
pub fn github_hook_url(cfg: &Config) -> Option<String> {
    cfg.server
        .public_url
        .as_deref()
        .map(|u| format!("{}/webhooks/github", u.trim_end_matches('/')))
}

/// Where Jira should send events: Cloud signs (`/webhooks/jira` + secret), Data Center
/// cannot, so its URL carries the token (`/webhooks/jira/{token}`). `None` without a
/// public URL. The result may hold a secret: never print it, use [`redact`].
pub fn jira_hook_url(cfg: &Config, token: Option<&str>) -> Option<String> {
    let base = cfg.server.public_url.as_deref()?.trim_end_matches('/');
    Some(match (cfg.jira.as_ref().map(|j| j.api_version), token) {
        (Some(JiraApiVersion::V2), Some(t)) => format!("{base}/webhooks/jira/{t}"),
        _ => format!("{base}/webhooks/jira"),
    })
}

/// A webhook URL fit to print: the Data Center token after `/webhooks/jira/` is hidden.
pub fn redact(url: &str) -> String {
    match url.find("/webhooks/jira/") {
        Some(i) => format!("{}/webhooks/jira/<token>", &url[..i]),
        None => url.to_owned(),
    }
}

/// Jira project keys the daemon writes to: the epics' project, then each team's, once each.
pub fn jira_projects(cfg: &Config) -> Vec<String> {
    let mut keys: Vec<String> = cfg.jira.iter().map(|j| j.epic_project.clone()).collect();
    for project in cfg.teams.values().filter_map(|t| t.jira_project.as_ref()) {
        if !keys.contains(project) {
            keys.push(project.clone());
        }
    }
    keys
}

/// Statuses the daemon moves issues to, with the config key that names each.
pub fn target_statuses(cfg: &Config) -> Vec<(&'static str, String)> {
    let s = &cfg.sync;
    let mut out = Vec::new();
    if !s.epic_done_status.is_empty() {
        out.push(("sync.epic_done_status", s.epic_done_status.clone()));
    }
    out.push(("sync.not_planned_status", s.not_planned_status.clone()));
    out.push(("sync.reopen_status", s.reopen_status.clone()));
    for name in s.statuses.keys() {
        out.push(("sync.statuses", name.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show() {
        assert_eq!(
            redact("https://x.example/webhooks/jira/s3cr3t"),
            "https://x.example/webhooks/jira/<token>"
        );
        assert_eq!(
            redact("https://x.example/webhooks/jira"),
            "https://x.example/webhooks/jira"
        );
    }

    #[test]
    fn shipped_form_parses() {
        assert!(crate::concern::form::IssueForm::from_yaml(SHIPPED_FORM_YAML).is_ok());
    }
}
