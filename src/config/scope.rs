//! What the daemon watches: the deliveries it stores and acts on, and those it answers 202
//! `ignored` without storing (an organisation-wide hook or a GitHub App installed on every
//! repository sends everything; Jira admin webhooks fire for every project).
//!
//! GitHub repository names compare case-insensitively (GitHub resolves `Acme/Ops` and
//! `acme/ops` to one repository); Jira project keys are upper-case but compared the same way.
//! With GitHub Projects as the tracker, some GitHub deliveries are the *tracker's*: the
//! `issues` events of the team repositories (stories live there), `sub_issues` and
//! `projects_v2_item` (see [`Scope::tracker_reads`]). They are stored as tracker deliveries
//! and turned into cues by the tracker, exactly as Jira's webhooks are.

use std::collections::BTreeSet;

use super::Config;

/// The repositories and Jira projects whose deliveries the daemon acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `owner/name`, lower-cased.
    repos: BTreeSet<String>,
    /// Jira project keys, upper-cased: the epic project and every team's project.
    jira_projects: BTreeSet<String>,
    /// GitHub Projects: the team repositories (`owner/name`, lower-cased), whose `issues`
    /// events are stories changing.
    tracker_repos: BTreeSet<String>,
    /// Whether the tracker is GitHub Projects (then `sub_issues` and `projects_v2_item`
    /// deliveries are its cues).
    github_tracker: bool,
}

/// GitHub events that only the GitHub Projects tracker reads: a story linked to or taken
/// from its concern, and a project item's fields (Status, Team, Iteration) changing.
pub const GITHUB_TRACKER_EVENTS: [&str; 2] = ["sub_issues", "projects_v2_item"];

impl Scope {
    /// The scope a configuration names: `github.repos`; `jira.epic_project` and each
    /// `teams.*.jira_project`.
    pub fn of(config: &Config) -> Self {
        let mut scope = Self::default();
        for repo in &config.github.repos {
            scope.watch_repo(repo);
        }
        if let Some(jira) = &config.jira {
            scope.watch_jira_project(&jira.epic_project);
        }
        match config.tracker.kind {
            super::TrackerKind::Jira => {
                for project in config
                    .teams
                    .values()
                    .filter_map(|t| t.jira_project.as_deref())
                {
                    scope.watch_jira_project(project);
                }
            }
            super::TrackerKind::GithubProjects => {
                scope.github_tracker = true;
                for repo in config.teams.values().filter_map(|t| t.repo.as_deref()) {
                    scope.watch_tracker_repo(repo);
                }
            }
        }
        scope
    }

    /// Whether a GitHub delivery of `event` (`X-GitHub-Event`) about `repo` (`owner/name`,
    /// when the payload names one) is for the tracker to read: with GitHub Projects,
    /// [`GITHUB_TRACKER_EVENTS`] and the `issues` events of a team repository. Never with
    /// Jira.
    pub fn tracker_reads(&self, event: &str, repo: Option<&str>) -> bool {
        self.github_tracker
            && (GITHUB_TRACKER_EVENTS.contains(&event)
                || (event == "issues"
                    && repo.is_some_and(|r| self.tracker_repos.contains(&r.trim().to_lowercase()))))
    }

    /// Adds a repository (`owner/name`).
    pub fn watch_repo(&mut self, full_name: &str) {
        self.repos.insert(full_name.trim().to_lowercase());
    }

    /// Adds a team repository of GitHub Projects (`owner/name`), whose `issues` events are
    /// the tracker's; also makes [`GITHUB_TRACKER_EVENTS`] the tracker's.
    pub fn watch_tracker_repo(&mut self, full_name: &str) {
        self.github_tracker = true;
        self.tracker_repos.insert(full_name.trim().to_lowercase());
    }

    /// Adds a Jira project key.
    pub fn watch_jira_project(&mut self, key: &str) {
        self.jira_projects.insert(key.trim().to_uppercase());
    }

    /// Whether deliveries about `full_name` (`owner/name`, any case) are acted on.
    pub fn watches_repo(&self, full_name: &str) -> bool {
        self.repos.contains(&full_name.trim().to_lowercase())
    }

    /// Whether Jira deliveries about issues of project `key` (any case) are acted on.
    pub fn watches_jira_project(&self, key: &str) -> bool {
        self.jira_projects.contains(&key.trim().to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_and_projects_compare_without_case() {
        let mut s = Scope::default();
        s.watch_repo("Acme/Platform-Concerns");
        s.watch_jira_project("pay");
        assert!(s.watches_repo("acme/platform-concerns"));
        assert!(s.watches_repo("ACME/PLATFORM-CONCERNS"));
        assert!(!s.watches_repo("acme/other"));
        assert!(!s.watches_repo("acme/platform-concerns-2"));
        assert!(s.watches_jira_project("PAY"));
        assert!(!s.watches_jira_project("PAYX"));
        // Jira reads no GitHub delivery.
        assert!(!s.tracker_reads("sub_issues", None));
    }

    #[test]
    fn github_projects_reads_its_events_and_team_repositories() {
        let mut s = Scope {
            github_tracker: true,
            ..Scope::default()
        };
        s.tracker_repos.insert("acme/payments".into());
        s.watch_repo("acme/concerns");
        for event in GITHUB_TRACKER_EVENTS {
            assert!(s.tracker_reads(event, None), "{event}");
        }
        assert!(s.tracker_reads("issues", Some("Acme/Payments")));
        assert!(!s.tracker_reads("issues", Some("acme/concerns")));
        assert!(!s.tracker_reads("issues", None));
        assert!(!s.tracker_reads("issue_comment", Some("acme/payments")));
        assert!(!s.tracker_reads("ping", None));
    }
}
