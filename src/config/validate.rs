//! Validation of a loaded configuration against the issue form. Collects every problem, so
//! one `config check` run shows everything to fix, each with its dotted key.
//!
//! Decisions worth knowing:
//! * Team names must equal the form's "Teams involved" options exactly (case included): the
//!   concern parser hands the engine the option text, and the engine looks the team up by it.
//! * Jira v2 (Data Center) with `epic_link.type = "parent"` is an error: Data Center links
//!   stories to epics only through the Epic Link custom field. Jira v3 (Cloud) with
//!   `custom_field` is a *warning*: older company-managed Cloud projects still accept it, but
//!   Atlassian deprecated Epic Link on Cloud in favour of `parent`, which works everywhere.
//! * Tokens and the webhook secret are required unless `[sandbox] embedded = true`.
//! * `http://` to anything but this machine is a warning (tokens in clear).
//! * The Jira webhook secret and token are optional (without them only polling sees Jira's
//!   changes). A secret with Data Center (api_version 2) is a warning: Data Center cannot
//!   sign deliveries, so only the URL token authenticates them. The token goes into a URL
//!   path, so it must be URL-safe, and it is the only credential, so it should be long.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::concern::form::IssueForm;

use super::secrets::env_name;
use super::syntax::{self, UrlVerdict};
use super::{
    Config, ConfigProblem, CouncilMembers, EpicLink, GithubConfig, JiraApiVersion, JiraAuth,
    JiraConfig, LabelsConfig, SyncConfig, TeamConfig, TrackerKind,
};

/// GitHub's limit on label name length.
const MAX_LABEL_LEN: usize = 50;

/// `store.acquire_timeout` from which a webhook can miss GitHub's 10 s delivery timeout
/// while it waits for a store connection (GitHub: "Handling failed webhook deliveries").
const MAX_STORE_WAIT: Duration = Duration::from_secs(10);

/// Above this, `criteria.min_answer_chars` would reject honest answers: a clear reason
/// rarely needs more than a few sentences, and the form's textareas do not ask for essays.
pub const MAX_MIN_ANSWER_CHARS: usize = 1000;

/// Jira's status category keys: the only values `sync.status_categories` can match.
const STATUS_CATEGORIES: [&str; 3] = ["new", "indeterminate", "done"];

/// Shortest poll or reconcile interval: below a second the daemon would hammer Jira (and
/// spend its rate limit) for no gain, and `0s` would spin.
const MIN_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Shortest Data Center webhook token accepted without a warning: the token is the only
/// credential on that route, so it should carry at least 128 bits (32 hex digits, the
/// length of `openssl rand -hex 16`).
pub const MIN_WEBHOOK_TOKEN_CHARS: usize = 32;

/// Collected problems; a thin wrapper so each rule reads as one line.
#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn error(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigProblem::error(key, reason));
    }
    fn warning(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigProblem::warning(key, reason));
    }
    fn push(&mut self, problem: ConfigProblem) {
        self.0.push(problem);
    }
}

impl Config {
    /// Every problem with this configuration, errors and warnings, each naming its key.
    /// Reads token files (to report unreadable ones) but nothing else from outside.
    pub fn validate(&self, form: &IssueForm) -> Vec<ConfigProblem> {
        let mut out = Problems::default();
        let embedded = self.sandbox_embedded();
        check_github(&self.github, embedded, &mut out);
        self.check_tracker(embedded, &mut out);
        check_teams(&self.teams, self.tracker.kind, form, &mut out);
        check_labels(&self.labels, &mut out);
        check_sync(&self.sync, &mut out);
        check_users(&self.users, &mut out);
        self.check_criteria(&mut out);
        self.check_runtime(&mut out);
        self.check_plaintext_secrets(&mut out);
        for p in self
            .server
            .board
            .iter()
            .flat_map(super::BoardConfig::problems)
        {
            out.push(p);
        }
        for p in self.limits.problems() {
            out.push(p);
        }
        for p in self.agenda.problems(&self.github.repos) {
            out.push(p);
        }
        for p in super::routing::problems(&self.routing, form) {
            out.push(p);
        }
        out.0
    }

