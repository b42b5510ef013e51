//! `council-sync doctor` and `council-sync setup` as a user runs them, against the sandbox
//! (through the Prism proxies in the contract step): doctor finds what is missing or wrong,
//! `setup --dry-run` shows the plan and changes nothing, `setup` does it, doctor is green,
//! a second setup has nothing to do, and the webhook setup registered really delivers.

mod common;

use std::path::{Path, PathBuf};

use common::{Daemon, SECRETS_ENV, World};
use council_sync::demo::view;
use serde_json::{Value, json};

/// The Data Center webhook URL token the tests give the daemon.
const JIRA_WEBHOOK_TOKEN: &str = "test-jira-webhook-token";

/// Runs `council-sync ARGS --config CONFIG` with the tests' secrets; (exit code, stdout).
async fn run(args: &[&str], config: &Path) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(common::binary());
    cmd.args(args).arg("--config").arg(config);
    let secrets = common::secrets_for(config);
    if secrets.len() == SECRETS_ENV.len() {
        cmd.env("COUNCIL_JIRA__WEBHOOK_TOKEN", JIRA_WEBHOOK_TOKEN);
    }
    let out = cmd.envs(secrets).output().await.expect("run council-sync");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `config` with `server.public_url` set.
fn with_public_url(config: &Path, url: &str) -> PathBuf {
    let text = std::fs::read_to_string(config).expect("config");
    let text = text.replacen(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:0\"\npublic_url = \"{url}\""),
        1,
    );
    let path = config.with_file_name("public.toml");
    std::fs::write(&path, text).expect("write");
    path
}

/// The lines of a doctor table that are not ok (verdict first, `!` when blocking).
fn not_ok(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            let t = l.trim_start_matches(['!', ' ']);
            t.starts_with("missing") || t.starts_with("wrong") || t.starts_with("unchecked")
        })
        .collect()
}

async fn setup_then_doctor_green(jira_api: u8) {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config(dir.path(), jira_api);
    // The daemon runs with no webhook pointed at it: only what setup registers reaches it.
    let daemon = Daemon::start(&base).await;
    let config = with_public_url(&base, &daemon.url);
    let hook_url = format!("{}/webhooks/github", daemon.url);

    // A hook someone made by hand, the usual way wrong: form encoding, no secret, push only.
    let http = council_sync::crypto::http_client();
    let made = http
        .post(format!("{}/repos/{}/hooks", world.github_api, world.repo))
        .bearer_auth("test-github-token")
        .json(&json!({"config": {"url": hook_url}, "events": ["push"]}))
        .send()
        .await
        .expect("create hook");
    assert_eq!(made.status(), 201);

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    let bad = not_ok(&out);
    let labels = format!("{} labels", world.repo);
    let form = format!("{} issue form", world.repo);
    let hook = format!("{} webhook", world.repo);
    for item in [&labels, &form, &hook] {
        assert!(
            bad.iter().any(|l| l.contains(item.as_str())),
            "{item}: {out}"
        );
    }
    assert!(out.contains("content type form"), "{out}");
    assert!(out.contains("no secret"), "{out}");
    assert!(
        out.contains("not subscribed to issues, issue_comment"),
        "{out}"
    );
    assert!(
        bad.iter()
            .any(|l| l.contains("webhook") && l.contains("jira")),
        "Jira webhook not registered yet: {out}"
    );
    assert!(!out.contains("test-github-token") && !out.contains(JIRA_WEBHOOK_TOKEN));

    let (code, plan) = run(&["setup", "--dry-run"], &config).await;
    assert_eq!(code, 0, "{plan}");
    assert_eq!(
        plan.matches("create label").count(),
        council_sync::config::LabelsConfig::default().all().len(),
        "{plan}"
    );
    assert!(plan.contains("commit the issue form"), "{plan}");
    assert!(plan.contains("fix the webhook"), "{plan}");
    assert!(plan.contains("register the Jira webhook"), "{plan}");
    let (_, again) = run(&["setup", "--dry-run"], &config).await;
    assert_eq!(
        again.lines().filter(|l| l.starts_with("  - ")).count(),
        plan.lines().filter(|l| l.starts_with("  - ")).count(),
        "a dry run changes nothing: {again}"
    );

    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 0, "{out}");
    let done = council_sync::config::LabelsConfig::default().all().len() + 3;
    assert!(
        out.contains(&format!("{done} done, 0 failed, 0 step(s)")),
        "{out}"
    );

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 0, "{out}");
    assert!(not_ok(&out).is_empty(), "{out}");
    assert!(!out.contains(JIRA_WEBHOOK_TOKEN), "token redacted: {out}");

    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to do"), "idempotent: {out}");

    // The hook setup fixed delivers: a complete concern opened now is checked by the daemon.
    let c = world.ctl();
    let n = c
        .open_issue(
            &world.repo,
            "alice",
            "Checkout DB failover is manual",
            &common::complete_body(&["payments"]),
            &["sre-concern"],
        )
        .await
        .expect("open");
    world
        .wait_issue(n, "ready-for-council", |i| {
            view::has_label(i, "ready-for-council")
        })
        .await;
}

