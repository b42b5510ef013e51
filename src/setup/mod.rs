//! `council-sync setup`: does for the user what the given rights allow — creates the
//! labels, commits the issue form to each repository, registers the GitHub webhook (JSON,
//! secret, the events the daemon handles), and the tracker's webhook: Jira's admin webhook,
//! or on GitHub Projects the organisation webhook (`projects_v2_item`, `sub_issues`,
//! `issues`, `issue_comment`) — and prints what it cannot do as steps for a person.
//!
//! One hook per event source, never two: GitHub sends each event once per hook that
//! subscribes, so an organisation hook and a repository hook to the same URL deliver every
//! event twice. On GitHub Projects the organisation hook carries the events of every
//! concern repository the organisation owns; those repositories get no hook of their own,
//! and one left by an earlier setup is removed once the organisation hook is in place.
//! Repository hooks remain where no organisation hook covers the repository (another
//! owner, or credentials that cannot manage organisation hooks). On GitHub Projects it
//! creates a missing Status, Team or iteration field with its options
//! (`createProjectV2Field`); options missing from a field that exists stay with a person:
//! GitHub's API can only replace a single-select field's whole option list (see
//! [`crate::doctor::projects::Gap::fix`]), which would wipe every item's value of the field.
//!
//! It first reads the current state and plans ([`plan`]), so `--dry-run` shows exactly what
//! a real run would do, and a second run finds nothing left to do (idempotent). Every write
//! is sent once through the product's clients; on failure the next run plans again from
//! what is really there, so nothing is created twice.

use secrecy::ExposeSecret;

use crate::concern::form::IssueForm;
use crate::config::{Config, JiraApiVersion, TrackerKind};
use crate::doctor::Clients;
use crate::doctor::github::hook_problems;
use crate::doctor::jira::webhook_problems;
use crate::doctor::needs::{
    self, GITHUB_EVENTS, ISSUE_FORM_PATH, JIRA_EVENTS, JIRA_WEBHOOK_NAME, PROJECT_EVENTS,
};
use crate::doctor::projects;
use crate::github::client::{GithubClient, HookSpec};
use crate::tracker::jira::JiraClient;
use crate::tracker::jira::client::JiraWebhook;

/// One write `setup` can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create label `name` in `repo` (config key under `[labels]`).
    CreateLabel {
        /// `owner/name`.
        repo: String,
        /// `[labels]` key.
        key: &'static str,
        /// Label name.
        name: String,
    },
    /// Commit the issue form to `repo`, replacing the blob `replaces` if one is there.
    CommitForm {
        /// `owner/name`.
        repo: String,
        /// Blob sha of the form being replaced.
        replaces: Option<String>,
    },
    /// Register the webhook in `repo`.
    CreateHook {
        /// `owner/name`.
        repo: String,
    },
    /// Rewrite webhook `id` of `repo` (content type, secret, events).
    FixHook {
        /// `owner/name`.
        repo: String,
        /// Hook id.
        id: u64,
        /// What was wrong.
        problems: Vec<String>,
    },
    /// Delete webhook `id` of `repo`: the organisation webhook of `org` delivers the same
    /// events, so with both every event arrives twice.
    RemoveHook {
        /// `owner/name`.
        repo: String,
        /// Hook id.
        id: u64,
        /// The organisation whose webhook covers `repo`.
        org: String,
    },
    /// Register the Jira admin webhook.
    RegisterJiraWebhook,
    /// Register the organisation webhook of GitHub Projects.
    CreateOrgHook {
        /// Organisation login.
        org: String,
    },
    /// Create a project field the daemon needs and the project lacks
    /// (`createProjectV2Field`): the Status or Team single select with the options the
    /// config names, or the iteration field.
    CreateField {
        /// The project's node id.
        project_id: String,
        /// The field's name (`github_projects.*_field`).
        name: String,
        /// Single select: its options; `None`: an iteration field.
        options: Option<Vec<String>>,
    },
    /// Rewrite organisation webhook `id` (content type, secret, events).
    FixOrgHook {
        /// Organisation login.
        org: String,
        /// Hook id.
        id: u64,
        /// What was wrong.
        problems: Vec<String>,
    },
}