    /// `[tracker] kind` and the section it needs: `[jira]` with Jira, `[github_projects]`
    /// with GitHub Projects (its owner shared by every team repository and concern
    /// repository, as GitHub requires of a parent and its sub-issues); the other tracker's
    /// section is ignored (warned).
    fn check_tracker(&self, embedded: bool, out: &mut Problems) {
        match (self.tracker.kind, &self.jira) {
            (TrackerKind::Jira, Some(jira)) => check_jira(jira, embedded, out),
            (TrackerKind::Jira, None) => out.error(
                "jira",
                "is missing: [tracker] kind is \"jira\" (the default), so epics and stories \
                 go to Jira and [jira] must say where (base_url, auth, api_version, \
                 epic_project)",
            ),
            (TrackerKind::GithubProjects, jira) => {
                self.check_github_projects(out);
                if !self.users.is_empty() {
                    out.warning(
                        "users",
                        "is ignored: with [tracker] kind = \"github-projects\" stories and \
                         epics are GitHub issues, assigned to the same GitHub accounts",
                    );
                }
                if jira.is_some() {
                    out.warning(
                        "jira",
                        "is ignored: [tracker] kind is \"github-projects\", which does not use Jira",
                    );
                }
            }
        }
        for ignored in &self.ignored_env_sections {
            let tracker = match self.tracker.kind {
                TrackerKind::Jira => "\"jira\", which does not use GitHub Projects",
                TrackerKind::GithubProjects => "\"github-projects\", which does not use Jira",
            };
            out.warning(
                ignored.section.clone(),
                format!(
                    "is ignored: only the environment sets it ({}) and [tracker] kind is \
                     {tracker}; unset those variables to silence this",
                    ignored.variables.join(", ")
                ),
            );
        }
        if self.tracker.kind != TrackerKind::GithubProjects && self.github_projects.is_some() {
            out.warning(
                "github_projects",
                "is ignored: [tracker] kind is \"jira\", which does not use GitHub Projects",
            );
        }
    }

