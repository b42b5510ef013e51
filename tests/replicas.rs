//! Several daemons on one store.
//!
//! * PostgreSQL: three replicas of the real binary share one database and one sandbox
//!   (`council-sync sandbox`), behind a round-robin balancer as a deployment would put them,
//!   so every replica receives webhooks. Many concerns are accepted at once; one replica is
//!   SIGKILLed while it runs a write (the sandbox holds that write's answer until the kill).
//!   Checked as in the crash suite: exactly one epic per concern, one story per (concern,
//!   team), one tracking comment, labels and stored stage agree: 0 duplicated, 0 missing.
//! * SQLite: a second daemon on the same file refuses to start, naming `store.url`; a killed
//!   daemon's lock file does not block a start, and a clean stop removes it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use common::pg_cluster;
use common::*;
use council_sync::demo::view;
use council_sync::store::{DecisionKind, Store};
use serde_json::json;
use sqlx::Connection;

/// The replicas' webhook URLs, `None` once killed; and how many deliveries each got.
#[derive(Default)]
struct Pool {
    targets: Vec<Option<String>>,
    next: usize,
    received: Vec<usize>,
}

/// A round-robin HTTP balancer in front of the replicas (as a Kubernetes Service would be):
/// each request goes to the next live replica; one that does not answer is skipped.
async fn balancer(pool: Arc<Mutex<Pool>>) -> String {
    let client = council_sync::crypto::http_client();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let pool = pool.clone();
        let client = client.clone();
        async move {
            let count = pool.lock().expect("pool").targets.len();
            for _ in 0..count {
                let (i, base) = {
                    let mut p = pool.lock().expect("pool");
                    let i = p.next % count;
                    p.next += 1;
                    match p.targets[i].clone() {
                        Some(base) => (i, base),
                        None => continue,
                    }
                };
                let mut req = client.request(method.clone(), format!("{base}{uri}"));
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        req = req.header(name, value);
                    }
                }
                if let Ok(resp) = req.body(body.clone()).send().await {
                    pool.lock().expect("pool").received[i] += 1;
                    let status = StatusCode::from_u16(resp.status().as_u16())
                        .unwrap_or(StatusCode::BAD_GATEWAY);
                    return (status, resp.bytes().await.unwrap_or_default());
                }
            }
            (StatusCode::BAD_GATEWAY, Bytes::new())
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind balancer");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// This world's config with `store.url` set to `url`.
fn config_on(world: &World, dir: &Path, url: &str) -> std::path::PathBuf {
    let path = world.write_config_jira(
        dir,
        3,
        "search_consistency_window = \"2s\"\nsearch_consistency_wait = \"5s\"\n",
        "",
    );
    let text = std::fs::read_to_string(&path).expect("config");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("url = \"sqlite://") {
                format!("url = \"{url}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, text).expect("config");
    path
}

#[tokio::test]
async fn three_replicas_share_the_work_and_survive_a_kill() {
    let Some(db) = pg_cluster::database_url().await else {
        return;
    };
    let started = Instant::now();
    let world = World::private().await;
    let c = world.ctl();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_on(&world, dir.path(), &db);

    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Some(Daemon::start(&config).await));
    }
    let pool = Arc::new(Mutex::new(Pool {
        targets: replicas
            .iter()
            .map(|d| d.as_ref().map(|d| d.url.clone()))
            .collect(),
        next: 0,
        received: vec![0; 3],
    }));
    let lb = balancer(pool.clone()).await;
    c.post(
        &format!("/_sandbox/github/repos/{}/hooks", world.repo),
        json!({"url": format!("{lb}/webhooks/github"), "secret": WEBHOOK_SECRET}),
    )
    .await
    .expect("GitHub hook");
    c.post(
        "/_sandbox/jira/webhooks",
        json!({"url": format!("{lb}/webhooks/jira"), "secret": JIRA_WEBHOOK_SECRET}),
    )
    .await
    .expect("Jira hook");

    const CONCERNS: usize = 12;
    let mut concerns: Vec<(u64, Vec<&str>)> = Vec::new();
    for i in 0..CONCERNS {
        let teams: Vec<&str> = (0..1 + i % 3)
            .map(|k| FORM_TEAMS[(i + k) % FORM_TEAMS.len()])
            .collect();
        let n = c
            .open_issue(
                &world.repo,
                "alice",
                &format!("Replica concern {i}"),
                &complete_body(&teams),
                &["sre-concern"],
            )
            .await
            .expect("open");
        concerns.push((n, teams));
    }
    for (n, _) in &concerns {
        world
            .wait_issue(*n, "ready-for-council", |i| {
                view::has_label(i, "ready-for-council")
            })
            .await;
    }

    // The fifth Jira create is let through and its answer held: the replica that sent it
    // is in the middle of a write when it is killed.
    let hold = add_fault(
        &c,
        json!({"method": "POST", "path_regex": "^/rest/api/3/issue(/bulk)?$",
               "hold_answer": true, "times": 1, "skip": 4}),
    )
    .await;
    let accepts = concerns.iter().map(|(n, _)| {
        let c = c.clone();
        let repo = world.repo.clone();
        async move {
            c.add_label(&repo, *n, "carol", "council/accepted")
                .await
                .expect("accept")
        }
    });
    futures::future::join_all(accepts).await;
    let held = c
        .get(&format!("/_sandbox/faults/{hold}/held?timeout_ms=20000"))
        .await
        .expect("held");

    // Who runs a write right now: `claimed_by` is `pid-<pid>-…` of the claiming process.
    let mut pg = sqlx::PgConnection::connect(&db).await.expect("connect");
    let running: Vec<String> = sqlx::query_scalar(
        "SELECT claimed_by FROM outbox WHERE state = 'running' AND started_at IS NOT NULL \
         AND claimed_by IS NOT NULL ORDER BY started_at",
    )
    .fetch_all(&mut pg)
    .await
    .expect("running jobs");
    let pid_of = |claim: &str| claim.split('-').nth(1).and_then(|p| p.parse::<u32>().ok());
    let victim = running
        .iter()
        .filter_map(|c| pid_of(c))
        .find_map(|pid| {
            replicas
                .iter()
                .position(|d| d.as_ref().and_then(|d| d.child.id()) == Some(pid))
        })
        .unwrap_or(0);
    pool.lock().expect("pool").targets[victim] = None;
    replicas[victim].take().expect("live").kill().await;
    let _ = c
        .post(&format!("/_sandbox/faults/{hold}/release"), json!({}))
        .await;
    println!(
        "replicas: killed replica {victim} (held write: {held}; running claims then: {running:?})"
    );

    for (n, teams) in &concerns {
        world.wait_stories_listed(*n, teams.len()).await;
    }
    let survivor = replicas.iter().flatten().next().expect("a survivor");
    survivor.wait_settled(&c).await;
    let elapsed = started.elapsed();

    let store = Store::open(&db).await.expect("open store");
    let (mut duplicates, mut missing, mut disagreements, mut stories_total) = (0, 0, 0, 0);
    for (n, teams) in &concerns {
        let (epics, stories) = world.jira_for(*n, teams).await;
        duplicates += epics.len().saturating_sub(1);
        missing += usize::from(epics.is_empty());
        for team in teams {
            let count = stories.iter().filter(|(t, _)| t == team).count();
            duplicates += count.saturating_sub(1);
            missing += usize::from(count == 0);
            stories_total += count;
        }
        let issue = world.issue(*n).await;
        let tracking = view::tracking_comments(&issue).len();
        let labels_ok = view::has_label(&issue, "council/accepted")
            && !view::has_label(&issue, "ready-for-council");
        let stage = store
            .get_concern(&world.repo, *n)
            .await
            .expect("concern")
            .map(|r| r.stage);
        let decided = store
            .decisions_for(&world.repo, *n)
            .await
            .expect("decisions")
            .iter()
            .any(|d| d.kind == DecisionKind::Accept);
        if tracking != 1
            || !labels_ok
            || !decided
            || stage != Some(council_sync::council::Stage::StoriesCreated)
        {
            disagreements += 1;
            println!(
                "replicas #{n}: tracking={tracking} labels={:?} stage={stage:?} decided={decided}",
                view::labels(&issue)
            );
        }
    }
    // Who did what: jobs by the process that last claimed them, deliveries per replica.
    let jobs: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT claimed_by, COUNT(*) FROM outbox WHERE state = 'done' GROUP BY claimed_by",
    )
    .fetch_all(&mut pg)
    .await
    .expect("jobs");
    let jobs: BTreeMap<String, i64> = jobs
        .into_iter()
        .map(|(k, v)| (k.unwrap_or_default(), v))
        .collect();
    let attempts: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(attempts), 0)::BIGINT FROM outbox")
        .fetch_one(&mut pg)
        .await
        .expect("attempts");
    let received = pool.lock().expect("pool").received.clone();
    let deliveries = c.get("/_sandbox/deliveries").await.expect("deliveries");
    println!(
        "replicas: concerns={CONCERNS} stories={stories_total} duplicates={duplicates} missing={missing} \
         disagreements={disagreements} elapsed={:.1}s webhooks_per_replica={received:?} \
         sandbox_deliveries={} jobs_done_by={jobs:?} job_attempts={attempts}",
        elapsed.as_secs_f64(),
        deliveries.as_array().map_or(0, Vec::len),
    );
    assert_eq!((duplicates, missing, disagreements), (0, 0, 0));
    assert!(
        received.iter().all(|&r| r > 0),
        "every replica received webhooks: {received:?}"
    );
    for d in replicas.into_iter().flatten() {
        d.kill().await;
    }
    store.close().await;
    drop(pg);
    pg_cluster::drop_database(&db).await;
}

