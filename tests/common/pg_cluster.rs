//! A throwaway PostgreSQL cluster for the tests, shared by every test process of a run.
//!
//! The first test that asks creates it under `target/pg-test/` (`initdb` + `pg_ctl`, Debian's
//! binaries from `/usr/lib/postgresql/*/bin`, or `$COUNCIL_TEST_PG_BIN`), on a free TCP port
//! on 127.0.0.1 with its unix socket in the same directory, `trust` authentication, and
//! `fsync=off` (test data only). `initdb` refuses to run as root (CI runs as root), so then
//! the server runs as `nobody` through `runuser`. Later tests (other processes too: nextest
//! runs each test in its own) find it by its port file, under a file lock. Each test gets a
//! database of its own (`CREATE DATABASE`), so tests stay independent and run in parallel.
//!
//! The cluster outlives the test run by a few minutes: a detached watchdog stops it and
//! removes its directory once no test has used it for [`IDLE_STOP_SECS`].
//!
//! Without PostgreSQL binaries, [`database_url`] returns `None` after printing why, and the
//! PostgreSQL half of a test is skipped; with `COUNCIL_TEST_REQUIRE_POSTGRES=1` (set by
//! `.ci/run`) that is a failure instead.

#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::{Connection, Executor};

/// Seconds without a test using the cluster before its watchdog stops it.
pub const IDLE_STOP_SECS: u64 = 300;

/// The running cluster: where it listens.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl Cluster {
    /// A URL of database `db` as the cluster's superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://council@127.0.0.1:{}/{db}", self.port)
    }
}

/// A new, empty database on the shared cluster; `None` when PostgreSQL is not installed
/// (said on stderr), a panic when it is required or the cluster cannot start.
pub async fn database_url() -> Option<String> {
    let cluster = cluster()?;
    touch(&cluster.dir.join("used"));
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("connect to the test cluster on port {}: {e}", cluster.port));
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    let _ = conn.close().await;
    Some(cluster.url(&name))
}

/// Drops a database [`database_url`] made (its disk goes back at once, not when the
/// watchdog removes the cluster). Best effort: a failure only leaves it for the watchdog.
pub async fn drop_database(url: &str) {
    let Some(cluster) = cluster() else {
        return;
    };
    let Some(name) = url.rsplit('/').next().filter(|n| n.starts_with("t_")) else {
        return;
    };
    if let Ok(mut conn) = sqlx::PgConnection::connect(&cluster.url("postgres")).await {
        let _ = conn
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await;
        let _ = conn.close().await;
    }
}

/// The shared cluster, started if needed; `None` when PostgreSQL is not installed.
pub fn cluster() -> Option<&'static Cluster> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let Some(bin) = pg_bin() else {
                let why = "PostgreSQL is not installed (no initdb/pg_ctl under \
                           /usr/lib/postgresql/*/bin; set COUNCIL_TEST_PG_BIN or install \
                           Debian's `postgresql`): the PostgreSQL half of this test is SKIPPED";
                if std::env::var("COUNCIL_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("{why}, but COUNCIL_TEST_REQUIRE_POSTGRES=1");
                }
                eprintln!("{why}");
                return None;
            };
            Some(start_or_join(&bin))
        })
        .as_ref()
}

/// The directory of `initdb` and `pg_ctl`: `$COUNCIL_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` that has them.
fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("COUNCIL_TEST_PG_BIN") {
        let bin = PathBuf::from(dir);
        return (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some(bin);
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// The cluster's directory: `target/pg-test` of the checkout. As root the server runs as
/// `nobody`, who may not be able to reach a checkout inside a private directory (a
/// `mktemp -d`, mode 700): then it lives under the system temp dir (world-traversable),
/// one per checkout.
fn base_dir() -> PathBuf {
    let manifest = env!("CARGO_MANIFEST_DIR");
    if !is_root() {
        return PathBuf::from(manifest).join("target/pg-test");
    }
    // FNV-1a of the checkout's path: stable across the run's test processes.
    let hash = manifest.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    std::env::temp_dir().join(format!("council-sync-pg-test-{hash:016x}"))
}

fn start_or_join(bin: &Path) -> Cluster {
    let base = base_dir();
    fs::create_dir_all(base.parent().expect("parent dir")).expect("parent dir");
    let lock = File::create(base.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock the cluster's directory");
    let port_file = base.join("port");
    if let Some(port) = fs::read_to_string(&port_file)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
        && run_as_owner(bin, "pg_ctl", &["status", "-D", &path(&base.join("data"))])
    {
        return Cluster { port, dir: base };
    }
    // Nothing (or a dead cluster) there: make a new one.
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).expect("cluster dir");
    if is_root() {
        let ok = Command::new("chown")
            .args(["nobody", &path(&base)])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown the cluster's directory to nobody");
    }
    let data = path(&base.join("data"));
    assert!(
        run_as_owner(
            bin,
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "council",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions"
            ]
        ),
        "initdb failed (see the output above)"
    );
    let port = free_port();
    let options = format!(
        "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
        dir = path(&base)
    );
    let log = path(&base.join("log"));
    assert!(
        run_as_owner(
            bin,
            "pg_ctl",
            &["start", "-w", "-D", &data, "-l", &log, "-o", &options]
        ),
        "pg_ctl start failed; see {log}"
    );
    fs::write(&port_file, port.to_string()).expect("port file");
    touch(&base.join("used"));
    spawn_watchdog(bin, &base);
    Cluster { port, dir: base }
}

/// Stops the cluster and removes its directory once `used` is older than
/// [`IDLE_STOP_SECS`]; detached from the test (its own process group, no stdio).
fn spawn_watchdog(bin: &Path, base: &Path) {
    use std::os::unix::process::CommandExt;
    let used = path(&base.join("used"));
    let data = path(&base.join("data"));
    let pg_ctl = path(&bin.join("pg_ctl"));
    let stop = if is_root() {
        format!("runuser -u nobody -- {pg_ctl} stop -m fast -D {data}")
    } else {
        format!("{pg_ctl} stop -m fast -D {data}")
    };
    let script = format!(
        "while [ $(( $(date +%s) - $(stat -c %Y {used} 2>/dev/null || echo 0) )) -lt {IDLE_STOP_SECS} ]; \
         do sleep 20; done; {stop}; rm -rf {base}",
        base = path(base)
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

/// Runs one of the cluster's programs as its owner (`nobody` when we are root). Its output
/// goes to our stderr so a failure explains itself.
fn run_as_owner(bin: &Path, program: &str, args: &[&str]) -> bool {
    let exe = bin.join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args(args)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn touch(file: &Path) {
    let _ = File::create(file);
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