    /// `[github_projects]` with `kind = "github-projects"`: present, its names non-empty,
    /// and one owner for the project, the team repositories and the concern repositories.
    fn check_github_projects(&self, out: &mut Problems) {
        let Some(settings) = &self.github_projects else {
            out.error(
                "github_projects",
                "is missing: [tracker] kind is \"github-projects\", so epics and stories go \
                 to a GitHub project and [github_projects] must say which (owner, number)",
            );
            return;
        };
        // Malformed team repositories are reported by the team check; only well-formed
        // ones are judged for their owner here.
        let settings = settings.clone().with_teams(
            self.teams
                .iter()
                .filter_map(|(name, t)| Some((name.as_str(), t.repo.as_deref()?)))
                .filter(|(_, repo)| syntax::is_repo(repo)),
        );
        let concern_repos: Vec<String> = self
            .github
            .repos
            .iter()
            .map(|r| {
                if syntax::is_repo(r) {
                    r.clone()
                } else {
                    String::new()
                }
            })
            .collect();
        for (key, reason) in settings.problems(&concern_repos) {
            out.error(key, reason);
        }
        // The engine moves items to these names; on GitHub Projects they are Status options.
        let known = [
            &settings.todo_status,
            &settings.in_progress_status,
            &settings.done_status,
            &settings.not_planned_status,
        ];
        let sync = &self.sync;
        for (key, value) in [
            ("not_planned_status", &sync.not_planned_status),
            ("reopen_status", &sync.reopen_status),
            ("epic_done_status", &sync.epic_done_status),
        ] {
            if (key != "epic_done_status" || !value.is_empty())
                && !known.iter().any(|k| k.eq_ignore_ascii_case(value))
            {
                out.error(
                    format!("sync.{key}"),
                    format!(
                        "is {value:?}, which is not one of github_projects' statuses ({}): \
                         with GitHub Projects the daemon moves items to a Status option, e.g. \
                         {key} = {:?}",
                        known
                            .iter()
                            .map(|k| format!("{k:?}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        match key {
                            "not_planned_status" => &settings.not_planned_status,
                            "reopen_status" => &settings.todo_status,
                            _ => &settings.done_status,
                        }
                    ),
                );
            }
        }
    }

    /// A secret in the file ends up in backups, diffs and screen shares: warn, naming where
    /// it should go instead.
    fn check_plaintext_secrets(&self, out: &mut Problems) {
        for key in &self.plaintext_secrets {
            let env = format!("COUNCIL_{}", key.to_uppercase().replace('.', "__"));
            out.warning(
                key.clone(),
                format!(
                    "is written in the config file in plain text; move it to the environment \
                     ({env}) or to a file named by `{key}_file`"
                ),
            );
        }
    }

    fn check_criteria(&self, out: &mut Problems) {
        let c = &self.criteria;
        if c.min_answer_chars == 0 {
            out.error(
                "criteria.min_answer_chars",
                "is 0, so a one-letter answer would pass; use a length a real answer has \
                 (default 20)",
            );
        } else if c.min_answer_chars > MAX_MIN_ANSWER_CHARS {
            out.error(
                "criteria.min_answer_chars",
                format!(
                    "is {}, more than {MAX_MIN_ANSWER_CHARS}: almost every honest answer would \
                     count as missing (default 20)",
                    c.min_answer_chars
                ),
            );
        }
        for (i, p) in c.placeholders.iter().enumerate() {
            if p.trim().is_empty() {
                out.error(
                    format!("criteria.placeholders[{i}]"),
                    "is empty; empty answers are always missing, list only placeholder words",
                );
            }
        }
        if let Some(path) = &c.issue_form
            && let Err(e) = std::fs::metadata(path)
        {
            out.error(
                "criteria.issue_form",
                format!("cannot read {}: {e}", path.display()),
            );
        }
    }

    fn check_runtime(&self, out: &mut Problems) {
        let url = &self.store.url;
        if self.sandbox_embedded() && *url != super::StoreConfig::default().url {
            out.warning(
                "store.url",
                "is not used with the embedded sandbox: the sandbox starts empty on every run, \
                 so the daemon's store does too (a fresh file, removed at exit)",
            );
        }
        let sqlite_path = url
            .strip_prefix("sqlite:")
            .map(|p| p.trim_start_matches('/'));
        let is_postgres = ["postgres://", "postgresql://"]
            .iter()
            .any(|p| url.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
        match sqlite_path {
            Some("") => out.error("store.url", format!("`{url}` names no database file")),
            Some(_) => {}
            None if is_postgres => {}
            None => out.error(
                "store.url",
                format!(
                    "`{url}` is neither `sqlite://PATH` (one replica) nor `postgres://…` \
                     (several replicas)"
                ),
            ),
        }
        let wait = self.store.acquire_timeout;
        if wait.is_zero() {
            out.error(
                "store.acquire_timeout",
                "is 0: every query would fail before a connection is free; the default is 5s",
            );
        } else if wait >= MAX_STORE_WAIT {
            out.warning(
                "store.acquire_timeout",
                format!(
                    "is {}: a webhook waiting that long for a connection misses GitHub's 10 s \
                     delivery timeout (GitHub then redelivers nothing on its own); the default \
                     is 5s",
                    humantime::format_duration(wait)
                ),
            );
        }
        let r = &self.retry;
        if r.attempts == 0 {
            out.error(
                "retry.attempts",
                "is 0, so no call would ever be made; it counts the first attempt (default 6)",
            );
        }
        if r.initial_backoff > r.max_backoff {
            out.error(
                "retry.initial_backoff",
                format!(
                    "{} is longer than retry.max_backoff ({})",
                    humantime::format_duration(r.initial_backoff),
                    humantime::format_duration(r.max_backoff)
                ),
            );
        }
        if let Some(sandbox) = self.sandbox.as_ref().filter(|s| s.embedded) {
            check_sandbox_members(&self.github.council, &sandbox.council_members, out);
            let port = sandbox.listen.port();
            if port != 0 && sandbox.listen == self.server.listen {
                out.error(
                    "sandbox.listen",
                    format!(
                        "{} is also server.listen; give one of them another port \
                         (or 0 for the sandbox)",
                        sandbox.listen
                    ),
                );
            }
        }
    }
}

fn check_github(g: &GithubConfig, embedded: bool, out: &mut Problems) {
    check_url("github.api_url", &g.api_url, out);
    // A GitHub App logs in with its key instead of a token.
    if g.app.is_none() {
        require_secret("github.token", g.token(), embedded, "API token", out);
    }
    require_secret(
        "github.webhook_secret",
        g.webhook_secret(),
        embedded,
        "webhook secret (deliveries could not be verified without it)",
        out,
    );
    if g.repos.is_empty() {
        out.error(
            "github.repos",
            "is empty: list the repositories concerns are raised in, as \"owner/name\"",
        );
    }
    for (i, repo) in g.repos.iter().enumerate() {
        if !syntax::is_repo(repo) {
            out.error(
                format!("github.repos[{i}]"),
                format!("`{repo}` is not \"owner/name\" (e.g. \"acme/platform-concerns\")"),
            );
        }
    }
    check_duplicates("github.repos", g.repos.iter().map(String::as_str), out);
    match &g.council {
        CouncilMembers::Team(team) if !syntax::is_team(team) => {
            let hint = if team.contains('/') && team.chars().any(|c| c.is_ascii_uppercase()) {
                "; team slugs are lower-case, the team's URL form \
                 (\"SRE Council\" → \"sre-council\")"
            } else {
                ""
            };
            out.error(
                "github.council",
                format!("`{team}` is not \"org/team-slug\" (e.g. \"acme/sre-council\"){hint}"),
            );
        }
        CouncilMembers::Team(_) => {}
        CouncilMembers::Logins(logins) => check_logins("github.council", logins, out),
    }
    if let Some(login) = &g.bot_login
        && !syntax::is_bot_login(login)
    {
        out.error(
            "github.bot_login",
            format!("`{login}` is not a GitHub login (a user, or an app's \"name[bot]\")"),
        );
    }
}

fn check_logins(key: &str, logins: &[String], out: &mut Problems) {
    if logins.is_empty() {
        out.error(
            key,
            "is an empty list: nobody could accept or reject a concern; name a team \
             (\"org/team-slug\") or at least one login",
        );
    }
    for (i, login) in logins.iter().enumerate() {
        if !syntax::is_github_login(login) {
            out.error(
                format!("{key}[{i}]"),
                format!("`{login}` is not a GitHub login"),
            );
        }
    }
    check_duplicates(key, logins.iter().map(String::as_str), out);
}

fn check_sandbox_members(council: &CouncilMembers, members: &[String], out: &mut Problems) {
    if members.is_empty() && matches!(council, CouncilMembers::Team(_)) {
        out.error(
            "sandbox.council_members",
            "is empty: the sandbox seeds github.council's team with these logins, so nobody \
             could decide on a concern",
        );
    }
    for (i, login) in members.iter().enumerate() {
        if !syntax::is_github_login(login) {
            out.error(
                format!("sandbox.council_members[{i}]"),
                format!("`{login}` is not a GitHub login"),
            );
        }
    }
}

fn check_jira(j: &JiraConfig, embedded: bool, out: &mut Problems) {
    check_url("jira.base_url", &j.base_url, out);
    if j.base_url.trim_end_matches('/').ends_with("/rest") || j.base_url.contains("/rest/") {
        out.error(
            "jira.base_url",
            format!(
                "`{}` includes the REST path; give the site only \
                 (e.g. https://acme.atlassian.net), \
                 the daemon adds /rest/api/{}/",
                j.base_url,
                j.api_version.number()
            ),
        );
    }
    require_secret(
        "jira.auth.token",
        j.auth.token(),
        embedded,
        "API token",
        out,
    );
    match (&j.auth, j.api_version) {
        (JiraAuth::Basic { email, .. }, _) if email.trim().is_empty() => {
            out.error(
                "jira.auth.email",
                "is empty: basic auth needs the account's email (Data Center: user name)",
            );
        }
        (JiraAuth::Bearer { .. }, JiraApiVersion::V3) => out.warning(
            "jira.auth.type",
            "is \"bearer\" with Jira Cloud (api_version 3): Cloud API tokens are used with \
             \"basic\" (email + token); bearer works only with OAuth access tokens",
        ),
        _ => {}
    }
    check_epic_link(j, out);
    if !syntax::is_project_key(&j.epic_project) {
        out.error("jira.epic_project", project_key_reason(&j.epic_project));
    }
    for (key, value) in [
        ("jira.epic_issue_type", &j.epic_issue_type),
        ("jira.story_issue_type", &j.story_issue_type),
    ] {
        if value.trim().is_empty() {
            out.error(key, "is empty: give the issue type's name as Jira shows it");
        }
    }
    if !syntax::is_custom_field_id(&j.sprint_field) {
        out.error(
            "jira.sprint_field",
            format!(
                "`{}` is not a custom field id like \"customfield_10020\" (GET /rest/api/{}/field \
                 lists the Sprint field's id)",
                j.sprint_field,
                j.api_version.number()
            ),
        );
    }
    check_jira_webhooks(j, out);
}

/// The Jira receivers' secret and token: optional, but each given one way only, and each
/// fit for the flavour that uses it.
fn check_jira_webhooks(j: &JiraConfig, out: &mut Problems) {
    let secret = j.webhook_secret().unwrap_or_else(|p| {
        out.push(p);
        None
    });
    let token = j.webhook_token().unwrap_or_else(|p| {
        out.push(p);
        None
    });
    if secret.is_some()
        && token.is_none()
        && j.webhook_token.is_none()
        && j.webhook_token_file.is_none()
        && j.api_version == JiraApiVersion::V2
    {
        out.warning(
            "jira.webhook_secret",
            format!(
                "is set with Jira Data Center (api_version 2), which cannot sign webhook \
                 deliveries: set jira.webhook_token ({} or jira.webhook_token_file) and \
                 register the webhook URL as …/webhooks/jira/<token>",
                env_name("jira.webhook_token")
            ),
        );
    }
    if let Some(token) = token {
        let token = token.expose_secret();
        // The offending character is not named: it is part of a secret.
        if !token.chars().all(is_url_safe) {
            out.error(
                "jira.webhook_token",
                "contains characters that are not URL-safe: the token is a URL path segment, \
                 so use only letters, digits, `-`, `_`, `.` and `~` (e.g. `openssl rand -hex 32`)",
            );
        } else if token.chars().count() < MIN_WEBHOOK_TOKEN_CHARS {
            out.warning(
                "jira.webhook_token",
                format!(
                    "is {} characters long; it is the only credential of the Data Center \
                     receiver, so use at least {MIN_WEBHOOK_TOKEN_CHARS} random ones \
                     (e.g. `openssl rand -hex 32`)",
                    token.chars().count()
                ),
            );
        }
    }
}

/// An unreserved URL character (RFC 3986): needs no percent-encoding in a path.
fn is_url_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

fn check_sync(sync: &SyncConfig, out: &mut Problems) {
    for category in sync.status_categories.keys() {
        if !STATUS_CATEGORIES.contains(&category.as_str()) {
            out.error(
                format!("sync.status_categories.{}", quoted_key(category)),
                format!(
                    "`{category}` is not a Jira status category; Jira has only {} (a status \
                     name goes under [sync.statuses])",
                    STATUS_CATEGORIES.join(", ")
                ),
            );
        }
    }
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in sync.statuses.keys() {
        let key = format!("sync.statuses.{}", quoted_key(name));
        if name.trim().is_empty() {
            out.error(
                key,
                "has an empty status name: name the status as Jira shows it",
            );
            continue;
        }
        if name.trim() != name {
            out.error(
                &key,
                format!(
                    "`{name}` has leading or trailing spaces, so it would never equal a Jira \
                     status name"
                ),
            );
        }
        if let Some(first) = seen.insert(name.trim().to_lowercase(), name) {
            out.error(
                key,
                format!(
                    "`{name}` is also listed as `{first}`: status names compare ignoring \
                     case, so keep one"
                ),
            );
        }
    }
    if !sync.epic_done_status.is_empty() && sync.epic_done_status.trim().is_empty() {
        out.error(
            "sync.epic_done_status",
            "is blank: name the status, or leave it empty (\"\") to leave the epic alone",
        );
    }
    for (key, value) in [
        ("sync.not_planned_status", &sync.not_planned_status),
        ("sync.reopen_status", &sync.reopen_status),
    ] {
        if value.trim().is_empty() {
            out.error(
                key,
                "is empty: name a status of the epic's and stories' workflow as Jira shows it",
            );
        }
    }
    for (key, value) in [
        ("sync.poll_interval", sync.poll_interval),
        ("sync.reconcile_interval", sync.reconcile_interval),
        ("sync.full_sweep_interval", sync.full_sweep_interval),
    ] {
        if value < MIN_SYNC_INTERVAL {
            out.error(
                key,
                format!(
                    "is {}, below 1s: the daemon would ask Jira without pause and spend its \
                     rate limit",
                    humantime::format_duration(value)
                ),
            );
        }
    }
}

fn check_users(users: &BTreeMap<String, String>, out: &mut Problems) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (login, account) in users {
        let key = format!("users.{}", quoted_key(login));
        if !syntax::is_github_login(login) {
            out.error(&key, format!("`{login}` is not a GitHub login"));
        } else if let Some(first) = seen.insert(login.to_lowercase(), login) {
            out.error(
                &key,
                format!("`{login}` is also listed as `{first}` (GitHub logins ignore case)"),
            );
        }
        if account.trim().is_empty() {
            out.error(
                key,
                "is empty: give the Jira account (accountId on Cloud, user name on Data Center)",
            );
        }
    }
}

/// A map key as it would be written in TOML: bare when it can be, quoted otherwise.
fn quoted_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

fn check_epic_link(j: &JiraConfig, out: &mut Problems) {
    match (&j.epic_link, j.api_version) {
        (EpicLink::Parent, JiraApiVersion::V2) => out.error(
            "jira.epic_link",
            "is \"parent\" with Jira Data Center (api_version 2), which links stories to epics \
             only through the Epic Link field: use type = \"custom_field\" with \
             epic_link_field and epic_name_field (Jira admin → Custom fields shows their ids)",
        ),
        (EpicLink::CustomField { .. }, JiraApiVersion::V3) => out.warning(
            "jira.epic_link",
            "is \"custom_field\" with Jira Cloud (api_version 3): Atlassian deprecated the Epic \
             Link field on Cloud and team-managed projects lack it; type = \"parent\" works in \
             every Cloud project",
        ),
        _ => {}
    }
    if let EpicLink::CustomField {
        epic_link_field,
        epic_name_field,
    } = &j.epic_link
    {
        for (key, value) in [
            ("jira.epic_link.epic_link_field", epic_link_field),
            ("jira.epic_link.epic_name_field", epic_name_field),
        ] {
            if !syntax::is_custom_field_id(value) {
                out.error(
                    key,
                    format!("`{value}` is not a custom field id like \"customfield_10008\""),
                );
            }
        }
    }
}

fn project_key_reason(value: &str) -> String {
    let hint = if syntax::is_project_key(&value.to_uppercase()) {
        format!(" (did you mean \"{}\"?)", value.to_uppercase())
    } else {
        String::new()
    };
    format!(
        "`{value}` is not a Jira project key: an upper-case letter, then upper-case letters, \
         digits or `_`, e.g. \"SRE\"{hint}"
    )
}

/// The field `[teams.NAME]` must carry for `kind`.
fn team_field(kind: TrackerKind) -> &'static str {
    match kind {
        TrackerKind::Jira => "jira_project",
        TrackerKind::GithubProjects => "repo",
    }
}

