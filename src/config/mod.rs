//! Typed configuration: TOML file plus `COUNCIL_SECTION__KEY` environment overrides.
//!
//! Every section is a plain serde struct with `deny_unknown_fields`, so a typo in a key is
//! reported instead of silently ignored. Secrets are `SecretString`s read from env or from a
//! file and never printed. `validate` collects every problem it finds, each naming the key.
//!
//! * [`load`] reads the file and the environment (see there for the env rules, including why
//!   team names overridden from the environment must be lower-case);
//! * [`validate`] checks a loaded config against the issue form;
//! * [`secrets`] reads tokens inline or from files;
//! * [`check`] is `council-sync config check`: load + validate + a readable report.

pub mod agenda;
pub mod board;
pub mod check;
pub mod limits;
pub mod load;
pub mod problem;
pub mod routing;
pub mod scope;
pub mod secrets;
pub mod syntax;
pub mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

pub use agenda::{AgendaConfig, PostTo};
pub use board::BoardConfig;
pub use check::{check_file, check_file_for_sandbox, check_file_with_env, render_problems};
pub use limits::{GithubLimits, JiraLimits, LimitsConfig};
pub use load::ConfigError;
pub use problem::{ConfigProblem, Severity};
pub use scope::Scope;

/// The whole configuration of the daemon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where concerns are raised and who decides on them.
    pub github: GithubConfig,
    /// Which tracker epics and stories go to.
    #[serde(default)]
    pub tracker: TrackerConfig,
    /// Jira, where epics and stories are created with `[tracker] kind = "jira"` (the
    /// default); required then, ignored otherwise.
    #[serde(default)]
    pub jira: Option<JiraConfig>,
    /// GitHub Projects, where epics and stories live with `[tracker] kind =
    /// "github-projects"`; required then, ignored otherwise.
    #[serde(default)]
    pub github_projects: Option<crate::tracker::github_projects::GithubProjectsSettings>,
    /// Teams by name, exactly as they appear in the issue form's "Teams involved" options.
    /// Names are case-sensitive; environment overrides can only reach lower-case names
    /// (see [`load`]).
    #[serde(default)]
    pub teams: BTreeMap<String, TeamConfig>,
    /// Label names, so the daemon fits a repository's existing labels.
    #[serde(default)]
    pub labels: LabelsConfig,
    /// What counts as an answer to the council's three questions.
    #[serde(default)]
    pub criteria: CriteriaConfig,
    /// Durable state (links, inbox, outbox).
    #[serde(default)]
    pub store: StoreConfig,
    /// The webhook receiver and board.
    #[serde(default)]
    pub server: ServerConfig,
    /// How the council decides.
    #[serde(default)]
    pub council: CouncilConfig,
    /// Retries of outgoing calls.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How fast each host may be called (`[limits.github]`, `[limits.jira]`); defaults
    /// are the hosts' published limits (see [`limits`]).
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Keeping GitHub and the tracker in step after the stories exist.
    #[serde(default)]
    pub sync: SyncConfig,
    /// GitHub login → Jira account (accountId on Cloud, username on Data Center), for
    /// assignees. Unknown logins are left unassigned and reported, never retried.
    #[serde(default)]
    pub users: BTreeMap<String, String>,
    /// The council's sessions and the agenda posted before each.
    #[serde(default)]
    pub agenda: AgendaConfig,
    /// Where what is not an SRE concern belongs, by kind (`[routing.<kind>]`, e.g.
    /// `customer-escalation`): see [`routing::Route`]. Empty (the default): nothing is
    /// routed automatically; a council member's out-of-scope label still closes the issue
    /// with a general reply.
    #[serde(default)]
    pub routing: std::collections::BTreeMap<String, routing::Route>,
    /// Present only when the daemon should run against the embedded sandbox.
    pub sandbox: Option<SandboxConfig>,
    /// Secrets written in the file itself (dotted keys), filled in by the loader: each
    /// draws a warning to move it to the environment or a file.
    #[serde(skip)]
    pub plaintext_secrets: Vec<String>,
    /// Sections of the tracker `[tracker] kind` does not use that only the environment had
    /// set (e.g. `COUNCIL_JIRA__*` left in the shell on GitHub Projects): taken out by the
    /// loader, each draws a warning naming its variables.
    #[serde(skip)]
    pub ignored_env_sections: Vec<IgnoredEnvSection>,
}

