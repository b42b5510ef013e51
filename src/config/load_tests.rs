//! Loading: env overrides (given as explicit maps, so no test touches the process
//! environment) and the wording of deserialisation errors.

use secrecy::ExposeSecret;

use super::*;
use crate::config::{CouncilMembers, JiraApiVersion};

const BASE: &str = r#"
[github]
repos = ["acme/platform-concerns"]
council = "acme/sre-council"

[jira]
base_url = "https://acme.atlassian.net"
api_version = 3
epic_project = "SRE"
auth = { type = "basic", email = "council-sync@example.com" }

[teams.payments]
jira_project = "PAY"
"#;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load(toml: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_toml_str(toml, env(pairs))
}

fn only_problem(result: Result<Config, ConfigError>) -> ConfigProblem {
    match result {
        Ok(_) => panic!("expected a problem"),
        Err(ConfigError::Invalid(mut problems) | ConfigError::Partial { mut problems, .. })
            if problems.len() == 1 =>
        {
            problems.remove(0)
        }
        Err(other) => panic!("expected one problem, got {other}"),
    }
}

#[test]
fn scalar_overrides_reach_nested_keys() {
    let mut cfg = load(
        BASE,
        &[
            ("COUNCIL_GITHUB__TOKEN", "ghp_fromenv"),
            ("COUNCIL_JIRA__AUTH__TOKEN", "jira_fromenv"),
            ("COUNCIL_SERVER__LISTEN", "0.0.0.0:9090"),
            ("COUNCIL_RETRY__ATTEMPTS", "3"),
            ("COUNCIL_RETRY__INITIAL_BACKOFF", "250ms"),
            ("COUNCIL_JIRA__API_VERSION", "2"),
            ("COUNCIL_SANDBOX__EMBEDDED", "false"),
        ],
    )
    .expect("loads");
    let token = cfg.github.token().expect("readable").expect("set");
    assert_eq!(token.expose_secret(), "ghp_fromenv");
    let jira = cfg.jira_mut().auth.token().expect("readable").expect("set");
    assert_eq!(jira.expose_secret(), "jira_fromenv");
    assert_eq!(cfg.server.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(cfg.retry.attempts, 3);
    assert_eq!(cfg.retry.initial_backoff.as_millis(), 250);
    assert_eq!(cfg.jira_mut().api_version, JiraApiVersion::V2);
    assert!(!cfg.sandbox_embedded());
}

#[test]
fn lists_from_env_are_comma_separated_and_trimmed() {
    let cfg = load(
        BASE,
        &[
            ("COUNCIL_GITHUB__REPOS", "acme/a, acme/b ,acme/c"),
            ("COUNCIL_CRITERIA__PLACEHOLDERS", "tbd,n/a"),
            ("COUNCIL_SANDBOX__COUNCIL_MEMBERS", "carol,dave"),
        ],
    )
    .expect("loads");
    assert_eq!(cfg.github.repos, ["acme/a", "acme/b", "acme/c"]);
    assert_eq!(cfg.criteria.placeholders, ["tbd", "n/a"]);
    let members = cfg.sandbox.map(|s| s.council_members);
    assert_eq!(members, Some(vec!["carol".to_owned(), "dave".to_owned()]));
}

#[test]
fn single_repo_from_env_is_a_list_of_one() {
    let cfg = load(BASE, &[("COUNCIL_GITHUB__REPOS", "acme/only")]).expect("loads");
    assert_eq!(cfg.github.repos, ["acme/only"]);
}

#[test]
fn council_from_env_is_a_team_or_logins_by_shape() {
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("acme/sre-council", Some("acme/sre-council"), &[]),
        ("carol,dave", None, &["carol", "dave"]),
        ("carol", None, &["carol"]),
    ];
    for (value, team, logins) in cases {
        let cfg = load(BASE, &[("COUNCIL_GITHUB__COUNCIL", value)]).expect("loads");
        match (&cfg.github.council, team) {
            (CouncilMembers::Team(t), Some(expected)) => assert_eq!(t, expected),
            (CouncilMembers::Logins(l), None) => assert_eq!(l, logins),
            (other, _) => panic!("{value}: got {other:?}"),
        }
    }
}