fn check_teams(
    teams: &BTreeMap<String, TeamConfig>,
    kind: TrackerKind,
    form: &IssueForm,
    out: &mut Problems,
) {
    let field = team_field(kind);
    if teams.is_empty() {
        out.error(
            "teams",
            format!(
                "no teams: add a [teams.NAME] table with {field} for each option of the \
                 issue form's \"Teams involved\" field"
            ),
        );
    }
    for (name, team) in teams {
        let key = format!("teams.{name}");
        match kind {
            TrackerKind::Jira => check_jira_team(&key, team, out),
            TrackerKind::GithubProjects => check_projects_team(&key, team, out),
        }
        if !form.team_options.iter().any(|o| o == name) {
            out.error(key, not_in_form_reason(name, &form.team_options));
        }
    }
    for option in &form.team_options {
        if !teams.contains_key(option) {
            out.error(
                format!("teams.{option}"),
                format!(
                    "the issue form offers team \"{option}\" but [teams] has no entry for it, so \
                     its stories would have nowhere to go: add [teams.\"{option}\"] with \
                     {field}"
                ),
            );
        }
    }
}

/// `[teams.NAME]` with Jira: a project key, an optional non-empty component; `repo` is
/// not read.
fn check_jira_team(key: &str, team: &TeamConfig, out: &mut Problems) {
    match team.jira_project.as_deref() {
        None => out.error(
            format!("{key}.jira_project"),
            "is missing: with [tracker] kind = \"jira\" each team's stories go to a Jira \
             project, e.g. jira_project = \"PAY\"",
        ),
        Some(project) if !syntax::is_project_key(project) => {
            out.error(format!("{key}.jira_project"), project_key_reason(project));
        }
        Some(_) => {}
    }
    if team
        .component
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        out.error(
            format!("{key}.component"),
            "is empty: leave it out for no component",
        );
    }
    if team.repo.is_some() {
        out.warning(
            format!("{key}.repo"),
            "is ignored: only [tracker] kind = \"github-projects\" puts stories in repositories",
        );
    }
}

