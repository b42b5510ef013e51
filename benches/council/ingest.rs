//! Ingest: durable acks per second and ack latency (p50/p99) of 14 KB signed `issues.edited`
//! deliveries at 16 and 64 concurrent senders, driven by `wrk` (Debian's package) with a Lua
//! script: the signature is computed once (the body is the same), the delivery id differs
//! per request, so each one is stored. The bound is the same daemon answering the same body
//! as an event it ignores (`star`: verify + JSON parse, no store), measured by the same wrk
//! in the same run, just before. Each concurrency gets a fresh daemon and store, so the
//! backlog of one run does not slow the next.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{self, WEBHOOK_SECRET, World};
use crate::daemon;

/// The size of each delivery, as measured on real traffic in the issue.
const DELIVERY_BYTES: usize = 14 * 1024;

/// What wrk measured in one run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// 202 answers per second.
    pub acks_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers other than 202, and socket errors.
    pub failures: u64,
    /// 202 answers in all.
    pub acks: u64,
    /// The daemon's CPU time (user + system, all threads) per 202 during the run, in ms
    /// (the engine's work beside the writer included): `/proc/PID/stat`.
    pub cpu_ms_per_ack: f64,
    /// The daemon's context switches (voluntary + involuntary, all threads) per 202 during
    /// the run: `/proc/PID/task/*/status`.
    pub switches_per_ack: f64,
    /// Deliveries stored but not yet handled by the engine when the run ended.
    pub backlog_after: Option<u64>,
    /// After the run, with no more webhooks: seconds until the engine had handled the
    /// backlog (`None`: not measured, or not done within [`drain_cap`]), and the daemon's
    /// CPU time per delivery of the backlog meanwhile (ms).
    pub drain: Option<(f64, f64)>,
}

