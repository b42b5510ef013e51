//! The `council-sync` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use council_sync::concern::{self, criteria, form::IssueForm};
use council_sync::config::{self, Config};
use council_sync::{daemon, demo, doctor, sandbox, setup};

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
    /// Check an issue body against the council's criteria: exit 0 when complete, 1 when not.
    Check {
        /// The issue body (Markdown, as GitHub renders the issue form).
        file: PathBuf,
        /// Use this config's criteria and issue form instead of the shipped defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// One pass over every concern: compare GitHub and the tracker and repair what drifted
    /// (what lost webhooks left behind). Safe beside a running daemon.
    Reconcile {
        #[arg(long, short)]
        config: PathBuf,
        /// Run one pass to completion and exit (the only mode for now; the daemon runs the
        /// periodic pass itself, every `sync.reconcile_interval`).
        #[arg(long, required = true)]
        once: bool,
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
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run the sandbox (GitHub and Jira stand-in) alone, until Ctrl-C. Point webhooks at a
    /// daemon with `POST /_sandbox/webhooks {"url": …, "secret": …}`.
    Sandbox {
        /// Where to listen (port 0: any free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: std::net::SocketAddr,
        /// Seed repositories, council and Jira projects from this config (default: the
        /// shipped config/sandbox.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// A scripted council session against the embedded sandbox; exit 1 if a step failed.
    Demo {
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
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a config file and name every bad key with the reason.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, matches!(cli.command, Command::Demo { .. }));
    council_sync::github::client::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let cfg = load_config(&config)?;
            daemon::run_until_signal(cfg).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { file, config } => check_body(&file, config.as_deref()),
        Command::Reconcile {
            config,
            once: _,
            timeout,
        } => {
            let cfg = load_config(&config)?;
            let queued = daemon::reconcile_once(cfg, timeout).await?;
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
        Command::Config {
            command: ConfigCommand::Check { config },
        } => {
            let form = IssueForm::shipped();
            match config::check_file(&config, &form) {
                Ok(cfg) => {
                    // Warnings do not fail the check, but a person should see them.
                    let warnings = cfg.validate(&form);
                    if !warnings.is_empty() {
                        println!("{}", config::render_problems(&warnings));
                    }
                    println!("{}: ok", config.display());
                    Ok(ExitCode::SUCCESS)
                }
                Err(problems) => {
                    println!("{}", config::render_problems(&problems));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Sandbox { listen, config } => {
            let cfg = match config {
                Some(path) => load_config(&path)?,
                None => Config::from_toml_str(demo::SANDBOX_CONFIG, std::iter::empty())?,
            };
            sandbox::run_standalone(daemon::standalone_sandbox_options(&cfg, listen)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            jira_api,
            sandbox_url,
            github_api_url,
            jira_url,
        } => {
            let target = demo::DemoTarget {
                sandbox_url,
                github_api_url,
                jira_url,
            };
            let ok = demo::run(jira_api, target).await?;
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
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let verb = if dry_run { "would import" } else { "imported" };
    let summary = daemon::backfill(cfg, dry_run, |done, total, item| match &bar {
        Some(bar) => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(item.describe());
        }
        None => println!("backfill {done}/{total}: {}", item.describe()),
    })
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

/// `setup`: plan, show the plan, then (unless `--dry-run`) carry it out; exit 1 when a
/// write failed or steps are left for a person.
async fn setup_command(config: &std::path::Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let cfg = load_config(config)?;
    let clients = doctor::Clients::from_config(&cfg).await?;
    let plan = setup::plan(&cfg, &clients).await;
    println!("{}", setup::render_plan(&plan));
    if dry_run {
        return Ok(ExitCode::SUCCESS);
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
    Ok(if manual.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    let form = IssueForm::shipped();
    config::check_file(path, &form)
        .map_err(|problems| anyhow::anyhow!("{}", config::render_problems(&problems)))
}

fn check_body(
    file: &std::path::Path,
    config: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let body =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (criteria_cfg, form) = match config {
        Some(path) => {
            let cfg = load_config(path)?;
            let form = match &cfg.criteria.issue_form {
                Some(p) => {
                    IssueForm::load(p).with_context(|| format!("issue form {}", p.display()))?
                }
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