/// `[teams.NAME]` with GitHub Projects: `repo` as `owner/name`; the Jira fields are not read.
fn check_projects_team(key: &str, team: &TeamConfig, out: &mut Problems) {
    match team.repo.as_deref() {
        None => out.error(
            format!("{key}.repo"),
            "is missing: with [tracker] kind = \"github-projects\" each team's stories are \
             issues in its repository, e.g. repo = \"acme/payments\"",
        ),
        Some(repo) if !syntax::is_repo(repo) => out.error(
            format!("{key}.repo"),
            format!("`{repo}` is not a repository: write it as \"owner/name\""),
        ),
        Some(_) => {}
    }
    for (field, set) in [
        ("jira_project", team.jira_project.is_some()),
        ("component", team.component.is_some()),
    ] {
        if set {
            out.warning(
                format!("{key}.{field}"),
                "is ignored: [tracker] kind is \"github-projects\", which does not use Jira",
            );
        }
    }
}

fn not_in_form_reason(name: &str, options: &[String]) -> String {
    let same_but_case = options.iter().find(|o| o.eq_ignore_ascii_case(name));
    let listed = if options.is_empty() {
        "it has none".to_owned()
    } else {
        options.join(", ")
    };
    match same_but_case {
        Some(option) => format!(
            "is not an option of the issue form's \"Teams involved\" field; the form says \
             \"{option}\" and names must match exactly (environment overrides are lower-cased, \
             so a team set from the environment must be lower-case in the form too)"
        ),
        None => format!(
            "is not an option of the issue form's \"Teams involved\" field (options: {listed}); \
             a concern can never name it"
        ),
    }
}