/// A tracker section set only by `COUNCIL_*` variables, ignored because `[tracker] kind`
/// names the other tracker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredEnvSection {
    /// The section's key: `jira` or `github_projects`.
    pub section: String,
    /// The variables that set it, e.g. `COUNCIL_JIRA__BASE_URL`, sorted.
    pub variables: Vec<String>,
}

/// Why a Jira-only step cannot run: the config has no `[jira]`.
pub const NO_JIRA: &str =
    "[jira] is missing: it is required with [tracker] kind = \"jira\" (the default)";

/// Why the GitHub Projects tracker cannot be built: the config has no `[github_projects]`.
pub const NO_GITHUB_PROJECTS: &str = "[github_projects] is missing: it is required with \
     [tracker] kind = \"github-projects\" (owner and number of the project)";

impl Config {
    /// `[github_projects]` with each team's repository (`[teams.NAME] repo`) filled in, for
    /// the GitHub Projects tracker; the error says the section is missing
    /// ([`NO_GITHUB_PROJECTS`]).
    pub fn github_projects_settings(
        &self,
    ) -> Result<crate::tracker::github_projects::GithubProjectsSettings, &'static str> {
        let settings = self.github_projects.clone().ok_or(NO_GITHUB_PROJECTS)?;
        Ok(settings.with_teams(
            self.teams
                .iter()
                .filter_map(|(name, t)| Some((name.as_str(), t.repo.as_deref()?))),
        ))
    }

    /// One line saying where epics and stories go, for `config check`: with the embedded
    /// sandbox, the sandbox (`jira.base_url` is replaced at start-up, so it is not shown).
    pub fn tracker_summary(&self) -> String {
        match self.tracker.kind {
            TrackerKind::Jira => match &self.jira {
                Some(j) => format!(
                    "Jira (REST v{}) at {}, epics in {}",
                    j.api_version.number(),
                    if self.sandbox_embedded() {
                        "the embedded sandbox".to_owned()
                    } else {
                        j.base_url.to_string()
                    },
                    j.epic_project
                ),
                None => NO_JIRA.to_owned(),
            },
            TrackerKind::GithubProjects => match self.github_projects_settings() {
                Ok(s) => {
                    let teams: Vec<String> = s
                        .teams
                        .iter()
                        .map(|(name, repo)| format!("{name} → {repo}"))
                        .collect();
                    format!("{}; stories in {}", s.summary(), teams.join(", "))
                }
                Err(e) => e.to_owned(),
            },
        }
    }

    /// `[jira]`, for the steps that only Jira has (its tracker, doctor, setup); the error
    /// says the section is missing ([`NO_JIRA`]).
    pub fn jira_section(&self) -> Result<&JiraConfig, &'static str> {
        self.jira.as_ref().ok_or(NO_JIRA)
    }

    /// `[jira]` of a test config that has one.
    #[cfg(test)]
    pub fn jira_mut(&mut self) -> &mut JiraConfig {
        self.jira.as_mut().expect("the test config has [jira]")
    }

    /// Whether the daemon starts its own sandbox (then it makes its own tokens and secrets,
    /// so none need to be configured).
    pub fn sandbox_embedded(&self) -> bool {
        self.sandbox.as_ref().is_some_and(|s| s.embedded)
    }
}

/// Where the GitHub side lives and who may decide.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// REST base URL. Default `https://api.github.com`; GHES: `https://HOST/api/v3` (GraphQL,
    /// for GitHub Projects, then goes to `https://HOST/api/graphql`, where GHES serves it).
    #[serde(default = "default_github_api_url")]
    pub api_url: String,
    /// Token inline (prefer env `COUNCIL_GITHUB__TOKEN`) ...
    pub token: Option<SecretString>,
    /// ... or read from this file (trailing whitespace trimmed).
    pub token_file: Option<PathBuf>,
    /// Secret GitHub signs webhook deliveries with (`X-Hub-Signature-256`).
    pub webhook_secret: Option<SecretString>,
    /// Same, from a file.
    pub webhook_secret_file: Option<PathBuf>,
    /// Repositories watched, as `owner/name`.
    pub repos: Vec<String>,
    /// Who is on the council: a team (`org/team-slug`, active members only) or logins.
    pub council: CouncilMembers,
    /// The daemon's own login, so it can ignore its own writes (the council's and, on GitHub
    /// Projects, the tracker's). Default: asked of `GET /user` (with a GitHub App:
    /// `{app slug}[bot]`, from `GET /app`).
    pub bot_login: Option<String>,
    /// Log in as a GitHub App installation instead of with `token`.
    pub app: Option<GithubAppConfig>,
}