impl Action {
    /// One line for the plan.
    pub fn describe(&self) -> String {
        match self {
            Self::CreateLabel { repo, name, .. } => format!("create label {name:?} in {repo}"),
            Self::CommitForm {
                repo,
                replaces: None,
            } => format!("commit the issue form to {repo}:{ISSUE_FORM_PATH}"),
            Self::CommitForm { repo, .. } => {
                format!("replace the issue form in {repo}:{ISSUE_FORM_PATH} (its fields differ)")
            }
            Self::CreateHook { repo } => format!(
                "register the webhook in {repo} (events {}, content type json, secret)",
                GITHUB_EVENTS.join(", ")
            ),
            Self::FixHook { repo, problems, .. } => {
                format!("fix the webhook in {repo} ({})", problems.join("; "))
            }
            Self::RemoveHook { repo, org, .. } => format!(
                "remove the webhook in {repo}: the organisation webhook of {org} delivers its events (with both, each arrives twice)"
            ),
            Self::CreateOrgHook { org } => format!(
                "register the organisation webhook of {org} (events {}, content type json, secret)",
                PROJECT_EVENTS.join(", ")
            ),
            Self::CreateField {
                name,
                options: Some(options),
                ..
            } => format!(
                "create the project field {name:?} (single select: {})",
                options
                    .iter()
                    .map(|o| format!("{o:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::CreateField {
                name,
                options: None,
                ..
            } => format!(
                "create the project field {name:?} (iteration, {ITERATION_DAYS} days, the first starting today)"
            ),
            Self::FixOrgHook { org, problems, .. } => format!(
                "fix the organisation webhook of {org} ({})",
                problems.join("; ")
            ),
            Self::RegisterJiraWebhook => format!(
                "register the Jira webhook {JIRA_WEBHOOK_NAME:?} (events {})",
                JIRA_EVENTS.join(", ")
            ),
        }
    }
}

/// What `setup` would do, and what a person must do.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Writes to make, in order.
    pub actions: Vec<Action>,
    /// Steps for a person (rights or settings the given credentials lack).
    pub manual: Vec<String>,
    /// How many things were already as needed.
    pub already: usize,
    /// What could not be read (GitHub or Jira unreachable, credentials refused, an error
    /// status or an answer that is not what the API gives): the plan may lack the actions
    /// it would have found there, so a dry run with any of these fails ([`Plan::complete`]).
    pub unread: Vec<String>,
}

impl Plan {
    /// Whether every read the plan rests on was answered, so the plan is all there is to do.
    pub fn complete(&self) -> bool {
        self.unread.is_empty()
    }
}

/// Whether a refused read means the credentials lack a right (GitHub hides what a token
/// cannot see behind 404, and answers 403 for a missing scope or permission): a step for a
/// person, not a failed read. 401 (the credentials themselves refused), 5xx, 429 and no
/// answer at all are failed reads. <https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api>
fn lacks_right(status: Option<u16>) -> bool {
    matches!(status, Some(403 | 404))
}

/// Label colours (GitHub wants six hex digits), one per `[labels]` key.
fn label_color(key: &str) -> &'static str {
    match key {
        "concern" => "5319e7",
        "needs_info" => "fbca04",
        "ready" => "0e8a16",
        "accepted" => "1d76db",
        "rejected" => "b60205",
        "vetted" => "0052cc",
        "in_progress" => "c5def5",
        "done" => "0e8a16",
        "out_of_scope" => "d4c5f9",
        _ => "bfdadc",
    }
}