fn check_labels(labels: &LabelsConfig, out: &mut Problems) {
    let all = labels.all();
    for (field, name) in all {
        let key = format!("labels.{field}");
        if name.trim().is_empty() {
            out.error(key, "is empty: every state needs a label name");
        } else if name.chars().count() > MAX_LABEL_LEN {
            out.error(
                key,
                format!("`{name}` is longer than GitHub's {MAX_LABEL_LEN}-character label limit"),
            );
        }
    }
    for (i, (field, name)) in all.iter().enumerate() {
        let earlier = all[..i]
            .iter()
            .find(|(_, other)| !name.trim().is_empty() && crate::council::same_label(other, name));
        if let Some((other_field, _)) = earlier {
            out.error(
                format!("labels.{field}"),
                format!(
                    "`{name}` is also labels.{other_field} (GitHub label names ignore case): \
                     two states would be indistinguishable"
                ),
            );
        }
    }
}

fn check_url(key: &str, url: &str, out: &mut Problems) {
    match syntax::check_base_url(url) {
        UrlVerdict::Fine => {}
        UrlVerdict::Plaintext => out.warning(
            key,
            format!(
                "`{url}` is plain http: the token would cross the network unencrypted; use https"
            ),
        ),
        UrlVerdict::Bad(reason) => out.error(key, reason),
    }
}

fn require_secret(
    key: &str,
    result: Result<Option<secrecy::SecretString>, ConfigProblem>,
    embedded: bool,
    what: &str,
    out: &mut Problems,
) {
    match result {
        Err(problem) => out.push(problem),
        Ok(Some(_)) => {}
        Ok(None) if embedded => {}
        Ok(None) => out.error(
            key,
            format!(
                "no {what}: set environment variable {} or `{key}_file` (a file holding it); \
                 not needed only with [sandbox] embedded = true",
                env_name(key)
            ),
        ),
    }
}

fn check_duplicates<'a>(key: &str, items: impl Iterator<Item = &'a str>, out: &mut Problems) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.enumerate() {
        if let Some(first) = seen.insert(item.to_lowercase(), i) {
            out.error(
                format!("{key}[{i}]"),
                format!("`{item}` is listed twice (also {key}[{first}])"),
            );
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