#[tokio::test]
async fn setup_makes_doctor_green_on_jira_cloud() {
    setup_then_doctor_green(3).await;
}

#[tokio::test]
async fn setup_makes_doctor_green_on_jira_data_center() {
    setup_then_doctor_green(2).await;
}

/// A token without `read:org` and a Jira account that is not an administrator: doctor
/// blocks on the scope and names its fix; setup does what it can and prints the rest as
/// steps for a person, exiting 1.
#[tokio::test]
async fn missing_rights_become_fixes_and_steps_for_a_person() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config(dir.path(), 3);
    let config = with_public_url(&base, "http://127.0.0.1:9");
    let c = world.ctl();
    c.put("/_sandbox/github/token-scopes", json!({"scopes": "repo"}))
        .await
        .expect("scopes");
    c.put("/_sandbox/jira/admin", json!({"admin": false}))
        .await
        .expect("admin off");

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    let scope = out
        .lines()
        .position(|l| l.starts_with("!missing") && l.contains("scope read:org"))
        .unwrap_or_else(|| panic!("read:org blocks: {out}"));
    assert!(
        out.lines()
            .nth(scope + 1)
            .is_some_and(|l| l.contains("fix: add the read:org scope")),
        "{out}"
    );
    assert!(out.contains("scope admin:repo_hook"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with(" unchecked") && l.contains("jira") && l.contains("webhook")),
        "Jira webhooks need an admin (advice, not blocking): {out}"
    );

    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("registering a Jira webhook needs a Jira administrator"),
        "{out}"
    );
    assert!(out.contains("System → WebHooks"), "{out}");
    assert!(out.contains("0 failed, 1 step(s) for a person"), "{out}");
    assert!(!out.contains(common::JIRA_WEBHOOK_SECRET), "{out}");
}

/// Issue #12: doctor proves a transition reaches every configured status. The payments
/// team's project lost "Request review" (In Progress → In Review), so no story there can
/// reach In Review, which `[sync.statuses]` names: doctor blocks on that project alone,
/// names the status and its config key and says how to fix it, on Cloud and Data Center
/// alike; without Jira admin rights the check is left to a person (advice, not blocking).
async fn an_unreachable_status_blocks(jira_api: u8) {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(
        dir.path(),
        jira_api,
        "[sync.statuses]\n\"In Review\" = \"in_progress\"\n",
    );
    let c = world.ctl();
    let payments = world.project("payments").to_owned();
    c.post(
        "/_sandbox/jira/projects",
        json!({"key": payments, "removed_transitions": ["51"]}),
    )
    .await
    .expect("take a transition out of the workflow");

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    let item = format!("{payments} Story transitions");
    let line = out
        .lines()
        .position(|l| l.starts_with("!wrong") && l.contains(&item))
        .unwrap_or_else(|| panic!("{item} blocks: {out}"));
    let text: Vec<&str> = out.lines().skip(line).take(3).collect();
    let text = text.join("\n");
    assert!(
        text.contains("from To Do, no transition reaches In Review (sync.statuses)"),
        "{text}"
    );
    assert!(text.contains("fix: in the"), "{text}");
    assert!(text.contains("add a transition into each"), "{text}");
    // The other projects' workflows reach it; the status exists in payments' workflow too.
    for (team, key) in &world.projects {
        if *key != payments {
            assert!(
                out.lines().any(
                    |l| l.starts_with(" ok") && l.contains(&format!("{key} Story transitions"))
                ),
                "{team}: {out}"
            );
        }
    }
    assert!(
        out.lines().any(|l| l.starts_with(" ok")
            && l.contains(&format!("{} Epic transitions", world.epic_project))),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.contains(&format!("{payments} Story statuses")) && !l.starts_with(" ok")),
        "In Review is in the workflow, only unreachable: {out}"
    );

    // Without Jira admin rights the workflow cannot be read: a step for a person.
    c.put("/_sandbox/jira/admin", json!({"admin": false}))
        .await
        .expect("admin off");
    let (_, out) = run(&["doctor"], &config).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with(" unchecked") && l.contains(&item)),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("!") && l.contains(&item)),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreachable_status_blocks_on_jira_cloud() {
    an_unreachable_status_blocks(3).await;
}

