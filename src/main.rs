//! The `council-sync` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use council_sync::concern::{self, criteria, form::IssueForm};
use council_sync::config::{self, Config};
use council_sync::{daemon, doctor, setup};
#[cfg(feature = "sandbox")]
use council_sync::{demo, sandbox};

mod healthcheck;

/// Bridges an SRE council's GitHub concerns into Jira epics and team stories.
#[derive(Debug, Parser)]
#[command(name = "council-sync", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "COUNCIL_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon until Ctrl-C or SIGTERM.
    Run {
        /// Config file (TOML); `COUNCIL_SECTION__KEY` env vars override it.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check an issue body against the council's criteria: exit 0 when complete, 1 when not,
    /// 2 when the body or the config cannot be read (or the command line is wrong).
    Check {
        /// The issue body (Markdown, as GitHub renders the issue form); `-` reads stdin.
        file: PathBuf,
        /// Use this config's criteria and issue form instead of the shipped defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// One pass: ask GitHub and the tracker what changed since the cursors and repair what
    /// drifted (what lost webhooks left behind); with `--full`, read every concern and every
    /// tracker item in pages instead. Safe beside a running daemon.
    Reconcile {
        #[arg(long, short)]
        config: PathBuf,
        /// Run one pass to completion and exit (the only mode for now; the daemon runs the
        /// periodic pass itself, every `sync.reconcile_interval`).
        #[arg(long, required = true)]
        once: bool,
        /// The full sweep (pages of 100 on each side, what the daemon runs every
        /// `sync.full_sweep_interval`) instead of only what changed since the cursors.
        #[arg(long)]
        full: bool,
        /// Give up when writes are still pending after this long.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Import the concerns that existed before the daemon.
    Backfill {
        #[arg(long, short)]
        config: PathBuf,
        /// Only say what would be imported.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check, live and read-only, everything the daemon needs from GitHub and Jira; print
    /// ok / missing / wrong with the fix for each; exit 1 if anything blocks.
    Doctor {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Create the labels, commit the issue form, register the GitHub and Jira webhooks;
    /// print what the given rights cannot do as steps for a person. Safe to run again.
    Setup {
        #[arg(long, short)]
        config: PathBuf,
        /// Only show what would be done.
        #[arg(long)]
        dry_run: bool,
    },
    /// The agenda of the council's next session, from the store (and each listed issue as
    /// GitHub has it). `--post` also posts it as the session's agenda issue.
    Agenda {
        #[arg(long, short)]
        config: PathBuf,
        /// The instant to prepare for (default now): RFC 3339 (`2026-12-08T09:00:00Z`) or a
        /// date / date and time in `[agenda] time_zone` (`2026-12-08`, `2026-12-08 09:00`).
        #[arg(long)]
        at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = AgendaFormat::Md)]
        format: AgendaFormat,
        /// Post (or update) the session's agenda issue now, whatever `post_before` says.
        #[arg(long)]
        post: bool,
    },
    /// The accepted concerns' epics by state and quarter decided, with teams, progress,
    /// lead time so far and results: for a planning document or a spreadsheet.
    Roadmap {
        #[arg(long, short)]
        config: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RoadmapFormat::Md)]
        format: RoadmapFormat,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run the sandbox (GitHub and Jira stand-in) alone, until Ctrl-C. Point webhooks at a
    /// daemon with `POST /_sandbox/webhooks {"url": …, "secret": …}`.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Where to listen (port 0: any free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: std::net::SocketAddr,
        /// Seed repositories, council and Jira projects from this config (default: the
        /// shipped config/sandbox.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Probe a running daemon over plain HTTP (a container HEALTHCHECK: slim images have no
    /// curl): exit 0 when the URL answers 200, 1 otherwise, with the reason on stderr.
    Healthcheck {
        /// The URL to probe: `http://HOST:PORT/PATH` (no TLS; the daemon's own port).
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: url::Url,
        /// Give up when there is no answer after this long.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// A scripted council session against the embedded sandbox; exit 1 if a step failed.
    #[cfg(feature = "sandbox")]
    Demo {
        /// The tracker to play: Jira (the default) or GitHub Projects.
        #[arg(long, value_enum, default_value_t = DemoTrackerArg::Jira)]
        tracker: DemoTrackerArg,
        /// Jira REST version to play: 3 (Cloud) or 2 (Data Center).
        #[arg(long, default_value_t = 3)]
        jira_api: u8,
        /// Use a sandbox already running (`council-sync sandbox`) instead of the embedded one.
        #[arg(long)]
        sandbox_url: Option<String>,
        /// With --sandbox-url: the GitHub API base URL the daemon calls (e.g. a Prism proxy).
        #[arg(long, requires = "sandbox_url")]
        github_api_url: Option<String>,
        /// With --sandbox-url: the Jira base URL the daemon calls (e.g. a Prism proxy).
        #[arg(long, requires = "sandbox_url")]
        jira_url: Option<String>,
        /// After the session, keep the daemon, the sandbox and the council board up until
        /// Ctrl-C or SIGTERM (to open the board and the sandbox's pages in a browser).
        #[arg(long)]
        keep: bool,
    },
}

/// `demo --tracker`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DemoTrackerArg {
    /// Jira (`--jira-api` picks Cloud or Data Center).
    Jira,
    /// GitHub Projects with sub-issues.
    GithubProjects,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AgendaFormat {
    Md,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoadmapFormat {
    Md,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file and name every bad key with the reason.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// Exit code of `check` when the body or config cannot be read (clap uses 2 for usage
/// errors too).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    #[cfg(feature = "sandbox")]
    let quiet = matches!(cli.command, Command::Demo { .. });
    #[cfg(not(feature = "sandbox"))]
    let quiet = false;
    init_logging(format, quiet);
    council_sync::github::client::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            fatal(
                format,
                &anyhow::anyhow!("cannot start the async runtime: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            fatal(format, &e);
            match e.downcast_ref::<Fatal>() {
                Some(Fatal::Usage(_) | Fatal::Problems { usage: true, .. }) => {
                    ExitCode::from(EXIT_USAGE)
                }
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// An error already worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
enum Fatal {
    /// `config check`-style lines (`error: KEY: REASON`), printed as they are; `usage`
    /// when the command exits 2 for them (`check --config`).
    #[error("{text}")]
    Problems {
        /// The rendered problems.
        text: String,
        /// Exit 2 instead of 1.
        usage: bool,
    },
    /// The command line names something that cannot be used (exit 2).
    #[error("{0}")]
    Usage(String),
}

/// Prints a fatal error once: the message and only the causes it does not already quote
/// (`{:#}` would repeat a cause whose text the message includes). JSON log mode gets one
/// JSON line, like every other log line.
fn fatal(format: LogFormat, e: &anyhow::Error) {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    match format {
        LogFormat::Json => tracing::error!(error = %text, "fatal"),
        LogFormat::Text if matches!(e.downcast_ref::<Fatal>(), Some(Fatal::Problems { .. })) => {
            eprintln!("{text}")
        }
        LogFormat::Text => eprintln!("error: {text}"),
    }
}

fn init_logging(format: LogFormat, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
    let ansi = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The embedded sandbox `run` starts when `[sandbox] embedded = true`: none in a build
/// without the `sandbox` feature (then such a config is refused with the reason).
fn embed() -> Option<daemon::Embed> {
    #[cfg(feature = "sandbox")]
    {
        Some(sandbox::embedded::EMBED)
    }
    #[cfg(not(feature = "sandbox"))]
    {
        None
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let cfg = load_config(&config)?;
            daemon::run_until_signal(cfg, embed()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { file, config } => check_body(&file, config.as_deref()),
        Command::Reconcile {
            config,
            once: _,
            full,
            timeout,
        } => {
            let cfg = load_config(&config)?;
            not_embedded(&cfg, &config, "reconcile --once")?;
            let queued = daemon::reconcile_once(cfg, full, timeout).await?;
            println!("reconciled {queued} concern(s)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill { config, dry_run } => backfill(&config, dry_run).await,
        Command::Doctor { config } => {
            let cfg = load_config(&config)?;
            let clients = doctor::Clients::from_config(&cfg).await?;
            let report = doctor::run(&cfg, &clients).await;
            println!("{}", report.render());
            Ok(if report.blocked() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Setup { config, dry_run } => setup_command(&config, dry_run).await,
        Command::Agenda {
            config,
            at,
            format,
            post,
        } => agenda(&config, at.as_deref(), format, post).await,
        Command::Roadmap { config, format } => roadmap(&config, format).await,
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            match config::check_file(&config) {
                Ok(cfg) => {
                    // Warnings do not fail the check, but a person should see them.
                    let warnings = config::check::warnings(&cfg);
                    if !warnings.is_empty() {
                        println!("{}", config::render_problems(&warnings));
                    }
                    println!("tracker: {}", cfg.tracker_summary());
                    println!("{}", config::check::talks_to(&cfg));
                    println!("{}: ok", config.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    println!("{}", config::render_problems(&problems));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox { listen, config } => {
            let cfg = match config {
                Some(path) => config::check_file_for_sandbox(&path).map_err(|problems| {
                    anyhow::Error::from(Fatal::Problems {
                        text: config::render_problems(&problems),
                        usage: false,
                    })
                })?,
                None => Config::from_toml_str(demo::SANDBOX_CONFIG, std::iter::empty())?,
            };
            sandbox::run_standalone(sandbox::embedded::standalone_options(&cfg, listen)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url, timeout } => {
            match tokio::time::timeout(timeout, healthcheck::probe(&url)).await {
                Ok(Ok(())) => Ok(ExitCode::SUCCESS),
                Ok(Err(e)) => {
                    eprintln!("unhealthy: {url}: {e}");
                    Ok(ExitCode::FAILURE)
                }
                Err(_) => {
                    eprintln!("unhealthy: {url}: no answer within {timeout:?}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        #[cfg(feature = "sandbox")]
        Command::Demo {
            tracker,
            jira_api,
            sandbox_url,
            github_api_url,
            jira_url,
            keep,
        } => {
            let target = demo::DemoTarget {
                sandbox_url,
                github_api_url,
                jira_url,
                keep,
            };
            let tracker = match tracker {
                DemoTrackerArg::Jira => demo::DemoTracker::Jira(jira_api),
                DemoTrackerArg::GithubProjects => demo::DemoTracker::GithubProjects,
            };
            let ok = demo::run(tracker, target).await?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Runs the backfill with a progress bar on a terminal and plain lines otherwise.
async fn backfill(config: &std::path::Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let cfg = load_config(config)?;
    not_embedded(&cfg, config, "backfill")?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let verb = if dry_run { "would import" } else { "imported" };
    let summary = daemon::backfill(
        cfg,
        dry_run,
        |done, total, item| match &bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(item.describe());
            }
            None => println!("backfill {done}/{total}: {}", item.describe()),
        },
        |e| {
            println!(
                "backfill estimate: {} GitHub write(s) and {} tracker call(s); at the configured \
                 limits ([limits.github] and [limits.jira]) about {}",
                e.github_writes,
                e.tracker_calls,
                humantime::format_duration(round_secs(e.takes))
            )
        },
        |p| {
            let left = p
                .left
                .map(|l| humantime::format_duration(round_secs(l)).to_string())
                .unwrap_or_else(|| "unknown".into());
            println!(
                "backfill progress: {} job(s) done, {} pending, {} elapsed, about {left} left",
                p.done,
                p.pending,
                humantime::format_duration(round_secs(p.elapsed))
            )
        },
    )
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!(
        "{} concern issue(s): {verb} {}, already known {}",
        summary.seen, summary.imported, summary.known
    );
    Ok(ExitCode::SUCCESS)
}

/// A duration to the whole second, for people.
fn round_secs(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs_f64().round() as u64)
}

/// `reconcile` and `backfill` work on GitHub, Jira and a store that outlive them; an
/// embedded sandbox and its store live only inside one `run`. Say what to do instead of
/// failing later on a missing token.
fn not_embedded(cfg: &Config, path: &std::path::Path, command: &str) -> Result<(), Fatal> {
    if !cfg.sandbox_embedded() {
        return Ok(());
    }
    let path = path.display();
    Err(Fatal::Usage(format!(
        "{path} starts its sandbox inside `council-sync run` ([sandbox] embedded = true); that \
         sandbox and its store exist only while that run does, and the running daemon \
         reconciles them by itself every sync.reconcile_interval.\n\
         To run `{command}` against a sandbox, start one on its own and point the config at \
         it (the same URL for GitHub and Jira; any token works there):\n  \
         council-sync sandbox --listen 127.0.0.1:8900 --config {path} &\n  \
         COUNCIL_SANDBOX__EMBEDDED=false COUNCIL_GITHUB__API_URL=http://127.0.0.1:8900 \
         COUNCIL_JIRA__BASE_URL=http://127.0.0.1:8900 COUNCIL_GITHUB__TOKEN=sandbox \
         COUNCIL_GITHUB__WEBHOOK_SECRET=sandbox COUNCIL_JIRA__AUTH__TOKEN=sandbox \
         council-sync {command} --config {path}"
    )))
}

/// `council-sync agenda`: prints the next session's agenda; with `--post`, posts it too.
async fn agenda(
    config: &std::path::Path,
    at: Option<&str>,
    format: AgendaFormat,
    post: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = load_config(config)?;
    let tz = jiff::tz::TimeZone::get(&cfg.agenda.time_zone)
        .with_context(|| format!("agenda.time_zone {:?}", cfg.agenda.time_zone))?;
    let at = match at {
        Some(text) => parse_at(text, &tz)?,
        None => jiff::Timestamp::now(),
    };
    let form = daemon::issue_form(&cfg)?;
    let store = council_sync::store::Store::open_with(&cfg.store.url, &cfg.store.options()).await?;
    let github = daemon::github_client(&cfg).await?;
    let a = council_sync::agenda::gather(&store, &github, &form, &cfg.agenda, at).await?;
    match format {
        AgendaFormat::Md => print!("{}", council_sync::agenda::render::markdown(&a)),
        AgendaFormat::Json => println!("{}", council_sync::agenda::render::json(&a)),
    }
    if post {
        let repo = cfg
            .agenda
            .repository(&cfg.github.repos)
            .context("no repository for the agenda issue: set [agenda] repo")?;
        let posted = council_sync::agenda::post(
            &github,
            &store,
            repo,
            &cfg.agenda.label,
            &a,
            jiff::Timestamp::now(),
        )
        .await?;
        eprintln!("agenda issue in {repo}: {posted:?}");
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `council-sync roadmap`: prints the roadmap.
async fn roadmap(config: &std::path::Path, format: RoadmapFormat) -> anyhow::Result<ExitCode> {
    use council_sync::roadmap;
    let cfg = load_config(config)?;
    let tz = jiff::tz::TimeZone::get(&cfg.agenda.time_zone)
        .with_context(|| format!("agenda.time_zone {:?}", cfg.agenda.time_zone))?;
    let form = daemon::issue_form(&cfg)?;
    let store = council_sync::store::Store::open_with(&cfg.store.url, &cfg.store.options()).await?;
    let github = daemon::github_client(&cfg).await?;
    let concerns = store.council_snapshot().await?;
    let now = jiff::Timestamp::now();
    let keys = roadmap::rows(&concerns, &Default::default(), now, &tz)
        .into_iter()
        .map(|r| (r.repo, r.number))
        .collect();
    let issues =
        council_sync::agenda::gather::read_issues(&github, &form, keys, cfg.agenda.answer_lines)
            .await;
    let rows = roadmap::rows(&concerns, &issues, now, &tz);
    print!(
        "{}",
        match format {
            RoadmapFormat::Md => roadmap::markdown(&rows),
            RoadmapFormat::Csv => roadmap::csv(&rows),
            RoadmapFormat::Json => roadmap::json(&rows) + "\n",
        }
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `--at`: an RFC 3339 instant, or a civil date (midnight) or date and time in `tz`.
fn parse_at(text: &str, tz: &jiff::tz::TimeZone) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let civil = match text.parse::<jiff::civil::DateTime>() {
        Ok(dt) => dt,
        Err(_) => text
            .parse::<jiff::civil::Date>()
            .with_context(|| {
                format!("--at {text:?} is not a date (2026-12-08), date and time or RFC 3339")
            })?
            .to_datetime(jiff::civil::Time::midnight()),
    };
    Ok(civil.to_zoned(tz.clone())?.timestamp())
}

/// `setup`: plan, show the plan, then (unless `--dry-run`) carry it out; exit 1 when a
/// write failed or steps are left for a person.
async fn setup_command(config: &std::path::Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let cfg = load_config(config)?;
    let clients = doctor::Clients::from_config(&cfg).await?;
    let plan = setup::plan(&cfg, &clients).await;
    println!("{}", setup::render_plan(&plan));
    if !plan.complete() {
        eprintln!(
            "setup{}: {} read(s) failed, so the plan above is incomplete (exit 1)",
            if dry_run { " --dry-run" } else { "" },
            plan.unread.len()
        );
    }
    if dry_run {
        return Ok(if plan.complete() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let outcome = setup::apply(&cfg, &clients, &plan).await;
    for done in &outcome.done {
        println!("done: {done}");
    }
    let mut manual = plan.manual.clone();
    for (what, why) in &outcome.failed {
        println!("failed: {what}: {why}");
        manual.push(format!("{what} (failed: {why})"));
    }
    println!(
        "setup: {} done, {} failed, {} step(s) for a person",
        outcome.done.len(),
        outcome.failed.len(),
        manual.len()
    );
    if !outcome.failed.is_empty() {
        println!("{}", setup::render_manual(&manual));
    }
    Ok(if manual.is_empty() && plan.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    config::check_file(path).map_err(|problems| {
        Fatal::Problems {
            text: config::render_problems(&problems),
            usage: false,
        }
        .into()
    })
}

/// `check FILE` / `check -`: exit 0 complete, 1 incomplete; an unreadable body or config is
/// a [`Fatal::Usage`] (exit 2), so a script never mistakes it for an incomplete concern.
fn check_body(
    file: &std::path::Path,
    config: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let body = read_body(file).map_err(Fatal::Usage)?;
    let (criteria_cfg, form) = match config {
        Some(path) => {
            let cfg = load_config(path).map_err(|e| match e.downcast::<Fatal>() {
                Ok(Fatal::Problems { text, .. }) => Fatal::Problems { text, usage: true },
                Ok(other) => other,
                Err(e) => Fatal::Usage(e.to_string()),
            })?;
            let form = match &cfg.criteria.issue_form {
                Some(p) => IssueForm::load(p)
                    .map_err(|e| Fatal::Usage(format!("issue form {}: {e}", p.display())))?,
                None => IssueForm::shipped(),
            };
            (cfg.criteria, form)
        }
        None => (config::CriteriaConfig::default(), IssueForm::shipped()),
    };
    let parsed = concern::parse(&body, &form);
    let report = criteria::check_with_form(&parsed, &criteria_cfg, &form);
    println!("{}", criteria::render_report(&report, &form));
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The body from `file`, or from standard input for `-`.
fn read_body(file: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    if file.as_os_str() == "-" {
        let mut body = String::new();
        std::io::stdin()
            .read_to_string(&mut body)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(body);
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
}
