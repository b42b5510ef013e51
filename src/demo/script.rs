//! The scripted council session: people act through the sandbox's control API, the daemon
//! reacts through the real webhook → store → engine → outbox path, and every step checks
//! its own outcome.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

use super::control::{ControlError, SandboxControl};
use super::view::{self, JiraView};
use crate::config::LabelsConfig;

/// How long one step may take before it counts as not happened.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a scenario needs to know about the daemon under test.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `owner/name` of the watched repository.
    pub repo: String,
    pub labels: LabelsConfig,
    /// The daemon's own login (the author of its comments).
    pub bot: String,
    /// Jira project of the epics.
    pub epic_project: String,
    /// With GitHub Projects as the tracker: the project and the team repositories.
    pub projects: Option<super::projects::ProjectsSetup>,
}

/// Renders an issue body the way GitHub renders the shipped issue form.
pub fn form_body(
    why_sre: &str,
    why_important: &str,
    what_involved: &str,
    teams: &[&str],
) -> String {
    let answer = |s: &str| {
        if s.trim().is_empty() {
            "_No response_".to_owned()
        } else {
            s.to_owned()
        }
    };
    format!(
        "### Why is this SRE?\n\n{}\n\n### Why is this important?\n\n{}\n\n### What is involved?\n\n{}\n\n### Teams involved\n\n{}\n\n### Results\n\n_No response_",
        answer(why_sre),
        answer(why_important),
        answer(what_involved),
        if teams.is_empty() {
            "_No response_".to_owned()
        } else {
            teams.join(", ")
        },
    )
}

const WHY_SRE: &str = "Checkout latency alerts page the on-call every night; the failover runbook is manual and untested.";
const WHY_IMPORTANT: &str =
    "Two incidents this quarter (INC-412, INC-431) cost 40 minutes of checkout downtime each.";
const WHAT_INVOLVED: &str = "Automate the database failover and add a synthetic checkout probe.\n\n- [ ] payments: add the synthetic checkout probe\n- [ ] data: script and rehearse the replica promotion";

/// The transcript printed by the demo, and whether every step happened.
#[derive(Debug, Default)]
pub struct Transcript {
    pub text: String,
    pub failed: Vec<String>,
}

impl Transcript {
    pub(super) fn say(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.text, "{}", line.as_ref());
        println!("{}", line.as_ref());
    }

    pub(super) fn check(&mut self, what: &str, result: Result<String, ControlError>) -> bool {
        match result {
            Ok(detail) => {
                self.say(format!(
                    "    ✔ {what}{}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                ));
                true
            }
            Err(e) => {
                self.say(format!("    ✘ {what}: {e}"));
                self.failed.push(format!("{what}: {e}"));
                false
            }
        }
    }
}

/// Runs the whole council session; stops at the first step that did not happen.
///
/// `agenda` renders the next session's agenda (Markdown); it is printed once the concern is
/// ready (before the council decides) and again after the council's decisions.
pub async fn council_session(
    ctl: &SandboxControl,
    setup: &Setup,
    agenda: impl AsyncFn() -> String,
) -> Transcript {
    let mut t = Transcript::default();
    let delivered = match (
        accepted_concern(ctl, setup, &mut t, &agenda).await,
        &setup.projects,
    ) {
        (Some((n, keys)), None) => work_in_jira(ctl, setup, &mut t, n, &keys).await,
        (Some((n, keys)), Some(p)) => {
            super::projects::work_in_projects(ctl, setup, p, &mut t, n, &keys).await
        }
        (None, _) => false,
    };
    if delivered && rejected_concern(ctl, setup, &mut t).await {
        t.say("\nThe agenda of the next session, after the council's decisions:\n");
        t.say(indent(&agenda().await));
    }
    t.say(if t.failed.is_empty() {
        "\nAll steps happened.".to_owned()
    } else {
        format!("\n{} step(s) did not happen.", t.failed.len())
    });
    t
}

/// `text` indented four spaces, so the agenda stands apart from the steps.
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) async fn issue_where<F>(
    ctl: &SandboxControl,
    repo: &str,
    n: u64,
    what: &str,
    cond: F,
) -> Result<Value, ControlError>
where
    F: Fn(&Value) -> bool,
{
    ctl.wait_for(what, STEP_TIMEOUT, || async {
        let issue = ctl.issue(repo, n).await?;
        Ok(cond(&issue).then_some(issue))
    })
    .await
}

