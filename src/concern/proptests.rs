//! Property tests of the body parser: it never panics, and a body rendered the way GitHub
//! renders a submitted form parses back to the answers it was made from.

use proptest::prelude::*;

use super::form::fold;
use super::{IssueForm, parse};

/// One line of an answer: prose, list and task items, or a fenced block whose inside
/// looks like a section heading (which must not be taken for one).
fn answer_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ,.:;!?()'/&%+=*_-]{1,40}",
        1 => "(payments|platform|data): [a-z ]{1,20}".prop_map(|t| format!("- [ ] {t}")),
        1 => "[a-z]{1,12}".prop_map(|t| format!("#### {t}")),
        1 => Just("```\n### Why is this important?\n```".to_owned()),
        1 => Just("~~~text\n## Teams involved\n~~~".to_owned()),
        1 => Just(String::new()),
    ]
}

/// An answer that GitHub would show as text (it shows an empty one as `_No response_`).
fn answer() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.8,
        proptest::collection::vec(answer_line(), 1..6)
            .prop_map(|lines| lines.join("\n"))
            // Blank answers render as `_No response_`, and an answer GitHub shows as nothing
            // (a lone `*` is an empty list item) is no answer: both are covered elsewhere.
            .prop_filter("answers a reader can see", |a| super::is_visible(a)),
    )
}

/// Teams: options in any case, and unknown names.
fn teams() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            "(payments|Platform|DATA|identity|networking)",
            "[a-z]{3,10}",
        ],
        0..4,
    )
}

fn shown(answer: &Option<String>) -> String {
    answer.clone().unwrap_or_else(|| "_No response_".to_owned())
}

proptest! {
    #[test]
    fn parse_never_panics(body in "\\PC*") {
        let _ = parse(&body, &IssueForm::shipped());
    }

    #[test]
    fn parse_never_panics_on_markdown_soup(
        body in "([#`~\\- \\[\\]x:>*_\r\n]|Why is this SRE\\?|Teams involved|_No response_){0,80}"
    ) {
        let _ = parse(&body, &IssueForm::shipped());
    }

    #[test]
    fn github_rendered_bodies_round_trip(
        sre in answer(),
        important in answer(),
        involved in answer(),
        results in answer(),
        teams in teams(),
        crlf in any::<bool>(),
    ) {
        let form = IssueForm::shipped();
        let team_line = if teams.is_empty() { "_No response_".to_owned() } else { teams.join(", ") };
        let mut body = format!(
            "### Why is this SRE?\n\n{}\n\n### Why is this important?\n\n{}\n\n\
             ### What is involved?\n\n{}\n\n### Teams involved\n\n{}\n\n### Results\n\n{}",
            shown(&sre), shown(&important), shown(&involved), team_line, shown(&results),
        );
        if crlf {
            body = body.replace('\n', "\r\n");
        }
        let c = parse(&body, &form);
        let expect = |a: &Option<String>| a.as_deref().map(str::trim).unwrap_or("").to_owned();
        prop_assert_eq!(&c.why_sre, &expect(&sre));
        prop_assert_eq!(&c.why_important, &expect(&important));
        prop_assert_eq!(&c.what_involved, &expect(&involved));
        prop_assert_eq!(c.results.clone(), results.as_deref().map(|r| r.trim().to_owned()));
        let mut want: Vec<String> = Vec::new();
        for t in &teams {
            let t = form.canonical_team(t).unwrap_or(t).to_owned();
            if !want.iter().any(|w| fold(w) == fold(&t)) {
                want.push(t);
            }
        }
        prop_assert_eq!(c.teams, want);
    }
}

/// An answer at the extremes: nested tens of thousands deep, or thousands of siblings.
fn extreme_answer() -> impl Strategy<Value = String> {
    let unit = prop_oneof![
        Just("* "),
        Just("> "),
        Just("1. "),
        Just("- [ ] "),
        Just("<!-- "),
        Just("**"),
        Just("["),
        Just("<details>"),
        Just("```\n"),
        Just("| a "),
    ];
    prop_oneof![
        (
            proptest::collection::vec(unit.clone(), 1..3),
            1_000usize..20_000
        )
            .prop_map(|(u, n)| u.concat().repeat(n) + "retry budget"),
        (unit, 1_000usize..5_000).prop_map(|(u, n)| format!("{u}payments: x\n").repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Every walker of the concern (sections, answers, teams, task lines, visible text,
    /// criteria) takes an extreme body without panicking, and keeps nothing larger than it.
    #[test]
    fn extreme_bodies_parse_and_check(answer in extreme_answer()) {
        let form = IssueForm::shipped();
        let body = format!(
            "### Why is this SRE?\n\n{answer}\n\n### What is involved?\n\n{answer}\n\n\
             ### Teams involved\n\n{answer}\n"
        );
        let c = parse(&body, &form);
        prop_assert!(c.why_sre.len() <= body.len());
        prop_assert!(c.teams.iter().map(String::len).sum::<usize>() <= answer.len());
        let report = crate::concern::criteria::check_with_form(
            &c, &crate::config::CriteriaConfig::default(), &form);
        let text = crate::concern::criteria::render_report(&report, &form);
        prop_assert!(text.len() <= 2_000 + 70 * c.teams.len());
    }
}
