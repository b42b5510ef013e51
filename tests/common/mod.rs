//! Black-box harness: starts the real `council-sync` binary (daemon or sandbox) as a child
//! process on free ports and talks to it over HTTP. Readiness comes from the lines the
//! binary prints on stdout; waiting is done on the sandbox's change feed, never on sleeps.

#![allow(dead_code)]

pub mod pg_cluster;

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

/// The binary under test: `$COUNCIL_SYNC_BIN` when set (`scripts/bench` points it at the
/// release build), else the one cargo built with these tests.
pub fn binary() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var("COUNCIL_SYNC_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_council-sync").to_owned())
    })
}

/// The teams of the shipped issue form; a config must map every one of them.
pub const FORM_TEAMS: [&str; 5] = ["payments", "platform", "data", "identity", "networking"];

/// One test's own corner of a sandbox: a repository and Jira projects nobody else uses, so
/// tests stay independent when they share one sandbox (and one pair of Prism proxies in the
/// contract step).
pub struct World {
    /// Where the sandbox's control API is (and its APIs, unless proxied).
    pub sandbox_url: String,
    /// Base URL the daemon uses for GitHub (a proxy in the contract step).
    pub github_api: String,
    /// Base URL the daemon uses for Jira (a proxy in the contract step).
    pub jira_api: String,
    /// `owner/name` of this test's repository.
    pub repo: String,
    /// Jira project of the epics.
    pub epic_project: String,
    /// Jira project of each form team.
    pub projects: Vec<(String, String)>,
    /// A sandbox started for this test alone (none when shared through the environment).
    pub own_sandbox: Option<SandboxProcess>,
    /// `jira.api_version` of the last Jira config written: the flavour
    /// [`World::deliver_jira_to`] registers (Data Center bodies for a v2 daemon).
    pub jira_flavour: std::sync::atomic::AtomicU8,
}

impl World {
    /// Uses the sandbox named by `COUNCIL_TEST_SANDBOX_URL` (API calls through
    /// `COUNCIL_TEST_GITHUB_API_URL` / `COUNCIL_TEST_JIRA_URL` when set), or starts one.
    pub async fn new() -> World {
        match std::env::var("COUNCIL_TEST_SANDBOX_URL") {
            Ok(url) => {
                let github =
                    std::env::var("COUNCIL_TEST_GITHUB_API_URL").unwrap_or_else(|_| url.clone());
                let jira = std::env::var("COUNCIL_TEST_JIRA_URL").unwrap_or_else(|_| url.clone());
                World::on(None, url, github, jira).await
            }
            Err(_) => World::private().await,
        }
    }

    /// A sandbox of this test's own: for tests that inject faults, which apply to every
    /// request on a path (Jira's bulk create path is the same for every project).
    pub async fn private() -> World {
        let sb = SandboxProcess::start().await;
        let url = sb.url.clone();
        World::on(Some(sb), url.clone(), url.clone(), url).await
    }

    async fn on(
        own_sandbox: Option<SandboxProcess>,
        sandbox_url: String,
        github_api: String,
        jira_api: String,
    ) -> World {
        let tag: String = uuid::Uuid::new_v4().simple().to_string()[..6].to_uppercase();
        let tag = format!("T{tag}");
        let c = ctl(&sandbox_url);
        let repo_name = format!("concerns-{}", tag.to_lowercase());
        c.post(
            "/_sandbox/github/repos",
            json!({"owner": "acme", "name": repo_name}),
        )
        .await
        .expect("create repo");
        for login in ["carol", "dave"] {
            c.post(
                "/_sandbox/github/orgs/acme/teams/sre-council/members",
                json!({"login": login}),
            )
            .await
            .expect("council member");
        }
        let epic_project = format!("E{tag}");
        let projects: Vec<(String, String)> = FORM_TEAMS
            .iter()
            .enumerate()
            .map(|(i, team)| (team.to_string(), format!("P{i}{tag}")))
            .collect();
        for key in std::iter::once(&epic_project).chain(projects.iter().map(|(_, p)| p)) {
            c.post("/_sandbox/jira/projects", json!({"key": key, "name": key}))
                .await
                .expect("create project");
        }
        World {
            sandbox_url,
            github_api,
            jira_api,
            repo: format!("acme/{repo_name}"),
            epic_project,
            projects,
            own_sandbox,
            jira_flavour: std::sync::atomic::AtomicU8::new(3),
        }
    }

