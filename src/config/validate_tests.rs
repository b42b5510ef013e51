//! Every problem kind, table-driven: a valid configuration, one change, and the exact list of
//! (key, severity) that validation must report for it.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::*;
use crate::config::{Progress, SandboxConfig, Severity, TrackerKind};

const VALID: &str = r#"
[github]
token = "ghp_test"
webhook_secret = "whsec_test"
repos = ["acme/platform-concerns", "acme/payments-api"]
council = "acme/sre-council"

[jira]
base_url = "https://acme.atlassian.net"
api_version = 3
epic_project = "SRE"
auth = { type = "basic", email = "council-sync@example.com", token = "jira_test" }

[teams]
payments = { jira_project = "PAY" }
platform = { jira_project = "PLAT", component = "Kubernetes" }
data = { jira_project = "DATA" }
identity = { jira_project = "IDN" }
networking = { jira_project = "NET" }
"#;

fn form() -> IssueForm {
    IssueForm {
        team_options: ["payments", "platform", "data", "identity", "networking"]
            .into_iter()
            .map(String::from)
            .collect(),
        ..IssueForm::shipped()
    }
}

fn valid() -> Config {
    let mut config = Config::from_toml_str(VALID, Vec::new()).expect("the valid base loads");
    // The base writes its secrets inline for brevity; their warning has its own test.
    config.plaintext_secrets.clear();
    config
}

/// Every secret written in the file draws a warning naming its environment variable; the
/// same secrets from the environment draw none.
#[test]
fn secrets_written_in_the_file_are_warned_about() {
    let config = Config::from_toml_str(VALID, Vec::new()).expect("loads");
    let warned: Vec<String> = config
        .validate(&form())
        .into_iter()
        .filter(|p| p.severity == Severity::Warning && p.reason.contains("plain text"))
        .map(|p| p.key)
        .collect();
    assert!(!warned.is_empty());
    for key in &warned {
        assert!(
            key.ends_with("token") || key.ends_with("secret"),
            "{key}: {warned:?}"
        );
    }
    for key in ["github.token", "github.webhook_secret", "jira.auth.token"] {
        assert!(warned.contains(&key.to_owned()), "{key}: {warned:?}");
    }
    let stripped = VALID
        .replace("token = \"ghp_test\"\n", "")
        .replace("webhook_secret = \"whsec_test\"\n", "")
        .replace(", token = \"jira_test\"", "");
    let env = [
        ("COUNCIL_GITHUB__TOKEN", "ghp_test"),
        ("COUNCIL_GITHUB__WEBHOOK_SECRET", "whsec_test"),
        ("COUNCIL_JIRA__AUTH__TOKEN", "jira_test"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let config = Config::from_toml_str(&stripped, env).expect("loads from env");
    assert!(
        config.plaintext_secrets.is_empty(),
        "{:?}",
        config.plaintext_secrets
    );
}

fn secret(s: &str) -> Option<SecretString> {
    Some(SecretString::from(s.to_owned()))
}

fn no_secrets(c: &mut Config) {
    c.github.token = None;
    c.github.webhook_secret = None;
    if let JiraAuth::Basic { token, .. } = &mut c.jira_mut().auth {
        *token = None;
    }
}

fn embedded_sandbox(members: &[&str]) -> Option<SandboxConfig> {
    Some(SandboxConfig {
        council_members: members.iter().map(|m| (*m).to_owned()).collect(),
        ..SandboxConfig::default()
    })
}

fn data_center(c: &mut Config) {
    c.jira_mut().api_version = JiraApiVersion::V2;
    c.jira_mut().epic_link = EpicLink::CustomField {
        epic_link_field: "customfield_10008".into(),
        epic_name_field: "customfield_10011".into(),
    };
}

type Case = (
    &'static str,
    fn(&mut Config),
    &'static [(&'static str, Severity)],
);

/// `[github_projects]` owned by `owner` with its defaults.
fn projects_section(owner: &str) -> crate::tracker::github_projects::GithubProjectsSettings {
    Config::from_toml_str(
        &format!("{VALID}\n[github_projects]\nowner = \"{owner}\"\nnumber = 7\n"),
        Vec::new(),
    )
    .expect("loads")
    .github_projects
    .expect("the section")
}

