//! The GitHub Projects half of `doctor` (with `[tracker] kind = "github-projects"`): the
//! project (owner/number, and whether the credentials may change it), its Status and Team
//! single-select fields and their options, the Iteration field, the organisation's epic
//! issue type, write access to each team repository (stories are created there and linked
//! as sub-issues), and the organisation webhook. Read-only: one GraphQL query and GETs.
//!
//! GitHub sources: "Projects v2" GraphQL objects (`ProjectV2.viewerCanUpdate`,
//! `ProjectV2SingleSelectField.options`); "Scopes for OAuth apps" (`project` reads and
//! writes projects, `read:project` only reads); "Adding sub-issues" (write access to the
//! repositories); "Webhook events and payloads" (`projects_v2_item` is sent to organisation
//! webhooks and Apps only, never to repository webhooks).

use serde::Deserialize;
use serde_json::json;

use super::github::hook_problems;
use super::needs::{self, PROJECT_EVENTS};
use super::report::{Finding, Report, Verdict};
use crate::config::Config;
use crate::github::client::{GithubClient, GithubError};
use crate::tracker::github_projects::GithubProjectsSettings;

const AREA: &str = "project";

/// The query `doctor` and `setup` read the project with.
pub const DOCTOR_PROJECT: &str = include_str!("project.graphql");

/// The project as [`DOCTOR_PROJECT`] reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    /// Its node id (what `setup` creates missing fields in).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where people open it.
    pub url: String,
    /// Whether the credentials may change it (add items, set fields).
    pub viewer_can_update: bool,
    /// Its fields.
    pub fields: FieldList,
}

/// `fields { nodes }`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct FieldList {
    /// The fields (null entries dropped).
    #[serde(default)]
    pub nodes: Vec<Option<FieldView>>,
}

/// One field: its GraphQL type, name and (single select) options.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldView {
    /// `ProjectV2Field`, `ProjectV2SingleSelectField`, `ProjectV2IterationField`.
    #[serde(rename = "__typename")]
    pub typename: String,
    /// The field's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Single-select options.
    #[serde(default)]
    pub options: Vec<OptionView>,
}

