//! The demo's GitHub Projects half: seeds the organisation's project in the sandbox, checks
//! that the concern became the epic and each team's story a sub-issue in the team's
//! repository, and plays the teams working on the board (Status, Iteration, assignee,
//! closing a story). What it checks it reads as GitHub answers it: the sub-issues REST
//! route and a GraphQL query of the issue's project items (with its own decoding).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::control::{ControlError, SandboxControl};
use super::script::{STEP_TIMEOUT, Setup, Transcript, issue_where, tracking_body};
use super::view;
use crate::config::Config;

/// Any token: the sandbox takes it (the demo reads as the daemon's peers would).
const READ_TOKEN: &str = "sandbox-token";

/// The project the demo's daemon works on.
#[derive(Debug, Clone)]
pub struct ProjectsSetup {
    /// The organisation owning the project and the repositories.
    pub owner: String,
    /// The project's number.
    pub number: u64,
    /// Team name → `owner/name` of its repository.
    pub team_repos: BTreeMap<String, String>,
    /// Field and status names, as `[github_projects]` has them.
    pub status_field: String,
    /// The Team field's name.
    pub team_field: String,
    /// The Iteration field's name.
    pub iteration_field: String,
    /// Status of new stories.
    pub todo: String,
    /// Status of work under way.
    pub in_progress: String,
    /// Status of finished work.
    pub done: String,
    /// The project's node id, once [`seed`] made it.
    pub project_id: String,
}

impl ProjectsSetup {
    /// From a config with `[github_projects]` (empty names otherwise: the seed then fails
    /// with the sandbox's answer).
    pub fn of(cfg: &Config) -> Self {
        let s = cfg.github_projects_settings().unwrap_or_else(|_| {
            crate::tracker::github_projects::GithubProjectsSettings {
                owner: String::new(),
                number: 0,
                status_field: String::new(),
                team_field: String::new(),
                iteration_field: String::new(),
                todo_status: String::new(),
                in_progress_status: String::new(),
                done_status: String::new(),
                not_planned_status: String::new(),
                epic_issue_type: None,
                story_issue_type: None,
                teams: BTreeMap::new(),
            }
        });
        Self {
            owner: s.owner,
            number: s.number,
            team_repos: s.teams,
            status_field: s.status_field,
            team_field: s.team_field,
            iteration_field: s.iteration_field,
            todo: s.todo_status,
            in_progress: s.in_progress_status,
            done: s.done_status,
            project_id: String::new(),
        }
    }
}

/// Creates the team repositories, the project (Status, Team with one option per team, two iterations: one
/// running, one to come) and the organisation's issue types, as an organisation admin
/// would have before the daemon starts.
pub async fn seed(ctl: &SandboxControl, p: &mut ProjectsSetup) -> Result<(), ControlError> {
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    // The team repositories (already there in the embedded sandbox, which seeds them from
    // the config; a sandbox started elsewhere may not have them).
    for repo in p.team_repos.values() {
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        ctl.post(
            "/_sandbox/github/repos",
            json!({ "owner": owner, "name": name, "org": true }),
        )
        .await?;
    }
    let teams: Vec<&String> = p.team_repos.keys().collect();
    let mut single = serde_json::Map::new();
    single.insert(
        p.status_field.clone(),
        json!([p.todo, p.in_progress, p.done]),
    );
    single.insert(p.team_field.clone(), json!(teams));
    let mut iteration = serde_json::Map::new();
    iteration.insert(
        p.iteration_field.clone(),
        json!([["Iteration 1", day(-3), 14], ["Iteration 2", day(11), 14]]),
    );
    let made = ctl
        .post(
            "/_sandbox/github/projects",
            json!({ "owner": p.owner, "number": p.number, "title": "SRE council",
                    "single_select": single, "iteration": iteration }),
        )
        .await?;
    p.project_id = made["node_id"].as_str().unwrap_or_default().to_owned();
    ctl.post(
        &format!("/_sandbox/github/orgs/{}/issue-types", p.owner),
        json!({ "names": ["Task", "Bug", "Epic"] }),
    )
    .await?;
    Ok(())
}

/// An authenticated GitHub API call to the sandbox, as any client would make it.
async fn api(
    ctl: &SandboxControl,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, ControlError> {
    let what = format!("{method} {path}");
    let fail = |reason: String| ControlError::Http {
        what: what.clone(),
        reason,
    };
    let mut req = crate::crypto::http_client()
        .request(method, format!("{}{path}", ctl.base()))
        .bearer_auth(READ_TOKEN)
        .header("accept", "application/vnd.github+json")
        .header("user-agent", "council-sync-demo");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| fail(e.to_string()))?;
    if !status.is_success() {
        return Err(fail(format!("{status}: {text}")));
    }
    serde_json::from_str(&text).map_err(|e| fail(format!("bad JSON: {e}")))
}