#[test]
fn numeric_looking_secret_stays_a_string() {
    let cfg = load(BASE, &[("COUNCIL_GITHUB__WEBHOOK_SECRET", "007")]).expect("loads");
    let secret = cfg.github.webhook_secret().expect("ok").expect("set");
    assert_eq!(secret.expose_secret(), "007");
}

#[test]
fn council_variables_without_a_section_are_not_configuration() {
    let cfg = load(
        BASE,
        &[
            ("COUNCIL_SHARED_DIR", "/work/shared"),
            ("COUNCIL_LOG", "debug"),
            ("PATH", "/usr/bin"),
        ],
    );
    assert!(cfg.is_ok(), "{:?}", cfg.err());
}

#[test]
fn env_keys_are_lower_cased_so_mixed_case_teams_need_the_file() {
    let toml = format!("{BASE}\n[teams.Platform]\njira_project = \"PLAT\"\n");
    let cfg = load(
        &toml,
        &[
            ("COUNCIL_TEAMS__PAYMENTS__JIRA_PROJECT", "PAY2"),
            ("COUNCIL_TEAMS__PLATFORM__JIRA_PROJECT", "PLAT2"),
        ],
    )
    .expect("loads");
    // A lower-case team is overridden in place ...
    assert_eq!(cfg.teams["payments"].jira_project.as_deref(), Some("PAY2"));
    // ... a mixed-case one keeps its file value, and the env made a second, lower-case team
    // (which validation reports as not matching the form).
    assert_eq!(cfg.teams["Platform"].jira_project.as_deref(), Some("PLAT"));
    assert_eq!(cfg.teams["platform"].jira_project.as_deref(), Some("PLAT2"));
}

#[test]
fn bad_api_version_names_the_key_and_the_choices() {
    let toml = BASE.replace("api_version = 3", "api_version = 4");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "jira.api_version");
    assert!(
        p.reason
            .starts_with("must be 2 (Data Center) or 3 (Cloud), not 4"),
        "{p}"
    );
}

#[test]
fn tracker_kind_defaults_to_jira_and_reads_github_projects() {
    let cfg = load(BASE, &[]).expect("loads");
    assert_eq!(cfg.tracker.kind, crate::config::TrackerKind::Jira);
    let toml = format!("[tracker]\nkind = \"github-projects\"\n{BASE}");
    let cfg = load(&toml, &[]).expect("loads");
    assert_eq!(cfg.tracker.kind, crate::config::TrackerKind::GithubProjects);
    let toml = format!("[tracker]\nkind = \"trello\"\n{BASE}");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "tracker.kind", "{p}");
    assert!(p.reason.contains("github-projects"), "{p}");
}

#[test]
fn unknown_top_level_key_lists_the_valid_ones() {
    let toml = format!("{BASE}\n[jra]\nbase_url = \"x\"\n");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "jra");
    assert!(p.reason.contains("did you mean `jira`?"), "{p}");
    assert!(
        p.reason
            .contains("github, tracker, jira, github_projects, teams"),
        "{p}"
    );
}

#[test]
fn unknown_nested_key_gets_its_full_path() {
    let toml = BASE.replace("council = ", "tokn = \"x\"\ncouncil = ");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "github.tokn");
    assert!(p.reason.contains("did you mean `token`?"), "{p}");
    assert!(!p.reason.contains("\"x\""), "{p}");
}

#[test]
fn unknown_key_from_env_names_the_variable_but_not_the_value() {
    let p = only_problem(load(BASE, &[("COUNCIL_GTIHUB__TOKEN", "ghp_leak_me_not")]));
    assert_eq!(p.key, "gtihub");
    assert!(p.reason.contains("COUNCIL_GTIHUB__TOKEN"), "{p}");
    assert!(p.reason.contains("did you mean `github`?"), "{p}");
    assert!(!p.reason.contains("ghp_leak_me_not"), "{p}");
}

#[test]
fn missing_required_key_is_named() {
    let toml = BASE.replace("repos = [\"acme/platform-concerns\"]", "");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "github.repos");
    assert!(p.reason.contains("missing"), "{p}");
}

#[test]
fn wrong_type_is_named_and_env_origin_is_shown() {
    let p = only_problem(load(BASE, &[("COUNCIL_RETRY__ATTEMPTS", "many")]));
    assert_eq!(p.key, "retry.attempts");
    assert!(p.reason.contains("COUNCIL_RETRY__ATTEMPTS"), "{p}");
}

