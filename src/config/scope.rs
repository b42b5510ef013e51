//! What the daemon watches: the deliveries it stores and acts on, and those it answers 202
//! `ignored` without storing (an organisation-wide hook or a GitHub App installed on every
//! repository sends everything; Jira admin webhooks fire for every project).
//!
//! GitHub repository names compare case-insensitively (GitHub resolves `Acme/Ops` and
//! `acme/ops` to one repository); Jira project keys are upper-case but compared the same way.
//! When the GitHub Projects tracker exists, its team repositories join [`Scope::repos`]
//! through [`Scope::watch_repo`] (and a project through its own set); nothing else changes.

use std::collections::BTreeSet;

use super::Config;

/// The repositories and Jira projects whose deliveries the daemon acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `owner/name`, lower-cased.
    repos: BTreeSet<String>,
    /// Jira project keys, upper-cased: the epic project and every team's project.
    jira_projects: BTreeSet<String>,
}

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
        for project in config
            .teams
            .values()
            .filter_map(|t| t.jira_project.as_deref())
        {
            scope.watch_jira_project(project);
        }
        scope
    }

    /// Adds a repository (`owner/name`).
    pub fn watch_repo(&mut self, full_name: &str) {
        self.repos.insert(full_name.trim().to_lowercase());
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
    }
}
