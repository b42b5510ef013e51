//! Black-box harness: starts the real `council-sync` binary (daemon or sandbox) as a child
//! process on free ports and talks to it over HTTP. Readiness comes from the lines the
//! binary prints on stdout; waiting is done on the sandbox's change feed, never on sleeps.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use council_sync::demo::control::SandboxControl;
use council_sync::demo::view;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long any one expected outcome may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The watched repository in every test config.
pub const REPO: &str = "acme/platform-concerns";

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_council-sync")
}

/// A config file for the daemon. `sandbox_url` = `None`: embedded sandbox; `Some(url)`: a
/// separately started sandbox, reached with real-looking credentials from the environment.
pub fn write_config(dir: &Path, sandbox_url: Option<&str>, jira_api: u8) -> PathBuf {
    let db = dir.join("council-sync.db");
    let (github_api, jira_base, sandbox) = match sandbox_url {
        Some(url) => (url.to_owned(), url.to_owned(), String::new()),
        None => (
            "https://api.github.com".to_owned(),
            "https://acme.atlassian.net".to_owned(),
            "[sandbox]\nembedded = true\nlisten = \"127.0.0.1:0\"\ncouncil_members = [\"carol\", \"dave\"]\n".to_owned(),
        ),
    };
    let (auth, link) = if jira_api == 2 {
        (
            "[jira.auth]\ntype = \"bearer\"\n",
            "[jira.epic_link]\ntype = \"custom_field\"\nepic_link_field = \"customfield_10008\"\nepic_name_field = \"customfield_10011\"\n",
        )
    } else {
        (
            "[jira.auth]\ntype = \"basic\"\nemail = \"council-sync@example.com\"\n",
            "[jira.epic_link]\ntype = \"parent\"\n",
        )
    };
    let text = format!(
        r#"[github]
api_url = "{github_api}"
repos = ["{REPO}"]
council = "acme/sre-council"

[jira]
base_url = "{jira_base}"
api_version = {jira_api}
epic_project = "SRE"
{auth}
{link}
[teams.payments]
jira_project = "PAY"
[teams.platform]
jira_project = "PLAT"
[teams.data]
jira_project = "DATA"
[teams.identity]
jira_project = "IDN"
[teams.networking]
jira_project = "NET"

[store]
url = "sqlite://{db}"

[server]
listen = "127.0.0.1:0"

[retry]
attempts = 4
initial_backoff = "50ms"
max_backoff = "2s"

{sandbox}"#,
        db = db.display()
    );
    let path = dir.join("council-sync.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The webhook secret the tests give the daemon (through the environment, as in production).
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// Reads the child's stdout until a line starts with `prefix`; returns the rest of the line.
async fn line_after(
    child: &mut Child,
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    prefix: &str,
) -> String {
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
        panic!(
            "council-sync exited ({:?}) before printing {prefix:?}",
            child.try_wait()
        );
    };
    tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("no {prefix:?} line within {WAIT:?}"))
}

/// A running `council-sync run`.
pub struct Daemon {
    pub child: Child,
    /// `http://ADDR` of its webhook server.
    pub url: String,
    /// The embedded sandbox's URL, when embedded.
    pub sandbox_url: Option<String>,
}

impl Daemon {
    /// Starts `council-sync run --config CONFIG` with secrets in the environment.
    pub async fn start(config: &Path) -> Daemon {
        let mut child = Command::new(binary())
            .args(["run", "--config"])
            .arg(config)
            .env("COUNCIL_GITHUB__TOKEN", "test-github-token")
            .env("COUNCIL_GITHUB__WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("COUNCIL_JIRA__AUTH__TOKEN", "test-jira-token")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn council-sync run");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = line_after(&mut child, &mut lines, "council-sync listening on ").await;
        let embedded = std::fs::read_to_string(config)
            .expect("config")
            .contains("embedded = true");
        let sandbox_url = if embedded {
            let rest = line_after(&mut child, &mut lines, "sandbox (GitHub + Jira) on ").await;
            Some(rest.split(';').next().unwrap_or_default().trim().to_owned())
        } else {
            None
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Daemon {
            child,
            url,
            sandbox_url,
        }
    }

    /// SIGKILL: no shutdown, no flush, as a crash.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("pid").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("exit in time")
            .expect("wait")
    }
}

/// A running `council-sync sandbox`.
pub struct SandboxProcess {
    pub child: Child,
    pub url: String,
}

impl SandboxProcess {
    /// Starts the standalone sandbox on a free port.
    pub async fn start() -> SandboxProcess {
        let mut child = Command::new(binary())
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn council-sync sandbox");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = line_after(&mut child, &mut lines, "sandbox listening on ").await;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        SandboxProcess { child, url }
    }