/// A GitHub App installation as the daemon's identity: a JWT signed with the App's private
/// key is exchanged for installation tokens, refreshed before they expire (after an hour).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubAppConfig {
    /// The App's id (its settings page, "App ID").
    pub app_id: u64,
    /// The App's private key (PEM, as GitHub downloads it).
    pub private_key_file: PathBuf,
    /// The installation on the organisation. Default: discovered from the first repository
    /// of `repos` (`GET /repos/{owner}/{repo}/installation`).
    pub installation_id: Option<u64>,
}

/// Council membership: either a GitHub team or an explicit list of logins.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CouncilMembers {
    /// `"org/team-slug"`: membership asked of GitHub, active members only.
    Team(String),
    /// Explicit logins.
    Logins(Vec<String>),
}

/// Jira flavour: Cloud speaks REST v3 (ADF bodies), Data Center REST v2 (wiki markup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub enum JiraApiVersion {
    /// Jira Data Center / Server: `/rest/api/2/`, wiki markup, Epic Link custom field.
    V2,
    /// Jira Cloud: `/rest/api/3/`, Atlassian Document Format, `parent` links.
    V3,
}

impl TryFrom<i64> for JiraApiVersion {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        match v {
            2 => Ok(Self::V2),
            3 => Ok(Self::V3),
            other => Err(format!("must be 2 (Data Center) or 3 (Cloud), not {other}")),
        }
    }
}

impl JiraApiVersion {
    /// The number that goes into `/rest/api/{n}/`.
    pub fn number(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// How the daemon authenticates to Jira.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum JiraAuth {
    /// Jira Cloud: account email + API token (HTTP basic).
    Basic {
        /// The Atlassian account's email (Data Center: the user name).
        email: String,
        /// API token inline (prefer env `COUNCIL_JIRA__AUTH__TOKEN`).
        token: Option<SecretString>,
        /// API token read from this file (trailing whitespace trimmed).
        token_file: Option<PathBuf>,
    },
    /// Jira Data Center: personal access token (HTTP bearer).
    Bearer {
        /// Personal access token inline (prefer env `COUNCIL_JIRA__AUTH__TOKEN`).
        token: Option<SecretString>,
        /// Personal access token read from this file (trailing whitespace trimmed).
        token_file: Option<PathBuf>,
    },
}

/// How a story is attached to its epic.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EpicLink {
    /// Cloud: the story's `parent` field.
    Parent,
    /// Data Center: the Epic Link custom field; the epic also needs the Epic Name field.
    CustomField {
        /// e.g. `customfield_10008`
        epic_link_field: String,
        /// e.g. `customfield_10011`
        epic_name_field: String,
    },
}

/// Where epics and stories are created.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// e.g. `https://acme.atlassian.net` (no trailing `/rest`).
    pub base_url: String,
    /// Credentials; the token itself comes from env or a file.
    pub auth: JiraAuth,
    /// 3 for Cloud, 2 for Data Center.
    pub api_version: JiraApiVersion,
    /// Project key the epics go into.
    pub epic_project: String,
    /// Issue type name of epics. Default `Epic`.
    #[serde(default = "default_epic_type")]
    pub epic_issue_type: String,
    /// Issue type name of the team stories. Default `Story`.
    #[serde(default = "default_story_type")]
    pub story_issue_type: String,
    /// How stories point at their epic. Default `parent` (Cloud).
    #[serde(default = "default_epic_link")]
    pub epic_link: EpicLink,
    /// Secret of the Jira Cloud admin webhook (`X-Hub-Signature: sha256=…` on
    /// `POST /webhooks/jira`). Prefer env `COUNCIL_JIRA__WEBHOOK_SECRET` or the file.
    pub webhook_secret: Option<SecretString>,
    /// Same, from a file.
    pub webhook_secret_file: Option<PathBuf>,
    /// Data Center has no webhook signature: a long random token in the URL path
    /// (`POST /webhooks/jira/{token}`), compared in constant time.
    pub webhook_token: Option<SecretString>,
    /// Same, from a file.
    pub webhook_token_file: Option<PathBuf>,
    /// Id of the Sprint custom field. Default `customfield_10020` (most Cloud sites).
    #[serde(default = "default_sprint_field")]
    pub sprint_field: String,
    /// How long after a create whose outcome is unknown (no answer, a crash, a 5xx) search
    /// may still not show what it made: Jira Cloud's index trails creation "for seconds to
    /// minutes". Until this has passed since the last attempt, "not found" proves nothing
    /// and the daemon does not create again. Default 2m.
    #[serde(default = "default_consistency_window", with = "humantime_serde")]
    pub search_consistency_window: Duration,
    /// How long one job waits, searching, for an earlier attempt's issue to show before it
    /// parks (reports and leaves it to a later pass or the created-issue webhook). Default
    /// 10s: a job holds its concern's queue while it waits.
    #[serde(default = "default_consistency_wait", with = "humantime_serde")]
    pub search_consistency_wait: Duration,
}