fn label_description(key: &str) -> String {
    let what = match key {
        "concern" => "An SRE concern for the council",
        "needs_info" => "A council question is unanswered",
        "ready" => "Complete; on the next council agenda",
        "accepted" => "Accepted by a council member",
        "rejected" => "Rejected by a council member",
        "vetted" => "Vetted: stories may be created",
        "in_progress" => "A team has started its story",
        "done" => "Every story is done",
        "results_requested" => "Before/after figures asked for",
        "out_of_scope" => "Not an SRE concern: routed to where it belongs",
        _ => "Figures presented to the council",
    };
    format!("{what} (council-sync)")
}

/// The field ids of a form text, if it is one council-sync can read.
fn form_ids(text: &str) -> Option<Vec<String>> {
    IssueForm::from_yaml(text)
        .ok()
        .map(|f| f.fields.into_iter().map(|x| x.id).collect())
}

/// Reads what is there and plans what to do.
pub async fn plan(cfg: &Config, clients: &Clients) -> Plan {
    let mut p = Plan::default();
    let gh = &clients.github;
    let form = needs::form_yaml(cfg);
    let secret = cfg.github.webhook_secret().ok().flatten();
    let hook_url = needs::github_hook_url(cfg);
    // GitHub Projects: the organisation hook first, since whether it is (or will be) in
    // place decides whether a concern repository needs a hook of its own.
    let org_hook = match cfg.tracker.kind {
        TrackerKind::GithubProjects => {
            plan_project(cfg, gh, &mut p).await;
            plan_org_hook(gh, cfg, hook_url.as_deref(), secret.is_some(), &mut p).await
        }
        TrackerKind::Jira => None,
    };
    // Removals wait until the organisation hook is made or fixed (actions run in order).
    let mut removals = Vec::new();
    for repo in &cfg.github.repos {
        match gh.label_names(repo).await {
            Ok(have) => {
                for (key, name) in cfg.labels.all() {
                    if have.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                        p.already += 1;
                    } else {
                        p.actions.push(Action::CreateLabel {
                            repo: repo.clone(),
                            key,
                            name: name.to_owned(),
                        });
                    }
                }
            }
            Err(e) if lacks_right(e.status()) => p.manual.push(format!(
                "{repo}: cannot read labels ({e}); give the token access (scope repo) and run setup again"
            )),
            Err(e) => p.unread.push(format!("{repo}: labels: {e}")),
        }
        match (&form, gh.get_file(repo, ISSUE_FORM_PATH).await) {
            (Err(e), _) => p.manual.push(format!(
                "criteria.issue_form cannot be read ({e}): fix it, then run setup again"
            )),
            (Ok(_), Ok(None)) => p.actions.push(Action::CommitForm {
                repo: repo.clone(),
                replaces: None,
            }),
            (Ok(want), Ok(Some(have))) => {
                let have_ids = form_ids(&String::from_utf8_lossy(&have.content));
                if have_ids.is_some() && have_ids == form_ids(want) {
                    p.already += 1;
                } else {
                    p.actions.push(Action::CommitForm {
                        repo: repo.clone(),
                        replaces: Some(have.sha),
                    });
                }
            }
            (Ok(_), Err(e)) if lacks_right(e.status()) => p.manual.push(format!(
                "{repo}: cannot read {ISSUE_FORM_PATH} ({e}); commit the form there by hand"
            )),
            (Ok(_), Err(e)) => p.unread.push(format!("{repo}: {ISSUE_FORM_PATH}: {e}")),
        }
        match org_hook
            .as_deref()
            .filter(|org| needs::org_hook_covers(org, repo))
        {
            Some(org) => {
                if let Some(a) = plan_covered_repo(repo, org, gh, hook_url.as_deref(), &mut p).await
                {
                    removals.push(a);
                }
            }
            None => plan_hook(repo, gh, hook_url.as_deref(), secret.is_some(), &mut p).await,
        }
    }
    p.actions.extend(removals);
    match (cfg.tracker.kind, &clients.jira) {
        (TrackerKind::Jira, Some(jira)) => plan_jira_hook(cfg, jira, &mut p).await,
        (TrackerKind::Jira, None) => p.manual.push(crate::config::NO_JIRA.into()),
        (TrackerKind::GithubProjects, _) => {}
    }
    p
}