    /// The control client of this world's sandbox.
    pub fn ctl(&self) -> SandboxControl {
        ctl(&self.sandbox_url)
    }

    /// The Jira project of `team`'s stories.
    pub fn project(&self, team: &str) -> &str {
        self.projects
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, p)| p.as_str())
            .expect("form team")
    }

    /// A daemon config for this world (secrets come from the environment, as in production).
    pub fn write_config(&self, dir: &Path, jira_api: u8) -> PathBuf {
        self.write_config_with(dir, jira_api, "")
    }

    /// Same, with `extra` TOML appended (e.g. a `[sync]` section).
    pub fn write_config_with(&self, dir: &Path, jira_api: u8, extra: &str) -> PathBuf {
        self.write_config_jira(dir, jira_api, TEST_CONSISTENCY, extra)
    }

    /// Same, with `jira_keys` (TOML lines) in the `[jira]` section instead of the tests'
    /// short search consistency window ([`TEST_CONSISTENCY`]).
    pub fn write_config_jira(
        &self,
        dir: &Path,
        jira_api: u8,
        jira_keys: &str,
        extra: &str,
    ) -> PathBuf {
        let store_url = store_url(dir);
        self.jira_flavour
            .store(jira_api, std::sync::atomic::Ordering::Relaxed);
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
        let teams: String = self
            .projects
            .iter()
            .map(|(team, key)| format!("[teams.{team}]\njira_project = \"{key}\"\n"))
            .collect();
        let text = format!(
            r#"[github]
api_url = "{github}"
repos = ["{repo}"]
council = "acme/sre-council"

[jira]
base_url = "{jira}"
api_version = {jira_api}
epic_project = "{epic}"
{jira_keys}
{auth}
{link}
{teams}
[store]
url = "{store_url}"

[server]
listen = "127.0.0.1:0"

[retry]
attempts = 4
initial_backoff = "50ms"
max_backoff = "2s"

{extra}
"#,
            github = self.github_api,
            repo = self.repo,
            jira = self.jira_api,
            epic = self.epic_project,
        );
        let path = dir.join("council-sync.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Points this repository's webhook deliveries at `daemon` (a repository hook, so other
    /// tests' daemons on the same sandbox keep theirs).
    pub async fn deliver_to(&self, daemon: &Daemon) {
        let hook =
            json!({"url": format!("{}/webhooks/github", daemon.url), "secret": WEBHOOK_SECRET});
        let c = self.ctl();
        if c.post(
            &format!("/_sandbox/github/repos/{}/hooks", self.repo),
            hook.clone(),
        )
        .await
        .is_err()
        {
            // A sandbox without repository hooks: one global target (fine when not shared).
            c.post("/_sandbox/webhooks", hook)
                .await
                .expect("set webhook target");
        }
    }

    /// Also sends the sandbox's Jira webhooks to `daemon` (signed; shaped as the flavour of the
    /// last Jira config written, Cloud or Data Center). Jira targets
    /// are sandbox-wide: every registered daemon gets every event and ignores the issues it
    /// does not know.
    pub async fn deliver_jira_to(&self, daemon: &Daemon) {
        let flavour = self.jira_flavour.load(std::sync::atomic::Ordering::Relaxed);
        self.deliver_jira_to_as(daemon, flavour).await;
    }

    /// [`Self::deliver_jira_to`] from a Jira of `api_version`'s flavour: 3 Cloud (people by
    /// `accountId`), 2 Data Center (people by `name`/`key`, no `accountId`).
    pub async fn deliver_jira_to_as(&self, daemon: &Daemon, api_version: u8) {
        let hook = json!({"url": format!("{}/webhooks/jira", daemon.url),
                          "secret": JIRA_WEBHOOK_SECRET, "api_version": api_version});
        self.ctl()
            .post("/_sandbox/jira/webhooks", hook)
            .await
            .expect("register Jira webhook");
    }

    /// Starts a daemon for this world and routes the repository's webhooks to it.
    pub async fn daemon(&self, config: &Path) -> Daemon {
        let daemon = Daemon::start(config).await;
        self.deliver_to(&daemon).await;
        daemon
    }

    /// Opens a complete concern as alice and waits until the daemon marks it ready.
    pub async fn ready_concern(&self, teams: &[&str]) -> u64 {
        let c = self.ctl();
        let n = c
            .open_issue(
                &self.repo,
                "alice",
                "Checkout DB failover is manual",
                &complete_body(teams),
                &["sre-concern"],
            )
            .await
            .expect("open");
        self.wait_issue(n, "ready-for-council", |i| {
            view::has_label(i, "ready-for-council")
        })
        .await;
        n
    }

    /// Waits until issue `n` satisfies `cond`; returns it.
    pub async fn wait_issue(&self, n: u64, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        let c = self.ctl();
        c.wait_for(what, WAIT, || async {
            let issue = c.issue(&self.repo, n).await?;
            Ok(cond(&issue).then_some(issue))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The issue as the sandbox holds it.
    pub async fn issue(&self, n: u64) -> Value {
        self.ctl().issue(&self.repo, n).await.expect("issue")
    }

    /// GitHub's global id of issue `n` (the markers are built from it).
    pub async fn issue_id(&self, n: u64) -> u64 {
        self.issue(n).await["issue"]["id"]
            .as_u64()
            .expect("issue id")
    }

    /// Waits until the tracking comment of issue `n` lists `count` created stories.
    pub async fn wait_stories_listed(&self, n: u64, count: usize) -> Value {
        self.wait_issue(n, "tracking comment lists the stories", |i| {
            view::tracking_comments(i).first().is_some_and(|c| {
                stories_listed(&c.body) == count && !c.body.contains(" | pending |")
            })
        })
        .await
    }

    /// Every Jira issue created for issue `n`: (epics, stories with their team).
    pub async fn jira_for(
        &self,
        n: u64,
        teams: &[&str],
    ) -> (Vec<view::JiraView>, Vec<(String, view::JiraView)>) {
        let id = self.issue_id(n).await;
        let c = self.ctl();
        let epic_marker = council_sync::engine::epic_marker(id);
        let epics: Vec<view::JiraView> = c
            .jira_issues(&format!("labels = \"{epic_marker}\""))
            .await
            .expect("jql")
            .iter()
            .map(view::jira)
            .collect();
        let mut stories = Vec::new();
        for team in teams {
            let marker = council_sync::engine::story_marker(id, team);
            for s in c
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
}

/// Environment variable that picks the store of the daemons the harness configures:
/// `postgres` gives each config a database of its own on the shared test cluster
/// ([`pg_cluster`]); unset (or anything else), a SQLite file in the test's directory.
/// `scripts/test` runs the engine-level suites once more with it set.
pub const STORE_ENV: &str = "COUNCIL_TEST_STORE";

/// Whether this run's daemons use PostgreSQL ([`STORE_ENV`] = `postgres`).
pub fn on_postgres() -> bool {
    std::env::var(STORE_ENV).is_ok_and(|v| v == "postgres")
}

/// The `[store] url` for a daemon whose files live in `dir` (see [`STORE_ENV`]).
pub fn store_url(dir: &Path) -> String {
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("council-sync.db").display());
    }
    // Configs are written from synchronous code inside the tests' runtimes: the database is
    // made on a thread (and a runtime) of its own.
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(pg_cluster::database_url())
    })
    .join()
    .expect("create the test database")
    .unwrap_or_else(|| panic!("{STORE_ENV}=postgres, but PostgreSQL is not installed"))
}

/// The `[store] url` a config written by this harness names, to open the daemon's store
/// from a test (after the daemon stopped, or read-only beside it).
pub fn store_url_of(config: &Path) -> String {
    let text = std::fs::read_to_string(config).expect("read config");
    let mut in_store = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_store = line == "[store]";
        } else if in_store && let Some(v) = line.strip_prefix("url = ") {
            return v.trim_matches('"').to_owned();
        }
    }
    panic!("no [store] url in {}", config.display())
}