pub(super) fn tracking_body(issue: &Value, bot: &str) -> Option<String> {
    let tracking = view::tracking_comments(issue);
    match tracking.as_slice() {
        [one] if one.author == bot => Some(one.body.clone()),
        _ => None,
    }
}

/// Steps 1–4: returns the issue number and the Jira keys (epic, payments, data) once the
/// epic and stories exist, `None` when a step did not happen.
async fn accepted_concern(
    ctl: &SandboxControl,
    s: &Setup,
    t: &mut Transcript,
    agenda: &impl AsyncFn() -> String,
) -> Option<(u64, Vec<String>)> {
    let l = &s.labels;
    let repo = s.repo.as_str();
    t.say(format!("Council session on {repo}\n"));
    t.say("1. alice opens a concern but leaves \"Why is this important?\" empty");
    let body = form_body(WHY_SRE, "", WHAT_INVOLVED, &["payments", "data"]);
    let n = match ctl
        .open_issue(
            repo,
            "alice",
            "Checkout DB failover is manual",
            &body,
            &[&l.concern],
        )
        .await
    {
        Ok(n) => n,
        Err(e) => {
            t.check("open the issue", Err(e));
            return None;
        }
    };
    let r = issue_where(
        ctl,
        repo,
        n,
        "needs-info and a tracking comment naming the missing answer",
        |i| {
            view::has_label(i, &l.needs_info)
                && tracking_body(i, &s.bot).is_some_and(|b| b.contains("Why is this important?"))
        },
    )
    .await;
    let first_comment = r
        .as_ref()
        .ok()
        .and_then(|i| view::tracking_comments(i).first().map(|c| c.id));
    if !t.check(
        &format!(
            "#{n} labelled {} and the tracking comment lists the missing answer",
            l.needs_info
        ),
        r.map(|_| String::new()),
    ) {
        return None;
    }

    t.say("2. alice edits the concern and answers the question");
    let fixed = form_body(WHY_SRE, WHY_IMPORTANT, WHAT_INVOLVED, &["payments", "data"]);
    if let Err(e) = ctl.edit_body(repo, n, "alice", &fixed).await {
        t.check("edit the issue", Err(e));
        return None;
    }
    let r = issue_where(
        ctl,
        repo,
        n,
        "ready-for-council, needs-info gone, same comment says complete",
        |i| {
            view::has_label(i, &l.ready)
                && !view::has_label(i, &l.needs_info)
                && view::tracking_comments(i).first().map(|c| c.id) == first_comment
                && tracking_body(i, &s.bot).is_some_and(|b| b.contains("Ready for the council"))
        },
    )
    .await;
    if !t.check(
        &format!(
            "{} replaced by {}; the same tracking comment now says complete",
            l.needs_info, l.ready
        ),
        r.map(|_| String::new()),
    ) {
        return None;
    }

    t.say("\n   The agenda of the next session, before the council decides:\n");
    t.say(indent(&agenda().await));

    t.say(format!(
        "3. mallory (not on the council) adds {}",
        l.accepted
    ));
    if let Err(e) = ctl.add_label(repo, n, "mallory", &l.accepted).await {
        t.check("add the label", Err(e));
        return None;
    }
    let r = issue_where(ctl, repo, n, "label removed and a reply to mallory", |i| {
        !view::has_label(i, &l.accepted)
            && view::comments(i).iter().any(|c| {
                c.author == s.bot && c.body.contains("@mallory") && c.body.contains("only members")
            })
    })
    .await;
    if !t.check(
        &format!(
            "{} removed; a reply says only council members decide",
            l.accepted
        ),
        r.map(|_| String::new()),
    ) {
        return None;
    }

    t.say(format!("4. carol (council) adds {}", l.accepted));
    if let Err(e) = ctl.add_label(repo, n, "carol", &l.accepted).await {
        t.check("add the label", Err(e));
        return None;
    }
    let (r, what) = match &s.projects {
        None => (
            jira_materialized(ctl, s, n, &["payments", "data"]).await,
            "epic (linked back to the issue) and one story per team created in Jira, stories linked to the epic",
        ),
        Some(p) => (
            super::projects::materialized(ctl, s, p, n, &["payments", "data"]).await,
            "the concern added to the project as the epic; one story per team opened in the \
             team's repository as a sub-issue of it, on the project with Team and Status set",
        ),
    };
    let ok = t.check(what, r.clone());
    if !ok {
        return None;
    }
    let keys = r.unwrap_or_default();
    let r = issue_where(
        ctl,
        repo,
        n,
        "tracking comment lists the epic and stories",
        |i| tracking_body(i, &s.bot).is_some_and(|b| keys.split(", ").all(|k| b.contains(k))),
    )
    .await;
    t.check(
        "the tracking comment lists the epic and story keys with links",
        r.map(|_| String::new()),
    )
    .then(|| (n, keys.split(", ").map(str::to_owned).collect()))
}