#[test]
fn unknown_auth_type_lists_the_types() {
    let toml = BASE.replace("type = \"basic\"", "type = \"oauth\"");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "jira.auth.type");
    assert!(p.reason.contains("basic, bearer"), "{p}");
}

#[test]
fn council_of_wrong_shape_explains_both_forms() {
    let toml = BASE.replace("council = \"acme/sre-council\"", "council = 7");
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "github.council");
    assert!(p.reason.contains("org/team-slug"), "{p}");
}

#[test]
fn toml_syntax_error_does_not_quote_the_line() {
    let toml = BASE.replace(
        "council = \"acme/sre-council\"",
        "token = \"ghp_unterminated_secret\ncouncil = \"acme/sre-council\"",
    );
    match load(&toml, &[]) {
        Err(ConfigError::Read { reason, .. }) => {
            assert!(!reason.contains("ghp_unterminated_secret"), "{reason}");
            assert!(reason.contains("line"), "{reason}");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn secret_of_wrong_type_is_not_echoed() {
    let toml = BASE.replace(
        "council = ",
        "webhook_secret = [\"whsec_in_a_list\"]\ncouncil = ",
    );
    let p = only_problem(load(&toml, &[]));
    assert_eq!(p.key, "github.webhook_secret");
    assert!(!p.reason.contains("whsec_in_a_list"), "{p}");
}

#[test]
fn debug_of_the_whole_config_never_shows_a_secret() {
    let cfg = load(
        BASE,
        &[
            ("COUNCIL_GITHUB__TOKEN", "ghp_debug_secret"),
            ("COUNCIL_GITHUB__WEBHOOK_SECRET", "whsec_debug_secret"),
            ("COUNCIL_JIRA__AUTH__TOKEN", "jira_debug_secret"),
        ],
    )
    .expect("loads");
    let debug = format!("{cfg:?} {cfg:#?}");
    for secret in [
        "ghp_debug_secret",
        "whsec_debug_secret",
        "jira_debug_secret",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked");
    }
    assert!(debug.contains("REDACTED"));
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Config::load_with_env(Path::new("/nonexistent/c.toml"), Vec::new())
        .expect_err("missing file");
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

#[test]
fn edit_distance_suggests_only_near_names() {
    let valid = ["github".to_owned(), "jira".to_owned()];
    assert_eq!(closest("jra", &valid), Some("jira"));
    assert_eq!(closest("store", &valid), None);
}

#[test]
fn bad_listen_address_says_what_shape_is_expected() {
    let p = only_problem(load(BASE, &[("COUNCIL_SERVER__LISTEN", "localhost")]));
    assert_eq!(p.key, "server.listen");
    assert!(p.reason.contains("IP:PORT"), "{p}");
}

#[test]
fn quoted_values_are_cut_out_of_messages_about_secrets() {
    assert_eq!(
        without_quoted_strings(r#"invalid value: string "s3\"cr3t", expected x; string "y""#),
        "invalid value: a string, expected x; a string"
    );
    assert_eq!(without_quoted_strings("no strings here"), "no strings here");
    assert_eq!(without_quoted_strings("string \"unterminated"), "a string");
}

/// serde stops at the first bad key; the loader goes on without it, so every bad key is
/// named in one run, each on its own key (file and environment alike).
#[test]
fn every_shape_problem_is_named_in_one_run() {
    let toml = BASE
        .replacen("[github]\n", "[github]\ntypo_one = 1\n", 1)
        .replacen("[jira]\n", "[jira]\ntypo_two = \"x\"\n", 1);
    let problems = match load(&toml, &[("COUNCIL_SERVER__LISTEN", "not-an-address")]) {
        Err(ConfigError::Partial { problems, .. } | ConfigError::Invalid(problems)) => problems,
        other => panic!("expected problems, got {other:?}"),
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in ["github.typo_one", "jira.typo_two", "server.listen"] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}

/// A required key with a bad value used to end the search ("missing" under the same name);
/// it now gets a stand-in, and the bad keys after it are named in the same run.
#[test]
fn a_bad_required_key_does_not_hide_the_others() {
    let toml = BASE
        .replace("api_version = 3", "api_version = 4")
        .replace("type = \"basic\"", "type = \"oauth\"")
        .replace("council = \"acme/sre-council\"", "council = 7")
        .replace("repos = [\"acme/platform-concerns\"]", "repos = \"acme\"")
        .replacen("[jira]\n", "[jira]\ntypo_two = \"x\"\n", 1)
        + "\n[retry]\nattempts = \"many\"\n";
    let problems = match load(&toml, &[("COUNCIL_SERVER__LISTEN", "not-an-address")]) {
        Err(ConfigError::Partial { problems, .. } | ConfigError::Invalid(problems)) => problems,
        other => panic!("expected problems, got {other:?}"),
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "jira.api_version",
        "jira.auth.type",
        "github.council",
        "github.repos",
        "jira.typo_two",
        "retry.attempts",
        "server.listen",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(
        !problems.iter().any(|p| p.reason.contains("stand-in")),
        "{problems:?}"
    );
}

/// A tracker section only the environment set, on the tracker that does not use it, is
/// taken out and named with its variables (a shell still holding the other rehearsal's
/// exports); on the tracker that uses it, or with any value from the file, it stays.
#[test]
fn the_other_trackers_section_from_the_environment_alone_is_ignored() {
    const PROJECTS: &str = r#"
[tracker]
kind = "github-projects"

[github]
repos = ["acme/platform-concerns"]
council = "acme/sre-council"

[github_projects]
owner = "acme"
number = 7

[teams.payments]
repo = "acme/payments"
"#;
    let jira_env = [
        ("COUNCIL_JIRA__BASE_URL", "http://127.0.0.1:8900"),
        ("COUNCIL_JIRA__AUTH__TOKEN", "sandbox"),
        ("COUNCIL_JIRA__WEBHOOK_SECRET", "sandbox"),
    ];
    let projects_env = [
        ("COUNCIL_GITHUB_PROJECTS__NUMBER", "3"),
        ("COUNCIL_GITHUB_PROJECTS__OWNER", "acme"),
    ];
    // (file, env, section expected ignored, variables named)
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&str, Env, Option<&str>, &[&str]); 4] = [
        (
            PROJECTS,
            &jira_env,
            Some("jira"),
            &[
                "COUNCIL_JIRA__AUTH__TOKEN",
                "COUNCIL_JIRA__BASE_URL",
                "COUNCIL_JIRA__WEBHOOK_SECRET",
            ],
        ),
        (
            BASE,
            &projects_env,
            Some("github_projects"),
            &[
                "COUNCIL_GITHUB_PROJECTS__NUMBER",
                "COUNCIL_GITHUB_PROJECTS__OWNER",
            ],
        ),
        // The tracker that uses the section keeps the environment's values.
        (BASE, &jira_env, None, &[]),
        (PROJECTS, &projects_env, None, &[]),
    ];
    for (file, pairs, section, variables) in cases {
        let cfg = load(file, pairs).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
        match section {
            Some(section) => {
                assert_eq!(
                    cfg.ignored_env_sections,
                    vec![crate::config::IgnoredEnvSection {
                        section: section.to_owned(),
                        variables: variables.iter().map(|v| (*v).to_owned()).collect(),
                    }],
                    "{pairs:?}"
                );
                let warning = cfg
                    .validate(&crate::concern::form::IssueForm::shipped())
                    .into_iter()
                    .find(|p| p.key == section)
                    .unwrap_or_else(|| panic!("no warning on {section}"));
                assert!(!warning.is_error(), "{warning}");
                for v in variables {
                    assert!(warning.reason.contains(v), "{v} not named: {warning}");
                }
                assert!(
                    !warning.reason.contains("sandbox\""),
                    "value shown: {warning}"
                );
            }
            None => assert!(cfg.ignored_env_sections.is_empty(), "{pairs:?}"),
        }
    }
    assert_eq!(
        load(BASE, &jira_env)
            .map(|c| c.jira.map(|j| j.base_url))
            .ok(),
        Some(Some("http://127.0.0.1:8900".to_owned()))
    );
    // A [jira] the file wrote on GitHub Projects is the file's: judged as written.
    let with_file_jira = format!("{PROJECTS}\n[jira]\nepic_project = \"SRE\"\n");
    let problem = only_problem(load(&with_file_jira, &jira_env));
    assert_eq!(problem.key, "jira.auth.type", "{problem}");
}
