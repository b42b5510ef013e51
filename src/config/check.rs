//! `council-sync config check --config FILE`: load, validate, and say everything that is wrong
//! in one go.
//!
//! The config is judged against the issue form it names (`[criteria] issue_form`), or the
//! shipped form when it names none: a council whose own form offers 50 teams configures
//! 50 `[teams]`.

use std::fmt::Write as _;
use std::path::Path;

use crate::concern::form::IssueForm;

use super::{Config, ConfigProblem, Severity};

/// The key a problem with the issue form itself is reported under.
const FORM_KEY: &str = "criteria.issue_form";

/// One line for `config check` saying what a `run` of `config` really talks to and where its
/// store is: the GitHub API and Jira URLs, or, with `[sandbox] embedded`, the sandbox the
/// daemon starts (it replaces `github.api_url` and `jira.base_url`, and `store.url` too:
/// the store lives with the sandbox's state, see [`super::SandboxConfig::state_dir`]).
pub fn talks_to(config: &Config) -> String {
    if let Some(sb) = config.sandbox.as_ref().filter(|s| s.embedded) {
        let store = match &sb.state_dir {
            Some(dir) => format!(
                "the store and the sandbox's state persist in {}",
                dir.display()
            ),
            None => "the store is a temporary file removed when the run ends".to_owned(),
        };
        return format!(
            "talks to: the embedded sandbox on {} (no real GitHub or Jira: it replaces \
             github.api_url and jira.base_url); {store}",
            sb.listen
        );
    }
    let jira = match (config.tracker.kind, &config.jira) {
        (super::TrackerKind::Jira, Some(j)) => format!("; Jira at {}", j.base_url),
        _ => String::new(),
    };
    format!("talks to: GitHub at {}{jira}", config.github.api_url)
}

/// Loads `path` (with the process environment's `COUNCIL_*` overrides) and validates it
/// against its issue form ([`issue_form`]). `Err` holds every problem, warnings included,
/// when at least one is an error; on `Ok` the warnings are available from
/// `config.validate(&issue_form(&config)?)` (cheap, pure apart from reading files).
pub fn check_file(path: &Path) -> Result<Config, Vec<ConfigProblem>> {
    let config = Config::load(path).map_err(all_problems)?;
    checked(config)
}

/// The issue form `config` is judged and run with: the file `[criteria] issue_form` names,
/// or the shipped form. `Err` is a problem under `criteria.issue_form` (the file cannot be
/// read, or is not a valid GitHub issue form).
pub fn issue_form(config: &Config) -> Result<IssueForm, ConfigProblem> {
    match &config.criteria.issue_form {
        Some(path) => IssueForm::load(path)
            .map_err(|e| ConfigProblem::error(FORM_KEY, format!("{}: {e}", path.display()))),
        None => Ok(IssueForm::shipped()),
    }
}

/// Every problem of `config` judged against its own issue form. When that form cannot be
/// read, the problem with it is reported and nothing that depends on the form (teams,
/// routing kinds) is judged: the shipped form's team list would only add false errors.
fn problems_of(config: &Config) -> Vec<ConfigProblem> {
    match issue_form(config) {
        Ok(form) => config.validate(&form),
        Err(problem) => {
            let form = IssueForm::shipped();
            let mut problems: Vec<ConfigProblem> = config
                .validate(&form)
                .into_iter()
                .filter(|p| !depends_on_form(&p.key))
                .collect();
            if !problems.iter().any(|p| p.key == FORM_KEY) {
                problems.push(problem);
            }
            problems
        }
    }
}

/// Keys whose problems come from comparing with the form's options.
fn depends_on_form(key: &str) -> bool {
    ["teams", "routing"].iter().any(|section| {
        key == *section
            || key
                .strip_prefix(section)
                .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
    })
}