#[tokio::test]
async fn an_unreachable_status_blocks_on_jira_data_center() {
    an_unreachable_status_blocks(2).await;
}

/// `setup` creates the project fields the daemon needs and the project lacks
/// (`createProjectV2Field`): the Team single select with one option per team and the
/// iteration field; `--dry-run` names them first; afterwards doctor finds both and a second
/// plan has nothing to create.
#[tokio::test]
async fn setup_creates_missing_project_fields() {
    let world = World::private().await;
    let c = world.ctl();
    let pw = world.projects_setup().await;
    c.post(
        "/_sandbox/github/projects",
        json!({ "owner": "acme", "number": pw.number, "title": "SRE council",
            "single_select": { "Status": ["Todo", "In Progress", "Done"] } }),
    )
    .await
    .expect("a project with Status only");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config_projects(dir.path(), &pw, "");
    let config = with_public_url(&base, "http://127.0.0.1:9");

    let (_, plan) = run(&["setup", "--dry-run"], &config).await;
    let team_options = common::FORM_TEAMS
        .iter()
        .map(|t| format!("{t:?}"))
        .collect::<Vec<_>>();
    let mut sorted = team_options.clone();
    sorted.sort();
    assert!(
        plan.contains(&format!(
            "create the project field \"Team\" (single select: {})",
            sorted.join(", ")
        )),
        "{plan}"
    );
    assert!(
        plan.contains("create the project field \"Iteration\" (iteration, 14 days"),
        "{plan}"
    );
    let (_, out) = run(&["setup"], &config).await;
    assert!(
        out.lines()
            .any(|l| l.contains("create the project field \"Team\"") && !l.contains("fail")),
        "{out}"
    );
    let (_, out) = run(&["doctor"], &config).await;
    for field in ["field Team", "field Iteration"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(" ok") && l.contains(field)),
            "{field}: {out}"
        );
    }
    let (_, again) = run(&["setup", "--dry-run"], &config).await;
    assert!(!again.contains("create the project field"), "{again}");
}

/// `github_projects.story_issue_type` through the binary: `config check` refuses an empty
/// one as it refuses an empty `jira.story_issue_type`; doctor finds a defined type ok and
/// an undefined one missing with its fix; `setup --dry-run` leaves the undefined one to a
/// person (an organisation owner creates issue types).
#[tokio::test]
async fn the_story_issue_type_is_checked_on_github_projects() {
    let world = World::private().await;
    let pw = world.projects_setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config_projects(dir.path(), &pw, "");
    let with_type = |name: &str, t: &str| {
        let text = std::fs::read_to_string(&base).expect("config");
        let text = text.replacen(
            "[github_projects]\n",
            &format!("[github_projects]\nstory_issue_type = {t}\n"),
            1,
        );
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        with_public_url(&path, "http://127.0.0.1:9")
    };

    let (code, out) = run(&["config", "check"], &with_type("empty.toml", "\" \"")).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("github_projects.story_issue_type") && out.contains("is empty"),
        "{out}"
    );

    let (_, out) = run(&["doctor"], &with_type("task.toml", "\"Task\"")).await;
    assert!(
        out.lines().any(|l| l.starts_with(" ok")
            && l.contains("issue type Task")
            && l.contains("each new story")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(" ok") && l.contains("issue type Epic")),
        "{out}"
    );

    let story = with_type("story.toml", "\"Story\"");
    let (_, out) = run(&["doctor"], &story).await;
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(" missing") && l.contains("issue type Story"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(lines[i].contains("new stories get no issue type"), "{out}");
    assert!(
        lines
            .get(i + 1)
            .is_some_and(|l| l.contains("remove github_projects.story_issue_type")),
        "{out}"
    );
    let (_, plan) = run(&["setup", "--dry-run"], &story).await;
    assert!(
        plan.contains("no enabled issue type \"Story\" (github_projects.story_issue_type)"),
        "{plan}"
    );
}