/// A concern repository the organisation hook of `org` covers: nothing to register; a
/// repository hook to the daemon's URL (an earlier setup's, or made by hand) is to be
/// removed, or every event of the repository arrives twice. Credentials that cannot read
/// the repository's hooks leave it as it is (`doctor` says what it cannot see).
async fn plan_covered_repo(
    repo: &str,
    org: &str,
    gh: &GithubClient,
    url: Option<&str>,
    p: &mut Plan,
) -> Option<Action> {
    let url = url?;
    match gh.list_hooks(repo).await {
        Ok(hooks) => hooks
            .iter()
            .find(|h| h.url.trim_end_matches('/') == url)
            .map(|h| Action::RemoveHook {
                repo: repo.to_owned(),
                id: h.id,
                org: org.to_owned(),
            }),
        Err(e) if lacks_right(e.status()) => None,
        Err(e) => {
            p.unread.push(format!("{repo}: webhooks: {e}"));
            None
        }
    }
}

/// GitHub Projects: a missing Status, Team or iteration field becomes a create; what else
/// the project lacks (options, a field of the wrong kind, the issue types) becomes steps for
/// a person; GitHub's API has no safe way to add an option (see the module note).
async fn plan_project(cfg: &Config, gh: &GithubClient, p: &mut Plan) {
    let s = match cfg.github_projects_settings() {
        Ok(s) => s,
        Err(e) => return p.manual.push(e.to_owned()),
    };
    match projects::read_project(gh, &s).await {
        Ok(Some(view)) => {
            let gaps = projects::gaps(&view, &s);
            if gaps.is_empty() {
                p.already += 1;
            }
            for g in gaps {
                match missing_field(&g, &s) {
                    Some((name, options)) => p.actions.push(Action::CreateField {
                        project_id: view.id.clone(),
                        name,
                        options: Some(options),
                    }),
                    None => p.manual.push(format!("{}: {}", g.detail(), g.fix(&view.url))),
                }
            }
            if view.field(&s.iteration_field).is_none() {
                p.actions.push(Action::CreateField {
                    project_id: view.id.clone(),
                    name: s.iteration_field.clone(),
                    options: None,
                });
            }
        }
        Ok(None) => p.manual.push(format!(
            "GitHub shows no project {} of {} to these credentials: create it (or fix github_projects.owner / number), and give a classic token the project scope",
            s.number, s.owner
        )),
        Err(e) => p.unread.push(format!(
            "project {} of {}: {e}; run `council-sync doctor` for the reason",
            s.number, s.owner
        )),
    }
    let wanted = s.issue_types();
    if wanted.is_empty() {
        return;
    }
    // One read answers for the epic's and the story's type.
    match gh.org_issue_types(&s.owner).await {
        Ok(types) => {
            for (key, want) in wanted {
                if types
                    .iter()
                    .any(|t| t.is_enabled && t.name.eq_ignore_ascii_case(want))
                {
                    p.already += 1;
                } else {
                    p.manual.push(format!(
                        "{} has no enabled issue type {want:?} ({key}): an organisation owner creates it (Settings → Planning → Issue types), or {}",
                        s.owner,
                        unset_type(key)
                    ));
                }
            }
        }
        Err(e) if lacks_right(e.status()) => p.manual.push(format!(
            "cannot read the issue types of {} ({e}): give the credentials read access to the organisation, or {}",
            s.owner,
            wanted
                .iter()
                .map(|(k, _)| unset_type(k))
                .collect::<Vec<_>>()
                .join(" and ")
        )),
        Err(e) => p.unread.push(format!("issue types of {}: {e}", s.owner)),
    }
}

/// How to stop asking for an issue type: the epic's key takes `""`, the story's is left out.
pub(crate) fn unset_type(key: &str) -> String {
    if key.ends_with("story_issue_type") {
        format!("remove {key}")
    } else {
        format!("set {key} = \"\"")
    }
}