/// The `[jira]` consistency keys of the tests' configs: the sandbox's search shows every
/// issue at once unless a test turns its lag on, so a create whose outcome is unknown (a
/// held request cut by a kill) is trusted as "not made" after a second, not two minutes.
pub const TEST_CONSISTENCY: &str =
    "search_consistency_window = \"1s\"\nsearch_consistency_wait = \"5s\"\n";

/// A config with the embedded sandbox (the shipped `config/sandbox.toml`, on free ports with
/// a store in `dir`).
pub fn write_embedded_config(dir: &Path) -> PathBuf {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sandbox.toml"))
            .expect("config/sandbox.toml")
            .replace(
                "sqlite://council-sync-sandbox.db",
                &format!("sqlite://{}", dir.join("council-sync.db").display()),
            )
            .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"");
    let path = dir.join("council-sync.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The webhook secret the tests give the daemon (through the environment, as in production).
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// The Jira (Cloud admin webhook) secret the tests give the daemon.
pub const JIRA_WEBHOOK_SECRET: &str = "test-jira-webhook-secret";

/// The secrets every command of the binary gets, through the environment as in production.
pub const SECRETS_ENV: [(&str, &str); 4] = [
    ("COUNCIL_GITHUB__TOKEN", "test-github-token"),
    ("COUNCIL_GITHUB__WEBHOOK_SECRET", WEBHOOK_SECRET),
    ("COUNCIL_JIRA__AUTH__TOKEN", "test-jira-token"),
    ("COUNCIL_JIRA__WEBHOOK_SECRET", JIRA_WEBHOOK_SECRET),
];

/// [`SECRETS_ENV`] for a config: without the Jira ones when it uses GitHub Projects (an
/// operator of that tracker has no Jira to give secrets of, and a `COUNCIL_JIRA__*` variable
/// would make a `[jira]` section of its own).
pub fn secrets_for(config: &Path) -> Vec<(&'static str, &'static str)> {
    let projects =
        std::fs::read_to_string(config).is_ok_and(|t| t.contains("kind = \"github-projects\""));
    SECRETS_ENV
        .iter()
        .copied()
        .filter(|(k, _)| !(projects && k.starts_with("COUNCIL_JIRA")))
        .collect()
}

/// GitHub Projects for one [`World`]: a repository per form team and an organisation
/// project with Status, Team and Iteration fields.
pub struct ProjectsWorld {
    /// The project's number (under `acme`).
    pub number: u64,
    /// Team → `owner/name` of its repository.
    pub team_repos: Vec<(String, String)>,
}

impl ProjectsWorld {
    /// The repository of `team`'s stories.
    pub fn repo(&self, team: &str) -> &str {
        self.team_repos
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, r)| r.as_str())
            .expect("form team")
    }
}