fn default_consistency_window() -> Duration {
    Duration::from_secs(120)
}
fn default_consistency_wait() -> Duration {
    Duration::from_secs(10)
}

/// Where one team's stories live; which fields are needed depends on `[tracker] kind`
/// (`config check` names the missing ones).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Jira: project key of the team's stories (required with `kind = "jira"`).
    pub jira_project: Option<String>,
    /// Jira: optional component set on the team's stories.
    pub component: Option<String>,
    /// GitHub Projects: `owner/name` of the repository the team's stories (sub-issues) go
    /// to (required with `kind = "github-projects"`).
    pub repo: Option<String>,
}

/// Which tracker holds the epics and stories.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum TrackerKind {
    /// Jira Cloud or Data Center (`[jira]`). The default.
    #[default]
    Jira,
    /// GitHub Projects (v2) with sub-issues.
    GithubProjects,
}

impl TryFrom<String> for TrackerKind {
    type Error = String;
    fn try_from(v: String) -> Result<Self, Self::Error> {
        match v.trim() {
            "jira" => Ok(Self::Jira),
            "github-projects" => Ok(Self::GithubProjects),
            other => Err(format!(
                "must be \"jira\" (the default) or \"github-projects\", not {other:?}"
            )),
        }
    }
}

impl TrackerKind {
    /// The value as written in `[tracker] kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jira => "jira",
            Self::GithubProjects => "github-projects",
        }
    }
}

/// `[tracker]`: which tracker the daemon builds at start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// `jira` (default) or `github-projects`.
    pub kind: TrackerKind,
}

/// Label names; every one can be renamed to fit an existing repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelsConfig {
    /// Marks an issue as an SRE concern. Default `sre-concern`.
    pub concern: String,
    /// A question is unanswered. Default `needs-info`.
    pub needs_info: String,
    /// Complete and on the next agenda. Default `ready-for-council`.
    pub ready: String,
    /// Accepted by a council member. Default `council/accepted`.
    pub accepted: String,
    /// Rejected by a council member. Default `council/rejected`.
    pub rejected: String,
    /// Second decision in two-step mode. Default `council/vetted`.
    pub vetted: String,
    /// A team started its story. Default `council/in-progress`.
    pub in_progress: String,
    /// Every story is done. Default `council/done`.
    pub done: String,
    /// Before/after figures asked for. Default `council/results-requested`.
    pub results_requested: String,
    /// Figures presented to the council. Default `council/results-presented`.
    pub results_presented: String,
    /// Not the council's job: routed to where it belongs (`[routing]`), closed as not
    /// planned. Applied by the daemon for an out-of-scope kind chosen on the form, or by a
    /// council member. Default `council/out-of-scope`.
    pub out_of_scope: String,
}