/// A single-select option.
#[derive(Debug, Clone, Deserialize)]
pub struct OptionView {
    /// Its name.
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    organization: Option<OrgView>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrgView {
    project_v2: Option<ProjectView>,
}

impl ProjectView {
    /// The field named `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&FieldView> {
        self.fields.nodes.iter().flatten().find(|f| {
            f.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

/// Reads the project; `None` when the organisation or project is missing or hidden from
/// the credentials (GitHub answers `null` for both).
pub async fn read_project(
    gh: &GithubClient,
    s: &GithubProjectsSettings,
) -> Result<Option<ProjectView>, GithubError> {
    let data: Data = gh
        .graphql(
            DOCTOR_PROJECT,
            json!({ "owner": s.owner, "number": s.number }),
        )
        .await?;
    Ok(data.organization.and_then(|o| o.project_v2))
}

/// What the project lacks, as the daemon needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// No field of that name (config key, name).
    NoField(&'static str, String),
    /// A field of that name that is not a single select (config key, name, its kind).
    NotSingleSelect(&'static str, String, String),
    /// A single-select field lacks an option (field name, option, config key or team).
    NoOption(String, String, String),
}

impl Gap {
    /// What a person does about it in GitHub's project settings. GitHub's API cannot add an
    /// option to a field in use: `updateProjectV2Field(singleSelectOptions:)` "will
    /// overwrite the existing options", and `ProjectV2SingleSelectFieldOptionInput` has no
    /// `id`, so every option would be made anew and every item's value of that field lost
    /// (github-schema.graphql, `UpdateProjectV2FieldInput`).
    pub fn fix(&self, project_url: &str) -> String {
        match self {
            Self::NoField(key, name) => format!(
                "run `council-sync setup` (it creates the field with its options), or open {project_url} → Settings → New field: single select {name:?}, or change {key}"
            ),
            Self::NotSingleSelect(key, name, _) => format!(
                "{key} must name a single-select field ({name:?} is not): make one in {project_url} → Settings, or change {key}"
            ),
            Self::NoOption(field, option, why) => format!(
                "open {project_url} → Settings → {field} → Add option {option:?} (for {why}); setup cannot: GitHub's API replaces a field's whole option list"
            ),
        }
    }

    /// One line for the table.
    pub fn detail(&self) -> String {
        match self {
            Self::NoField(key, name) => format!("no field {name:?} ({key})"),
            Self::NotSingleSelect(key, name, kind) => {
                format!("field {name:?} ({key}) is a {kind}, not a single select")
            }
            Self::NoOption(field, option, why) => {
                format!("{field} has no option {option:?} ({why})")
            }
        }
    }
}

/// The Status options the daemon moves items to, with their config keys (the not-planned
/// status may be absent: the daemon then only closes the issue as not planned).
fn status_options(s: &GithubProjectsSettings) -> [(&'static str, &str); 3] {
    [
        ("github_projects.todo_status", s.todo_status.as_str()),
        (
            "github_projects.in_progress_status",
            s.in_progress_status.as_str(),
        ),
        ("github_projects.done_status", s.done_status.as_str()),
    ]
}

/// What the Status and Team fields lack (pure: from the project as read).
pub fn gaps(p: &ProjectView, s: &GithubProjectsSettings) -> Vec<Gap> {
    let mut out = Vec::new();
    // (config key, field name, [(option, what needs it)])
    type Wanted<'a> = (&'static str, &'a str, Vec<(String, String)>);
    let wanted: [Wanted<'_>; 2] = [
        (
            "github_projects.status_field",
            &s.status_field,
            status_options(s)
                .iter()
                .map(|(k, o)| ((*o).to_owned(), (*k).to_owned()))
                .collect(),
        ),
        (
            "github_projects.team_field",
            &s.team_field,
            s.teams
                .keys()
                .map(|t| (t.clone(), format!("team {t}")))
                .collect(),
        ),
    ];
    for (key, name, options) in wanted {
        let Some(f) = p.field(name) else {
            out.push(Gap::NoField(key, name.to_owned()));
            continue;
        };
        if f.typename != "ProjectV2SingleSelectField" {
            out.push(Gap::NotSingleSelect(
                key,
                name.to_owned(),
                f.typename.clone(),
            ));
            continue;
        }
        let field = f.name.clone().unwrap_or_else(|| name.to_owned());
        for (option, why) in options {
            if !f
                .options
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&option))
            {
                out.push(Gap::NoOption(field.clone(), option, why));
            }
        }
    }
    out
}

fn failed(item: &str, e: &GithubError, fix_missing: &str) -> Finding {
    let fix = match e.status() {
        Some(404) => fix_missing,
        Some(401) => "the credentials are refused: make new ones (see README \"Run it for real\")",
        Some(403) => {
            "the credentials lack a right: a classic token needs the project scope, an App the organisation permission Projects: read and write"
        }
        _ => "GitHub did not answer: check github.api_url and the network, then run doctor again",
    };
    let verdict = match e.status() {
        Some(404) => Verdict::Missing,
        Some(401 | 403) => Verdict::Wrong,
        _ => Verdict::Unchecked,
    };
    Finding::blocks(AREA, item, verdict, e.to_string(), fix)
}

/// Runs the GitHub Projects checks into `report`.
pub async fn check(cfg: &Config, gh: &GithubClient, report: &mut Report) {
    let s = match cfg.github_projects_settings() {
        Ok(s) => s,
        Err(e) => {
            return report.push(Finding::blocks(
                AREA,
                "config",
                Verdict::Missing,
                e,
                "add [github_projects] (owner, number) or choose another [tracker] kind",
            ));
        }
    };
    let item = format!("{} project {}", s.owner, s.number);
    match read_project(gh, &s).await {
        Ok(Some(p)) => {
            check_project(&s, &p, &item, report);
        }
        Ok(None) => report.push(Finding::blocks(
            AREA,
            &item,
            Verdict::Missing,
            "GitHub shows no such project to these credentials",
            "fix github_projects.owner / number (the project's URL is …/orgs/OWNER/projects/NUMBER); a classic token needs the project scope, an App the organisation permission Projects: read and write",
        )),
        Err(e) => report.push(failed(&item, &e, "fix github_projects.owner / number")),
    }
    check_issue_types(gh, &s, report).await;
    for (team, repo) in &s.teams {
        check_team_repo(gh, team, repo, report).await;
    }
    check_org_hook(cfg, gh, &s.owner, report).await;
}

fn check_project(s: &GithubProjectsSettings, p: &ProjectView, item: &str, report: &mut Report) {
    if p.viewer_can_update {
        report.push(Finding::ok(AREA, item, format!("{:?}, writable", p.title)));
    } else {
        report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            format!("{:?} is readable but the credentials cannot change it", p.title),
            "a classic token needs the project scope (read:project only reads); an App the organisation permission Projects: read and write; the account needs Write on the project",
        ));
    }
    let gaps = gaps(p, s);
    for (key, name) in [
        ("github_projects.status_field", &s.status_field),
        ("github_projects.team_field", &s.team_field),
    ] {
        let mine: Vec<&Gap> = gaps
            .iter()
            .filter(|g| match g {
                Gap::NoField(k, _) | Gap::NotSingleSelect(k, _, _) => *k == key,
                Gap::NoOption(f, _, _) => f.eq_ignore_ascii_case(name),
            })
            .collect();
        let field_item = format!("field {name}");
        if mine.is_empty() {
            report.push(Finding::ok(
                AREA,
                &field_item,
                "single select with every option",
            ));
        }
        for g in mine {
            report.push(Finding::blocks(
                AREA,
                &field_item,
                Verdict::Missing,
                g.detail(),
                g.fix(&p.url),
            ));
        }
    }
    let not_planned = &s.not_planned_status;
    if let Some(f) = p.field(&s.status_field)
        && !f
            .options
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(not_planned))
    {
        report.push(Finding::advises(
            AREA,
            format!("field {} option {not_planned}", s.status_field),
            Verdict::Missing,
            "absent (github_projects.not_planned_status): a not-planned story is only closed as not planned",
            format!("add the option in {} → Settings if the council wants it on the board", p.url),
        ));
    }
    let it = &s.iteration_field;
    match p.field(it) {
        Some(f) if f.typename == "ProjectV2IterationField" => {
            report.push(Finding::ok(AREA, format!("field {it}"), "iteration field"))
        }
        _ => report.push(Finding::advises(
            AREA,
            format!("field {it}"),
            Verdict::Missing,
            "no iteration field of that name (github_projects.iteration_field): sprints are not shown on concerns",
            format!("run `council-sync setup` (it creates it), or add an iteration field in {} → Settings, or change github_projects.iteration_field", p.url),
        )),
    }
}

/// The configured issue types (`github_projects.epic_issue_type`, set on each accepted
/// concern, and `story_issue_type`, set on each new story), each defined and enabled in the
/// organisation; one read of `GET /orgs/{org}/issue-types` answers for both.
async fn check_issue_types(gh: &GithubClient, s: &GithubProjectsSettings, report: &mut Report) {
    if s.epic_type().is_none() {
        report.push(Finding::ok(
            AREA,
            "epic issue type",
            "none configured (github_projects.epic_issue_type = \"\")",
        ));
    }
    let wanted = s.issue_types();
    if wanted.is_empty() {
        return;
    }
    let types = match gh.org_issue_types(&s.owner).await {
        Ok(types) => types,
        Err(e) => {
            for (_, want) in &wanted {
                report.push(failed(
                    &format!("issue type {want}"),
                    &e,
                    "check github_projects.owner",
                ));
            }
            return;
        }
    };
    for (key, want) in wanted {
        let item = format!("issue type {want}");
        let story = key.ends_with("story_issue_type");
        let (set_on, without) = match (story, s.story_type()) {
            (true, _) => (
                "set on each new story".to_owned(),
                "new stories get no issue type",
            ),
            (false, None) => (
                format!(
                    "set on each accepted concern (stories keep {}'s default)",
                    s.owner
                ),
                "accepted concerns get no issue type",
            ),
            (false, Some(_)) => (
                "set on each accepted concern".to_owned(),
                "accepted concerns get no issue type",
            ),
        };
        match types.iter().find(|t| t.name.eq_ignore_ascii_case(want)) {
            Some(t) if t.is_enabled => report.push(Finding::ok(
                AREA,
                item,
                set_on,
            )),
            found => report.push(Finding::advises(
                AREA,
                item,
                Verdict::Missing,
                format!(
                    "{} in {}: {without}; defined: {}",
                    if found.is_some() { "disabled" } else { "not defined" },
                    s.owner,
                    if types.is_empty() {
                        "none".to_owned()
                    } else {
                        types.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    }
                ),
                format!(
                    "an organisation owner: {} settings → Planning → Issue types → create or enable {want:?}; or {}",
                    s.owner,
                    crate::setup::unset_type(key)
                ),
            )),
        }
    }
}

async fn check_team_repo(gh: &GithubClient, team: &str, repo: &str, report: &mut Report) {
    let item = format!("team {team} repo {repo}");
    match gh.repo_access(repo).await {
        Ok(r) if r.permissions.is_some_and(|p| !p.push) => report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            "readable but not writable: stories (sub-issues) cannot be opened there",
            "give the daemon's account Write on the repository (an App: Issues read and write on it)",
        )),
        Ok(_) => report.push(Finding::ok(AREA, item, "stories and sub-issue links can be written")),
        Err(e) => report.push(failed(
            &item,
            &e,
            "fix [teams.NAME] repo, or give the credentials access to it",
        )),
    }
}