/// The values of the issue's item in the demo project (field name → option or iteration
/// title), `None` when the issue is not on the project.
async fn item_fields(
    ctl: &SandboxControl,
    p: &ProjectsSetup,
    repo: &str,
    n: u64,
) -> Result<Option<BTreeMap<String, String>>, ControlError> {
    const QUERY: &str = "query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) { issue(number: $number) {
    projectItems(first: 20) { nodes { project { id }
      fieldValues(first: 20) { nodes {
        ... on ProjectV2ItemFieldSingleSelectValue { name field { ... on ProjectV2FieldCommon { name } } }
        ... on ProjectV2ItemFieldIterationValue { title field { ... on ProjectV2FieldCommon { name } } }
      } } } } } } }";
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let v = api(
        ctl,
        reqwest::Method::POST,
        "/graphql",
        Some(json!({ "query": QUERY,
            "variables": { "owner": owner, "name": name, "number": n } })),
    )
    .await?;
    if let Some(errors) = v.get("errors") {
        return Err(ControlError::Http {
            what: "POST /graphql".into(),
            reason: errors.to_string(),
        });
    }
    let items = v["data"]["repository"]["issue"]["projectItems"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ours = items
        .iter()
        .find(|i| i["project"]["id"].as_str() == Some(p.project_id.as_str()));
    Ok(ours.map(|item| {
        item["fieldValues"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let field = v["field"]["name"].as_str()?;
                let value = v["name"].as_str().or_else(|| v["title"].as_str())?;
                Some((field.to_owned(), value.to_owned()))
            })
            .collect()
    }))
}

/// Waits for the concern on the project and one sub-issue per team, in the team's
/// repository, carrying the story's hidden marker, on the project with its Team and the
/// todo Status. Returns the keys: the concern's, then each team's story's.
pub async fn materialized(
    ctl: &SandboxControl,
    s: &Setup,
    p: &ProjectsSetup,
    n: u64,
    teams: &[&str],
) -> Result<String, ControlError> {
    let gh = ctl.issue(&s.repo, n).await?;
    let id = gh["issue"]["id"]
        .as_u64()
        .or_else(|| gh["id"].as_u64())
        .unwrap_or_default();
    ctl.wait_for("epic and stories on the project", STEP_TIMEOUT, || async {
        if item_fields(ctl, p, &s.repo, n).await?.is_none() {
            return Ok(None);
        }
        let subs = api(
            ctl,
            reqwest::Method::GET,
            &format!("/repos/{}/issues/{n}/sub_issues?per_page=100", s.repo),
            None,
        )
        .await?;
        let subs = subs.as_array().cloned().unwrap_or_default();
        let mut keys = vec![format!("{}#{n}", s.repo)];
        for team in teams {
            let marker = crate::engine::story_marker(id, team);
            let want_repo = p.team_repos.get(*team).cloned().unwrap_or_default();
            let found: Vec<&Value> = subs
                .iter()
                .filter(|i| {
                    i["body"]
                        .as_str()
                        .is_some_and(|b| b.contains(&format!("council-sync-story: {marker} ")))
                })
                .collect();
            let [one] = found.as_slice() else {
                return Ok(None);
            };
            let in_repo = one["repository_url"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("/repos/{want_repo}")));
            let Some(number) = one["number"].as_u64() else {
                return Ok(None);
            };
            if !in_repo {
                return Err(ControlError::Http {
                    what: format!("story of {team}"),
                    reason: format!("not in {want_repo}: {}", one["repository_url"]),
                });
            }
            let fields = item_fields(ctl, p, &want_repo, number).await?;
            let set = fields.is_some_and(|f| {
                f.get(&p.team_field).is_some_and(|t| t == team)
                    && f.get(&p.status_field).is_some_and(|st| *st == p.todo)
            });
            if !set {
                return Ok(None);
            }
            keys.push(format!("{want_repo}#{number}"));
        }
        Ok(Some(keys.join(", ")))
    })
    .await
}

/// `owner/name` and number of a key `owner/name#n`.
fn split_key(key: &str) -> (&str, u64) {
    let (repo, n) = key.rsplit_once('#').unwrap_or((key, ""));
    (repo, n.parse().unwrap_or_default())
}