/// Length of the iterations of an iteration field `setup` creates, in days (GitHub's
/// default for a new iteration field).
const ITERATION_DAYS: u32 = 14;

/// A Status or Team field the project lacks, with the options it needs: Status the four
/// statuses the config names, Team one option per `[teams]` name. `None` for any other gap
/// (options missing from a field in use stay with a person; see [`projects::Gap::fix`]).
fn missing_field(
    gap: &projects::Gap,
    s: &crate::tracker::github_projects::GithubProjectsSettings,
) -> Option<(String, Vec<String>)> {
    let projects::Gap::NoField(key, name) = gap else {
        return None;
    };
    let options: Vec<String> = match *key {
        "github_projects.status_field" => [
            &s.todo_status,
            &s.in_progress_status,
            &s.done_status,
            &s.not_planned_status,
        ]
        .into_iter()
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty())
        .collect(),
        "github_projects.team_field" => s.teams.keys().cloned().collect(),
        _ => return None,
    };
    (!options.is_empty()).then(|| (name.clone(), options))
}

/// The `createProjectV2Field` input for [`Action::CreateField`] (GitHub's
/// `CreateProjectV2FieldInput`: options need a colour and a description; an iteration field
/// its start date, length and first iteration).
fn field_input(project_id: &str, name: &str, options: Option<&[String]>) -> serde_json::Value {
    match options {
        Some(options) => serde_json::json!({
            "projectId": project_id, "name": name, "dataType": "SINGLE_SELECT",
            "singleSelectOptions": options.iter().map(|o| serde_json::json!({
                "name": o, "color": "GRAY", "description": ""
            })).collect::<Vec<_>>(),
        }),
        None => {
            let today = chrono::Utc::now()
                .date_naive()
                .format("%Y-%m-%d")
                .to_string();
            serde_json::json!({
                "projectId": project_id, "name": name, "dataType": "ITERATION",
                "iterationConfiguration": {
                    "startDate": today, "duration": ITERATION_DAYS,
                    "iterations": [{"title": "Iteration 1", "startDate": today, "duration": ITERATION_DAYS}],
                },
            })
        }
    }
}

fn manual_org_hook_step(org: &str, url: Option<&str>) -> String {
    format!(
        "{org}: organisation Settings → Webhooks → Add webhook: Payload URL {}, Content type application/json, \
         Secret = github.webhook_secret, events: {}",
        url.unwrap_or("<server.public_url>/webhooks/github"),
        PROJECT_EVENTS.join(", ")
    )
}

/// GitHub Projects: the organisation webhook (`projects_v2_item` reaches no repository
/// webhook). Listing and creating it need an owner's `admin:org_hook` (or an App's
/// organisation Webhooks permission); without, a step for a person. Returns the
/// organisation when its hook is in place after the plan (there and right, or to be made or
/// fixed): its repositories then need no hook of their own.
async fn plan_org_hook(
    gh: &GithubClient,
    cfg: &Config,
    url: Option<&str>,
    secret_set: bool,
    p: &mut Plan,
) -> Option<String> {
    let Ok(s) = cfg.github_projects_settings() else {
        return None; // reported by plan_project
    };
    let org = s.owner.as_str();
    if !secret_set {
        p.manual.push(format!(
            "set github.webhook_secret so the organisation webhook of {org} can be signed, then run setup again"
        ));
        return None;
    }
    let Some(url) = url else {
        p.manual.push(format!(
            "set server.public_url so setup can register the organisation webhook; or by hand: {}",
            manual_org_hook_step(org, None)
        ));
        return None;
    };
    match gh.list_org_hooks(org).await {
        Ok(hooks) => match hooks.iter().find(|h| h.url.trim_end_matches('/') == url) {
            None => p.actions.push(Action::CreateOrgHook {
                org: org.to_owned(),
            }),
            Some(h) => {
                let problems = hook_problems(h, true, &PROJECT_EVENTS);
                if problems.is_empty() {
                    p.already += 1;
                } else {
                    p.actions.push(Action::FixOrgHook {
                        org: org.to_owned(),
                        id: h.id,
                        problems,
                    });
                }
            }
        },
        Err(e) if lacks_right(e.status()) => {
            p.manual.push(format!(
                "the credentials cannot manage organisation webhooks (an owner's token with admin:org_hook, or an App with organisation Webhooks: write); ask an owner: {}",
                manual_org_hook_step(org, Some(url))
            ));
            return None;
        }
        Err(e) => {
            p.unread.push(format!("{org}: organisation webhooks: {e}"));
            return None;
        }
    }
    Some(org.to_owned())
}

