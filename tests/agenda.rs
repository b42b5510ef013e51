//! `council-sync agenda` and the agenda issue, driven through the real binary against the
//! sandbox: what the council sees after concerns became ready and one was accepted, and one
//! issue per session however many times it is posted (daemon round, `--post`, again).

mod common;

use common::*;
use serde_json::Value;
use tokio::process::Command;

async fn agenda(config: &std::path::Path, args: &[&str]) -> (String, String) {
    let out = Command::new(binary())
        .arg("agenda")
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(SECRETS_ENV)
        .output()
        .await
        .expect("run agenda");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "agenda {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// The repository's agenda issues as GitHub's REST API lists them.
async fn agenda_issues(world: &World) -> Vec<Value> {
    let url = format!(
        "{}/repos/{}/issues?state=all&labels=council%2Fagenda",
        world.github_api, world.repo
    );
    council_sync::crypto::http_client()
        .get(url)
        .bearer_auth("test-github-token")
        .send()
        .await
        .expect("list issues")
        .json()
        .await
        .expect("issues json")
}

#[tokio::test]
async fn agenda_shows_the_session_and_posts_one_issue_per_session() {
    let world = World::new().await;
    let c = world.ctl();
    let dir = tempfile::tempdir().expect("tempdir");
    // The first session is tomorrow, so it is due for posting (post_before = 2 days) and the
    // daemon's first round posts it. `refresh` is long so the test alone edits it after.
    let tomorrow = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24))
        .expect("tomorrow")
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M")
        .to_string();
    let extra = format!(
        "[agenda]\nfirst_session = \"{tomorrow}\"\ntime_zone = \"UTC\"\nevery = \"2 weeks\"\n\
         post_to = \"issue\"\nrefresh = \"1h\"\n"
    );
    let config = world.write_config_with(dir.path(), 3, &extra);
    let daemon = world.daemon(&config).await;

    let posted = c
        .wait_for("the daemon posts the agenda issue", WAIT, || async {
            Ok(Some(agenda_issues(&world).await).filter(|v| !v.is_empty()))
        })
        .await
        .expect("agenda issue");
    let number = posted[0]["number"].as_u64().expect("number");
    assert!(
        posted[0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Council session 1 — ")),
        "{}",
        posted[0]["title"]
    );

    let waiting = world.ready_concern(&["payments", "data"]).await;
    let accepted = world.ready_concern(&["platform"]).await;
    c.add_label(&world.repo, accepted, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(accepted, 1).await;
    daemon.wait_settled(&c).await;

    let (json, _) = agenda(&config, &["--format", "json"]).await;
    let a: Value = serde_json::from_str(&json).expect("agenda json");
    assert_eq!(a["session"]["number"], 1);
    let ready = a["ready"].as_array().expect("ready");
    assert_eq!(ready.len(), 1, "{json}");
    assert_eq!(ready[0]["number"].as_u64(), Some(waiting));
    assert_eq!(ready[0]["author"], "alice");
    assert_eq!(ready[0]["title"], "Checkout DB failover is manual");
    assert_eq!(ready[0]["teams"], serde_json::json!(["payments", "data"]));
    assert!(
        ready[0]["answers"][0]["excerpt"]
            .as_str()
            .is_some_and(|e| e.starts_with("Checkout latency alerts")),
        "{json}"
    );
    let decisions = a["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "{json}");
    assert_eq!(decisions[0]["number"].as_u64(), Some(accepted));
    assert_eq!(decisions[0]["kind"], "accept");
    assert_eq!(decisions[0]["by"], "carol");
    let flight = a["in_flight"].as_array().expect("in flight");
    assert_eq!(flight.len(), 1, "{json}");
    assert_eq!(flight[0]["total"], 1);
    assert!(flight[0]["epic_key"].is_string());
    assert!(
        a["warnings"].as_array().is_some_and(Vec::is_empty),
        "{json}"
    );

    let (md, _) = agenda(&config, &["--format", "md"]).await;
    assert!(md.starts_with("# Council session 1 — "), "{md}");
    assert!(md.contains("by @alice"), "{md}");
    assert!(md.contains("| accept | @carol |"), "{md}");

    // --post edits the daemon's issue in place; again, it finds nothing to change. The
    // daemon first finishes what it was doing (a story's state arriving between the two
    // posts would rightly change the agenda).
    daemon.wait_settled(&world.ctl()).await;
    let (_, log) = agenda(&config, &["--post"]).await;
    assert!(log.contains(&format!("Updated({number})")), "{log}");
    let (_, log) = agenda(&config, &["--post"]).await;
    assert!(log.contains(&format!("Unchanged({number})")), "{log}");
    let issues = agenda_issues(&world).await;
    assert_eq!(issues.len(), 1, "one issue per session");
    let body = issues[0]["body"].as_str().expect("body");
    assert!(body.contains("Checkout DB failover is manual"), "{body}");
    assert!(body.contains("<!-- council-sync:agenda:"), "{body}");

    // /metrics on the main port: the same state as counts and lead times, no issue in a label.
    let unsigned = council_sync::crypto::http_client()
        .post(format!("{}/webhooks/github", daemon.url))
        .header("X-GitHub-Event", "issues")
        .header("X-GitHub-Delivery", "unsigned-1")
        .body("{}")
        .send()
        .await
        .expect("unsigned delivery");
    assert_eq!(unsigned.status(), 401);
    let metrics = daemon.metrics().await;
    for line in [
        "council_sync_concerns{stage=\"ready\"} 1",
        "council_sync_concerns{stage=\"rejected\"} 0",
        "council_sync_decisions_total{kind=\"accept\"} 1",
        "council_sync_lead_time_seconds_count{step=\"opened_to_ready\"} 2",
        "council_sync_lead_time_seconds_count{step=\"ready_to_decided\"} 1",
        "council_sync_lead_time_seconds_count{step=\"decided_to_epic\"} 1",
        "council_sync_webhook_rejected_total{reason=\"bad_signature\"} 1",
        "council_sync_outbox_oldest_age_seconds 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(
        !metrics.contains(&world.repo),
        "no repository or issue in labels"
    );

    // The roadmap lists the accepted concern (not the waiting one) in every format.
    let roadmap = |format: &'static str| {
        let config = config.clone();
        async move {
            let out = Command::new(binary())
                .args(["roadmap", "--format", format, "--config"])
                .arg(&config)
                .envs(SECRETS_ENV)
                .output()
                .await
                .expect("run roadmap");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let rows: Value = serde_json::from_str(&roadmap("json").await).expect("roadmap json");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["number"].as_u64(), Some(accepted));
    assert_eq!(rows[0]["decided_by"], "carol");
    assert_eq!(rows[0]["teams"], serde_json::json!(["platform"]));
    let csv = roadmap("csv").await;
    assert!(
        csv.starts_with("state,quarter_decided,repo,number,title,"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            ",{},{accepted},Checkout DB failover is manual,platform,",
            world.repo
        )),
        "{csv}"
    );
    assert!(
        roadmap("md")
            .await
            .contains("Checkout DB failover is manual")
    );

    // A date before the first session still names session 1; a bad date is a clear error.
    let (md, _) = agenda(&config, &["--at", "2020-01-01"]).await;
    assert!(md.contains("first session"), "{md}");
    let out = Command::new(binary())
        .args(["agenda", "--at", "someday", "--config"])
        .arg(&config)
        .envs(SECRETS_ENV)
        .output()
        .await
        .expect("run agenda");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at \"someday\""));
    daemon.terminate().await;
}