/// Sets a field of the issue's item as `actor` does on the board.
async fn set_field(
    ctl: &SandboxControl,
    p: &ProjectsSetup,
    key: &str,
    actor: &str,
    field: &str,
    value: &str,
) -> Result<(), ControlError> {
    let (repo, n) = split_key(key);
    ctl.post(
        &format!(
            "/_sandbox/github/projects/{}/{}/items/{repo}/{n}",
            p.owner, p.number
        ),
        json!({ "actor": actor, "field": field, "value": value }),
    )
    .await?;
    Ok(())
}

/// Steps 5–7 on GitHub Projects: the teams work on the board and in their repositories;
/// the concern follows; the author presents the results.
pub async fn work_in_projects(
    ctl: &SandboxControl,
    s: &Setup,
    p: &ProjectsSetup,
    t: &mut Transcript,
    n: u64,
    keys: &[String],
) -> bool {
    let l = &s.labels;
    let repo = s.repo.as_str();
    let [epic, pay, data] = keys else {
        return t.check(
            "keys of the epic and the two stories",
            Err(ControlError::Http {
                what: "keys".into(),
                reason: format!("{keys:?}"),
            }),
        );
    };
    t.say(format!(
        "5. dave takes {pay}, plans it in \"Iteration 1\" and moves it to {} on the board",
        p.in_progress
    ));
    let (pay_repo, pay_n) = split_key(pay);
    let acted = async {
        ctl.patch(
            &format!("/_sandbox/github/repos/{pay_repo}/issues/{pay_n}"),
            json!({ "as": "dave", "assignees": ["dave"] }),
        )
        .await?;
        set_field(ctl, p, pay, "dave", &p.iteration_field, "Iteration 1").await?;
        set_field(ctl, p, pay, "dave", &p.status_field, &p.in_progress).await
    };
    if let Err(e) = acted.await {
        return t.check("act on the board", Err(e));
    }
    let r = issue_where(
        ctl,
        repo,
        n,
        "in progress on the concern, with iteration and assignee",
        |i| {
            view::has_label(i, &l.in_progress)
                && tracking_body(i, &s.bot).is_some_and(|b| {
                    b.contains(&p.in_progress)
                        && b.contains("Iteration 1")
                        && b.to_lowercase().contains("dave")
                })
        },
    )
    .await;
    if !t.check(
        &format!(
            "{} on the concern; the tracking comment shows {pay} {}, dave, Iteration 1",
            l.in_progress, p.in_progress
        ),
        r.map(|_| String::new()),
    ) {
        return false;
    }

    t.say(format!(
        "6. the teams finish: dave moves {pay} to {} on the board, erin closes {data} as completed",
        p.done
    ));
    let (data_repo, data_n) = split_key(data);
    let acted = async {
        set_field(ctl, p, pay, "dave", &p.status_field, &p.done).await?;
        ctl.set_state(data_repo, data_n, "erin", "closed", Some("completed"))
            .await
    };
    if let Err(e) = acted.await {
        return t.check("act on the board", Err(e));
    }
    let r = issue_where(
        ctl,
        repo,
        n,
        "closed as completed, results requested",
        |i| {
            view::state(i) == ("closed".to_owned(), Some("completed".to_owned()))
                && view::has_label(i, &l.done)
                && view::has_label(i, &l.results_requested)
                && view::comments(i)
                    .iter()
                    .any(|c| c.author == s.bot && c.body.contains("before/after"))
        },
    )
    .await;
    let epic_done = match &r {
        Ok(_) => {
            let (er, en) = split_key(epic);
            ctl.wait_for("the epic's Status is done", STEP_TIMEOUT, || async {
                let f = item_fields(ctl, p, er, en).await?;
                Ok(f.and_then(|f| f.get(&p.status_field).cloned())
                    .filter(|st| *st == p.done))
            })
            .await
            .map(|_| String::new())
        }
        Err(e) => Err(e.clone()),
    };
    if !t.check(
        &format!(
            "the concern closed as completed, its Status {} on the board; {} and a request for results",
            p.done, l.results_requested
        ),
        r.and(epic_done),
    ) {
        return false;
    }

    t.say("7. alice presents the results with a /results comment");
    let figures = "p99 checkout latency 2.1 s → 0.4 s; night pages 14 → 1 a week";
    if let Err(e) = ctl
        .comment(repo, n, "alice", &format!("/results {figures}"))
        .await
    {
        return t.check("comment", Err(e));
    }
    let r = issue_where(ctl, repo, n, "results presented", |i| {
        view::has_label(i, &l.results_presented)
            && !view::has_label(i, &l.results_requested)
            && tracking_body(i, &s.bot).is_some_and(|b| b.contains(figures))
    })
    .await;
    t.check(
        &format!(
            "{} on the concern; the results are in the tracking comment",
            l.results_presented
        ),
        r.map(|_| String::new()),
    )
}