#[tokio::test]
async fn a_second_daemon_on_one_sqlite_file_refuses_to_start() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let first = Daemon::start(&config).await;
    let second = tokio::process::Command::new(binary())
        .args(["run", "--config"])
        .arg(&config)
        .envs(SECRETS_ENV)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, second)
        .await
        .expect("the second daemon exits instead of running")
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    let url = format!("sqlite://{}", dir.path().join("council-sync.db").display());
    assert!(stderr.contains(&url), "names store.url: {stderr}");
    assert!(
        stderr.contains("in use by another council-sync daemon"),
        "{stderr}"
    );
    // The first one still serves; once it is killed the file it leaves does not block a
    // start, and a clean stop (SIGTERM) leaves no lock file behind.
    assert_eq!(first.status().await["pending_deliveries"], 0);
    let lock_file = dir.path().join("council-sync.db.lock");
    first.kill().await;
    assert!(lock_file.exists(), "a killed daemon leaves its file");
    let again = Daemon::start(&config).await;
    assert_eq!(again.terminate().await.code(), Some(0));
    assert!(!lock_file.exists(), "a clean stop removes it");
    assert!(dir.path().join("council-sync.db").exists());
}

/// The engine's whole path on PostgreSQL, with two replicas sharing it: a concern accepted,
/// its stories started and finished in Jira, results requested and presented; the stored
/// stage follows, and nothing is written twice (one tracking comment, one results request).
#[tokio::test]
async fn the_whole_lifecycle_runs_on_postgres_with_two_replicas() {
    let Some(db) = pg_cluster::database_url().await else {
        return;
    };
    let world = World::private().await;
    let c = world.ctl();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_on(&world, dir.path(), &db);
    let replicas = [Daemon::start(&config).await, Daemon::start(&config).await];
    let pool = Arc::new(Mutex::new(Pool {
        targets: replicas.iter().map(|d| Some(d.url.clone())).collect(),
        next: 0,
        received: vec![0; 2],
    }));
    let lb = balancer(pool.clone()).await;
    c.post(
        &format!("/_sandbox/github/repos/{}/hooks", world.repo),
        json!({"url": format!("{lb}/webhooks/github"), "secret": WEBHOOK_SECRET}),
    )
    .await
    .expect("GitHub hook");
    c.post(
        "/_sandbox/jira/webhooks",
        json!({"url": format!("{lb}/webhooks/jira"), "secret": JIRA_WEBHOOK_SECRET}),
    )
    .await
    .expect("Jira hook");

    let teams = ["payments", "data"];
    let n = world.ready_concern(&teams).await;
    c.add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, 2).await;
    let (epics, stories) = world.jira_for(n, &teams).await;
    assert_eq!((epics.len(), stories.len()), (1, 2));
    let story = |team: &str| {
        stories
            .iter()
            .find(|(t, _)| t == team)
            .map(|(_, s)| s.key.clone())
            .expect("story")
    };
    c.jira_transition(&story("payments"), "dave", "In Progress")
        .await
        .expect("start");
    world
        .wait_issue(n, "in progress", |i| {
            view::has_label(i, "council/in-progress")
        })
        .await;
    c.jira_transition(&story("payments"), "dave", "Done")
        .await
        .expect("done");
    c.jira_transition(&story("data"), "erin", "Done")
        .await
        .expect("done");
    world
        .wait_issue(n, "results requested", |i| {
            view::has_label(i, "council/results-requested")
        })
        .await;
    let body = complete_body(&teams).replace(
        "### Results\n\n_No response_",
        "### Results\n\nfailover drill 40 min → 3 min",
    );
    c.edit_body(&world.repo, n, "alice", &body)
        .await
        .expect("edit");
    world
        .wait_issue(n, "results presented", |i| {
            view::has_label(i, "council/results-presented")
        })
        .await;
    replicas[0].wait_settled(&c).await;
    let issue = world.issue(n).await;
    assert_eq!(view::tracking_comments(&issue).len(), 1, "{issue}");
    let store = Store::open(&db).await.expect("open store");
    let row = store
        .get_concern(&world.repo, n)
        .await
        .expect("concern")
        .expect("stored");
    assert_eq!(row.stage, council_sync::council::Stage::ResultsPresented);
    store.close().await;
    let received = pool.lock().expect("pool").received.clone();
    assert!(received.iter().all(|&r| r > 0), "{received:?}");
    for d in replicas {
        d.kill().await;
    }
    pg_cluster::drop_database(&db).await;
}
