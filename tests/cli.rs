//! The `check` and `config check` commands as a user runs them.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    run_with_env(args, &[])
}

/// Runs the binary with `args` and the extra environment `env`: its exit code (-1 when killed
/// by a signal) and its stdout followed by its stderr.
fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(common::binary())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run council-sync");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_reports_missing_answers_and_completeness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let incomplete = dir.path().join("incomplete.md");
    std::fs::write(
        &incomplete,
        council_sync::demo::script::form_body(
            "Alerts page the on-call every night for no reason.",
            "",
            "TBD",
            &["payments"],
        ),
    )
    .expect("write");
    let (code, out) = run(&["check", incomplete.to_str().expect("path")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Why is this important?") && out.contains("What is involved?"),
        "{out}"
    );
    assert!(
        !out.contains("Why is this SRE?"),
        "answered question not listed: {out}"
    );

    let complete = dir.path().join("complete.md");
    std::fs::write(
        &complete,
        common::complete_body(&["payments", "data"]).replace('\n', "\r\n"),
    )
    .expect("write");
    let (code, out) = run(&[
        "check",
        complete.to_str().expect("path"),
        "--config",
        "config/sandbox.toml",
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn config_check_accepts_the_examples_and_names_bad_keys() {
    let (code, out) = run(&["config", "check", "--config", "config/sandbox.toml"]);
    assert_eq!(code, 0, "{out}");
    // What a run of it really talks to: the sandbox, not the placeholder URL the file keeps
    // valid for this check.
    assert!(
        out.contains("tracker: Jira (REST v3) at the embedded sandbox"),
        "{out}"
    );
    assert!(out.contains("talks to: the embedded sandbox"), "{out}");
    assert!(!out.contains("atlassian.net"), "{out}");
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string("config/sandbox.toml")
        .expect("read")
        .replace("api_version = 3", "api_version = 4")
        .replace("[teams.networking]\njira_project = \"NET\"\n", "");
    std::fs::write(&bad, text).expect("write");
    let (code, out) = run(&["config", "check", "--config", bad.to_str().expect("path")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("jira.api_version"), "{out}");
    // A bad required key no longer ends the check: the team the form offers but the file lost
    // is named in the same run.
    assert!(out.contains("networking"), "{out}");
    let fixed = std::fs::read_to_string(&bad)
        .expect("read")
        .replace("api_version = 4", "api_version = 3");
    std::fs::write(&bad, fixed).expect("write");
    let (code, out) = run(&["config", "check", "--config", bad.to_str().expect("path")]);
    assert_eq!(code, 1, "form option without a team: {out}");
    assert!(out.contains("networking"), "{out}");
}

/// Several bad keys at once, two of them required (`jira.epic_project` of the wrong type,
/// `github.council` of the wrong shape), plus a plain-text secret: one run names them all.
#[test]
fn config_check_names_every_problem_including_bad_required_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string("config/sandbox.toml")
        .expect("read")
        .replace("epic_project = \"SRE\"", "epic_project = 12")
        .replace(
            "council = \"acme/sre-council\"",
            "council = 7\ntoken = \"ghp_plain\"",
        )
        .replace("type = \"parent\"", "type = \"parents\"")
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"localhost\"")
        .replace("[teams.networking]\njira_project = \"NET\"\n", "");
    std::fs::write(&bad, text).expect("write");
    let (code, out) = run(&["config", "check", "--config", bad.to_str().expect("path")]);
    assert_eq!(code, 1, "{out}");
    for key in [
        "jira.epic_project",
        "github.council",
        "jira.epic_link",
        "server.listen",
        "networking",
        "github.token",
    ] {
        assert!(out.contains(key), "{key} not named: {out}");
    }
    assert!(!out.contains("ghp_plain"), "secret echoed: {out}");
    assert!(!out.contains("stand-in"), "stand-in judged: {out}");
}

/// `[tracker] kind = "github-projects"`: `config check` prints the project and each team's
/// repository for a good config, and names `[github_projects]` when it is missing and the
/// team repository whose owner is not the project's (GitHub requires a parent and its
/// sub-issues to share one); `run` refuses the same config by the same key.
#[test]
fn github_projects_config_is_checked_and_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string("config/github-projects.toml").expect("read");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("path").to_owned()
    };
    let with_secrets = |args: &[&str]| {
        run_with_env(
            args,
            &[
                ("COUNCIL_GITHUB__TOKEN", "ghp_cli_example"),
                ("COUNCIL_GITHUB__WEBHOOK_SECRET", "whsec_cli_example"),
            ],
        )
    };
    let ok = write("ok.toml", &good);
    let (code, out) = with_secrets(&["config", "check", "--config", &ok]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("tracker: GitHub Projects: project 7 of acme"),
        "{out}"
    );
    assert!(out.contains("networking → acme/networking"), "{out}");
    assert!(!out.contains("ghp_cli_example"), "secret echoed: {out}");

    let start = good.find("[github_projects]").expect("section");
    let end = good.find("# One entry per option").expect("teams");
    let missing = write(
        "missing.toml",
        &format!("{}{}", &good[..start], &good[end..]),
    );
    let (code, out) = with_secrets(&["config", "check", "--config", &missing]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("error: github_projects: is missing"), "{out}");

    let other_owner = write(
        "owner.toml",
        &good.replace("repo = \"acme/data\"", "repo = \"globex/data\""),
    );
    for args in [
        &["config", "check", "--config", other_owner.as_str()][..],
        &["run", "--config", other_owner.as_str()][..],
    ] {
        let (code, out) = with_secrets(args);
        assert_ne!(code, 0, "{args:?}: {out}");
        assert!(out.contains("teams.data.repo"), "{args:?}: {out}");
        assert!(out.contains("share an owner"), "{args:?}: {out}");
    }
}

/// README's sandbox rehearsal exports `COUNCIL_JIRA__*`; with them still in the shell,
/// `config check` of the GitHub Projects example passes with a warning naming them, and the
/// Jira example passes the same way with a stray `COUNCIL_GITHUB_PROJECTS__*`.
#[test]
fn the_other_trackers_exports_are_ignored_with_a_warning() {
    let check = |config: &str, env: &[(&str, &str)]| {
        let mut all = vec![
            ("COUNCIL_GITHUB__TOKEN", "sandbox"),
            ("COUNCIL_GITHUB__WEBHOOK_SECRET", "sandbox"),
        ];
        all.extend_from_slice(env);
        run_with_env(&["config", "check", "--config", config], &all)
    };
    let (code, out) = check(
        "config/github-projects.toml",
        &[
            ("COUNCIL_JIRA__BASE_URL", "http://127.0.0.1:8900"),
            ("COUNCIL_JIRA__AUTH__TOKEN", "sandbox"),
            ("COUNCIL_JIRA__WEBHOOK_SECRET", "sandbox"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: jira: is ignored: only the environment sets it")
            && out.contains("COUNCIL_JIRA__AUTH__TOKEN, COUNCIL_JIRA__BASE_URL"),
        "{out}"
    );
    let (code, out) = check(
        "config/sandbox.toml",
        &[("COUNCIL_GITHUB_PROJECTS__NUMBER", "3")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: github_projects: is ignored")
            && out.contains("COUNCIL_GITHUB_PROJECTS__NUMBER"),
        "{out}"
    );
}
