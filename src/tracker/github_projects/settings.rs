//! `[github_projects]`: where the GitHub Projects tracker keeps epics and stories.

use std::collections::BTreeMap;

use serde::Deserialize;

fn status_field() -> String {
    "Status".into()
}
fn team_field() -> String {
    "Team".into()
}
fn iteration_field() -> String {
    "Iteration".into()
}
fn todo_status() -> String {
    "Todo".into()
}
fn in_progress_status() -> String {
    "In Progress".into()
}
fn done_status() -> String {
    "Done".into()
}
fn not_planned_status() -> String {
    "Not planned".into()
}
fn epic_issue_type() -> Option<String> {
    Some("Epic".into())
}

/// Settings of the GitHub Projects tracker. Example (TOML):
///
/// ```toml
/// [github_projects]
/// owner = "acme"            # the organisation owning the project and every repository
/// number = 7                # https://github.com/orgs/acme/projects/7
/// status_field = "Status"   # single select; default "Status"
/// team_field = "Team"       # single select, one option per team name; default "Team"
/// iteration_field = "Iteration"
/// epic_issue_type = "Epic"  # set on the concern when the org defines it; "" to never set
/// [github_projects.teams]
/// payments = "acme/payments"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubProjectsSettings {
    /// Login of the organisation that owns the project. GitHub requires a parent issue and
    /// its sub-issues to share an owner, so every team repository and the concern
    /// repositories belong to it too ([`GithubProjectsSettings::problems`] checks).
    pub owner: String,
    /// The project's number (in its URL).
    pub number: u64,
    /// Name of the single-select field holding progress (default `Status`).
    #[serde(default = "status_field")]
    pub status_field: String,
    /// Name of the single-select field naming the team (default `Team`); its options are
    /// matched to team names case-insensitively.
    #[serde(default = "team_field")]
    pub team_field: String,
    /// Name of the iteration field shown as the sprint (default `Iteration`).
    #[serde(default = "iteration_field")]
    pub iteration_field: String,
    /// Status option of work not started (default `Todo`); new stories get it.
    #[serde(default = "todo_status")]
    pub todo_status: String,
    /// Status option of work under way (default `In Progress`).
    #[serde(default = "in_progress_status")]
    pub in_progress_status: String,
    /// Status option of finished work (default `Done`); moving there closes the issue as
    /// completed.
    #[serde(default = "done_status")]
    pub done_status: String,
    /// Status name meaning "will not be done" (default `Not planned`); moving there closes
    /// the issue as not planned (the option itself may be absent from the field).
    #[serde(default = "not_planned_status")]
    pub not_planned_status: String,
    /// The organisation's issue type set on the concern (the epic) when the organisation
    /// defines it (default `Epic`); `None` or empty never sets one.
    #[serde(default = "epic_issue_type")]
    pub epic_issue_type: Option<String>,
    /// Team name → the repository (`owner/name`) where that team's stories are opened.
    #[serde(default)]
    pub teams: BTreeMap<String, String>,
}

impl GithubProjectsSettings {
    /// What is wrong with these settings, one line per problem (empty when fine).
    /// `concern_repos` are the repositories the council's concerns live in (the parents).
    pub fn problems(&self, concern_repos: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if self.owner.trim().is_empty() {
            out.push("github_projects.owner is empty".into());
        }
        if self.number == 0 {
            out.push("github_projects.number must be the project's number (1 or more)".into());
        }
        let owner_of = |repo: &str| repo.split_once('/').map(|(o, _)| o.to_owned());
        for (team, repo) in &self.teams {
            match owner_of(repo) {
                None => out.push(format!("teams.{team}.repo {repo:?} is not owner/name")),
                Some(o) if !o.eq_ignore_ascii_case(&self.owner) => out.push(format!(
                    "teams.{team}.repo {repo:?} is not owned by {:?}: GitHub requires a \
                     sub-issue and its parent to share an owner",
                    self.owner
                )),
                Some(_) => {}
            }
        }
        for repo in concern_repos {
            if owner_of(repo).is_some_and(|o| !o.eq_ignore_ascii_case(&self.owner)) {
                out.push(format!(
                    "github.repos {repo:?} is not owned by {:?}: the concern is the stories' \
                     parent, and GitHub requires both to share an owner",
                    self.owner
                ));
            }
        }
        out
    }

    /// The epic issue type to set, if any.
    pub fn epic_type(&self) -> Option<&str> {
        self.epic_issue_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<GithubProjectsSettings, String> {
        let cfg = config::Config::builder()
            .add_source(config::File::from_str(toml_text, config::FileFormat::Toml))
            .build()
            .map_err(|e| e.to_string())?;
        cfg.try_deserialize().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_owner_rule() {
        let s = parse(
            "owner = \"acme\"\nnumber = 7\n[teams]\npayments = \"acme/pay\"\nstorage = \"other/sto\"\n",
        )
        .expect("parses");
        assert_eq!(s.status_field, "Status");
        assert_eq!(s.epic_type(), Some("Epic"));
        let p = s.problems(&["acme/concerns".into(), "else/c".into()]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("teams.storage.repo"));
        assert!(p[1].contains("else/c"));
        assert!(parse("owner = \"a\"\nnumber = 1\nbogus = 1\n").is_err());
    }
}
