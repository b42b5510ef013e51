//! Reads a [`Concern`] out of an issue body. Never fails: whatever cannot be read is an
//! empty answer, which the criteria check then reports to the author.

use std::collections::BTreeMap;
use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::form::{
    IssueForm, KIND_FIELD_ID, MEASURE_FIELD_ID, RESULTS_FIELD_ID, TEAMS_FIELD_ID, fold,
};
use super::sections::{gfm_options, split};
use super::visible::{strip_html, takes_no_space, visible_text};
use super::{Concern, Question};

/// What GitHub writes for a form field left empty.
const NO_RESPONSE: &str = "_no response_";
/// Longest team name read from a task line; longer prefixes are prose, not a team.
const MAX_TEAM_NAME_CHARS: usize = 50;

/// Parses an issue-form body into a [`Concern`], finding sections by the labels of `form`.
pub fn parse(body: &str, form: &IssueForm) -> Concern {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let sections = split(&body, form);
    let answer = |id: &str| {
        sections
            .get(id)
            .map(|t| clean_answer(t))
            .unwrap_or_default()
    };
    let what_involved = answer(Question::WhatInvolved.form_id());
    let results = Some(answer(RESULTS_FIELD_ID)).filter(|r| !r.is_empty());
    let kind =
        Some(visible_text(&answer(KIND_FIELD_ID)).trim().to_owned()).filter(|k| !k.is_empty());
    let measure = Some(answer(MEASURE_FIELD_ID)).filter(|m| !m.is_empty());
    Concern {
        kind,
        why_sre: answer(Question::WhySre.form_id()),
        why_important: answer(Question::WhyImportant.form_id()),
        team_tasks: team_tasks(&what_involved, form),
        what_involved,
        teams: teams(
            sections.get(TEAMS_FIELD_ID).copied().unwrap_or_default(),
            form,
        ),
        results,
        measure,
    }
}

/// The trimmed answer; "" for GitHub's `_No response_` and for an answer a reader cannot
/// see (only HTML comments, empty markup, zero-width characters).
fn clean_answer(raw: &str) -> String {
    let trimmed = raw.trim();
    let visible = fold(&visible_text(trimmed));
    if visible.is_empty() || fold(trimmed) == NO_RESPONSE || visible == "no response" {
        String::new()
    } else {
        trimmed.to_owned()
    }
}

/// Teams from the dropdown answer (`a, b`) or a hand-written list (`- a`, `- [x] b`).
/// Unticked task items are not selections, nor is anything a reader cannot see (HTML
/// comments, tags, zero-width characters). Names matching an option take its spelling.
fn teams(raw: &str, form: &IssueForm) -> Vec<String> {
    let visible: String = strip_html(raw)
        .chars()
        .filter(|c| !takes_no_space(*c))
        .collect();
    let mut teams: Vec<String> = Vec::new();
    for line in visible.lines() {
        let Some(item) = strip_list_marker(line.trim()) else {
            continue;
        };
        for name in item.split(',') {
            let name = name.trim().trim_matches(['*', '_', '`']).trim();
            let folded = fold(name);
            if folded.is_empty() || folded == "no response" || folded == "none" {
                continue;
            }
            let name = form.canonical_team(name).unwrap_or(name);
            if !teams.iter().any(|t| fold(t) == fold(name)) {
                teams.push(name.to_owned());
            }
        }
    }
    teams
}

/// A line without its bullet or number and tick box; `None` for an unticked task item.
fn strip_list_marker(line: &str) -> Option<&str> {
    let rest = ["- ", "* ", "+ "]
        .iter()
        .find_map(|m| line.strip_prefix(m))
        .or_else(|| {
            let digits = line.find(|c: char| !c.is_ascii_digit())?;
            let after = line.get(digits..)?;
            (digits > 0)
                .then(|| {
                    after
                        .strip_prefix(". ")
                        .or_else(|| after.strip_prefix(") "))
                })
                .flatten()
        })
        .unwrap_or(line)
        .trim_start();
    if rest.starts_with("[ ]") {
        None
    } else if let Some(ticked) = rest
        .strip_prefix("[x]")
        .or_else(|| rest.strip_prefix("[X]"))
    {
        Some(ticked)
    } else {
        Some(rest)
    }
}