/// The valid base moved to GitHub Projects: no Jira, each team a repository of `owner`.
fn github_projects(c: &mut Config, owner: &str) {
    c.tracker.kind = TrackerKind::GithubProjects;
    c.jira = None;
    c.github_projects = Some(projects_section(owner));
    c.sync.not_planned_status = "Not planned".into();
    c.sync.reopen_status = "Todo".into();
    for (name, t) in &mut c.teams {
        t.jira_project = None;
        t.component = None;
        t.repo = Some(format!("{owner}/{name}"));
    }
}

const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;

const CASES: &[Case] = &[
    ("valid base", |_| {}, &[]),
    (
        "jira tracker without [jira]",
        |c| c.jira = None,
        &[("jira", E)],
    ),
    (
        "jira tracker, a team without its project",
        |c| {
            if let Some(t) = c.teams.get_mut("data") {
                t.jira_project = None;
            }
        },
        &[("teams.data.jira_project", E)],
    ),
    (
        "jira tracker, a team with a repository",
        |c| {
            if let Some(t) = c.teams.get_mut("data") {
                t.repo = Some("acme/data".into());
            }
        },
        &[("teams.data.repo", W)],
    ),
    (
        "github-projects without [github_projects], Jira fields named as ignored",
        |c| {
            c.tracker.kind = TrackerKind::GithubProjects;
            for (name, t) in &mut c.teams {
                t.repo = Some(format!("acme/{name}"));
            }
        },
        &[
            ("github_projects", E),
            ("jira", W),
            ("teams.data.jira_project", W),
            ("teams.identity.jira_project", W),
            ("teams.networking.jira_project", W),
            ("teams.payments.jira_project", W),
            ("teams.platform.jira_project", W),
            ("teams.platform.component", W),
        ],
    ),
    (
        "github-projects, complete: no problem",
        |c| github_projects(c, "acme"),
        &[],
    ),
    (
        "github-projects teams need owner/name repositories",
        |c| {
            github_projects(c, "acme");
            if let Some(t) = c.teams.get_mut("data") {
                t.repo = Some("data".into());
            }
            if let Some(t) = c.teams.get_mut("identity") {
                t.repo = None;
            }
        },
        &[("teams.data.repo", E), ("teams.identity.repo", E)],
    ),
    (
        "github-projects: parent and sub-issue must share an owner",
        |c| {
            github_projects(c, "acme");
            if let Some(t) = c.teams.get_mut("data") {
                t.repo = Some("globex/data".into());
            }
            c.github.repos[1] = "initech/payments-api".into();
        },
        &[("teams.data.repo", E), ("github.repos[1]", E)],
    ),
    (
        "github-projects: empty names and one option for two statuses",
        |c| {
            github_projects(c, "acme");
            if let Some(g) = c.github_projects.as_mut() {
                g.number = 0;
                g.iteration_field = " ".into();
                g.in_progress_status = "todo".into();
            }
        },
        &[
            ("github_projects.number", E),
            ("github_projects.iteration_field", E),
            ("github_projects.in_progress_status", E),
        ],
    ),
    (
        "github-projects: [sync] statuses must be the project's Status options",
        |c| {
            github_projects(c, "acme");
            c.sync.not_planned_status = "Won't Do".into();
            c.sync.reopen_status = "To Do".into();
        },
        &[("sync.not_planned_status", E), ("sync.reopen_status", E)],
    ),
    (
        "github-projects needs no [users]: a map is named as ignored",
        |c| {
            github_projects(c, "acme");
            c.users.insert("alice".into(), "557058:alice".into());
        },
        &[("users", W)],
    ),
    (
        "jira with a [github_projects] section",
        |c| {
            c.github_projects = Some(projects_section("acme"));
        },
        &[("github_projects", W)],
    ),
    (
        "repo not owner/name",
        |c| c.github.repos[1] = "payments-api".into(),
        &[("github.repos[1]", E)],
    ),
    (
        "no repos",
        |c| c.github.repos.clear(),
        &[("github.repos", E)],
    ),
    (
        "duplicate repo",
        |c| c.github.repos[1] = "ACME/platform-concerns".into(),
        &[("github.repos[1]", E)],
    ),
    (
        "council team not org/slug",
        |c| c.github.council = CouncilMembers::Team("sre-council".into()),
        &[("github.council", E)],
    ),
    (
        "council team with capitals",
        |c| c.github.council = CouncilMembers::Team("acme/SRE Council".into()),
        &[("github.council", E)],
    ),
    (
        "council empty login list",
        |c| c.github.council = CouncilMembers::Logins(vec![]),
        &[("github.council", E)],
    ),
    (
        "council bad login",
        |c| c.github.council = CouncilMembers::Logins(vec!["carol".into(), "dave smith".into()]),
        &[("github.council[1]", E)],
    ),
    (
        "council duplicate login",
        |c| c.github.council = CouncilMembers::Logins(vec!["carol".into(), "Carol".into()]),
        &[("github.council[1]", E)],
    ),
    (
        "bot login invalid",
        |c| c.github.bot_login = Some("council sync".into()),
        &[("github.bot_login", E)],
    ),
    (
        "bot login of an app is fine",
        |c| c.github.bot_login = Some("council-sync[bot]".into()),
        &[],
    ),
    (
        "api_url not a URL",
        |c| c.github.api_url = "api.github.com".into(),
        &[("github.api_url", E)],
    ),
    (
        "api_url not http(s)",
        |c| c.github.api_url = "ftp://api.github.com".into(),
        &[("github.api_url", E)],
    ),
    (
        "api_url plain http to another host",
        |c| c.github.api_url = "http://ghe.acme.internal/api/v3".into(),
        &[("github.api_url", W)],
    ),
    (
        "base_url not http(s)",
        |c| c.jira_mut().base_url = "jira.acme.com".into(),
        &[("jira.base_url", E)],
    ),
    (
        "base_url with REST path",
        |c| c.jira_mut().base_url = "https://acme.atlassian.net/rest/api/3".into(),
        &[("jira.base_url", E)],
    ),
    (
        "Data Center with parent link",
        |c| c.jira_mut().api_version = JiraApiVersion::V2,
        &[("jira.epic_link", E)],
    ),
    ("Data Center with custom fields", data_center, &[]),
    (
        "Cloud with Epic Link custom field",
        |c| {
            data_center(c);
            c.jira_mut().api_version = JiraApiVersion::V3;
        },
        &[("jira.epic_link", W)],
    ),
    (
        "custom field ids malformed",
        |c| {
            data_center(c);
            c.jira_mut().epic_link = EpicLink::CustomField {
                epic_link_field: "Epic Link".into(),
                epic_name_field: "customfield_".into(),
            };
        },
        &[
            ("jira.epic_link.epic_link_field", E),
            ("jira.epic_link.epic_name_field", E),
        ],
    ),
    (
        "Cloud with bearer auth",
        |c| {
            c.jira_mut().auth = JiraAuth::Bearer {
                token: secret("t"),
                token_file: None,
            }
        },
        &[("jira.auth.type", W)],
    ),
    (
        "basic auth without email",
        |c| {
            if let JiraAuth::Basic { email, .. } = &mut c.jira_mut().auth {
                email.clear();
            }
        },
        &[("jira.auth.email", E)],
    ),
    (
        "epic project not a key",
        |c| c.jira_mut().epic_project = "sre".into(),
        &[("jira.epic_project", E)],
    ),
    (
        "team project not a key",
        |c| {
            if let Some(t) = c.teams.get_mut("payments") {
                t.jira_project = Some("PAY-1".into());
            }
        },
        &[("teams.payments.jira_project", E)],
    ),
    (
        "store acquire timeout of zero",
        |c| c.store.acquire_timeout = std::time::Duration::ZERO,
        &[("store.acquire_timeout", E)],
    ),
    (
        "store acquire timeout past GitHub's delivery timeout",
        |c| c.store.acquire_timeout = std::time::Duration::from_secs(30),
        &[("store.acquire_timeout", W)],
    ),
    (
        "issue types empty",
        |c| {
            c.jira_mut().epic_issue_type = " ".into();
            c.jira_mut().story_issue_type = String::new();
        },
        &[("jira.epic_issue_type", E), ("jira.story_issue_type", E)],
    ),
    (
        "no teams",
        |c| c.teams.clear(),
        &[
            ("teams", E),
            ("teams.payments", E),
            ("teams.platform", E),
            ("teams.data", E),
            ("teams.identity", E),
            ("teams.networking", E),
        ],
    ),
    (
        "form option missing from teams",
        |c| {
            c.teams.remove("data");
        },
        &[("teams.data", E)],
    ),
    (
        "team not in the form",
        |c| {
            c.teams.insert(
                "billing".into(),
                TeamConfig {
                    jira_project: Some("BILL".into()),
                    ..TeamConfig::default()
                },
            );
        },
        &[("teams.billing", E)],
    ),
    (
        "team differs from form option in case",
        |c| {
            if let Some(t) = c.teams.remove("payments") {
                c.teams.insert("Payments".into(), t);
            }
        },
        &[("teams.Payments", E), ("teams.payments", E)],
    ),
    (
        "empty component",
        |c| {
            if let Some(t) = c.teams.get_mut("data") {
                t.component = Some(String::new());
            }
        },
        &[("teams.data.component", E)],
    ),
    (
        "empty label",
        |c| c.labels.ready = String::new(),
        &[("labels.ready", E)],
    ),
    (
        "duplicate label ignoring case",
        |c| c.labels.accepted = "COUNCIL/REJECTED".into(),
        &[("labels.rejected", E)],
    ),
    (
        "label too long for GitHub",
        |c| c.labels.done = "d".repeat(51),
        &[("labels.done", E)],
    ),
    (
        "min answer chars zero",
        |c| c.criteria.min_answer_chars = 0,
        &[("criteria.min_answer_chars", E)],
    ),
    (
        "min answer chars absurd",
        |c| c.criteria.min_answer_chars = 5000,
        &[("criteria.min_answer_chars", E)],
    ),
    (
        "empty placeholder",
        |c| c.criteria.placeholders.push(" ".into()),
        &[("criteria.placeholders[10]", E)],
    ),
    (
        "issue form file missing",
        |c| c.criteria.issue_form = Some(PathBuf::from("/nonexistent/form.yml")),
        &[("criteria.issue_form", E)],
    ),
    (
        "store url mysql",
        |c| c.store.url = "mysql://db/council".into(),
        &[("store.url", E)],
    ),
    (
        "store url sqlite without file",
        |c| c.store.url = "sqlite://".into(),
        &[("store.url", E)],
    ),
    (
        "store url postgres",
        |c| c.store.url = "postgres://council@db/council".into(),
        &[],
    ),
    (
        "token inline and as file",
        |c| c.github.token_file = Some(PathBuf::from("/run/secrets/gh")),
        &[("github.token", E)],
    ),
    (
        "no secrets at all",
        no_secrets,
        &[
            ("github.token", E),
            ("github.webhook_secret", E),
            ("jira.auth.token", E),
        ],
    ),
    (
        "no secrets with the embedded sandbox",
        |c| {
            no_secrets(c);
            c.sandbox = embedded_sandbox(&["carol", "dave"]);
        },
        &[],
    ),
    (
        "sandbox section but not embedded still needs secrets",
        |c| {
            no_secrets(c);
            c.sandbox = embedded_sandbox(&["carol"]);
            if let Some(s) = &mut c.sandbox {
                s.embedded = false;
            }
        },
        &[
            ("github.token", E),
            ("github.webhook_secret", E),
            ("jira.auth.token", E),
        ],
    ),
    (
        "token file unreadable",
        |c| {
            c.jira_mut().auth = JiraAuth::Basic {
                email: "council-sync@example.com".into(),
                token: None,
                token_file: Some(PathBuf::from("/nonexistent/jira-token")),
            };
        },
        &[("jira.auth.token_file", E)],
    ),
    (
        "retry attempts zero",
        |c| c.retry.attempts = 0,
        &[("retry.attempts", E)],
    ),
    (
        "initial backoff above max",
        |c| c.retry.initial_backoff = Duration::from_secs(120),
        &[("retry.initial_backoff", E)],
    ),
    (
        "embedded sandbox without council members",
        |c| c.sandbox = embedded_sandbox(&[]),
        &[("sandbox.council_members", E)],
    ),
    (
        "embedded sandbox with a bad member",
        |c| c.sandbox = embedded_sandbox(&["carol", "not ok"]),
        &[("sandbox.council_members[1]", E)],
    ),
    (
        "sandbox on the server's port",
        |c| {
            c.sandbox = embedded_sandbox(&["carol"]);
            if let Some(s) = &mut c.sandbox {
                s.listen = c.server.listen;
            }
        },
        &[("sandbox.listen", E)],
    ),
    (
        "sync status category that Jira lacks",
        |c| {
            c.sync
                .status_categories
                .insert("in_progress".into(), Progress::InProgress);
        },
        &[("sync.status_categories.in_progress", E)],
    ),
    (
        "sync status override by name",
        |c| {
            c.sync
                .statuses
                .insert("In Review".into(), Progress::InProgress);
        },
        &[],
    ),
    (
        "sync blank status name",
        |c| {
            c.sync.statuses.insert("  ".into(), Progress::Done);
        },
        &[("sync.statuses.\"  \"", E)],
    ),
    (
        "sync status name with spaces around",
        |c| {
            c.sync.statuses.insert(" Won't Do".into(), Progress::Done);
        },
        &[("sync.statuses.\" Won't Do\"", E)],
    ),
    (
        "sync status listed twice ignoring case",
        |c| {
            c.sync
                .statuses
                .insert("In Review".into(), Progress::InProgress);
            c.sync.statuses.insert("in review".into(), Progress::Done);
        },
        &[("sync.statuses.\"in review\"", E)],
    ),
    (
        "epic done status empty turns it off",
        |c| c.sync.epic_done_status = String::new(),
        &[],
    ),
    (
        "epic done status blank",
        |c| c.sync.epic_done_status = "  ".into(),
        &[("sync.epic_done_status", E)],
    ),
    (
        "not planned and reopen statuses empty",
        |c| {
            c.sync.not_planned_status = " ".into();
            c.sync.reopen_status = String::new();
        },
        &[("sync.not_planned_status", E), ("sync.reopen_status", E)],
    ),
    (
        "sync intervals below a second",
        |c| {
            c.sync.poll_interval = Duration::from_millis(500);
            c.sync.reconcile_interval = Duration::ZERO;
        },
        &[("sync.poll_interval", E), ("sync.reconcile_interval", E)],
    ),
    (
        "sync intervals of exactly a second",
        |c| {
            c.sync.poll_interval = Duration::from_secs(1);
            c.sync.reconcile_interval = Duration::from_secs(1);
        },
        &[],
    ),
    (
        "users map",
        |c| {
            c.users
                .insert("carol".into(), "557058:f58131cb-b67d".into());
            c.users.insert("dave-ops".into(), "dave".into());
        },
        &[],
    ),
    (
        "users bad login",
        |c| {
            c.users.insert("dave smith".into(), "dave".into());
        },
        &[("users.\"dave smith\"", E)],
    ),
    (
        "users empty account",
        |c| {
            c.users.insert("carol".into(), " ".into());
        },
        &[("users.carol", E)],
    ),
    (
        "users login twice ignoring case",
        |c| {
            c.users.insert("Carol".into(), "557058:a".into());
            c.users.insert("carol".into(), "557058:b".into());
        },
        &[("users.carol", E)],
    ),
    (
        "sprint field not a custom field id",
        |c| c.jira_mut().sprint_field = "Sprint".into(),
        &[("jira.sprint_field", E)],
    ),
    (
        "sprint field of a Data Center site",
        |c| c.jira_mut().sprint_field = "customfield_10104".into(),
        &[],
    ),
    (
        "Cloud with a webhook secret",
        |c| c.jira_mut().webhook_secret = secret("jira-whsec"),
        &[],
    ),
    (
        "jira webhook secret inline and as file",
        |c| {
            c.jira_mut().webhook_secret = secret("jira-whsec");
            c.jira_mut().webhook_secret_file = Some(PathBuf::from("/run/secrets/jira-whsec"));
        },
        &[("jira.webhook_secret", E)],
    ),
    (
        "jira webhook secret blank",
        |c| c.jira_mut().webhook_secret = secret(" "),
        &[("jira.webhook_secret", E)],
    ),
    (
        "jira webhook token inline and as file",
        |c| {
            c.jira_mut().webhook_token = secret(LONG_TOKEN);
            c.jira_mut().webhook_token_file = Some(PathBuf::from("/run/secrets/jira-token"));
        },
        &[("jira.webhook_token", E)],
    ),
    (
        "jira webhook token file unreadable",
        |c| c.jira_mut().webhook_token_file = Some(PathBuf::from("/nonexistent/jira-token")),
        &[("jira.webhook_token_file", E)],
    ),
    (
        "Data Center with a webhook secret but no token",
        |c| {
            data_center(c);
            c.jira_mut().webhook_secret = secret("jira-whsec");
        },
        &[("jira.webhook_secret", W)],
    ),
    (
        "Data Center with a webhook token",
        |c| {
            data_center(c);
            c.jira_mut().webhook_token = secret(LONG_TOKEN);
        },
        &[],
    ),
    (
        "Data Center with secret and token",
        |c| {
            data_center(c);
            c.jira_mut().webhook_secret = secret("jira-whsec");
            c.jira_mut().webhook_token = secret(LONG_TOKEN);
        },
        &[],
    ),
    (
        "webhook token not URL-safe",
        |c| c.jira_mut().webhook_token = secret("a/b+c=d?e#f%g-0123456789abcdef0123456789"),
        &[("jira.webhook_token", E)],
    ),
    (
        "webhook token short",
        |c| c.jira_mut().webhook_token = secret("hunter2"),
        &[("jira.webhook_token", W)],
    ),
];