impl LabelsConfig {
    /// Every label with its key under `[labels]`, in declaration order, so checks and the
    /// label bootstrap can walk them all without forgetting one.
    pub fn all(&self) -> [(&'static str, &str); 11] {
        [
            ("concern", &self.concern),
            ("needs_info", &self.needs_info),
            ("ready", &self.ready),
            ("accepted", &self.accepted),
            ("rejected", &self.rejected),
            ("vetted", &self.vetted),
            ("in_progress", &self.in_progress),
            ("done", &self.done),
            ("results_requested", &self.results_requested),
            ("results_presented", &self.results_presented),
            ("out_of_scope", &self.out_of_scope),
        ]
    }
}

impl Default for LabelsConfig {
    fn default() -> Self {
        Self {
            concern: "sre-concern".into(),
            needs_info: "needs-info".into(),
            ready: "ready-for-council".into(),
            accepted: "council/accepted".into(),
            rejected: "council/rejected".into(),
            vetted: "council/vetted".into(),
            in_progress: "council/in-progress".into(),
            done: "council/done".into(),
            results_requested: "council/results-requested".into(),
            results_presented: "council/results-presented".into(),
            out_of_scope: "council/out-of-scope".into(),
        }
    }
}

/// What counts as an answer to one of the three questions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CriteriaConfig {
    /// Answers shorter than this many characters (after trimming) count as missing. Default 20.
    pub min_answer_chars: usize,
    /// Answers equal to one of these (case-insensitive, trimmed, trailing punctuation ignored)
    /// count as missing.
    pub placeholders: Vec<String>,
    /// Path of the issue form to read field labels from; default: the shipped form.
    pub issue_form: Option<PathBuf>,
}

impl Default for CriteriaConfig {
    fn default() -> Self {
        Self {
            min_answer_chars: 20,
            placeholders: [
                "n/a",
                "na",
                "tbd",
                "todo",
                "none",
                "-",
                "...",
                "?",
                "see above",
                "later",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            issue_form: None,
        }
    }
}

/// Durable state.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (default `sqlite://council-sync.db`) or `postgres://…`.
    pub url: String,
    /// How long a query waits for a free connection of a store pool (and, on PostgreSQL,
    /// for a connect that keeps failing) before it fails naming the pool. Default 5 s
    /// ([`crate::store::DEFAULT_ACQUIRE_TIMEOUT`]): a webhook then still gets its 503 inside
    /// GitHub's 10 s delivery timeout while the database is unreachable. Raise it on a
    /// machine so loaded that opening the store's connections takes longer.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://council-sync.db".into(),
            acquire_timeout: crate::store::DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

impl StoreConfig {
    /// The pool options these settings give.
    pub fn options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            acquire_timeout: self.acquire_timeout,
        }
    }
}

/// The webhook receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// How long shutdown (SIGTERM) lets in-flight work finish before it cuts the calls
    /// still running; a write cut off is resolved after the restart like any write whose
    /// outcome is unknown. Default 10s: well inside Kubernetes' 30 s grace period.
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
    /// The URL GitHub and Jira reach this daemon at (e.g. `https://council.example.com`,
    /// behind a proxy or ingress). `setup` registers `{public_url}/webhooks/github` and the
    /// Jira webhook there, and `doctor` checks that the webhooks point there. Default: none
    /// (then `doctor` accepts any webhook ending in `/webhooks/github` and `setup` prints
    /// the registration as a step for a person).
    pub public_url: Option<String>,
    /// `[server.board]`: the council board on its own listener; absent: no board.
    pub board: Option<BoardConfig>,
}

/// Default of `server.drain`.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            drain: DEFAULT_DRAIN,
            public_url: None,
            board: None,
        }
    }
}

/// How the council works.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CouncilConfig {
    /// Two-step mode: the epic on `accepted`, stories only after a second `vetted` decision.
    pub two_step: bool,
}

/// Retries of outgoing calls (GitHub and Jira).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per call, the first included. Default 6.
    pub attempts: u32,
    /// First backoff; doubles each attempt, with jitter. Default 500ms.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Upper bound of one wait, `Retry-After` included. Default 60s.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Attempts of one outbox job that may end with the process gone (killed, crashed,
    /// aborted) before the job is parked with its reason, shown in the tracking comment and
    /// `/status`, and retried only when the issue's title or body changes. Default 3.
    pub interrupted_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            interrupted_attempts: 3,
        }
    }
}

