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
    fn say(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.text, "{}", line.as_ref());
        println!("{}", line.as_ref());
    }

    fn check(&mut self, what: &str, result: Result<String, ControlError>) -> bool {
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
pub async fn council_session(ctl: &SandboxControl, setup: &Setup) -> Transcript {
    let mut t = Transcript::default();
    let _ =
        accepted_concern(ctl, setup, &mut t).await && rejected_concern(ctl, setup, &mut t).await;
    t.say(if t.failed.is_empty() {
        "\nAll steps happened.".to_owned()
    } else {
        format!("\n{} step(s) did not happen.", t.failed.len())
    });
    t
}

async fn issue_where<F>(
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

fn tracking_body(issue: &Value, bot: &str) -> Option<String> {
    let tracking = view::tracking_comments(issue);
    match tracking.as_slice() {
        [one] if one.author == bot => Some(one.body.clone()),
        _ => None,
    }
}

async fn accepted_concern(ctl: &SandboxControl, s: &Setup, t: &mut Transcript) -> bool {
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
        Err(e) => return t.check("open the issue", Err(e)),
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
        return false;
    }

    t.say("2. alice edits the concern and answers the question");
    let fixed = form_body(WHY_SRE, WHY_IMPORTANT, WHAT_INVOLVED, &["payments", "data"]);
    if let Err(e) = ctl.edit_body(repo, n, "alice", &fixed).await {
        return t.check("edit the issue", Err(e));
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
        return false;
    }

    t.say(format!(
        "3. mallory (not on the council) adds {}",
        l.accepted
    ));
    if let Err(e) = ctl.add_label(repo, n, "mallory", &l.accepted).await {
        return t.check("add the label", Err(e));
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
        return false;
    }

    t.say(format!("4. carol (council) adds {}", l.accepted));
    if let Err(e) = ctl.add_label(repo, n, "carol", &l.accepted).await {
        return t.check("add the label", Err(e));
    }
    let r = jira_materialized(ctl, s, n, &["payments", "data"]).await;
    let ok = t.check(
        "epic (linked back to the issue) and one story per team created in Jira, stories linked to the epic",
        r.as_ref().map(|d| d.clone()).map_err(clone_err),
    );
    if !ok {
        return false;
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
}

fn clone_err(e: &ControlError) -> ControlError {
    match e {
        ControlError::Http { what, reason } => ControlError::Http {
            what: what.clone(),
            reason: reason.clone(),
        },
        ControlError::Timeout(d, w) => ControlError::Timeout(*d, w.clone()),
    }
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
    t.say("5. bob opens a second, complete concern");
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
    t.say(format!("6. carol (council) adds {}", l.rejected));
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