/// A GitHub REST call to the sandbox as a reader (any token does).
pub async fn github_get(base: &str, path: &str) -> Value {
    let resp = council_sync::crypto::http_client()
        .get(format!("{base}{path}"))
        .bearer_auth("test-reader-token")
        .send()
        .await
        .expect("GitHub GET");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.expect("GitHub JSON")
}

impl World {
    /// Seeds GitHub Projects for this world: `acme/<team>-<tag>` repositories, project
    /// `number` of `acme` (unique to this world) and the organisation's issue types.
    pub async fn projects_setup(&self) -> ProjectsWorld {
        let c = self.ctl();
        let tag = self.repo.rsplit('-').next().unwrap_or("x").to_owned();
        let number = 1 + u64::from_str_radix(&tag[1..], 16).unwrap_or(0) % 1_000_000;
        let mut team_repos = Vec::new();
        for team in FORM_TEAMS {
            let name = format!("{team}-{tag}");
            c.post(
                "/_sandbox/github/repos",
                json!({"owner": "acme", "name": name}),
            )
            .await
            .expect("create team repo");
            team_repos.push((team.to_owned(), format!("acme/{name}")));
        }
        let today = chrono::Utc::now().date_naive();
        let day = |d: i64| {
            (today + chrono::Duration::days(d))
                .format("%Y-%m-%d")
                .to_string()
        };
        c.post(
            "/_sandbox/github/projects",
            json!({ "owner": "acme", "number": number, "title": "SRE council",
                "single_select": { "Status": ["Todo", "In Progress", "Done"], "Team": FORM_TEAMS },
                "iteration": { "Iteration": [["Iteration 1", day(-3), 14], ["Iteration 2", day(11), 14]] } }),
        )
        .await
        .expect("seed project");
        c.post(
            "/_sandbox/github/orgs/acme/issue-types",
            json!({ "names": ["Task", "Epic", "Bug"] }),
        )
        .await
        .expect("issue types");
        ProjectsWorld { number, team_repos }
    }

