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

/// Settings of the GitHub Projects tracker: `[github_projects]` in the config (required with
/// `[tracker] kind = "github-projects"`). Example (TOML):
///
/// ```toml
/// [github_projects]
/// owner = "acme"            # the organisation owning the project and every repository
/// number = 7                # https://github.com/orgs/acme/projects/7
/// status_field = "Status"   # single select; default "Status"
/// team_field = "Team"       # single select, one option per team name; default "Team"
/// iteration_field = "Iteration"
/// epic_issue_type = "Epic"  # set on the concern when the org defines it; "" to never set
/// story_issue_type = "Task" # set on each new story; absent (the default): none
///
/// [teams.payments]
/// repo = "acme/payments"    # where the team's stories (sub-issues) are opened
/// ```
///
/// The team repositories come from `[teams.NAME] repo` ([`GithubProjectsSettings::with_teams`]),
/// not from this section.
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
    /// The organisation's issue type set on each story the daemon opens (the sibling of
    /// `jira.story_issue_type`); absent (the default) sets none, so stories keep the
    /// repository's default. GitHub's `createIssue` (GraphQL schema as published) takes no
    /// issue type, so a configured type costs one `PATCH …/issues/{n}` with `type` per new
    /// story (REST "Update an issue").
    #[serde(default)]
    pub story_issue_type: Option<String>,
    /// Team name → the repository (`owner/name`) where that team's stories are opened;
    /// filled from `[teams.NAME] repo` by [`GithubProjectsSettings::with_teams`].
    #[serde(skip)]
    pub teams: BTreeMap<String, String>,
}