fn manual_hook_step(repo: &str, url: Option<&str>) -> String {
    format!(
        "{repo}: Settings → Webhooks → Add webhook: Payload URL {}, Content type application/json, \
         Secret = github.webhook_secret, events: Issues and Issue comments",
        url.unwrap_or("<server.public_url>/webhooks/github")
    )
}

async fn plan_hook(
    repo: &str,
    gh: &crate::github::client::GithubClient,
    url: Option<&str>,
    secret_set: bool,
    p: &mut Plan,
) {
    if !secret_set {
        p.manual.push(format!(
            "{repo}: set github.webhook_secret (a long random string) so the webhook can be signed, then run setup again"
        ));
        return;
    }
    let Some(url) = url else {
        p.manual.push(format!(
            "set server.public_url so setup can register the webhook; or by hand: {}",
            manual_hook_step(repo, None)
        ));
        return;
    };
    match gh.list_hooks(repo).await {
        Ok(hooks) => match hooks.iter().find(|h| h.url.trim_end_matches('/') == url) {
            None => p.actions.push(Action::CreateHook {
                repo: repo.to_owned(),
            }),
            Some(h) => {
                let problems = hook_problems(h, true, &GITHUB_EVENTS);
                if problems.is_empty() {
                    p.already += 1;
                } else {
                    p.actions.push(Action::FixHook {
                        repo: repo.to_owned(),
                        id: h.id,
                        problems,
                    });
                }
            }
        },
        Err(e) if lacks_right(e.status()) => p.manual.push(format!(
            "the token cannot manage webhooks (needs admin on the repository and admin:repo_hook); ask an admin: {}",
            manual_hook_step(repo, Some(url))
        )),
        Err(e) => p.unread.push(format!("{repo}: webhooks: {e}")),
    }
}

fn jira_manual_step(cfg: &Config, url: &str) -> String {
    let secret = match cfg.jira.as_ref().map(|j| j.api_version) {
        Some(JiraApiVersion::V3) => ", Secret = jira.webhook_secret",
        Some(JiraApiVersion::V2) | None => "",
    };
    format!(
        "Jira: System → WebHooks → Create a WebHook: URL {}{secret}, JQL `{}`, events: issue created/updated, comment created/updated, sprint started/closed",
        needs::redact(url),
        jql_filter(cfg)
    )
}

fn jql_filter(cfg: &Config) -> String {
    format!("project in ({})", needs::jira_projects(cfg).join(", "))
}