/// Issue #12 on GitHub Projects: doctor checks the project, its Status and Team options,
/// the epic issue type, the team repositories and the organisation webhook; setup registers
/// the organisation webhook (`projects_v2_item`, `sub_issues`, `issues`) and leaves the
/// missing options to a person (GitHub's API can only replace a field's whole option
/// list); with the options added doctor is green, a second setup has nothing to do, and a
/// token without the `project` scope blocks with its fix.
#[tokio::test]
async fn github_projects_doctor_and_setup() {
    let world = World::private().await;
    let c = world.ctl();
    let pw = world.projects_setup().await;
    let teams = common::FORM_TEAMS;
    // The board lacks the In Progress status and the networking team.
    c.post(
        "/_sandbox/github/projects",
        json!({ "owner": "acme", "number": pw.number, "title": "SRE council",
            "single_select": { "Status": ["Todo", "Done"], "Team": &teams[..4] },
            "iteration": { "Iteration": [] } }),
    )
    .await
    .expect("seed project");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config_projects(dir.path(), &pw, "");
    let config = with_public_url(&base, "http://127.0.0.1:9");

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let blocks_with_fix = |needle: &str, fix: &str| {
        let i = lines
            .iter()
            .position(|l| l.starts_with("!missing") && l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} blocks: {out}"));
        assert!(
            lines
                .get(i + 1)
                .is_some_and(|l| l.contains("fix:") && l.contains(fix)),
            "{needle}: {out}"
        );
    };
    blocks_with_fix(
        "no option \"In Progress\" (github_projects.in_progress_status)",
        "Add option \"In Progress\"",
    );
    blocks_with_fix(
        "no option \"networking\" (team networking)",
        "replaces a field's whole option list",
    );
    let org_hook = lines
        .iter()
        .find(|l| l.contains("acme organisation webhook"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        org_hook.starts_with(" missing"),
        "advice, not blocking: {out}"
    );
    for ok in [
        format!("acme project {}", pw.number),
        "issue type Epic".into(),
        format!("team payments repo {}", pw.repo("payments")),
        "scope project".into(),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(" ok") && l.contains(&ok)),
            "{ok}: {out}"
        );
    }
    assert!(!out.contains("jira"), "no Jira on this tracker: {out}");

    let (code, plan) = run(&["setup", "--dry-run"], &config).await;
    assert_eq!(code, 0, "{plan}");
    assert!(
        plan.contains(
            "register the organisation webhook of acme (events projects_v2_item, sub_issues, issues"
        ),
        "{plan}"
    );
    assert!(plan.contains("Add option \"In Progress\""), "{plan}");
    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 1, "options are left to a person: {out}");
    assert!(out.contains("0 failed, 2 step(s) for a person"), "{out}");
    let hooks = common::github_get(&world.sandbox_url, "/orgs/acme/hooks").await;
    let hook = &hooks[0];
    assert_eq!(hook["type"], "Organization", "{hooks}");
    assert_eq!(hook["config"]["content_type"], "json", "{hooks}");
    assert_eq!(hook["config"]["secret"], "********", "{hooks}");
    assert_eq!(
        hook["events"],
        json!(["projects_v2_item", "sub_issues", "issues", "issue_comment"]),
        "{hooks}"
    );

    // A person adds the options; doctor is green and setup has nothing left.
    c.post(
        "/_sandbox/github/projects",
        json!({ "owner": "acme", "number": pw.number, "title": "SRE council",
            "single_select": { "Status": ["Todo", "In Progress", "Done"], "Team": teams },
            "iteration": { "Iteration": [] } }),
    )
    .await
    .expect("seed project");
    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        not_ok(&out)
            .iter()
            .all(|l| l.contains("Not planned") || l.contains("field Iteration")),
        "only advice on the optional ones: {out}"
    );
    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing to do"), "idempotent: {out}");

    // A classic token without the project scope: the project reads but cannot be changed.
    c.put(
        "/_sandbox/github/token-scopes",
        json!({"scopes": "repo, read:org, admin:repo_hook"}),
    )
    .await
    .expect("scopes");
    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("!missing") && l.contains("scope project")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("!wrong") && l.contains("cannot change it")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("scope admin:org_hook")),
        "{out}"
    );
}

