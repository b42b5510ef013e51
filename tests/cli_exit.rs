//! The command line as a new user meets it: `check -` and its exit codes, `config check`
//! naming every problem and every plain-text secret, fatal errors printed once (without
//! colour codes when not on a terminal, as JSON in JSON mode), and `backfill`/`reconcile`
//! explaining what to do with the embedded-sandbox config.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs the binary with `stdin` piped in; returns (exit code, stdout, stderr).
fn run_with(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(common::binary())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("COUNCIL_LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_with(args, "", &[])
}

#[test]
fn check_reads_stdin_and_exits_0_1_or_2() {
    let complete = common::complete_body(&["payments"]);
    assert_eq!(
        run_with(&["check", "-"], &complete, &[]).0,
        0,
        "complete on stdin"
    );
    let (code, out, _) = run_with(
        &["check", "-"],
        "## Why is this SRE?\n\n_No response_\n",
        &[],
    );
    assert_eq!(code, 1, "incomplete on stdin: {out}");
    let (code, _, err) = run(&["check", "/nonexistent/body.md"]);
    assert_eq!(
        code, 2,
        "missing file is an I/O error, not an incomplete body: {err}"
    );
    assert!(err.contains("/nonexistent/body.md"), "{err}");
    let (code, _, err) = run(&["check", "-", "--config", "/nonexistent/c.toml"]);
    assert_eq!(code, 2, "unreadable config: {err}");
    assert!(!err.contains("error: error:"), "{err}");
    assert_eq!(run(&["check"]).0, 2, "usage error");
    assert_eq!(run(&["check", "a", "b"]).0, 2, "usage error");
}

#[test]
fn config_check_names_every_problem_and_each_plaintext_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string("config/jira-cloud.toml")
        .expect("read")
        .replacen("[github]\n", "[github]\ntypo_one = 1\ntoken = \"ghp_plaintext\"\nwebhook_secret = \"whsec_plaintext\"\n", 1)
        .replacen("[jira]\n", "[jira]\nwebhook_token = \"0123456789abcdef0123456789abcdef\"\nwebhook_secret = \"jira_plaintext\"\n", 1)
        .replacen("[jira.auth]\n", "[jira.auth]\ntoken = \"atl_plaintext\"\n", 1)
        .replacen("[store]\n", "[store]\nbogus = 2\n", 1);
    std::fs::write(&bad, text).expect("write");
    let (code, out, err) = run(&["config", "check", "--config", bad.to_str().expect("path")]);
    assert_eq!(code, 1, "{out}{err}");
    for key in ["github.typo_one", "store.bogus"] {
        assert!(
            out.contains(&format!("error: {key}:")),
            "{key} missing:\n{out}"
        );
    }
    for key in [
        "github.token",
        "github.webhook_secret",
        "jira.auth.token",
        "jira.webhook_secret",
        "jira.webhook_token",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("warning: {key}:")) && l.contains("plain text")),
            "{key} not warned about:\n{out}"
        );
    }
    for secret in [
        "ghp_plaintext",
        "whsec_plaintext",
        "jira_plaintext",
        "atl_plaintext",
        "0123456789abcdef",
    ] {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "secret shown:\n{out}{err}"
        );
    }
    // The same secrets from the environment draw no warning.
    let (code, out, err) = run_with(
        &["config", "check", "--config", "config/jira-cloud.toml"],
        "",
        &common::SECRETS_ENV,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("plain text"), "{out}");
}

#[test]
fn a_fatal_error_is_printed_once_plain_or_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    let text = std::fs::read_to_string("config/sandbox.toml")
        .expect("read")
        .replace("embedded = true", "embedded = false")
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"")
        + "\n[store]\nurl = \"sqlite:///nonexistent/dir/council-sync.db\"\n";
    std::fs::write(&cfg, text).expect("write");
    let env = [
        ("COUNCIL_GITHUB__API_URL", "http://127.0.0.1:9"),
        ("COUNCIL_JIRA__BASE_URL", "http://127.0.0.1:9"),
    ];
    let mut env_all: Vec<(&str, &str)> = common::SECRETS_ENV.to_vec();
    env_all.extend(env);
    let (code, _, err) = run_with(
        &["run", "--config", cfg.to_str().expect("path")],
        "",
        &env_all,
    );
    assert_eq!(code, 1, "{err}");
    let fatal: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(fatal.len(), 1, "{err}");
    assert!(fatal[0].contains("store.url"), "names the key: {err}");
    assert!(!fatal[0].starts_with("error: error:"), "{err}");
    assert_eq!(
        fatal[0].matches("unable to open database file").count(),
        1,
        "cause once: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes off a terminal: {err:?}"
    );

    let (code, _, err) = run_with(
        &[
            "--log-format",
            "json",
            "run",
            "--config",
            cfg.to_str().expect("path"),
        ],
        "",
        &env_all,
    );
    assert_eq!(code, 1, "{err}");
    let last = err.lines().last().expect("a line");
    let v: serde_json::Value = serde_json::from_str(last).expect("JSON fatal line");
    assert_eq!(v["level"], "ERROR", "{last}");
    assert!(
        v["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("store.url")),
        "{last}"
    );
    for line in err.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }

    let (code, _, err) = run(&["run", "--config", "/nonexistent/c.toml"]);
    assert_eq!(code, 1);
    assert!(!err.contains("error: error"), "{err}");
    assert_eq!(err.matches("not found").count(), 1, "{err}");
}

#[test]
fn backfill_and_reconcile_explain_the_embedded_sandbox() {
    for args in [
        &["backfill", "--config", "config/sandbox.toml"][..],
        &["reconcile", "--once", "--config", "config/sandbox.toml"][..],
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("no GitHub token"), "{err}");
        assert!(err.contains("council-sync sandbox --listen"), "{err}");
        assert!(
            err.contains("COUNCIL_GITHUB__API_URL=http://127.0.0.1:8900"),
            "{err}"
        );
    }
}