/// A load error's problems, plus the validation problems of what did load.
fn all_problems(e: super::ConfigError) -> Vec<ConfigProblem> {
    match e {
        super::ConfigError::Partial {
            mut problems,
            rest,
            stand_ins,
        } => {
            let judged = |key: &str| {
                !stand_ins.iter().any(|s| {
                    key == s
                        || key
                            .strip_prefix(s.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                })
            };
            problems.extend(problems_of(&rest).into_iter().filter(|p| judged(&p.key)));
            problems
        }
        other => other.into_problems(),
    }
}

/// [`check_file`] with an explicit environment instead of the process's.
pub fn check_file_with_env<I>(path: &Path, env: I) -> Result<Config, Vec<ConfigProblem>>
where
    I: IntoIterator<Item = (String, String)>,
{
    let config = Config::load_with_env(path, env).map_err(all_problems)?;
    checked(config)
}

/// [`check_file`] for `council-sync sandbox`, which serves any token and signs with a
/// secret given through its control API: problems with the secrets (`github.token`,
/// `github.webhook_secret`, `jira.auth.token`, their `*_file` keys…) are not judged, so the
/// product's own config starts the sandbox it is rehearsed on before any secret is exported.
pub fn check_file_for_sandbox(path: &Path) -> Result<Config, Vec<ConfigProblem>> {
    let not_a_secret = |p: &ConfigProblem| {
        let last = p.key.rsplit('.').next().unwrap_or(&p.key);
        !(last.contains("token") || last.contains("secret"))
    };
    let config = Config::load(path).map_err(all_problems)?;
    let problems: Vec<ConfigProblem> = problems_of(&config)
        .into_iter()
        .filter(not_a_secret)
        .collect();
    if problems.iter().any(ConfigProblem::is_error) {
        Err(problems)
    } else {
        Ok(config)
    }
}

/// The warnings of a config that passed [`check_file`]: validated against its own form.
pub fn warnings(config: &Config) -> Vec<ConfigProblem> {
    problems_of(config)
}

fn checked(config: Config) -> Result<Config, Vec<ConfigProblem>> {
    let problems = problems_of(&config);
    if problems.iter().any(ConfigProblem::is_error) {
        Err(problems)
    } else {
        Ok(config)
    }
}

/// One line per problem (`error: KEY: REASON` / `warning: KEY: REASON`), errors first, then a
/// count; what `config check` prints and what [`super::ConfigError`] displays.
pub fn render_problems(problems: &[ConfigProblem]) -> String {
    let mut sorted: Vec<&ConfigProblem> = problems.iter().collect();
    sorted.sort_by_key(|p| p.severity);
    let mut out = String::new();
    for p in &sorted {
        let label = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{label}: {}: {}", p.key, p.reason);
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let _ = write!(
        out,
        "{errors} {}, {warnings} {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    /// The shipped sandbox config talks to the sandbox, never to the placeholder host its
    /// `jira.base_url` keeps valid; a real config talks to its URLs.
    #[test]
    fn what_a_run_talks_to_is_said_as_it_is() {
        let sandbox = super::check_file(std::path::Path::new("config/sandbox.toml"))
            .expect("the shipped sandbox config");
        let line = super::talks_to(&sandbox);
        assert!(
            line.contains("the embedded sandbox on 127.0.0.1:0"),
            "{line}"
        );
        assert!(!line.contains("atlassian"), "{line}");
        let summary = sandbox.tracker_summary();
        assert!(!summary.contains("atlassian"), "{summary}");
        assert!(summary.contains("the embedded sandbox"), "{summary}");
        let mut real = sandbox.clone();
        real.sandbox = None;
        let line = super::talks_to(&real);
        assert!(
            line.contains("GitHub at https://api.github.com; Jira at https://acme.atlassian.net"),
            "{line}"
        );
    }

    use super::*;
    use std::path::PathBuf;

    use crate::config::StoreConfig;

    /// Tokens as an operator would give them: through the environment.
    fn operator_env() -> Vec<(String, String)> {
        [
            ("COUNCIL_GITHUB__TOKEN", "ghp_example"),
            ("COUNCIL_GITHUB__WEBHOOK_SECRET", "whsec_example"),
            ("COUNCIL_JIRA__AUTH__TOKEN", "jira_example"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn example_files() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("config/ directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_example_config_loads_and_validates_cleanly() {
        let files = example_files();
        let names: Vec<String> = files
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect();
        for expected in [
            "github-projects.toml",
            "jira-cloud.toml",
            "jira-datacenter.toml",
            "sandbox.toml",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing: {names:?}"
            );
        }
        for file in &files {
            // An operator of GitHub Projects has no Jira token to give.
            let env: Vec<(String, String)> = operator_env()
                .into_iter()
                .filter(|(k, _)| {
                    !(k.starts_with("COUNCIL_JIRA") && file.ends_with("github-projects.toml"))
                })
                .collect();
            let config = check_file_with_env(file, env)
                .unwrap_or_else(|p| panic!("{}:\n{}", file.display(), render_problems(&p)));
            let warnings = warnings(&config);
            assert!(
                warnings.is_empty(),
                "{}:\n{}",
                file.display(),
                render_problems(&warnings)
            );
        }
    }

    #[test]
    fn sandbox_example_needs_no_secrets() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sandbox.toml");
        let config = check_file_with_env(&path, Vec::new())
            .unwrap_or_else(|p| panic!("{}", render_problems(&p)));
        assert!(config.sandbox_embedded());
        assert_eq!(
            config.jira_section().map(|j| j.epic_project.as_str()),
            Ok("SRE")
        );
        assert_eq!(
            config.teams["identity"].jira_project.as_deref(),
            Some("IDN")
        );
        assert_eq!(config.github.repos, ["acme/platform-concerns"]);
        assert_eq!(
            config.store.url,
            StoreConfig::default().url,
            "paired with the sandbox"
        );
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        let members = config.sandbox.as_ref().map(|s| s.council_members.clone());
        assert_eq!(members, Some(vec!["carol".to_owned(), "dave".to_owned()]));
    }

    #[test]
    fn cloud_example_without_tokens_names_each_missing_secret_and_its_env_var() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/jira-cloud.toml");
        let problems = check_file_with_env(&path, Vec::new()).expect_err("no tokens");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["github.token", "github.webhook_secret", "jira.auth.token"]
        );
        assert!(problems[2].reason.contains("COUNCIL_JIRA__AUTH__TOKEN"));
    }

    #[test]
    fn github_projects_example_builds_its_settings_with_team_repositories() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/github-projects.toml");
        let problems = check_file_with_env(&path, Vec::new()).expect_err("no tokens");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["github.token", "github.webhook_secret"]);
        let env = operator_env()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("COUNCIL_JIRA"));
        let config =
            check_file_with_env(&path, env).unwrap_or_else(|p| panic!("{}", render_problems(&p)));
        let settings = config.github_projects_settings().expect("the section");
        assert_eq!((settings.owner.as_str(), settings.number), ("acme", 7));
        assert_eq!(settings.teams["payments"], "acme/payments");
        assert_eq!(settings.teams.len(), 5);
        let summary = config.tracker_summary();
        assert!(summary.contains("project 7 of acme"), "{summary}");
        assert!(summary.contains("payments → acme/payments"), "{summary}");
    }

    #[test]
    fn missing_file_is_one_problem_naming_the_file() {
        let path = Path::new("/nonexistent/council-sync.toml");
        let problems = check_file_with_env(path, Vec::new()).expect_err("missing");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "/nonexistent/council-sync.toml");
    }

    /// The shipped form with its "Teams involved" options replaced by `teams`.
    fn form_with_teams(teams: &[String]) -> String {
        let shipped = include_str!("../../.github/ISSUE_TEMPLATE/sre-concern.yml");
        let start = shipped
            .find("        - payments")
            .expect("shipped team options");
        let end = shipped
            .find("        - networking\n")
            .expect("last team option")
            + "        - networking\n".len();
        let options: String = teams.iter().map(|t| format!("        - {t}\n")).collect();
        format!("{}{options}{}", &shipped[..start], &shipped[end..])
    }

    /// The sandbox example with `[teams]` replaced by `teams` (one Jira project each) and,
    /// when given, `[criteria] issue_form`.
    fn config_with_teams(teams: &[String], form: Option<&Path>) -> String {
        let example = include_str!("../../config/sandbox.toml");
        let mut text = String::new();
        let mut skipping = false;
        for line in example.lines() {
            if line.starts_with('[') {
                skipping = line.starts_with("[teams.");
            }
            if !skipping {
                text.push_str(line);
                text.push('\n');
            }
        }
        for (i, t) in teams.iter().enumerate() {
            text.push_str(&format!("[teams.{t}]\njira_project = \"T{i}\"\n"));
        }
        if let Some(form) = form {
            text.push_str(&format!(
                "[criteria]\nissue_form = {:?}\n",
                form.display().to_string()
            ));
        }
        text
    }

    #[test]
    fn teams_are_judged_against_the_configured_issue_form_not_the_shipped_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let teams: Vec<String> = (1..=50).map(|i| format!("team-{i:02}")).collect();
        let form = dir.path().join("form.yml");
        std::fs::write(&form, form_with_teams(&teams)).expect("write form");

        // 50 teams, each an option of the council's own form: clean, and run uses that form.
        let with_form = dir.path().join("with-form.toml");
        std::fs::write(&with_form, config_with_teams(&teams, Some(&form))).expect("write");
        let config = check_file_with_env(&with_form, Vec::new())
            .unwrap_or_else(|p| panic!("{}", render_problems(&p)));
        assert_eq!(config.teams.len(), 50);
        assert_eq!(issue_form(&config).expect("form").team_options, teams);
        assert!(warnings(&config).is_empty(), "{:?}", warnings(&config));

        // The same teams without the form: judged against the shipped form, every one named.
        let without = dir.path().join("without-form.toml");
        std::fs::write(&without, config_with_teams(&teams, None)).expect("write");
        let problems = check_file_with_env(&without, Vec::new()).expect_err("not on the form");
        let team_errors = problems
            .iter()
            .filter(|p| p.is_error() && p.key.starts_with("teams.team-"))
            .count();
        assert_eq!(team_errors, 50, "{}", render_problems(&problems));
    }

    #[test]
    fn an_unusable_issue_form_is_one_problem_not_a_wall_of_team_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let teams: Vec<String> = (1..=8).map(|i| format!("team-{i}")).collect();
        for (name, form_text) in [("missing", None), ("not-a-form", Some("name: [unclosed"))] {
            let form = dir.path().join(format!("{name}.yml"));
            if let Some(text) = form_text {
                std::fs::write(&form, text).expect("write form");
            }
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(&path, config_with_teams(&teams, Some(&form))).expect("write");
            let problems = check_file_with_env(&path, Vec::new()).expect_err(name);
            let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
            assert_eq!(keys, [FORM_KEY], "{name}: {}", render_problems(&problems));
        }
    }

    #[test]
    fn render_lists_errors_first_and_counts() {
        let text = render_problems(&[
            ConfigProblem::warning("jira.epic_link", "deprecated"),
            ConfigProblem::error("github.repos[0]", "bad"),
        ]);
        assert_eq!(
            text,
            "error: github.repos[0]: bad\nwarning: jira.epic_link: deprecated\n1 error, 1 warning"
        );
    }
}