/// GitHub Projects: one hook per event source. An earlier install left a repository hook
/// and an organisation hook without `issue_comment`, both to the daemon: doctor warns that
/// every event arrives twice; setup fixes the organisation hook (it now carries
/// `issue_comment`) and removes the repository hook; doctor is quiet about it after, and an
/// issue opened, commented and labelled reaches the daemon once per event, through the
/// organisation hook.
#[tokio::test]
async fn github_projects_setup_leaves_one_delivery_per_event() {
    let world = World::private().await;
    let c = world.ctl();
    let pw = world.projects_setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config_projects(dir.path(), &pw, "");
    let daemon = Daemon::start(&base).await;
    let config = with_public_url(&base, &daemon.url);
    let hook_url = format!("{}/webhooks/github", daemon.url);
    let secret = common::WEBHOOK_SECRET;
    let http = council_sync::crypto::http_client();
    for (path, events) in [
        (
            format!("/repos/{}/hooks", world.repo),
            json!(["issues", "issue_comment"]),
        ),
        (
            "/orgs/acme/hooks".into(),
            json!(["projects_v2_item", "sub_issues", "issues"]),
        ),
    ] {
        let made = http
            .post(format!("{}{path}", world.github_api))
            .bearer_auth("test-github-token")
            .json(&json!({"name": "web", "events": events,
                "config": {"url": hook_url, "content_type": "json", "secret": secret}}))
            .send()
            .await
            .expect("create hook");
        assert_eq!(made.status(), 201, "{path}");
    }

    let twin = format!("{} webhook and acme organisation webhook", world.repo);
    let (_, out) = run(&["doctor"], &config).await;
    assert!(
        out.lines()
            .any(|l| l.contains(&twin) && l.contains("every event arrives twice")),
        "{out}"
    );
    assert!(out.contains("not subscribed to issue_comment"), "{out}");
    let (code, plan) = run(&["setup", "--dry-run"], &config).await;
    assert_eq!(code, 0, "{plan}");
    let fix = plan
        .find("fix the organisation webhook of acme")
        .expect(&plan);
    let remove = plan
        .find(&format!("remove the webhook in {}", world.repo))
        .expect(&plan);
    assert!(fix < remove, "the organisation hook first: {plan}");
    let (code, out) = run(&["setup"], &config).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    let repo_hooks =
        common::github_get(&world.sandbox_url, &format!("/repos/{}/hooks", world.repo)).await;
    assert_eq!(repo_hooks, json!([]), "{repo_hooks}");
    let org_hooks = common::github_get(&world.sandbox_url, "/orgs/acme/hooks").await;
    assert_eq!(
        org_hooks[0]["events"],
        json!(["projects_v2_item", "sub_issues", "issues", "issue_comment"]),
        "{org_hooks}"
    );
    let org_hook = org_hooks[0]["id"].clone();
    let (_, out) = run(&["doctor"], &config).await;
    assert!(!out.contains(&twin), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with(" ok")
            && l.contains(&format!("{} webhook", world.repo))
            && l.contains("acme organisation webhook")),
        "{out}"
    );
    let (_, out) = run(&["setup"], &config).await;
    assert!(out.contains("nothing to do"), "idempotent: {out}");

    // One delivery per event: opened, commented, then labelled last (deliveries leave in
    // order, so once the label's is logged every earlier event's copies are too).
    let n = c
        .open_issue(&world.repo, "alice", "Failover is manual", "short", &[])
        .await
        .expect("open");
    c.comment(&world.repo, n, "alice", "more soon")
        .await
        .expect("comment");
    c.post(
        &format!("/_sandbox/github/repos/{}/issues/{n}/labels", world.repo),
        json!({"as": "alice", "labels": ["sentinel"]}),
    )
    .await
    .expect("label");
    let log = c
        .wait_for("the label's delivery", common::WAIT, || async {
            let log = c.get("/_sandbox/deliveries").await?;
            let done = log.as_array().is_some_and(|l| {
                l.iter().any(|d| {
                    d["action"] == "labeled"
                        && d["payload"]["issue"]["number"].as_u64() == Some(n)
                        && d["payload"]["repository"]["full_name"] == world.repo.as_str()
                })
            });
            Ok(done.then_some(log))
        })
        .await
        .expect("deliveries");
    let ours: Vec<&Value> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["payload"]["repository"]["full_name"] == world.repo.as_str())
        .collect();
    for (event, action) in [
        ("issues", "opened"),
        ("issue_comment", "created"),
        ("issues", "labeled"),
    ] {
        let copies: Vec<&&Value> = ours
            .iter()
            .filter(|d| {
                d["event"] == event
                    && d["action"] == action
                    && d["payload"]["sender"]["login"] == "alice"
            })
            .collect();
        assert_eq!(copies.len(), 1, "{event}.{action} once: {copies:?}");
        assert_eq!(
            copies[0]["hook_id"], org_hook,
            "through the organisation hook"
        );
        assert_eq!(copies[0]["outcome"], "delivered", "{:?}", copies[0]);
    }
    let mut seen = std::collections::HashSet::new();
    for d in &ours {
        assert!(
            seen.insert(d["payload"].to_string()),
            "an event delivered twice: {d}"
        );
    }
}