async fn plan_jira_hook(cfg: &Config, jira: &JiraClient, p: &mut Plan) {
    let Some(jc) = cfg.jira.as_ref() else {
        p.manual.push(crate::config::NO_JIRA.into());
        return;
    };
    let token = jc.webhook_token().ok().flatten();
    let secret = jc.webhook_secret().ok().flatten();
    if jc.api_version == JiraApiVersion::V2 && token.is_none() {
        p.manual.push(
            "set jira.webhook_token (a long random string): Data Center cannot sign webhooks, so the token goes into the URL; then run setup again".into(),
        );
        return;
    }
    if jc.api_version == JiraApiVersion::V3 && secret.is_none() {
        p.manual.push(
            "set jira.webhook_secret (a long random string) so Jira signs its webhooks; then run setup again".into(),
        );
        return;
    }
    let Some(url) = needs::jira_hook_url(cfg, token.as_ref().map(|t| t.expose_secret())) else {
        p.manual.push(
            "set server.public_url so setup can register the Jira webhook (it needs a Jira administrator)".into(),
        );
        return;
    };
    match jira.list_webhooks().await {
        Ok(hooks) => match hooks.iter().find(|h| h.url.trim_end_matches('/') == url) {
            None => p.actions.push(Action::RegisterJiraWebhook),
            Some(h) if webhook_problems(h).is_empty() => p.already += 1,
            Some(h) => p.manual.push(format!(
                "the Jira webhook to {} is there but {}: fix it in System → WebHooks",
                needs::redact(&h.url),
                webhook_problems(h).join("; ")
            )),
        },
        // Jira answers 403 to a user who is not an administrator, 401 to credentials it
        // does not take (https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/#status-codes).
        Err(e) if e.status() == Some(403) => p.manual.push(format!(
            "registering a Jira webhook needs a Jira administrator; ask one: {}",
            jira_manual_step(cfg, &url)
        )),
        Err(e) => p.unread.push(format!("Jira webhooks: {e}")),
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Actions done.
    pub done: Vec<String>,
    /// Actions that failed, with why; they become steps for a person.
    pub failed: Vec<(String, String)>,
}

/// Carries out the plan's actions, each once.
pub async fn apply(cfg: &Config, clients: &Clients, plan: &Plan) -> Outcome {
    let mut out = Outcome::default();
    let mut org_hook_failed = false;
    for action in &plan.actions {
        if org_hook_failed && matches!(action, Action::RemoveHook { .. }) {
            out.failed.push((
                action.describe(),
                "kept: the organisation webhook was not made or fixed, so this hook still delivers the repository's events".into(),
            ));
            continue;
        }
        match apply_one(cfg, clients, action).await {
            Ok(()) => out.done.push(action.describe()),
            Err(why) => {
                org_hook_failed |= matches!(
                    action,
                    Action::CreateOrgHook { .. } | Action::FixOrgHook { .. }
                );
                out.failed.push((action.describe(), why));
            }
        }
    }
    out
}

async fn apply_one(cfg: &Config, clients: &Clients, action: &Action) -> Result<(), String> {
    let gh = &clients.github;
    let secret = cfg.github.webhook_secret().map_err(|p| p.to_string())?;
    let secret = secret.as_ref().map(|s| s.expose_secret()).unwrap_or("");
    let url = needs::github_hook_url(cfg).unwrap_or_default();
    let spec = HookSpec {
        url: &url,
        secret,
        events: &GITHUB_EVENTS,
    };
    let org_spec = HookSpec {
        events: &PROJECT_EVENTS,
        ..spec
    };
    match action {
        Action::CreateLabel { repo, key, name } => {
            match gh
                .create_label(repo, name, label_color(key), &label_description(key))
                .await
            {
                // 422 already_exists: someone made it meanwhile, which is what we wanted.
                Err(e) if e.status() == Some(422) => Ok(()),
                r => r.map_err(|e| e.to_string()),
            }
        }
        Action::CommitForm { repo, replaces } => {
            let form = needs::form_yaml(cfg).map_err(|e| e.to_string())?;
            gh.put_file(
                repo,
                ISSUE_FORM_PATH,
                form.as_bytes(),
                "Add the SRE concern issue form (council-sync setup)",
                replaces.as_deref(),
            )
            .await
            .map_err(|e| e.to_string())
        }
        Action::CreateHook { repo } => gh
            .create_hook(repo, spec)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Action::FixHook { repo, id, .. } => gh
            .update_hook(repo, *id, spec)
            .await
            .map_err(|e| e.to_string()),
        Action::RemoveHook { repo, id, .. } => match gh.delete_hook(repo, *id).await {
            // 404: removed meanwhile, which is what we wanted.
            Err(e) if e.status() == Some(404) => Ok(()),
            r => r.map_err(|e| e.to_string()),
        },
        Action::CreateOrgHook { org } => gh
            .create_org_hook(org, org_spec)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Action::CreateField {
            project_id,
            name,
            options,
        } => gh
            .graphql::<serde_json::Value>(
                crate::tracker::github_projects::documents::CREATE_FIELD,
                serde_json::json!({ "input": field_input(project_id, name, options.as_deref()) }),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Action::FixOrgHook { org, id, .. } => gh
            .update_org_hook(org, *id, org_spec)
            .await
            .map_err(|e| e.to_string()),
        Action::RegisterJiraWebhook => {
            let jc = cfg.jira_section()?;
            let token = jc.webhook_token().map_err(|p| p.to_string())?;
            let url = needs::jira_hook_url(cfg, token.as_ref().map(|t| t.expose_secret()))
                .ok_or("server.public_url is not set")?;
            let secret = match jc.api_version {
                JiraApiVersion::V3 => jc
                    .webhook_secret()
                    .map_err(|p| p.to_string())?
                    .map(|s| s.expose_secret().to_owned()),
                JiraApiVersion::V2 => None,
            };
            let hook = JiraWebhook {
                name: JIRA_WEBHOOK_NAME.into(),
                url,
                events: JIRA_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
                filters: Some(serde_json::json!({
                    "issue-related-events-section": jql_filter(cfg)
                })),
                exclude_body: false,
                secret,
                enabled: Some(true),
            };
            clients
                .jira
                .as_ref()
                .ok_or(crate::config::NO_JIRA)?
                .register_webhook(&hook)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// The plan as a person reads it (`--dry-run` prints this and stops).
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.actions.is_empty() {
        out.push_str("nothing to do");
    } else {
        out.push_str("setup would:\n");
        for a in &plan.actions {
            out.push_str(&format!("  - {}\n", a.describe()));
        }
    }
    out.push_str(&format!("\n{} already in place", plan.already));
    out.push_str(&render_manual(&plan.manual));
    out.push_str(&render_unread(&plan.unread));
    out
}

/// What could not be read, numbered, with what it means for the plan; empty when every
/// read was answered.
pub fn render_unread(unread: &[String]) -> String {
    if unread.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n\ncould not read {} thing(s) the plan rests on, so it may miss what they would \
         have shown (check the URL, the network and the credentials; `council-sync doctor` \
         says which):\n",
        unread.len()
    );
    for (i, s) in unread.iter().enumerate() {
        out.push_str(&format!("  {}. {s}\n", i + 1));
    }
    out
}

/// Steps for a person, numbered; empty when there are none.
pub fn render_manual(steps: &[String]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n\nsteps for a person (these rights or settings are missing):\n");
    for (i, s) in steps.iter().enumerate() {
        out.push_str(&format!("  {}. {s}\n", i + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_key_has_a_valid_colour() {
        for (key, _) in crate::config::LabelsConfig::default().all() {
            let c = label_color(key);
            assert!(
                c.len() == 6 && c.chars().all(|x| x.is_ascii_hexdigit()),
                "{key}"
            );
            assert!(label_description(key).len() <= 100, "GitHub's limit");
        }
    }

    #[test]
    fn plans_render_actions_and_manual_steps() {
        let plan = Plan {
            actions: vec![Action::CreateHook {
                repo: "acme/x".into(),
            }],
            manual: vec!["ask an admin".into()],
            already: 3,
            unread: vec!["acme/y: webhooks: connection refused".into()],
        };
        let text = render_plan(&plan);
        assert!(text.contains("register the webhook in acme/x"), "{text}");
        assert!(text.contains("1. ask an admin"), "{text}");
        assert!(text.contains("3 already in place"), "{text}");
        assert!(
            text.contains("could not read 1 thing(s)")
                && text.contains("1. acme/y: webhooks: connection refused"),
            "{text}"
        );
        assert!(!plan.complete());
    }
}
