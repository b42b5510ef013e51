//! Starting the release binary for a measurement: like the tests' harness, but its log goes
//! to a file (as under systemd or Kubernetes) instead of the terminal, so a flood of log
//! lines neither fills the bench's output nor blocks on a pipe.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::{self, Daemon, SECRETS_ENV};

/// A daemon started on `config`, and how long it took to print that it listens.
pub async fn start(config: &Path, log: &Path) -> (Daemon, Duration) {
    let started = Instant::now();
    let mut child = Command::new(common::binary())
        .args(["run", "--config"])
        .arg(config)
        .envs(SECRETS_ENV)
        // With `BENCH_TRACE`, the outbox's rounds too (what it claimed, when), to line up
        // with the accept's calls.
        .env(
            "RUST_LOG",
            if std::env::var_os("BENCH_TRACE").is_some() {
                "info,council_sync::engine::outbox=debug"
            } else {
                "info"
            },
        )
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("daemon log"))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn council-sync run");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(common::WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("council-sync listening on ") {
                return rest.to_owned();
            }
        }
        panic!(
            "council-sync exited before listening; see {}",
            log.display()
        );
    })
    .await
    .expect("daemon listening in time");
    let took = started.elapsed();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (
        Daemon {
            child,
            url,
            sandbox_url: None,
        },
        took,
    )
}

/// The backlog `GET /status` reports: (deliveries, writes).
async fn backlog(d: &Daemon) -> Result<(u64, u64), String> {
    let v: serde_json::Value = council_sync::crypto::http_client()
        .get(format!("{}/status", d.url))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        v["pending_deliveries"].as_u64().unwrap_or(0),
        v["pending_writes"].as_u64().unwrap_or(0),
    ))
}

/// Deliveries the daemon has stored but not yet handled (`GET /status`), if it answers.
pub async fn pending_deliveries(d: &Daemon) -> Option<u64> {
    backlog(d).await.ok().map(|(deliveries, _)| deliveries)
}

/// Deliveries and writes not yet done (`GET /status`), if it answers.
pub async fn pending(d: &Daemon) -> Option<u64> {
    backlog(d)
        .await
        .ok()
        .map(|(deliveries, writes)| deliveries + writes)
}
