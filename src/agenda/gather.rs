//! Reads what the agenda needs: the store's snapshot (stages, history, decisions, stories,
//! failed steps), then each listed issue from GitHub through the client module (title,
//! author, teams and answers are GitHub's, not the store's). An issue GitHub cannot give
//! is listed without its title and named in the agenda's warnings, so one deleted issue or
//! one timeout never costs the council its agenda.

use std::collections::BTreeMap;

use futures::StreamExt;
use jiff::Timestamp;

use super::AgendaError;
use super::cadence::Cadence;
use super::model::{Agenda, AgendaInput, Answer, IssueKey, IssueSummary, build};
use crate::concern::form::IssueForm;
use crate::concern::{self, Question};
use crate::config::AgendaConfig;
use crate::github::client::{GithubClient, Issue};
use crate::store::Store;

/// Issues read from GitHub at once: enough to hide latency, few enough to stay far below
/// GitHub's secondary rate limit on concurrent requests (100).
const CONCURRENT_READS: usize = 4;

/// The agenda of the first session after `at`.
pub async fn gather(
    store: &Store,
    github: &GithubClient,
    form: &IssueForm,
    cfg: &AgendaConfig,
    at: Timestamp,
) -> Result<Agenda, AgendaError> {
    let cadence = Cadence::from_config(cfg)?;
    let session = cadence.next_after(at)?;
    let concerns = store.council_snapshot().await?;
    let failed = store.failed_writes().await?;
    let empty = BTreeMap::new();
    let mut input = AgendaInput {
        concerns: &concerns,
        failed: &failed,
        issues: &empty,
        session: &session,
        at,
        stuck_after: cfg.stuck_after,
    };
    let wanted = build(&input).keys();
    let issues = read_issues(github, form, wanted, cfg.answer_lines).await;
    input.issues = &issues;
    Ok(build(&input))
}

/// Reads `keys` from GitHub (a few at a time) as [`IssueSummary`]s. An issue that cannot be
/// read is logged and left out; the caller lists it without its title.
pub async fn read_issues(
    github: &GithubClient,
    form: &IssueForm,
    keys: Vec<IssueKey>,
    answer_lines: usize,
) -> BTreeMap<IssueKey, IssueSummary> {
    futures::stream::iter(keys)
        .map(|(repo, number)| async move {
            match github.get_issue(&repo, number).await {
                Ok(issue) => Some(((repo, number), summarize(&issue, form, answer_lines))),
                Err(e) => {
                    tracing::warn!(%repo, number, error = %e, "cannot read issue");
                    None
                }
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

/// What the agenda shows of an issue: its title, author, link, teams and the first
/// `lines` lines of each answer.
pub fn summarize(issue: &Issue, form: &IssueForm, lines: usize) -> IssueSummary {
    let parsed = concern::parse(issue.body.as_deref().unwrap_or(""), form);
    IssueSummary {
        title: issue.title.clone(),
        author: issue.author.clone(),
        url: issue.html_url.clone(),
        teams: parsed.teams.clone(),
        answers: Question::ALL
            .into_iter()
            .map(|q| Answer {
                question: q.label(form),
                excerpt: excerpt(parsed.answer(q), lines),
            })
            .collect(),
        measure: parsed.measure.as_deref().map(|m| Answer {
            question: form
                .label(crate::concern::form::MEASURE_FIELD_ID)
                .unwrap_or("How will we measure the improvement?")
                .to_owned(),
            excerpt: excerpt(m, lines),
        }),
    }
}

/// The first `lines` non-blank lines of `text`, with ` …` when more follow; `_No answer._`
/// for an empty answer.
pub fn excerpt(text: &str, lines: usize) -> String {
    let mut kept: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if kept.is_empty() {
        return "_No answer._".to_owned();
    }
    let cut = kept.len() > lines;
    kept.truncate(lines.max(1));
    let mut out = kept.join("\n");
    if cut {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpt_keeps_the_first_lines_and_says_when_it_cut() {
        assert_eq!(excerpt("one\n\ntwo\nthree", 2), "one\ntwo …");
        assert_eq!(excerpt("one\ntwo", 2), "one\ntwo");
        assert_eq!(excerpt("  \n", 2), "_No answer._");
        assert_eq!(excerpt("a\nb", 0), "a …", "at least one line");
    }
}
