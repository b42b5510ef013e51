//! What the epic and the stories say, built from the concern. Pure.

use crate::concern::{Concern, IssueForm, Question};
use crate::tracker::{EpicRequest, StoryRequest};

/// The marker label of a concern's epic: JQL finds it again after a crash.
pub fn epic_marker(issue_id: u64) -> String {
    format!("council-sync-{issue_id}")
}

/// The marker label of one team's story.
pub fn story_marker(issue_id: u64, team: &str) -> String {
    let slug: String = team
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("council-sync-{issue_id}-{slug}")
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

/// The epic: the three answers and where the concern came from.
pub fn epic_request(issue: &IssueFacts<'_>, concern: &Concern, form: &IssueForm) -> EpicRequest {
    let description_md = format!(
        "SRE concern [{repo}#{n}]({url}), accepted by the SRE council.\n\n{answers}Teams: {teams}\n",
        repo = issue.repo,
        n = issue.number,
        url = issue.html_url,
        answers = answers_md(concern, form),
        teams = concern.teams.join(", "),
    );
    EpicRequest {
        marker: epic_marker(issue.id),
        summary: issue.title.to_owned(),
        description_md,
        github_url: issue.html_url.to_owned(),
        github_title: format!("{}#{}: {}", issue.repo, issue.number, issue.title),
    }
}

/// One story per team named in the concern, with that team's task-list lines.
pub fn story_requests(
    issue: &IssueFacts<'_>,
    concern: &Concern,
    form: &IssueForm,
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
    }
}