/// `- [ ] team: task` / `- [x] team: task` items, by team. Items inside code blocks are
/// not items (pulldown-cmark parses the structure); nested items are read too.
fn team_tasks(what_involved: &str, form: &IssueForm) -> BTreeMap<String, Vec<String>> {
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for span in task_item_spans(what_involved) {
        let Some(text) = what_involved.get(span) else {
            continue;
        };
        if let Some((team, task)) = split_team_task(text) {
            let team = form.canonical_team(team).unwrap_or(team).to_owned();
            tasks.entry(team).or_default().push(task);
        }
    }
    tasks
}

/// Byte ranges of the first line of inline text of each task-list item.
fn task_item_spans(md: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut current: Option<Option<Range<usize>>> = None;
    for (event, range) in Parser::new_ext(md, gfm_options()).into_offset_iter() {
        match event {
            Event::TaskListMarker(_) => current = Some(None),
            _ if current.is_none() => {}
            Event::Text(_)
            | Event::Code(_)
            | Event::InlineHtml(_)
            | Event::SoftBreak
            | Event::HardBreak
            | Event::Start(
                Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough
                | Tag::Link { .. }
                | Tag::Image { .. },
            )
            | Event::End(
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image,
            ) => {
                if let Some(slot) = current.as_mut() {
                    let span = slot.get_or_insert(range.clone());
                    span.start = span.start.min(range.start);
                    span.end = span.end.max(range.end);
                }
            }
            _ => {
                if let Some(Some(span)) = current.take() {
                    spans.push(span);
                }
            }
        }
    }
    if let Some(Some(span)) = current {
        spans.push(span);
    }
    spans
}