/// Issue #12, Jira Data Center: Data Center has no route that lists a workflow's
/// transitions, and Cloud refuses its routes without Administer Jira (the sandbox's
/// non-admin answer plays both). doctor then walks what existing issues offer
/// (`GET /issue/{key}/transitions` of one issue per status, from the To Do status): with an
/// issue in every status the walk reaches, the unreachable status blocks as it does with
/// the workflow; a project with no issues yet stays `unchecked`.
async fn reach_through_issue_transitions(jira_api: u8) {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(
        dir.path(),
        jira_api,
        "[sync.statuses]\n\"In Review\" = \"in_progress\"\n",
    );
    let c = world.ctl();
    let payments = world.project("payments").to_owned();
    c.post(
        "/_sandbox/jira/projects",
        json!({"key": payments, "removed_transitions": ["51"]}),
    )
    .await
    .expect("take a transition out of the workflow");
    c.put("/_sandbox/jira/admin", json!({"admin": false}))
        .await
        .expect("admin off");
    let http = council_sync::crypto::http_client();
    for to in [None, Some("In Progress"), Some("Done"), Some("Won't Do")] {
        let made: serde_json::Value = http
            .post(format!("{}/rest/api/{jira_api}/issue", world.jira_api))
            .basic_auth("erin@example.com", Some("erin-token"))
            .json(
                &json!({"fields": {"project": {"key": payments}, "issuetype": {"name": "Story"},
                "summary": "a story someone made"}}),
            )
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("created");
        let key = made["key"].as_str().unwrap_or_else(|| panic!("{made}"));
        if let Some(status) = to {
            c.jira_transition(key, "erin", status).await.expect("move");
        }
    }

    let (code, out) = run(&["doctor"], &config).await;
    assert_eq!(code, 1, "{out}");
    let item = format!("{payments} Story transitions");
    let line = out
        .lines()
        .position(|l| l.starts_with("!wrong") && l.contains(&item))
        .unwrap_or_else(|| panic!("{item} blocks: {out}"));
    let text: Vec<&str> = out.lines().skip(line).take(3).collect();
    let text = text.join("\n");
    assert!(
        text.contains("from To Do, no transition reaches In Review (sync.statuses)"),
        "{text}"
    );
    assert!(text.contains("add a transition into each"), "{text}");
    let data = world.project("data");
    assert!(
        out.lines().any(|l| l.starts_with(" unchecked")
            && l.contains(&format!("{data} Story transitions"))
            && l.contains("no Story in")),
        "a project without issues is left to a person: {out}"
    );
}

#[tokio::test]
async fn reach_through_issue_transitions_on_jira_data_center() {
    reach_through_issue_transitions(2).await;
}

#[tokio::test]
async fn reach_through_issue_transitions_on_jira_cloud_without_admin() {
    reach_through_issue_transitions(3).await;
}

/// The first line of `lines` starting with `prefix`, without it (the child's stdout).
async fn printed_after(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    prefix: &str,
) -> String {
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
        panic!("exited before printing {prefix:?}");
    };
    tokio::time::timeout(common::WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("no {prefix:?} within {:?}", common::WAIT))
}

