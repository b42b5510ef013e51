//! `council-sync config check --config FILE`: load, validate, and say everything that is wrong
//! in one go.

use std::fmt::Write as _;
use std::path::Path;

use crate::concern::form::IssueForm;

use super::{Config, ConfigProblem, Severity};

/// Loads `path` (with the process environment's `COUNCIL_*` overrides) and validates it.
/// `Err` holds every problem, warnings included, when at least one is an error; on `Ok` the
/// warnings are available from `config.validate(form)` (cheap, pure apart from reading token
/// files).
pub fn check_file(path: &Path, form: &IssueForm) -> Result<Config, Vec<ConfigProblem>> {
    let config = Config::load(path).map_err(|e| all_problems(e, form))?;
    checked(config, form)
}

/// A load error's problems, plus the validation problems of what did load.
fn all_problems(e: super::ConfigError, form: &IssueForm) -> Vec<ConfigProblem> {
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
            problems.extend(rest.validate(form).into_iter().filter(|p| judged(&p.key)));
            problems
        }
        other => other.into_problems(),
    }
}

/// [`check_file`] with an explicit environment instead of the process's.
pub fn check_file_with_env<I>(
    path: &Path,
    form: &IssueForm,
    env: I,
) -> Result<Config, Vec<ConfigProblem>>
where
    I: IntoIterator<Item = (String, String)>,
{
    let config = Config::load_with_env(path, env).map_err(|e| all_problems(e, form))?;
    checked(config, form)
}

fn checked(config: Config, form: &IssueForm) -> Result<Config, Vec<ConfigProblem>> {
    let problems = config.validate(form);
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
    use super::*;
    use std::path::PathBuf;

    use crate::config::StoreConfig;

    fn sandbox_form() -> IssueForm {
        IssueForm {
            team_options: ["payments", "platform", "data", "identity", "networking"]
                .into_iter()
                .map(String::from)
                .collect(),
            ..IssueForm::shipped()
        }
    }

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
            let config = check_file_with_env(file, &sandbox_form(), env)
                .unwrap_or_else(|p| panic!("{}:\n{}", file.display(), render_problems(&p)));
            let warnings = config.validate(&sandbox_form());
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
        let config = check_file_with_env(&path, &sandbox_form(), Vec::new())
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
        let problems =
            check_file_with_env(&path, &sandbox_form(), Vec::new()).expect_err("no tokens");
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
        let problems =
            check_file_with_env(&path, &sandbox_form(), Vec::new()).expect_err("no tokens");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["github.token", "github.webhook_secret"]);
        let env = operator_env()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("COUNCIL_JIRA"));
        let config = check_file_with_env(&path, &sandbox_form(), env)
            .unwrap_or_else(|p| panic!("{}", render_problems(&p)));
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
        let problems = check_file_with_env(path, &sandbox_form(), Vec::new()).expect_err("missing");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "/nonexistent/council-sync.toml");
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