/// Longest the bench waits for the engine to handle a run's backlog, in seconds
/// (`BENCH_DRAIN_SECS`, default 30).
fn drain_cap() -> Duration {
    Duration::from_secs(
        std::env::var("BENCH_DRAIN_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    )
}

/// Waits (polling `/status` every 100 ms, at most [`drain_cap`]) until the daemon has no
/// delivery pending; the seconds it took and the daemon's CPU ms per delivery meanwhile.
async fn drain(d: &common::Daemon, pid: u32, backlog: u64) -> Option<(f64, f64)> {
    let before = proc_counters(pid);
    let start = std::time::Instant::now();
    let cap = drain_cap();
    while start.elapsed() < cap {
        if crate::daemon::pending_deliveries(d).await == Some(0) {
            let ticks = proc_counters(pid).0.saturating_sub(before.0) as f64;
            let cpu_ms = ticks * 1000.0 / clock_ticks() / backlog.max(1) as f64;
            return Some((start.elapsed().as_secs_f64(), cpu_ms));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

impl Run {
    /// Fills the per-ack figures from the daemon's counters before and after the run.
    fn account(&mut self, before: (u64, u64), after: (u64, u64)) {
        let acks = self.acks.max(1) as f64;
        let ticks = after.0.saturating_sub(before.0) as f64;
        self.cpu_ms_per_ack = ticks * 1000.0 / clock_ticks() / acks;
        self.switches_per_ack = after.1.saturating_sub(before.1) as f64 / acks;
    }
}

/// CPU ticks (user + system) and context switches of process `pid`, all threads.
fn proc_counters(pid: u32) -> (u64, u64) {
    let cpu = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat(5): 12th and 13th after ')'.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    let mut switches = 0;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            switches += status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    (cpu, switches)
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// One concurrency's pair: stored (durable acks) and the no-store bound.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub senders: u32,
    pub stored: Run,
    pub bound: Run,
}

/// Measures every concurrency in `senders` for `secs` seconds each (stored and bound).
pub async fn measure(dir: &Path, senders: &[u32], secs: u64) -> Vec<Pair> {
    let world = World::private().await;
    let c = world.ctl();
    let number = c
        .open_issue(
            &world.repo,
            "alice",
            "Ingest bench",
            "bench",
            &["sre-concern"],
        )
        .await
        .expect("open issue");
    let body = delivery_body(&world.repo, number);
    let signature =
        council_sync::github::webhook::signature::sign(WEBHOOK_SECRET.as_bytes(), &body);
    let body_path = dir.join("delivery.json");
    std::fs::write(&body_path, &body).expect("write body");

    let mut pairs = Vec::new();
    for &n in senders {
        let run_dir = dir.join(format!("ingest-{n}"));
        std::fs::create_dir_all(&run_dir).expect("run dir");
        let config = world.write_config(&run_dir, 3);
        let (d, _) = daemon::start(&config, &run_dir.join("daemon.log")).await;
        world.deliver_to(&d).await;
        let url = format!("{}/webhooks/github", d.url);
        let pid = d.child.id().expect("daemon pid");
        let before = proc_counters(pid);
        let mut bound = wrk(&run_dir, &url, &body_path, &signature, "star", n, secs, "b").await;
        bound.account(before, proc_counters(pid));
        // `BENCH_ENGINE=held`: the engine's first read of the issue is held by the sandbox
        // for the whole stored run, so the run measures the writer path alone (verify,
        // parse, insert, commit, ack) with the engine idle beside it.
        let held = match std::env::var("BENCH_ENGINE").as_deref() {
            Ok("held") => Some(
                common::add_fault(
                    &c,
                    serde_json::json!({
                        "method": "GET",
                        "path_regex": r"^/repos/[^/]+/[^/]+/issues/\d+$",
                        "hold": true,
                    }),
                )
                .await,
            ),
            _ => None,
        };
        let before = proc_counters(pid);
        let mut stored = wrk(
            &run_dir, &url, &body_path, &signature, "issues", n, secs, "s",
        )
        .await;
        stored.account(before, proc_counters(pid));
        stored.backlog_after = crate::daemon::pending_deliveries(&d).await;
        if let Some(id) = held {
            c.post(&format!("/_sandbox/faults/{id}/release"), Value::Null)
                .await
                .expect("release the held read");
        }
        if let Some(backlog) = stored.backlog_after.filter(|&n| n > 0) {
            stored.drain = drain(&d, pid, backlog).await;
        }
        eprintln!("bench: ingest {n} senders: stored {stored:?}, bound {bound:?}");
        d.kill().await;
        pairs.push(Pair {
            senders: n,
            stored,
            bound,
        });
    }
    pairs
}

/// A real `issues.edited` delivery (GitHub's example) for `repo#number`, its issue body
/// padded so the whole is [`DELIVERY_BYTES`].
fn delivery_body(repo: &str, number: u64) -> Vec<u8> {
    let path = common::shared_dir().join("fixtures/github-webhooks/issues.edited.json");
    let text = std::fs::read_to_string(&path).expect("issues.edited fixture");
    let mut v: Value = serde_json::from_str(&text).expect("fixture json");
    let (owner, name) = repo.split_once('/').expect("owner/name");
    v["repository"]["full_name"] = Value::from(repo);
    v["repository"]["name"] = Value::from(name);
    v["repository"]["owner"]["login"] = Value::from(owner);
    v["issue"]["number"] = Value::from(number);
    v["issue"]["body"] = Value::from("");
    let bare = serde_json::to_vec(&v).expect("json").len();
    let pad = DELIVERY_BYTES.saturating_sub(bare);
    let filler: String = "The failover runbook is manual and slow. "
        .chars()
        .cycle()
        .take(pad)
        .collect();
    v["issue"]["body"] = Value::from(filler);
    serde_json::to_vec(&v).expect("json")
}

/// The Lua script: fixed body and signature, a unique `X-GitHub-Delivery` per request,
/// answers other than 202 counted per thread, one `BENCH {json}` line at the end.
fn lua(body: &Path, signature: &str, event: &str, tag: &str) -> String {
    format!(
        r#"
local f = assert(io.open("{body}", "rb"))
local payload = f:read("*a")
f:close()
local threads = {{}}
counter = 0
bad = 0
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function request()
  counter = counter + 1
  return wrk.format("POST", "/webhooks/github", {{
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "{event}",
    ["X-Hub-Signature-256"] = "{signature}",
    ["X-GitHub-Delivery"] = "{tag}-" .. tid .. "-" .. counter,
  }}, payload)
end
function response(status, headers, body)
  if status ~= 202 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"not_202":%d,"socket_errors":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    failed, e.connect + e.read + e.write + e.timeout))
end
"#,
        body = body.display()
    )
}

#[allow(clippy::too_many_arguments)]
async fn wrk(
    dir: &Path,
    url: &str,
    body: &Path,
    signature: &str,
    event: &str,
    senders: u32,
    secs: u64,
    tag: &str,
) -> Run {
    let tag = format!("{tag}{senders}-{}", uuid::Uuid::new_v4().simple());
    let script = dir.join(format!("{event}.lua"));
    std::fs::write(&script, lua(body, signature, event, &tag)).expect("write lua");
    let out = tokio::process::Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &senders.to_string(),
            "-d",
            &format!("{secs}s"),
        ])
        .args(["--timeout", "10s", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .await
        .expect("run wrk (Debian package `wrk`)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let v: Value = serde_json::from_str(line).expect("wrk result json");
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let failures = n("not_202") + n("socket_errors");
    let secs = Duration::from_micros(n("duration_us"))
        .as_secs_f64()
        .max(1e-9);
    let acks = n("requests").saturating_sub(n("not_202"));
    Run {
        acks,
        cpu_ms_per_ack: 0.0,
        switches_per_ack: 0.0,
        backlog_after: None,
        drain: None,
        acks_per_s: acks as f64 / secs,
        p50_ms: n("p50_us") as f64 / 1000.0,
        p99_ms: n("p99_us") as f64 / 1000.0,
        failures,
    }
}