/// README's "0b. Rehearse GitHub Projects on the sandbox", run as it is written there: the
/// sandbox started on the shipped `config/github-projects.toml` (seeding the project, its
/// fields, the issue types and the council), the exports, then check, `setup --dry-run`,
/// `setup`, `doctor` and `run`, each exiting 0 and printing what its `#` comment in README
/// says, and `/readyz` answering 200. Only the ports (any free one) and the working
/// directory (the store file) differ from README. Section 0's `COUNCIL_JIRA__*` exports
/// stay set, as in a shell that did section 0 first.
#[tokio::test]
async fn readme_github_projects_rehearsal() {
    use tokio::io::AsyncBufReadExt;
    let readme = std::fs::read_to_string("README.md").expect("README");
    let section = &readme[readme.find("### 0b. ").expect("README section 0b")..];
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the section's sh block")
        .replace("\\\n", " ");
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let [sandbox_line, export_line, commands @ ..] = lines.as_slice() else {
        panic!("sandbox, export, commands: {block}");
    };
    let binary = "./target/debug/council-sync";
    let config = std::fs::canonicalize("config/github-projects.toml").expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    // README's words of a command line, with the binary and config made absolute.
    let argv = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&binary), "{line}");
        words[1..]
            .iter()
            .map(|w| match *w {
                "config/github-projects.toml" => config.display().to_string(),
                w => w.to_owned(),
            })
            .collect()
    };

    let sandbox_args = argv(
        sandbox_line
            .strip_suffix('&')
            .expect("sandbox in background"),
    );
    let readme_listen = sandbox_args
        .iter()
        .skip_while(|a| *a != "--listen")
        .nth(1)
        .expect("--listen")
        .clone();
    let mut sandbox = tokio::process::Command::new(common::binary())
        .args(sandbox_args.iter().map(|a| {
            if *a == readme_listen {
                "127.0.0.1:0"
            } else {
                a.as_str()
            }
        }))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sandbox");
    let mut out = tokio::io::BufReader::new(sandbox.stdout.take().expect("stdout")).lines();
    let sandbox_url = printed_after(&mut out, "sandbox listening on ").await;
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });

    let mut env: Vec<(String, String)> = export_line
        .strip_prefix("export ")
        .expect("export line")
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("NAME=VALUE");
            let v = v.replace(&format!("http://{readme_listen}"), &sandbox_url);
            (k.to_owned(), v)
        })
        .collect();
    // Section 0's Jira exports, still in the shell.
    for k in [
        "COUNCIL_JIRA__AUTH__TOKEN",
        "COUNCIL_JIRA__WEBHOOK_SECRET",
        "COUNCIL_JIRA__BASE_URL",
    ] {
        env.push((k.to_owned(), "http://127.0.0.1:8900".to_owned()));
    }
    env.push(("COUNCIL_SERVER__LISTEN".into(), "127.0.0.1:0".into()));

    for line in commands {
        let (command, said) = line.split_once('#').unwrap_or((line, ""));
        let (command, said) = (command.trim(), said.trim());
        let args = argv(command);
        if args.first().map(String::as_str) == Some("run") {
            assert_eq!(said, "/readyz answers 200", "{line}");
            let mut daemon = tokio::process::Command::new(common::binary())
                .args(&args)
                .envs(env.iter().cloned())
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn run");
            let mut out = tokio::io::BufReader::new(daemon.stdout.take().expect("stdout")).lines();
            let url = printed_after(&mut out, "council-sync listening on ").await;
            let ready = council_sync::crypto::http_client()
                .get(format!("{url}/readyz"))
                .send()
                .await
                .expect("readyz");
            assert_eq!(ready.status(), 200, "{line}");
            continue;
        }
        let done = tokio::process::Command::new(common::binary())
            .args(&args)
            .envs(env.iter().cloned())
            .current_dir(dir.path())
            .output()
            .await
            .expect("run council-sync");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr)
        );
        assert_eq!(done.status.code(), Some(0), "{line}:\n{text}");
        assert!(text.contains(said), "{line}: README says {said:?}:\n{text}");
    }
}

/// An unreachable host fails the interactive commands in seconds, naming it and why, even
/// with the patient `[retry]` a daemon uses (6 attempts, backoff from 2 s: ~50 s of
/// waiting before): a closed port (refused) and a name that never resolves (`.invalid`),
/// for GitHub and for Jira, through `setup --dry-run` and `doctor`.
#[tokio::test]
async fn an_unreachable_host_fails_interactive_commands_in_seconds() {
    let world = World::private().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let base = world.write_config(dir.path(), 3);
    let text = std::fs::read_to_string(&base).expect("config");
    let patient = text.replacen(
        "[retry]\nattempts = 4\ninitial_backoff = \"50ms\"\nmax_backoff = \"2s\"",
        "[retry]\nattempts = 6\ninitial_backoff = \"2s\"\nmax_backoff = \"30s\"",
        1,
    );
    assert_ne!(patient, text, "the retry section was replaced");
    let config = dir.path().join("patient.toml");
    std::fs::write(&config, patient).expect("write");
    let config = with_public_url(&config, "http://127.0.0.1:9");
    let cases = [
        (
            "COUNCIL_GITHUB__API_URL",
            "http://127.0.0.1:9",
            "127.0.0.1",
            "refused",
        ),
        (
            "COUNCIL_GITHUB__API_URL",
            "http://council-sync-test.invalid",
            "council-sync-test.invalid",
            "dns",
        ),
        (
            "COUNCIL_JIRA__BASE_URL",
            "http://127.0.0.1:9",
            "127.0.0.1:9",
            "refused",
        ),
    ];
    for (var, url, host, why) in cases {
        for args in [&["setup", "--dry-run"][..], &["doctor"][..]] {
            let started = std::time::Instant::now();
            let out = tokio::process::Command::new(common::binary())
                .args(args)
                .arg("--config")
                .arg(&config)
                .envs(common::secrets_for(&config))
                .env(var, url)
                .output()
                .await
                .expect("run council-sync");
            let took = started.elapsed();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(1), "{args:?} {var}={url}:\n{text}");
            assert!(
                took < std::time::Duration::from_secs(10),
                "{args:?} {var}={url} took {took:?}:\n{text}"
            );
            let lower = text.to_lowercase();
            assert!(
                text.contains(host) && lower.contains(why),
                "{args:?} {var}={url} names {host} and {why}:\n{text}"
            );
        }
    }
}

