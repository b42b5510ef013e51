//! `/metrics` of the real daemon over the sandbox: API calls by host, templated route and
//! status, the rate limit GitHub reports left, the webhook-to-action lag histogram; and the
//! Grafana dashboard in `deploy/grafana/` asks only for metric names `/metrics` exports.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::Value;

/// The metric names each `expr` of the dashboard uses (every `council_sync_*` token).
fn dashboard_metrics() -> Vec<(String, BTreeSet<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/council-sync.json");
    let dash: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard")).expect("JSON");
    let token = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*").expect("regex");
    let quoted = regex::Regex::new(r#""[^"]*""#).expect("regex");
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr").to_owned();
            // Label matchers' values (`{status=~"5.."}`) are not metric names.
            let bare = quoted.replace_all(&expr, "");
            let names: BTreeSet<String> = token
                .find_iter(&bare)
                .map(|m| m.as_str().to_owned())
                .filter(|t| t.starts_with("council_sync_"))
                .collect();
            out.push((expr, names));
        }
    }
    out
}

/// Lines of the family `name` (`name{…} value` or `name value`).
fn family<'a>(metrics: &'a str, name: &str) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

#[tokio::test]
async fn api_calls_rate_limits_and_webhook_lag_are_exported_and_the_dashboard_uses_them() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config(dir.path(), 3);
    let daemon = world.daemon(&config).await;
    let n = world.ready_concern(&["payments"]).await;
    world
        .ctl()
        .add_label(&world.repo, n, "carol", "council/accepted")
        .await
        .expect("accept");
    world.wait_stories_listed(n, 1).await;
    daemon.wait_settled(&world.ctl()).await;
    // One rejected delivery, so that family has a series too.
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

    let calls = family(&metrics, "council_sync_api_calls_total");
    let has_call = |route: &str, method: &str, status: &str| {
        calls.iter().any(|l| {
            l.contains("host=\"127.0.0.1\"")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(
        has_call("/repos/{owner}/{repo}/issues/{number}", "GET", "200"),
        "{calls:#?}"
    );
    assert!(
        has_call(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            "POST",
            "201"
        ),
        "{calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|l| l.contains("route=\"/rest/api/3/issue") && l.contains("method=\"POST\"")),
        "Jira creates counted: {calls:#?}"
    );
    let limits = family(&metrics, "council_sync_rate_limit_remaining");
    assert!(
        limits
            .iter()
            .any(|l| l.contains("host=\"127.0.0.1\"") && l.contains("resource=\"core\"")),
        "GitHub's x-ratelimit-remaining: {limits:#?}"
    );
    let lag = family(&metrics, "council_sync_webhook_to_action_seconds_bucket");
    assert!(
        lag.iter()
            .any(|l| l.contains("source=\"github\"") && l.contains("le=\"+Inf\"")),
        "{lag:#?}"
    );
    let lag_count = family(&metrics, "council_sync_webhook_to_action_seconds_count");
    assert!(
        lag_count.iter().any(|l| l.contains("source=\"github\"")
            && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) >= Some(2.0)),
        "at least the opened and labeled deliveries: {lag_count:#?}"
    );
    // Low cardinality: no repository, issue number or Jira key in any label.
    assert!(!metrics.contains(&world.repo), "no repository in a label");
    assert!(
        !metrics.contains(&format!("/issues/{n}\"")),
        "no issue number in a route"
    );
    assert!(
        !metrics.contains(&format!("{}-", world.epic_project)),
        "no Jira key"
    );

    // Every metric the dashboard asks for is one /metrics exports.
    let dashboard = dashboard_metrics();
    assert!(dashboard.len() >= 10, "the dashboard has its panels");
    for (expr, names) in dashboard {
        assert!(!names.is_empty(), "{expr} names no council-sync metric");
        for name in names {
            assert!(
                !family(&metrics, &name).is_empty(),
                "{name} (in `{expr}`) is not in /metrics:\n{metrics}"
            );
        }
    }
    daemon.kill().await;
}