    /// Points its webhook deliveries at a daemon.
    pub async fn deliver_to(&self, daemon: &Daemon) {
        ctl(&self.url)
            .post(
                "/_sandbox/webhooks",
                json!({"url": format!("{}/webhooks/github", daemon.url), "secret": WEBHOOK_SECRET}),
            )
            .await
            .expect("set webhook target");
    }
}

/// The control client of a sandbox.
pub fn ctl(url: &str) -> SandboxControl {
    SandboxControl::new(url)
}

/// A complete concern body for `teams`.
pub fn complete_body(teams: &[&str]) -> String {
    council_sync::demo::script::form_body(
        "Checkout latency alerts page the on-call every night; failover is manual.",
        "Two incidents this quarter cost forty minutes of checkout downtime each.",
        "Automate the failover and add a synthetic probe for each team.",
        teams,
    )
}

/// Opens a complete concern as alice and waits until the daemon marks it ready.
pub async fn ready_concern(ctl: &SandboxControl, teams: &[&str]) -> u64 {
    let n = ctl
        .open_issue(
            REPO,
            "alice",
            "Checkout DB failover is manual",
            &complete_body(teams),
            &["sre-concern"],
        )
        .await
        .expect("open");
    wait_issue(ctl, n, "ready-for-council", |i| {
        view::has_label(i, "ready-for-council")
    })
    .await;
    n
}

/// Waits until the issue satisfies `cond`; returns it.
pub async fn wait_issue(
    ctl: &SandboxControl,
    n: u64,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    ctl.wait_for(what, WAIT, || async {
        let issue = ctl.issue(REPO, n).await?;
        Ok(cond(&issue).then_some(issue))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// GitHub's global id of issue `n` (the markers are built from it).
pub async fn issue_id(ctl: &SandboxControl, n: u64) -> u64 {
    let issue = ctl.issue(REPO, n).await.expect("issue");
    issue["issue"]["id"].as_u64().expect("issue id")
}

/// Every Jira issue created for concern `id`: (epics, stories by team).
pub async fn jira_for(
    ctl: &SandboxControl,
    id: u64,
    teams: &[&str],
) -> (Vec<view::JiraView>, Vec<(String, view::JiraView)>) {
    let epic_marker = council_sync::engine::epic_marker(id);
    let epics: Vec<view::JiraView> = ctl
        .jira_issues(&format!("labels = \"{epic_marker}\""))
        .await
        .expect("jql")
        .iter()
        .map(view::jira)
        .collect();
    let mut stories = Vec::new();
    for team in teams {
        let marker = council_sync::engine::story_marker(id, team);
        for s in ctl
            .jira_issues(&format!("labels = \"{marker}\""))
            .await
            .expect("jql")
            .iter()
            .map(view::jira)
        {
            stories.push((team.to_string(), s));
        }
    }
    (epics, stories)
}

/// Waits until the tracking comment of issue `n` lists `count` story links.
pub async fn wait_stories_listed(ctl: &SandboxControl, n: u64, count: usize) -> Value {
    wait_issue(ctl, n, "tracking comment lists the stories", |i| {
        view::tracking_comments(i).first().is_some_and(|c| {
            c.body.matches("Story for **").count() == count && !c.body.contains(": pending")
        })
    })
    .await
}

/// Sends a signed webhook delivery to the daemon; returns the status.
pub async fn deliver(daemon_url: &str, event: &str, delivery_id: &str, body: &[u8]) -> u16 {
    let sig = council_sync::github::webhook::signature::sign(WEBHOOK_SECRET.as_bytes(), body);
    reqwest::Client::new()
        .post(format!("{daemon_url}/webhooks/github"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery_id)
        .header("X-Hub-Signature-256", sig)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("deliver")
        .status()
        .as_u16()
}

/// `../shared/` (API descriptions and real webhook fixtures): `$COUNCIL_SHARED_DIR`, else
/// beside the checkout, else `/work/shared`.
pub fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("COUNCIL_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if beside.is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared")
    }
}

/// Adds a fault to the sandbox; returns its id.
pub async fn add_fault(c: &SandboxControl, spec: Value) -> u64 {
    c.post("/_sandbox/faults", spec).await.expect("add fault")["id"]
        .as_u64()
        .expect("fault id")
}

/// How many requests a fault has affected.
pub async fn fault_hits(c: &SandboxControl, id: u64) -> u64 {
    c.get(&format!("/_sandbox/faults/{id}"))
        .await
        .expect("fault")["hits"]
        .as_u64()
        .unwrap_or(0)
}