/// A dry run that could not read what it plans against fails (exit 1) and says what it
/// could not read, on both trackers: GitHub unreachable, Jira unreachable, and each one's
/// credentials refused (401); a second case of each kind is the GitHub Projects tracker.
#[tokio::test]
async fn a_dry_run_that_cannot_read_fails() {
    let world = World::private().await;
    let c = world.ctl();
    let pw = world.projects_setup().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let jira = with_public_url(&world.write_config(dir.path(), 3), "http://127.0.0.1:9");
    let projects_dir = tempfile::tempdir().expect("tempdir");
    let projects = with_public_url(
        &world.write_config_projects(projects_dir.path(), &pw, ""),
        "http://127.0.0.1:9",
    );
    let closed = "http://127.0.0.1:9";
    // (config, extra env, a fault as GitHub or Jira refusing the credentials, expected text)
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&Path, Env, Option<Value>, &str); 6] = [
        (
            &jira,
            &[("COUNCIL_GITHUB__API_URL", closed)],
            None,
            "labels",
        ),
        (
            &jira,
            &[("COUNCIL_JIRA__BASE_URL", closed)],
            None,
            "Jira webhooks",
        ),
        (
            &jira,
            &[],
            Some(json!({"path_regex": "^/rest/", "status": 401})),
            "Jira webhooks",
        ),
        (
            &jira,
            &[],
            Some(json!({"path_regex": "^/repos/", "status": 401})),
            "HTTP 401",
        ),
        (
            &projects,
            &[("COUNCIL_GITHUB__API_URL", closed)],
            None,
            "project",
        ),
        (
            &projects,
            &[],
            Some(json!({"path_regex": "^/(graphql|orgs/)", "status": 401})),
            "HTTP 401",
        ),
    ];
    // The plan with everything readable exits 0 on both (the baseline of each case).
    for config in [&jira, &projects] {
        let (code, out) = run(&["setup", "--dry-run"], config).await;
        assert_eq!(code, 0, "{out}");
        assert!(!out.contains("could not read"), "{out}");
    }
    for (config, env, fault, expected) in cases {
        let id = match fault {
            Some(f) => Some(c.post("/_sandbox/faults", f).await.expect("fault")["id"].clone()),
            None => None,
        };
        let mut cmd = tokio::process::Command::new(common::binary());
        cmd.args(["setup", "--dry-run", "--config"]).arg(config);
        let out = cmd
            .envs(common::secrets_for(config))
            .envs(env.iter().copied())
            .output()
            .await
            .expect("run council-sync");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(id) = id {
            c.delete(&format!("/_sandbox/faults/{id}"))
                .await
                .expect("fault removed");
        }
        assert_eq!(out.status.code(), Some(1), "{env:?}:\n{text}");
        assert!(
            text.contains("read(s) failed, so the plan above is incomplete")
                && text.contains("could not read"),
            "{env:?}:\n{text}"
        );
        let unread = &text[text.find("could not read").unwrap_or(0)..];
        assert!(unread.contains(expected), "{expected}: {env:?}:\n{text}");
    }
    // A real run with GitHub unreachable does nothing and fails too.
    let mut cmd = tokio::process::Command::new(common::binary());
    cmd.args(["setup", "--config"]).arg(&projects);
    let out = cmd
        .envs(common::secrets_for(&projects))
        .env("COUNCIL_GITHUB__API_URL", closed)
        .output()
        .await
        .expect("run council-sync");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("setup: 0 done"), "{text}");
}
