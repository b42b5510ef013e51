//! What the epic and the stories say, built from the concern. Pure.

use crate::concern::{Concern, IssueForm, Question};
use crate::tracker::{EpicRequest, StoryRequest};

/// The marker label of a concern's epic: JQL finds it again after a crash.
pub fn epic_marker(issue_id: u64) -> String {
    format!("council-sync-{issue_id}")
}

/// Longest team slug kept whole in a story marker; longer ones end in a hash (the label
/// stays far under the 255 a Jira label allows, the tightest tracker limit, and is never
/// cut when written).
const MAX_SLUG_CHARS: usize = 100;

/// The marker label of one team's story: `council-sync-<issue id>-<slug>`, the slug the
/// team name in lower-case ASCII letters and digits with every other run as one `-`.
/// A name with nothing ASCII in it, or a longer one, gets a stable hash of the name
/// instead of (or after) the slug. Always [`crate::tracker::is_portable_marker`] (so a
/// valid Jira label, whose 255-character limit is the tightest any tracker sets).
pub fn story_marker(issue_id: u64, team: &str) -> String {
    let mut slug = String::new();
    for c in team.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        return format!("council-sync-{issue_id}-{:016x}", fnv1a(team.trim()));
    }
    if slug.len() > MAX_SLUG_CHARS {
        let head = slug
            .get(..MAX_SLUG_CHARS)
            .unwrap_or(slug)
            .trim_end_matches('-');
        return format!("council-sync-{issue_id}-{head}-{:016x}", fnv1a(team.trim()));
    }
    format!("council-sync-{issue_id}-{slug}")
}

/// FNV-1a, 64 bits: a hash that never changes between builds or versions (unlike std's).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The GitHub issue an epic is made for.
#[derive(Debug, Clone)]
pub struct IssueFacts<'a> {
    pub id: u64,
    pub number: u64,
    pub repo: &'a str,
    pub title: &'a str,
    pub html_url: &'a str,
}

fn answers_md(concern: &Concern, form: &IssueForm) -> String {
    let mut md = String::new();
    for q in Question::ALL {
        md.push_str(&format!(
            "## {}\n\n{}\n\n",
            q.label(form),
            concern.answer(q).trim()
        ));
    }
    md
}

/// The optional "How will we measure the improvement?" answer as a section, or "".
fn measure_md(concern: &Concern, form: &IssueForm) -> String {
    concern.measure.as_deref().map_or(String::new(), |m| {
        let label = form
            .label(crate::concern::form::MEASURE_FIELD_ID)
            .unwrap_or("How will we measure the improvement?");
        format!("## {label}\n\n{}\n\n", m.trim())
    })
}

/// The epic: the three answers and where the concern came from.
pub fn epic_request(issue: &IssueFacts<'_>, concern: &Concern, form: &IssueForm) -> EpicRequest {
    let description_md = format!(
        "SRE concern [{repo}#{n}]({url}), accepted by the SRE council.\n\n{answers}{measure}Teams: {teams}\n",
        repo = issue.repo,
        n = issue.number,
        url = issue.html_url,
        answers = answers_md(concern, form),
        measure = measure_md(concern, form),
        teams = concern.teams.join(", "),
    );
    EpicRequest {
        marker: epic_marker(issue.id),
        summary: issue.title.to_owned(),
        description_md,
        github_url: issue.html_url.to_owned(),
        github_title: format!("{}#{}: {}", issue.repo, issue.number, issue.title),
        stories_follow: false,
        story_markers: Vec::new(),
    }
}

/// One story per team named in the concern, with that team's task-list lines.
pub fn story_requests(
    issue: &IssueFacts<'_>,
    concern: &Concern,
    form: &IssueForm,
    submitted_by: Option<&str>,
) -> Vec<StoryRequest> {
    concern
        .teams
        .iter()
        .map(|team| {
            let mut md = format!(
                "Work for team **{team}** on the SRE concern [{repo}#{n}]({url}).\n\n",
                repo = issue.repo,
                n = issue.number,
                url = issue.html_url,
            );
            if let Some(tasks) = concern.team_tasks.get(team).filter(|t| !t.is_empty()) {
                md.push_str("## Tasks\n\n");
                for t in tasks {
                    md.push_str(&format!("- {t}\n"));
                }
                md.push('\n');
            }
            md.push_str(&format!(
                "## {}\n\n{}\n",
                Question::WhatInvolved.label(form),
                concern.what_involved.trim()
            ));
            StoryRequest {
                marker: story_marker(issue.id, team),
                team: team.clone(),
                summary: format!("[{team}] {}", issue.title),
                description_md: md,
                submitted_by: submitted_by.map(str::to_owned),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_label_safe() {
        assert_eq!(epic_marker(42), "council-sync-42");
        assert_eq!(
            story_marker(42, "Data Platform"),
            "council-sync-42-data-platform"
        );
        assert_eq!(
            story_marker(42, " Data  / Platform "),
            "council-sync-42-data-platform"
        );
        let cases = [
            "支払い",
            "決済",
            &"x".repeat(300),
            "a b c",
            "-",
            "Ünïcode Team",
        ];
        for team in cases {
            let m = story_marker(7, team);
            assert!(crate::tracker::is_portable_marker(&m), "{team:?} -> {m:?}");
            assert!(m.len() <= 140, "{m}");
        }
        assert_ne!(story_marker(7, "支払い"), story_marker(7, "決済"));
        assert_eq!(story_marker(7, "支払い"), story_marker(7, "支払い"));
    }

    #[test]
    fn the_measure_answer_goes_into_the_epic_only_when_given() {
        let form = IssueForm::shipped();
        let body = "### Why is this SRE?\n\nSLO breach.\n\n### Why is this important?\n\nPages.\n\n\
                    ### What is involved?\n\nRetries.\n\n### How will we measure the improvement?\n\n\
                    p99 checkout latency (Grafana).\n\n### Teams involved\n\npayments\n";
        let concern = crate::concern::parse(body, &form);
        let issue = IssueFacts {
            id: 1,
            number: 7,
            repo: "acme/c",
            title: "Slow checkout",
            html_url: "https://github.com/acme/c/issues/7",
        };
        let epic = epic_request(&issue, &concern, &form);
        assert!(
            epic.description_md.contains(
                "## How will we measure the improvement?\n\np99 checkout latency (Grafana).\n\nTeams: payments"
            ),
            "{}",
            epic.description_md
        );
        let without = crate::concern::parse(
            &body.replace("p99 checkout latency (Grafana).", "_No response_"),
            &form,
        );
        assert!(
            !epic_request(&issue, &without, &form)
                .description_md
                .contains("measure")
        );
    }
}
