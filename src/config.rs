//! Typed configuration: TOML file plus `COUNCIL_SECTION__KEY` environment overrides.
//!
//! Every section is a plain serde struct with `deny_unknown_fields`, so a typo in a key is
//! reported instead of silently ignored. Secrets are `SecretString`s read from env or from a
//! file and never printed. `validate` collects every problem it finds, each naming the key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

/// The whole configuration of the daemon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub github: GithubConfig,
    pub jira: JiraConfig,
    /// Teams by name, as they appear in the issue form's "Teams involved" options.
    #[serde(default)]
    pub teams: BTreeMap<String, TeamConfig>,
    #[serde(default)]
    pub labels: LabelsConfig,
    #[serde(default)]
    pub criteria: CriteriaConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub council: CouncilConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Present only when the daemon should run against the embedded sandbox.
    pub sandbox: Option<SandboxConfig>,
}

/// Where the GitHub side lives and who may decide.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// REST base URL. Default `https://api.github.com`; GHES: `https://HOST/api/v3`.
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
    /// The daemon's own login, so it can ignore its own writes. Default: asked of `GET /user`.
    pub bot_login: Option<String>,
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
#[serde(try_from = "u8")]
pub enum JiraApiVersion {
    V2,
    V3,
}

impl TryFrom<u8> for JiraApiVersion {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            2 => Ok(Self::V2),
            3 => Ok(Self::V3),
            other => Err(format!(
                "api_version must be 2 (Data Center) or 3 (Cloud), not {other}"
            )),
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
        email: String,
        token: Option<SecretString>,
        token_file: Option<PathBuf>,
    },
    /// Jira Data Center: personal access token (HTTP bearer).
    Bearer {
        token: Option<SecretString>,
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
    pub auth: JiraAuth,
    /// 3 for Cloud, 2 for Data Center.
    pub api_version: JiraApiVersion,
    /// Project key the epics go into.
    pub epic_project: String,
    #[serde(default = "default_epic_type")]
    pub epic_issue_type: String,
    #[serde(default = "default_story_type")]
    pub story_issue_type: String,
    #[serde(default = "default_epic_link")]
    pub epic_link: EpicLink,
}

/// Where one team's stories live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Jira project key of the team's stories.
    pub jira_project: String,
    /// Optional Jira component set on the team's stories.
    pub component: Option<String>,
}

/// Label names; every one can be renamed to fit an existing repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelsConfig {
    pub concern: String,
    pub needs_info: String,
    pub ready: String,
    pub accepted: String,
    pub rejected: String,
    pub vetted: String,
    pub in_progress: String,
    pub done: String,
    pub results_requested: String,
    pub results_presented: String,
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
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://council-sync.db".into(),
        }
    }
}

/// The webhook receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
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
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
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
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            embedded: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            council_members: Vec::new(),
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
fn default_epic_link() -> EpicLink {
    EpicLink::Parent
}

/// A problem with one key of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key, e.g. `jira.api_version`.
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("invalid config:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigProblem>),
}

impl Config {
    /// Reads the file, applies `COUNCIL_SECTION__KEY` env overrides, and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("COUNCIL")
                    .prefix_separator("_")
                    .separator("__"),
            )
            .build()
            .map_err(|e| ConfigError::Read {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let cfg: Config = raw.try_deserialize().map_err(|e| {
            ConfigError::Invalid(vec![ConfigProblem {
                key: "(file)".into(),
                reason: e.to_string(),
            }])
        })?;
        Ok(cfg)
    }
}