/// The embedded sandbox standing in for GitHub and Jira.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Start the sandbox inside the daemon and point `github.api_url` and `jira.base_url` at it.
    pub embedded: bool,
    /// Where the sandbox listens. Default `127.0.0.1:0` (any free port).
    pub listen: SocketAddr,
    /// Logins seeded as active members of the council team in the sandbox.
    pub council_members: Vec<String>,
    /// How long the sandbox's Jira search trails the issues, as Jira Cloud's index does
    /// (`/search/jql` and v2 `/search`; `reconcileIssues` ids are exempt). Default 0: none.
    #[serde(with = "humantime_serde")]
    pub jira_search_lag: Duration,
    /// Where the embedded sandbox and the daemon's store persist together between runs:
    /// the sandbox's GitHub and Jira state in `sandbox.json` (saved on every change and at
    /// shutdown), the store in `council-sync.db` (`store.url` is then not used). Unset
    /// (the default): both start empty on every `run` and are removed when it ends.
    pub state_dir: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            embedded: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            council_members: Vec::new(),
            jira_search_lag: Duration::ZERO,
            state_dir: None,
        }
    }
}

fn default_github_api_url() -> String {
    "https://api.github.com".into()
}
fn default_epic_type() -> String {
    "Epic".into()
}
fn default_story_type() -> String {
    "Story".into()
}
fn default_sprint_field() -> String {
    "customfield_10020".into()
}

fn default_epic_link() -> EpicLink {
    EpicLink::Parent
}

/// Where a story stands (neutral; each tracker maps its own statuses onto it).
pub use crate::tracker::Progress;

/// Which side owns a field when both changed: the owner's value wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// The GitHub issue.
    Github,
    /// The tracker (Jira).
    Tracker,
}

/// Owners of the synced fields. Defaults: the tracker owns status and sprint (teams plan
/// and work there), GitHub owns the title and the three answers (the concern is written
/// there), and the assignee of the epic follows GitHub.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldOwners {
    pub status: Owner,
    pub sprint: Owner,
    pub title: Owner,
    pub answers: Owner,
    pub assignee: Owner,
}

impl Default for FieldOwners {
    fn default() -> Self {
        Self {
            status: Owner::Tracker,
            sprint: Owner::Tracker,
            title: Owner::Github,
            answers: Owner::Github,
            assignee: Owner::Github,
        }
    }
}

/// The two-way sync after the stories exist.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Tracker status category (`new`, `indeterminate`, `done`) → progress. Default: new →
    /// todo, indeterminate → in_progress, done → done.
    pub status_categories: BTreeMap<String, Progress>,
    /// Status name → progress, overriding the category (e.g. `"In Review" = "in_progress"`).
    /// Names compare case-insensitively.
    pub statuses: BTreeMap<String, Progress>,
    /// When every story is done, move the epic to this status; empty: leave the epic alone.
    /// Default `Done`.
    pub epic_done_status: String,
    /// Closing the GitHub issue as not planned moves the epic and the open stories here.
    /// Default `Won't Do`; the workflow must have it (or use `Done`).
    pub not_planned_status: String,
    /// Reopening the GitHub issue moves them back here. Default `To Do`.
    pub reopen_status: String,
    /// Ask for before/after figures when every story is done. Default true.
    pub request_results: bool,
    /// How often to ask Jira for issues updated since the last look (JQL `updated >=`), so
    /// nothing is missed when webhooks are lost. Default 1m.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How often to ask GitHub what changed since the last look (the issues list with
    /// `since`) and repair what the changes show. Default 15m.
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
    /// How often to read every concern issue and every tracker item in pages of 100 and
    /// repair whatever the cursors missed (the full sweep). Never at start: the first one
    /// runs this long after the first start. Default 1d.
    #[serde(with = "humantime_serde")]
    pub full_sweep_interval: Duration,
    /// Field owners.
    pub owners: FieldOwners,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            status_categories: [
                ("new".to_owned(), Progress::Todo),
                ("indeterminate".to_owned(), Progress::InProgress),
                ("done".to_owned(), Progress::Done),
            ]
            .into_iter()
            .collect(),
            statuses: BTreeMap::new(),
            epic_done_status: "Done".into(),
            not_planned_status: "Won't Do".into(),
            reopen_status: "To Do".into(),
            request_results: true,
            poll_interval: Duration::from_secs(60),
            reconcile_interval: Duration::from_secs(15 * 60),
            full_sweep_interval: Duration::from_secs(24 * 3600),
            owners: FieldOwners::default(),
        }
    }
}