/// `{server.public_url}/webhooks/github`'s organisation hook.
async fn check_org_hook(cfg: &Config, gh: &GithubClient, org: &str, report: &mut Report) {
    let item = format!("{org} organisation webhook");
    let by_hand = format!(
        "an organisation owner: {org} settings → Webhooks → Add webhook: Payload URL {}, Content type application/json, Secret = github.webhook_secret, events {}; or run `council-sync setup` with admin:org_hook",
        needs::github_hook_url(cfg).unwrap_or_else(|| "<server.public_url>/webhooks/github".into()),
        PROJECT_EVENTS.join(", ")
    );
    let hooks = match gh.list_org_hooks(org).await {
        Ok(h) => h,
        Err(e) if matches!(e.status(), Some(403 | 404)) => {
            return report.push(Finding::advises(
                AREA,
                item,
                Verdict::Unchecked,
                "the credentials cannot read organisation webhooks (an owner's token with admin:org_hook, or an App with Webhooks: read)",
                by_hand,
            ));
        }
        Err(e) => return report.push(failed(&item, &e, &by_hand)),
    };
    let want = needs::github_hook_url(cfg);
    let ours = hooks.iter().find(|h| match &want {
        Some(u) => h.url.trim_end_matches('/') == u,
        None => h.url.trim_end_matches('/').ends_with("/webhooks/github"),
    });
    let secret = cfg.github.webhook_secret().ok().flatten().is_some();
    match ours {
        None => report.push(Finding::advises(
            AREA,
            item,
            Verdict::Missing,
            "no organisation webhook to the daemon: project changes arrive only by polling (every sync.poll_interval)",
            by_hand,
        )),
        Some(h) => {
            let problems = hook_problems(h, secret, &PROJECT_EVENTS);
            if problems.is_empty() {
                report.push(Finding::ok(
                    AREA,
                    item,
                    format!("{} ({})", h.url, PROJECT_EVENTS.join(", ")),
                ));
            } else {
                report.push(Finding::advises(
                    AREA,
                    item,
                    Verdict::Wrong,
                    format!("{}: {}", h.url, problems.join("; ")),
                    by_hand,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(name: &str, options: &[&str]) -> Option<FieldView> {
        Some(FieldView {
            typename: "ProjectV2SingleSelectField".into(),
            name: Some(name.into()),
            options: options
                .iter()
                .map(|o| OptionView { name: (*o).into() })
                .collect(),
        })
    }

    fn settings() -> GithubProjectsSettings {
        let s: GithubProjectsSettings =
            serde_json::from_value(json!({"owner": "acme", "number": 1})).expect("settings");
        s.with_teams([("payments", "acme/payments"), ("search", "acme/search")])
    }

    fn project(fields: Vec<Option<FieldView>>) -> ProjectView {
        ProjectView {
            id: "PVT_1".into(),
            title: "Council".into(),
            url: "https://github.com/orgs/acme/projects/1".into(),
            viewer_can_update: true,
            fields: FieldList { nodes: fields },
        }
    }

    #[test]
    fn every_status_option_and_team_is_found_case_insensitively() {
        let p = project(vec![
            select("status", &["todo", "In progress", "DONE"]),
            select("Team", &["Payments", "search"]),
            None,
        ]);
        assert_eq!(gaps(&p, &settings()), vec![]);
    }

    #[test]
    fn missing_fields_options_and_wrong_kinds_are_named_with_their_keys() {
        let p = project(vec![
            select("Status", &["Todo", "Done"]),
            Some(FieldView {
                typename: "ProjectV2Field".into(),
                name: Some("Team".into()),
                options: vec![],
            }),
        ]);
        let g = gaps(&p, &settings());
        assert_eq!(
            g,
            vec![
                Gap::NoOption(
                    "Status".into(),
                    "In Progress".into(),
                    "github_projects.in_progress_status".into()
                ),
                Gap::NotSingleSelect(
                    "github_projects.team_field",
                    "Team".into(),
                    "ProjectV2Field".into()
                ),
            ]
        );
        assert!(
            g[0].fix("u")
                .contains("replaces a field's whole option list")
        );
        let g = gaps(&project(vec![select("Team", &["payments"])]), &settings());
        assert_eq!(
            g,
            vec![
                Gap::NoField("github_projects.status_field", "Status".into()),
                Gap::NoOption("Team".into(), "search".into(), "team search".into()),
            ]
        );
    }
}