    /// A config for GitHub Projects on `pw` (no `[jira]`), plus `extra`.
    pub fn write_config_projects(&self, dir: &Path, pw: &ProjectsWorld, extra: &str) -> PathBuf {
        let db = dir.join("council-sync.db");
        let teams: String = pw
            .team_repos
            .iter()
            .map(|(team, repo)| format!("[teams.{team}]\nrepo = \"{repo}\"\n"))
            .collect();
        let text = format!(
            r#"[tracker]
kind = "github-projects"

[github]
api_url = "{github}"
repos = ["{repo}"]
council = "acme/sre-council"

[github_projects]
owner = "acme"
number = {number}

{teams}
[store]
url = "sqlite://{db}"

[server]
listen = "127.0.0.1:0"

[retry]
attempts = 4
initial_backoff = "50ms"
max_backoff = "2s"

[sync]
not_planned_status = "Not planned"
reopen_status = "Todo"
epic_done_status = "Done"

{extra}
"#,
            github = self.github_api,
            repo = self.repo,
            number = pw.number,
            db = db.display()
        );
        let path = dir.join("council-sync.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Starts a daemon and sends it every delivery of the sandbox, as an organisation
    /// webhook does (GitHub sends `projects_v2_item` to organisation hooks and Apps only).
    pub async fn daemon_org(&self, config: &Path) -> Daemon {
        let daemon = Daemon::start(config).await;
        let hook =
            json!({"url": format!("{}/webhooks/github", daemon.url), "secret": WEBHOOK_SECRET});
        self.ctl()
            .post("/_sandbox/webhooks", hook)
            .await
            .expect("set the organisation webhook target");
        daemon
    }

    /// Every story of concern `n` on GitHub Projects, per team: (team, key, is a sub-issue
    /// of `n`). Found in two ways: the concern's sub-issues (REST, consistent) and every
    /// issue of the team repositories carrying the story's hidden marker, so an unlinked
    /// or duplicated story is seen too.
    pub async fn projects_stories_for(
        &self,
        pw: &ProjectsWorld,
        n: u64,
        teams: &[&str],
    ) -> Vec<(String, String, bool)> {
        let id = self.issue_id(n).await;
        let subs = github_get(
            &self.sandbox_url,
            &format!("/repos/{}/issues/{n}/sub_issues?per_page=100", self.repo),
        )
        .await;
        let sub_urls: Vec<String> = subs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["url"].as_str().map(str::to_owned))
            .collect();
        let mut out = Vec::new();
        for team in teams {
            let marker = council_sync::engine::story_marker(id, team);
            let needle = format!("council-sync-story: {marker} ");
            let repo = pw.repo(team);
            let issues = github_get(
                &self.sandbox_url,
                &format!("/repos/{repo}/issues?state=all&per_page=100"),
            )
            .await;
            for i in issues.as_array().into_iter().flatten() {
                if i["body"].as_str().is_some_and(|b| b.contains(&needle)) {
                    let url = i["url"].as_str().unwrap_or_default().to_owned();
                    let number = i["number"].as_u64().unwrap_or_default();
                    out.push((
                        team.to_string(),
                        format!("{repo}#{number}"),
                        sub_urls.contains(&url),
                    ));
                }
            }
        }
        out
    }
}

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
    /// The daemon's `/metrics` text (Prometheus exposition format).
    pub async fn metrics(&self) -> String {
        council_sync::crypto::http_client()
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Starts `council-sync run --config CONFIG` with secrets in the environment.
    pub async fn start(config: &Path) -> Daemon {
        Daemon::start_env(config, &[]).await
    }

    /// Same, with more environment (e.g. `COUNCIL_SERVER__DRAIN`).
    pub async fn start_env(config: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::launch(config, env, false).await.0
    }

    /// Starts a daemon whose config turns the board on (`[server.board]`); returns it with
    /// the board's `http://ADDR/` as the daemon prints it.
    pub async fn start_with_board(config: &Path) -> (Daemon, String) {
        let (daemon, board) = Daemon::launch(config, &[], true).await;
        (daemon, board.unwrap_or_default())
    }

    async fn launch(config: &Path, env: &[(&str, &str)], board: bool) -> (Daemon, Option<String>) {
        let mut child = Command::new(binary())
            .args(["run", "--config"])
            .arg(config)
            .envs(secrets_for(config))
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn council-sync run");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = line_after(&mut child, &mut lines, "council-sync listening on ").await;
        let board_url = if board {
            Some(line_after(&mut child, &mut lines, "council board on ").await)
        } else {
            None
        };
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
        (
            Daemon {
                child,
                url,
                sandbox_url,
            },
            board_url,
        )
    }

    /// Waits until the daemon has caught up (`GET /status`: nothing to decide, nothing to
    /// write) and the sandbox stays unchanged for a moment after that: what settles means.
    pub async fn wait_settled(&self, c: &SandboxControl) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let before = c.version().await.expect("version");
            let status: Value = council_sync::crypto::http_client()
                .get(format!("{}/status", self.url))
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("status json");
            let idle = status["pending_deliveries"] == 0 && status["pending_writes"] == 0;
            let after = c
                .get(&format!("/_sandbox/changes?after={before}&timeout_ms=300"))
                .await
                .expect("changes");
            if idle && after["version"].as_u64() == Some(before) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the daemon did not settle within {WAIT:?}: {status}"
            );
        }
    }

    /// `GET /status` as JSON.
    pub async fn status(&self) -> Value {
        council_sync::crypto::http_client()
            .get(format!("{}/status", self.url))
            .send()
            .await
            .expect("status")
            .json()
            .await
            .expect("status json")
    }

    /// Waits until `GET /status` satisfies `cond` (the daemon reports it); returns it.
    pub async fn wait_status(&self, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let status = self.status().await;
            if cond(&status) {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "status never showed {what} within {WAIT:?}: {status}"
            );
        }
    }

    /// Sends SIGTERM without waiting.
    pub async fn send_term(&self) {
        let pid = self.child.id().expect("pid").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
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
}