/// The Jira project of an issue key.
fn project_of(key: &str) -> &str {
    key.split('-').next().unwrap_or(key)
}

/// Steps 5–7: the teams work in Jira; GitHub follows; the author presents the results.
async fn work_in_jira(
    ctl: &SandboxControl,
    s: &Setup,
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
        "5. dave starts \"Sprint 42\" in {} with {pay}, takes the story and starts it",
        project_of(pay)
    ));
    let acted = async {
        ctl.jira_close_active_sprints(project_of(pay), "dave")
            .await?;
        ctl.jira_sprint(project_of(pay), "Sprint 42", &[pay.as_str()], true, "dave")
            .await?;
        ctl.jira_assign(pay, "dave", Some("dave")).await?;
        ctl.jira_transition(pay, "dave", "In Progress").await
    };
    if let Err(e) = acted.await {
        return t.check("act in Jira", Err(e));
    }
    let r = issue_where(
        ctl,
        repo,
        n,
        "in progress on GitHub, with sprint and assignee",
        |i| {
            view::has_label(i, &l.in_progress)
                && tracking_body(i, &s.bot).is_some_and(|b| {
                    b.contains("In Progress") && b.contains("Sprint 42") && b.contains("Dave")
                })
        },
    )
    .await;
    if !t.check(
        &format!(
            "{} on the issue; the tracking comment shows {pay} In Progress, dave, Sprint 42",
            l.in_progress
        ),
        r.map(|_| String::new()),
    ) {
        return false;
    }

    t.say(format!(
        "6. the teams finish: {pay} and {data} move to Done"
    ));
    let acted = async {
        ctl.jira_transition(pay, "dave", "Done").await?;
        ctl.jira_transition(data, "erin", "Done").await
    };
    if let Err(e) = acted.await {
        return t.check("act in Jira", Err(e));
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
        Ok(_) => ctl.jira_issues(&format!("key = {epic}")).await.map(|v| {
            v.first()
                .map(view::jira)
                .is_some_and(|e| e.status == "Done")
        }),
        Err(_) => Ok(false),
    };
    if !t.check(
        &format!(
            "{epic} moved to Done; the issue closed as completed; {} and a request for results",
            l.results_requested
        ),
        r.and_then(|_| match epic_done {
            Ok(true) => Ok(String::new()),
            Ok(false) => Err(ControlError::Http {
                what: epic.clone(),
                reason: "the epic is not Done".into(),
            }),
            Err(e) => Err(e),
        }),
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
    let on_epic = match &r {
        // The copy to the epic is its own queued write, done after the issue shows them.
        Ok(_) => ctl
            .wait_for("results on the epic", STEP_TIMEOUT, || async {
                let found = ctl.jira_issues(&format!("key = {epic}")).await?;
                Ok(found
                    .first()
                    .map(view::jira)
                    .is_some_and(|e| e.comments.iter().any(|c| c.contains(figures)))
                    .then_some(()))
            })
            .await
            .map(|()| true),
        Err(_) => Ok(false),
    };
    t.check(
        &format!(
            "{} on the issue; the results are in the tracking comment and on {epic}",
            l.results_presented
        ),
        r.and_then(|_| match on_epic {
            Ok(true) => Ok(String::new()),
            Ok(false) => Err(ControlError::Http {
                what: epic.clone(),
                reason: "the results are not on the epic".into(),
            }),
            Err(e) => Err(e),
        }),
    )
}

