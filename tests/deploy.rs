//! deploy/: the artifacts agree with the binary. The container's HEALTHCHECK probe
//! (`council-sync healthcheck`) against a real daemon; the Kubernetes ConfigMap's config and
//! the systemd unit's credentials (`LoadCredential=` + `COUNCIL_*_FILE=%d/NAME`) through
//! `config check`; the Containerfile's COPY sources exist. Schema checks of the manifests
//! (kubernetes-validate) and `systemd-analyze verify` run in `scripts/check-deploy`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tokio::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `council-sync healthcheck --url URL`; returns (success, stderr).
async fn healthcheck(url: &str) -> (bool, String) {
    let out = Command::new(common::binary())
        .args(["healthcheck", "--timeout", "5s", "--url", url])
        .output()
        .await
        .expect("run healthcheck");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn healthcheck_passes_on_a_live_daemon_and_fails_with_a_reason_otherwise() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = common::write_embedded_config(dir.path());
    let daemon = common::Daemon::start(&config).await;

    for path in ["/healthz", "/readyz"] {
        let (ok, err) = healthcheck(&format!("{}{path}", daemon.url)).await;
        assert!(ok, "{path}: {err}");
    }
    let (ok, err) = healthcheck(&format!("{}/no-such-page?x=1", daemon.url)).await;
    assert!(!ok && err.contains("404"), "a 404 is unhealthy: {err}");

    let addr = daemon.url.trim_start_matches("http://").to_owned();
    let (ok, err) = healthcheck(&format!("https://{addr}/healthz")).await;
    assert!(!ok && err.contains("only http://"), "{err}");

    daemon.kill().await;
    // The port is free again (nothing listens): refused, not a hang.
    let (ok, err) = healthcheck(&format!("http://{addr}/healthz")).await;
    assert!(!ok && err.contains("unhealthy"), "{err}");
}

/// Writes one dummy secret file per name into `dir`.
fn secret_files(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(name), format!("dummy-{name}\n")).expect("secret file");
    }
}

/// `council-sync config check --config FILE` with exactly `env` (plus PATH); asserts ok.
async fn assert_config_ok(config: &Path, env: &[(String, String)]) {
    let out = Command::new(common::binary())
        .args(["config", "check", "--config"])
        .arg(config)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .await
        .expect("run config check");
    assert!(
        out.status.success(),
        "config check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn kubernetes_configmap_config_passes_config_check_with_the_secret_mounted() {
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/configmap.yaml"))
        .expect("configmap.yaml");
    #[derive(serde::Deserialize)]
    struct ConfigMap {
        data: BTreeMap<String, String>,
    }
    let cm: ConfigMap = serde_saphyr::from_str(&text).expect("configmap parses");
    let toml = cm
        .data
        .get("council-sync.toml")
        .expect("council-sync.toml key");

    // The Secret's keys are the files the config points at.
    let secret =
        std::fs::read_to_string(repo().join("deploy/kubernetes/secret.yaml")).expect("secret.yaml");
    #[derive(serde::Deserialize)]
    struct Secret {
        #[serde(rename = "stringData")]
        string_data: BTreeMap<String, String>,
    }
    let secret: Secret = serde_saphyr::from_str(&secret).expect("secret parses");
    let names: Vec<&str> = secret.string_data.keys().map(String::as_str).collect();
    for name in &names {
        assert!(
            toml.contains(&format!("/run/secrets/council-sync/{name}\"")),
            "the config does not read the Secret's key {name}"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    secret_files(dir.path(), &names);
    let rewritten = toml.replace(
        "/run/secrets/council-sync",
        &dir.path().display().to_string(),
    );
    let path = dir.path().join("council-sync.toml");
    std::fs::write(&path, rewritten).expect("write config");
    assert_config_ok(&path, &[]).await;
}

#[tokio::test]
async fn systemd_credentials_reach_the_config_through_file_keys() {
    let unit =
        std::fs::read_to_string(repo().join("deploy/systemd/council-sync.service")).expect("unit");
    let credentials: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("LoadCredential="))
        .filter_map(|v| v.split(':').next())
        .collect();
    let env: Vec<(&str, &str)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|v| v.split_once('='))
        .collect();
    let file_vars: Vec<(&str, &str)> = env
        .iter()
        .filter_map(|(k, v)| v.strip_prefix("%d/").map(|name| (*k, name)))
        .collect();
    assert_eq!(
        file_vars.len(),
        credentials.len(),
        "one variable per credential"
    );
    for (var, name) in &file_vars {
        assert!(var.ends_with("_FILE"), "{var} must be a *_file key");
        assert!(credentials.contains(name), "{var} reads {name}, not loaded");
    }

    // As systemd would start it: $CREDENTIALS_DIRECTORY holds the files, %d names it.
    let dir = tempfile::tempdir().expect("tempdir");
    secret_files(dir.path(), &credentials);
    let env: Vec<(String, String)> = file_vars
        .iter()
        .map(|(var, name)| (var.to_string(), dir.path().join(name).display().to_string()))
        .collect();
    assert_config_ok(&repo().join("config/jira-cloud.toml"), &env).await;
}

#[test]
fn containerfile_copies_what_exists_and_probes_with_the_healthcheck_command() {
    let text = std::fs::read_to_string(repo().join("deploy/container/Containerfile"))
        .expect("Containerfile");
    let mut copies = 0;
    for line in text.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        if words.first().is_some_and(|w| w.starts_with("--from")) {
            continue;
        }
        let sources = &words[..words.len().saturating_sub(1)];
        for src in sources.iter().filter(|s| **s != ".") {
            assert!(repo().join(src).exists(), "COPY source {src} is missing");
            copies += 1;
        }
    }
    assert!(copies >= 2, "the issue form and the configs are copied");
    assert!(
        text.contains(r#"CMD ["council-sync", "healthcheck""#),
        "HEALTHCHECK runs the binary's own probe"
    );
}