/// The control client of a sandbox.
pub fn ctl(url: &str) -> SandboxControl {
    SandboxControl::new(url)
}

/// Rows of the tracking comment's story table whose story exists (a link in the Story
/// column): `| payments | [PAY-1](…) | To Do | – | – |`.
pub fn stories_listed(tracking: &str) -> usize {
    tracking
        .lines()
        .filter(|l| {
            l.starts_with("| ") && l.split(" | ").nth(1).is_some_and(|c| c.starts_with('['))
        })
        .count()
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

/// Sends a signed webhook delivery to the daemon; returns the status.
pub async fn deliver(daemon_url: &str, event: &str, delivery_id: &str, body: &[u8]) -> u16 {
    let sig = council_sync::github::webhook::signature::sign(WEBHOOK_SECRET.as_bytes(), body);
    council_sync::crypto::http_client()
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

/// Runs `council-sync reconcile --once` on `config` to completion.
pub async fn reconcile_once(config: &Path) {
    let out = Command::new(binary())
        .args(["reconcile", "--once", "--timeout", "60s", "--config"])
        .arg(config)
        .envs(secrets_for(config))
        .output()
        .await
        .expect("run reconcile");
    eprintln!(
        "reconcile --once said:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "reconcile --once failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `council-sync ARGS --config CONFIG` with the tests' secrets; its stdout (it must succeed).
pub async fn run_ok(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(binary())
        .args(args)
        .arg("--config")
        .arg(config)
        .envs(SECRETS_ENV)
        .output()
        .await
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