/// Waits for the epic of issue `n` and one story per team under it; returns the keys.
async fn jira_materialized(
    ctl: &SandboxControl,
    s: &Setup,
    n: u64,
    teams: &[&str],
) -> Result<String, ControlError> {
    let gh = ctl.issue(&s.repo, n).await?;
    let id = gh["issue"]["id"]
        .as_u64()
        .or_else(|| gh["id"].as_u64())
        .unwrap_or_default();
    let marker = crate::engine::epic_marker(id);
    let mut markers = vec![format!("\"{marker}\"")];
    markers.extend(
        teams
            .iter()
            .map(|t| format!("\"{}\"", crate::engine::story_marker(id, t))),
    );
    let jql = format!("labels in ({})", markers.join(", "));
    ctl.wait_for("epic and stories in Jira", STEP_TIMEOUT, || async {
        let found: Vec<JiraView> = ctl
            .jira_issues(&jql)
            .await?
            .iter()
            .map(view::jira)
            .collect();
        let epics: Vec<&JiraView> = found
            .iter()
            .filter(|j| j.project == s.epic_project && j.parent.is_none())
            .collect();
        let [epic] = epics.as_slice() else {
            return Ok(None);
        };
        if !epic
            .remote_links
            .iter()
            .any(|u| u.ends_with(&format!("/issues/{n}")))
        {
            return Ok(None);
        }
        let mut keys = vec![epic.key.clone()];
        for team in teams {
            let story_marker = crate::engine::story_marker(id, team);
            let stories: Vec<&JiraView> = found
                .iter()
                .filter(|j| j.labels.contains(&story_marker))
                .collect();
            match stories.as_slice() {
                [one] if one.parent.as_deref() == Some(epic.key.as_str()) => {
                    keys.push(one.key.clone())
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(keys.join(", ")))
    })
    .await
}

async fn rejected_concern(ctl: &SandboxControl, s: &Setup, t: &mut Transcript) -> bool {
    let l = &s.labels;
    let repo = s.repo.as_str();
    t.say("8. bob opens a second, complete concern");
    let body = form_body(
        "Our log pipeline drops lines under load, which hides incidents from the on-call.",
        "It only affects debug logs of one batch job, so it is not urgent.",
        "Resize the shipper's buffer and add a drop counter alert.",
        &["platform"],
    );
    let n = match ctl
        .open_issue(
            repo,
            "bob",
            "Log shipper drops debug lines",
            &body,
            &[&l.concern],
        )
        .await
    {
        Ok(n) => n,
        Err(e) => return t.check("open the issue", Err(e)),
    };
    let r = issue_where(ctl, repo, n, "ready-for-council", |i| {
        view::has_label(i, &l.ready)
    })
    .await;
    if !t.check(
        &format!("#{n} labelled {}", l.ready),
        r.map(|_| String::new()),
    ) {
        return false;
    }
    t.say(format!("9. carol (council) adds {}", l.rejected));
    if let Err(e) = ctl.add_label(repo, n, "carol", &l.rejected).await {
        return t.check("add the label", Err(e));
    }
    let r = issue_where(ctl, repo, n, "closed as not planned with a reply", |i| {
        view::state(i) == ("closed".to_owned(), Some("not_planned".to_owned()))
            && view::comments(i)
                .iter()
                .any(|c| c.author == s.bot && c.body.contains("rejected this concern"))
    })
    .await;
    t.check(
        "closed as not planned (state_reason: not_planned) with a reply",
        r.map(|_| String::new()),
    )
}