impl GithubProjectsSettings {
    /// These settings with the team repositories of `[teams.NAME] repo` (teams without one
    /// are left out; `config check` reports them).
    pub fn with_teams<'a>(mut self, teams: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.teams = teams
            .into_iter()
            .map(|(name, repo)| (name.to_owned(), repo.trim().to_owned()))
            .collect();
        self
    }

    /// What is wrong with these settings, as (dotted key, reason) pairs (empty when fine).
    /// `concern_repos` are the repositories the council's concerns live in (the parents),
    /// `github.repos[i]` in order.
    pub fn problems(&self, concern_repos: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |key: String, reason: String| out.push((key, reason));
        if self.owner.trim().is_empty() {
            push(
                "github_projects.owner".into(),
                "is empty: the organisation (or user) login that owns the project".into(),
            );
        }
        if self.number == 0 {
            push(
                "github_projects.number".into(),
                "must be the project's number as in its URL (1 or more)".into(),
            );
        }
        for (key, value) in [
            ("status_field", &self.status_field),
            ("team_field", &self.team_field),
            ("iteration_field", &self.iteration_field),
            ("todo_status", &self.todo_status),
            ("in_progress_status", &self.in_progress_status),
            ("done_status", &self.done_status),
            ("not_planned_status", &self.not_planned_status),
        ] {
            if value.trim().is_empty() {
                push(
                    format!("github_projects.{key}"),
                    "is empty: name the project's field or option as GitHub shows it".into(),
                );
            }
        }
        if let Some(story) = &self.story_issue_type {
            if story.trim().is_empty() {
                push(
                    "github_projects.story_issue_type".into(),
                    "is empty: give the issue type's name as the organisation shows it \
                     (Settings → Planning → Issue types), or leave the key out to set none"
                        .into(),
                );
            } else if self
                .epic_type()
                .is_some_and(|e| e.eq_ignore_ascii_case(story.trim()))
            {
                push(
                    "github_projects.story_issue_type".into(),
                    format!(
                        "is {story:?}, the same as github_projects.epic_issue_type: stories \
                         could not be told from epics"
                    ),
                );
            }
        }
        let statuses = [
            ("todo_status", &self.todo_status),
            ("in_progress_status", &self.in_progress_status),
            ("done_status", &self.done_status),
            ("not_planned_status", &self.not_planned_status),
        ];
        for (i, (key, value)) in statuses.iter().enumerate() {
            if let Some((other, _)) = statuses[..i]
                .iter()
                .find(|(_, v)| !value.trim().is_empty() && v.eq_ignore_ascii_case(value))
            {
                push(
                    format!("github_projects.{key}"),
                    format!(
                        "is {value:?}, the same as github_projects.{other}: progress could \
                         not be told apart"
                    ),
                );
            }
        }
        if self.status_field.eq_ignore_ascii_case(&self.team_field) {
            push(
                "github_projects.team_field".into(),
                format!(
                    "is {:?}, the same field as status_field: the team and the progress need \
                     a field each",
                    self.team_field
                ),
            );
        }
        let owner_of = |repo: &str| repo.split_once('/').map(|(o, _)| o.to_owned());
        for (team, repo) in &self.teams {
            match owner_of(repo) {
                None => push(
                    format!("teams.{team}.repo"),
                    format!("{repo:?} is not owner/name"),
                ),
                Some(o) if !o.eq_ignore_ascii_case(&self.owner) => push(
                    format!("teams.{team}.repo"),
                    format!(
                        "{repo:?} is not owned by {:?} (github_projects.owner): GitHub \
                         requires a sub-issue and its parent to share an owner",
                        self.owner
                    ),
                ),
                Some(_) => {}
            }
        }
        for (i, repo) in concern_repos.iter().enumerate() {
            if owner_of(repo).is_some_and(|o| !o.eq_ignore_ascii_case(&self.owner)) {
                push(
                    format!("github.repos[{i}]"),
                    format!(
                        "{repo:?} is not owned by {:?} (github_projects.owner): the concern is \
                         the stories' parent, and GitHub requires both to share an owner",
                        self.owner
                    ),
                );
            }
        }
        out
    }

    /// One line for people: the project, its fields and options, the epic type.
    pub fn summary(&self) -> String {
        format!(
            "GitHub Projects: project {} of {} (fields {:?}, {:?}, {:?}; statuses {:?} / {:?} / \
             {:?}, not planned {:?}; epic issue type {}; story issue type {})",
            self.number,
            self.owner,
            self.status_field,
            self.team_field,
            self.iteration_field,
            self.todo_status,
            self.in_progress_status,
            self.done_status,
            self.not_planned_status,
            self.epic_type()
                .map_or_else(|| "none".to_owned(), |t| format!("{t:?}")),
            self.story_type()
                .map_or_else(|| "none".to_owned(), |t| format!("{t:?}"))
        )
    }

    /// The story issue type to set, if any.
    pub fn story_type(&self) -> Option<&str> {
        self.story_issue_type
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The issue types these settings give, with their config keys: the epic's, then the
    /// story's, each only when configured.
    pub fn issue_types(&self) -> Vec<(&'static str, &str)> {
        [
            ("github_projects.epic_issue_type", self.epic_type()),
            ("github_projects.story_issue_type", self.story_type()),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
        .collect()
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
        let s = parse("owner = \"acme\"\nnumber = 7\n")
            .expect("parses")
            .with_teams([("payments", "acme/pay"), ("storage", "other/sto")]);
        assert_eq!(s.status_field, "Status");
        assert_eq!(s.epic_type(), Some("Epic"));
        let p = s.problems(&["acme/concerns".into(), "else/c".into()]);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["teams.storage.repo", "github.repos[1]"], "{p:?}");
        assert!(p[0].1.contains("share an owner"));
        assert!(parse("owner = \"a\"\nnumber = 1\nbogus = 1\n").is_err());
        // Team repositories come from [teams.NAME] repo, never from this section.
        assert!(parse("owner = \"a\"\nnumber = 1\n[teams]\npay = \"a/p\"\n").is_err());
    }

    /// The story type's rules: absent sets none (the default), empty is refused as the
    /// Jira sibling refuses it, and the epic's own type is refused too.
    #[test]
    fn the_story_issue_type_is_optional_but_never_empty_or_the_epics() {
        let s = parse("owner = \"acme\"\nnumber = 7\n").expect("parses");
        assert_eq!(s.story_type(), None);
        assert_eq!(
            s.issue_types(),
            [("github_projects.epic_issue_type", "Epic")]
        );
        assert!(s.summary().contains("story issue type none"));
        let s =
            parse("owner = \"acme\"\nnumber = 7\nstory_issue_type = \" Task \"\n").expect("parses");
        assert_eq!(s.story_type(), Some("Task"));
        assert_eq!(
            s.issue_types()[1],
            ("github_projects.story_issue_type", "Task")
        );
        assert!(s.problems(&[]).is_empty());
        for (text, why) in [("\" \"", "is empty"), ("\"epic\"", "could not be told")] {
            let s = parse(&format!(
                "owner = \"acme\"\nnumber = 7\nstory_issue_type = {text}\n"
            ))
            .expect("parses");
            let p = s.problems(&[]);
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].0, "github_projects.story_issue_type");
            assert!(p[0].1.contains(why), "{p:?}");
        }
    }

    #[test]
    fn empty_and_clashing_names_are_each_named() {
        let mut s =
            parse("owner = \" \"\nnumber = 0\nstatus_field = \"\"\ndone_status = \"todo\"\n")
                .expect("parses");
        s.team_field = "Status".into();
        let keys: Vec<String> = s.problems(&[]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "github_projects.owner",
                "github_projects.number",
                "github_projects.status_field",
                "github_projects.done_status",
            ]
        );
        s.status_field = "Status".into();
        let keys: Vec<String> = s.problems(&[]).into_iter().map(|(k, _)| k).collect();
        assert!(
            keys.contains(&"github_projects.team_field".to_owned()),
            "{keys:?}"
        );
        assert!(s.summary().contains("project 0 of"));
    }
}