/// 64 hex digits, as `openssl rand -hex 32` makes.
const LONG_TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn each_problem_kind_is_reported_on_its_key() {
    let mut failures = Vec::new();
    for (name, change, expected) in CASES {
        let mut config = valid();
        change(&mut config);
        let got: Vec<(String, Severity)> = config
            .validate(&form())
            .into_iter()
            .map(|p| (p.key, p.severity))
            .collect();
        let want: Vec<(String, Severity)> = expected
            .iter()
            .map(|(k, s)| ((*k).to_owned(), *s))
            .collect();
        if got != want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_problem_is_collected_at_once() {
    let mut config = valid();
    config.github.repos = vec!["nope".into()];
    config.jira_mut().epic_project = "sre".into();
    config.retry.attempts = 0;
    config.labels.vetted = String::new();
    let keys: Vec<String> = config
        .validate(&form())
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(
        keys,
        [
            "github.repos[0]",
            "jira.epic_project",
            "labels.vetted",
            "retry.attempts"
        ]
    );
}

#[test]
fn reasons_say_what_to_do() {
    let mut config = valid();
    config.jira_mut().epic_project = "sre".into();
    config.teams.remove("data");
    if let Some(t) = config.teams.remove("payments") {
        config.teams.insert("Payments".into(), t);
    }
    no_secrets(&mut config);
    let problems = config.validate(&form());
    let reason = |key: &str| {
        problems
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| panic!("no problem for {key}: {problems:?}"))
    };
    assert!(reason("jira.epic_project").contains("did you mean \"SRE\""));
    assert!(reason("teams.data").contains("add [teams.\"data\"]"));
    assert!(reason("teams.Payments").contains("the form says \"payments\""));
    assert!(reason("github.token").contains("COUNCIL_GITHUB__TOKEN"));
    assert!(reason("github.token").contains("github.token_file"));
}

#[test]
fn problems_never_contain_secret_values() {
    let mut config = valid();
    config.github.token_file = Some(PathBuf::from("/nonexistent/gh"));
    config.github.webhook_secret = secret("   ");
    let rendered = crate::config::render_problems(&config.validate(&form()));
    assert!(!rendered.contains("ghp_test"), "{rendered}");
    assert!(rendered.contains("github.token:"), "{rendered}");
    assert!(
        rendered.contains("github.webhook_secret: is empty"),
        "{rendered}"
    );
}

#[test]
fn webhook_problems_never_contain_the_secret_or_token() {
    let mut config = valid();
    data_center(&mut config);
    config.jira_mut().webhook_secret = secret("jira-whsec-value");
    config.jira_mut().webhook_token = secret("tok/with/slashes");
    let problems = config.validate(&form());
    let rendered = crate::config::render_problems(&problems);
    assert!(rendered.contains("jira.webhook_token:"), "{rendered}");
    assert!(!rendered.contains("tok/with"), "{rendered}");
    assert!(!rendered.contains("jira-whsec-value"), "{rendered}");

    let mut config = valid();
    data_center(&mut config);
    config.jira_mut().webhook_secret = secret("jira-whsec-value");
    let problems = config.validate(&form());
    let warning = problems
        .iter()
        .find(|p| p.key == "jira.webhook_secret")
        .expect("warning");
    assert!(
        warning.reason.contains("COUNCIL_JIRA__WEBHOOK_TOKEN"),
        "{warning}"
    );
    assert!(!warning.reason.contains("jira-whsec-value"), "{warning}");
}
