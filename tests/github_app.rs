//! Logging in as a GitHub App through the real binary: the sandbox plays the App's
//! installation with short-lived tokens, so the refresh shows in seconds, and refuses an
//! expired token with 401 as GitHub does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{SECRETS_ENV, World};
use council_sync::demo::view;
use serde_json::{Value, json};

const APP_ID: u64 = 4242;
const INSTALLATION_ID: u64 = 77;

/// An RSA key pair as GitHub hands it out (PKCS#1 PEM private key) and its public key.
fn key_pair(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("app.pem");
    let ok = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .expect("openssl genrsa")
        .status
        .success();
    assert!(ok, "openssl genrsa failed");
    let out = Command::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(&key)
        .output()
        .expect("openssl rsa -pubout");
    assert!(out.status.success(), "openssl rsa -pubout failed");
    (key, String::from_utf8(out.stdout).expect("PEM is text"))
}

/// Registers the App in the sandbox with installation tokens living `lifetime` seconds, and
/// writes a config that logs in as it (installation id discovered, or given).
async fn app_world(lifetime: i64, discover: bool) -> (World, tempfile::TempDir, PathBuf) {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = key_pair(dir.path());
    world
        .ctl()
        .post(
            "/_sandbox/github/app",
            json!({"app_id": APP_ID, "installation_id": INSTALLATION_ID,
                   "public_key_pem": public, "token_lifetime_secs": lifetime}),
        )
        .await
        .expect("register app");
    let installation = if discover {
        String::new()
    } else {
        format!("installation_id = {INSTALLATION_ID}\n")
    };
    let extra = format!(
        "[github.app]\napp_id = {APP_ID}\nprivate_key_file = \"{}\"\n{installation}",
        key.display()
    );
    let config = world.write_config_with(dir.path(), 3, &extra);
    (world, dir, config)
}

async fn counts(world: &World) -> (u64, u64) {
    let v: Value = world
        .ctl()
        .get("/_sandbox/github/app")
        .await
        .expect("counts");
    (
        v["tokens_issued"].as_u64().unwrap_or(0),
        v["refused"].as_u64().unwrap_or(0),
    )
}

/// The daemon works as the App's installation and mints a new installation token before
/// the old one expires (lifetime 33 s, refreshed when less than 30 s remain), without a
/// single request refused for an expired token.
#[tokio::test]
async fn the_daemon_refreshes_installation_tokens_before_they_expire() {
    let (world, _dir, config) = app_world(33, true).await;
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let mut concerns = 0;
    // Real work until the sandbox has issued a second token (about 3 s in), bounded.
    while counts(&world).await.0 < 2 {
        assert!(concerns < 60, "no refresh after {concerns} concerns");
        let n = c
            .open_issue(
                &world.repo,
                "alice",
                &format!("Concern {concerns}"),
                &common::complete_body(&["payments"]),
                &["sre-concern"],
            )
            .await
            .expect("open");
        world
            .wait_issue(n, "ready-for-council", |i| {
                view::has_label(i, "ready-for-council")
            })
            .await;
        concerns += 1;
    }
    let (issued, refused) = counts(&world).await;
    assert!(issued >= 2, "{issued}");
    assert_eq!(refused, 0, "a token was used after it expired");
    drop(daemon);
}

/// doctor as the App: the installation and its permissions instead of token scopes.
#[tokio::test]
async fn doctor_checks_the_app_installation_and_its_permissions() {
    let (_world, _dir, config) = app_world(3600, false).await;
    let out = tokio::process::Command::new(common::binary())
        .args(["doctor", "--config"])
        .arg(&config)
        .envs(
            SECRETS_ENV
                .into_iter()
                .filter(|(k, _)| *k != "COUNCIL_GITHUB__TOKEN"),
        )
        .output()
        .await
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ok         github  GitHub App") && text.contains("council-sync[bot]"),
        "{text}"
    );
    for p in [
        "issues",
        "metadata",
        "contents",
        "members",
        "repository_hooks",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(" ok") && l.contains(&format!("App permission {p}"))),
            "{p}: {text}"
        );
    }
    assert!(
        !text.contains("scope repo"),
        "no token scopes with an App: {text}"
    );
}

/// An installation token used after it expired gets 401 `Bad credentials` (lifetime 0:
/// every token is dead on arrival, so even octocrab's retry after a 401 fails).
#[tokio::test]
async fn expired_installation_tokens_are_refused() {
    let (world, _dir, config) = app_world(0, false).await;
    let out = tokio::process::Command::new(common::binary())
        .args(["doctor", "--config"])
        .arg(&config)
        .envs(SECRETS_ENV)
        .output()
        .await
        .expect("doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("HTTP 401: Bad credentials"), "{text}");
    let (issued, refused) = counts(&world).await;
    assert!(issued >= 2 && refused >= 2, "{issued} {refused}");
}

/// No echo loops as the App: what the daemon writes comes back in webhooks from
/// `council-sync[bot]` (the App's bot login, as GitHub shows an installation's writes), and
/// the daemon recognises it as its own: one tracking comment, by the bot, kept up to date in
/// place, and the daemon settles (an echo loop would keep writing and never settle).
#[tokio::test]
async fn the_apps_own_writes_are_not_reacted_to() {
    let (world, _dir, config) = app_world(3600, false).await;
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&["payments", "data"]).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, 2).await;
    daemon.wait_settled(&c).await;
    let issue = world.issue(n).await;
    let tracking = view::tracking_comments(&issue);
    assert_eq!(tracking.len(), 1, "one tracking comment: {issue}");
    assert_eq!(tracking[0].author, "council-sync[bot]");
    let deliveries = c.get("/_sandbox/deliveries").await.expect("deliveries");
    let own = deliveries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["payload"]["sender"]["login"] == "council-sync[bot]")
        .count();
    assert!(own > 0, "the daemon's writes came back as webhooks");
    let (_, refused) = counts(&world).await;
    assert_eq!(refused, 0);
    drop(daemon);
}