/// Splits `team: task` at the first colon followed by a space (so `https://` is not split),
/// allowing emphasis around the team (`**payments:** task`).
fn split_team_task(text: &str) -> Option<(&str, String)> {
    let mut search = 0;
    while let Some(pos) = text.get(search..)?.find(':') {
        let colon = search + pos;
        let after = text.get(colon + 1..)?;
        let rest = after.trim_start_matches(['*', '_']);
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            let team = text
                .get(..colon)?
                .trim()
                .trim_matches(['*', '_', '`'])
                .trim();
            let task = rest.split_whitespace().collect::<Vec<_>>().join(" ");
            let plausible = !team.is_empty()
                && team.chars().count() <= MAX_TEAM_NAME_CHARS
                && !team.contains('\n');
            return (plausible && !task.is_empty()).then_some((team, task));
        }
        search = colon + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> IssueForm {
        IssueForm::shipped()
    }

    /// A body as GitHub renders a submitted form.
    fn github_body(
        sre: &str,
        important: &str,
        involved: &str,
        teams: &str,
        results: &str,
    ) -> String {
        format!(
            "### Why is this SRE?\n\n{sre}\n\n### Why is this important?\n\n{important}\n\n\
             ### What is involved?\n\n{involved}\n\n### Teams involved\n\n{teams}\n\n\
             ### Results\n\n{results}"
        )
    }

    #[test]
    fn parses_a_github_rendered_body() {
        let body = github_body(
            "Gateway failover breaks checkout.",
            "Two incidents a month.",
            "- [ ] payments: retry idempotently\n- [x] Platform: add a breaker",
            "payments, platform",
            "_No response_",
        );
        let c = parse(&body, &form());
        assert_eq!(c.why_sre, "Gateway failover breaks checkout.");
        assert_eq!(c.why_important, "Two incidents a month.");
        assert!(c.what_involved.starts_with("- [ ] payments"));
        assert_eq!(c.teams, ["payments", "platform"]);
        assert_eq!(c.team_tasks["payments"], ["retry idempotently"]);
        assert_eq!(c.team_tasks["platform"], ["add a breaker"]);
        assert_eq!(c.results, None);
    }

    /// (what the case tolerates, body, expected why_sre, expected why_important)
    const TOLERANCES: &[(&str, &str, &str, &str)] = &[
        (
            "CRLF line endings",
            "### Why is this SRE?\r\n\r\nline one\r\nline two\r\n\r\n### Why is this important?\r\n\r\nb\r\n",
            "line one\nline two",
            "b",
        ),
        (
            "extra blank lines",
            "\n\n### Why is this SRE?\n\n\n\n\na\n\n\n\n### Why is this important?\n\n\n\nb\n\n\n",
            "a",
            "b",
        ),
        (
            "heading case and trailing spaces and #s",
            "### WHY IS THIS SRE?   \n\na\n\n### why is this important? ###  \n\nb",
            "a",
            "b",
        ),
        (
            "# and ## levels, no question mark",
            "# Why is this SRE\n\na\n\n## Why is this important\n\nb",
            "a",
            "b",
        ),
        (
            "_No response_",
            "### Why is this SRE?\n\n_No response_\n\n### Why is this important?\n\n  _no response_  ",
            "",
            "",
        ),
        (
            "### inside ``` fences",
            "### Why is this SRE?\n\n```\n### Why is this important?\nnot a heading\n```\n\n### Why is this important?\n\nb",
            "```\n### Why is this important?\nnot a heading\n```",
            "b",
        ),
        (
            "### inside ~~~ fences with info string",
            "### Why is this SRE?\n\n~~~yaml\n### Why is this important?\n~~~\n### Why is this important?\nb",
            "~~~yaml\n### Why is this important?\n~~~",
            "b",
        ),
        (
            "missing sections",
            "Just some text, not from the form.",
            "",
            "",
        ),
        (
            "text before the first section is ignored",
            "Preamble\n### Why is this SRE?\na",
            "a",
            "",
        ),
        (
            "headings that are not labels stay in the answer",
            "### Why is this SRE?\n\n#### Evidence\n\nINC-1\n\n### Why is this important?\n\nb",
            "#### Evidence\n\nINC-1",
            "b",
        ),
    ];

    #[test]
    fn tolerates_hand_edited_bodies() {
        for (case, body, sre, important) in TOLERANCES {
            let c = parse(body, &form());
            assert_eq!(c.why_sre, *sre, "{case}: why_sre");
            assert_eq!(c.why_important, *important, "{case}: why_important");
        }
    }

    #[test]
    fn teams_in_every_shape() {
        let cases: &[(&str, &[&str])] = &[
            ("payments, platform", &["payments", "platform"]),
            ("Payments,PLATFORM, payments", &["payments", "platform"]),
            (
                "- payments\n- data\n* identity",
                &["payments", "data", "identity"],
            ),
            ("1. networking\n2) data", &["networking", "data"]),
            (
                "- [x] payments\n- [ ] data\n- [X] identity",
                &["payments", "identity"],
            ),
            ("payments, Marketing", &["payments", "Marketing"]),
            ("**payments**, `data`", &["payments", "data"]),
            ("_No response_", &[]),
            ("", &[]),
        ];
        for (raw, want) in cases {
            let body = format!("### Teams involved\n\n{raw}\n\n### Results\n\n");
            assert_eq!(parse(&body, &form()).teams, *want, "{raw:?}");
        }
    }

    #[test]
    fn task_lines_by_team() {
        let involved = "Intro text: not a task.\n\n\
            - [ ] payments: retry gateway calls\n\
            - [x] **platform:** add a breaker\n\
            - [ ] Payments: dashboards\n\
            - [ ] see https://example.com/runbook\n\
            - [ ] marketing: tell customers\n\
            - plain bullet: not a task\n  - [ ] data: nested task\n\n\
            ```\n- [ ] identity: inside a fence\n```\n";
        let body = format!("### What is involved?\n\n{involved}\n\n### Teams involved\n\ndata");
        let tasks = parse(&body, &form()).team_tasks;
        let want: BTreeMap<String, Vec<String>> = [
            ("data", vec!["nested task"]),
            ("marketing", vec!["tell customers"]),
            ("payments", vec!["retry gateway calls", "dashboards"]),
            ("platform", vec!["add a breaker"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(tasks, want);
    }

    #[test]
    fn results_when_answered() {
        let body = github_body("a", "b", "c", "data", "Before: 3/week. After: 0.");
        assert_eq!(
            parse(&body, &form()).results.as_deref(),
            Some("Before: 3/week. After: 0.")
        );
    }

    #[test]
    fn labels_come_from_the_form() {
        let yaml = include_str!("../../.github/ISSUE_TEMPLATE/sre-concern.yml")
            .replace("label: Why is this SRE?", "label: Why does SRE own this?");
        let custom = IssueForm::from_yaml(&yaml).expect("custom form");
        let body = "### Why does SRE own this?\n\nbecause\n\n### Why is this important?\n\nx";
        assert_eq!(parse(body, &custom).why_sre, "because");
        assert_eq!(parse(body, &form()).why_sre, "");
        // The old label is no heading of the custom form: it stays inside the answer.
        let old = "### Why does SRE own this?\n\nnew\n\n### Why is this SRE?\n\nold";
        assert_eq!(
            parse(old, &custom).why_sre,
            "new\n\n### Why is this SRE?\n\nold"
        );
    }
}
