//! The criteria check: does a concern answer the council's three questions and name a
//! team? The result lists what is missing in words the author can act on; it goes into the
//! tracking comment and the `check` CLI.

use std::fmt;

use crate::config::CriteriaConfig;

use super::form::IssueForm;
use super::visible::visible_text;
use super::{Concern, Question};

/// Longest stretch of a placeholder quoted back in a message; form examples can be long.
const MAX_QUOTED_CHARS: usize = 60;

/// Most unknown team names quoted back; a body can name thousands.
const MAX_UNKNOWN_TEAMS_SHOWN: usize = 10;

/// What the check found. Complete when nothing is missing and a team is named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriteriaReport {
    /// Questions without a usable answer, in form order.
    pub missing: Vec<MissingAnswer>,
    /// No team is selected, so there is nobody to give a story to.
    pub no_teams: bool,
    /// Team names that are not options of the form, as written (the author can fix them).
    pub unknown_teams: Vec<String>,
    /// The form's team options, to offer as the valid choices when `unknown_teams` is set.
    pub valid_teams: Vec<String>,
}

impl CriteriaReport {
    /// Whether the concern can go to the council: every question answered, at least one
    /// team named and every named team known.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && !self.no_teams && self.unknown_teams.is_empty()
    }
}

/// One question without a usable answer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingAnswer {
    /// The question.
    pub question: Question,
    /// Why its answer does not count.
    pub reason: MissingReason,
}

/// Why an answer does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingReason {
    /// Nothing was written (or GitHub's `_No response_`).
    Empty,
    /// The whole answer is a placeholder such as "TBD" or the form's own example text;
    /// holds the placeholder it matched.
    Placeholder(String),
    /// Shorter than the configured minimum, counted in characters.
    TooShort {
        /// Characters in the trimmed answer.
        chars: usize,
        /// The configured minimum (`criteria.min_answer_chars`).
        min: usize,
    },
}

impl MissingAnswer {
    /// The sentence for this answer, naming the question as `label`.
    fn sentence(&self, label: &str) -> String {
        match &self.reason {
            MissingReason::Empty => {
                format!("\"{label}\" is not answered yet. Edit the issue and answer it.")
            }
            MissingReason::Placeholder(p) => format!(
                "\"{label}\" only says \"{}\", which is a placeholder. Replace it with the real answer.",
                quote(p)
            ),
            MissingReason::TooShort { chars, min } => format!(
                "\"{label}\" is only {}; the council asks for at least {min}. Add some detail.",
                characters(*chars)
            ),
        }
    }
}

/// "1 character long", "5 characters long".
fn characters(n: usize) -> String {
    format!("{n} character{} long", if n == 1 { "" } else { "s" })
}

impl fmt::Display for MissingAnswer {
    /// The sentence with the question as the shipped form words it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence(&self.question.to_string()))
    }
}

impl fmt::Display for MissingReason {
    /// The reason alone, as the end of a sentence about an answer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is not answered yet"),
            Self::Placeholder(p) => write!(f, "only says \"{}\", which is a placeholder", quote(p)),
            Self::TooShort { chars, min } => {
                write!(f, "is only {} (at least {min} needed)", characters(*chars))
            }
        }
    }
}

impl fmt::Display for CriteriaReport {
    /// One sentence per problem, one per line, with the shipped form's wording.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_report(self, &IssueForm::shipped()))
    }
}

/// A placeholder shortened for quoting, on one line.
fn quote(p: &str) -> String {
    let one_line = p.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX_QUOTED_CHARS {
        let cut: String = one_line.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// Checks `c` against the criteria, knowing the shipped form's example texts. Callers with
/// their own form (`criteria.issue_form`) use [`check_with_form`].
pub fn check(c: &Concern, cfg: &CriteriaConfig) -> CriteriaReport {
    check_with_form(c, cfg, &IssueForm::shipped())
}

/// Checks `c` against the criteria; the form's placeholder and pre-filled texts copied back
/// unchanged count as placeholders.
pub fn check_with_form(c: &Concern, cfg: &CriteriaConfig, form: &IssueForm) -> CriteriaReport {
    let missing = Question::ALL
        .into_iter()
        .filter_map(|question| {
            let examples: Vec<&str> = form
                .field(question.form_id())
                .map(|f| {
                    f.placeholder
                        .iter()
                        .chain(f.prefill.iter())
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            missing_reason(c.answer(question), cfg, &examples)
                .map(|reason| MissingAnswer { question, reason })
        })
        .collect();
    let split = c.team_split(form);
    CriteriaReport {
        missing,
        no_teams: c.teams.is_empty(),
        valid_teams: if split.unknown.is_empty() {
            Vec::new()
        } else {
            form.team_options.clone()
        },
        unknown_teams: split.unknown,
    }
}

/// Why `answer` does not count, or `None` when it does. Judged on what a reader sees on
/// GitHub ([`visible_text`]): hidden comments and markup neither answer nor lengthen.
fn missing_reason(answer: &str, cfg: &CriteriaConfig, examples: &[&str]) -> Option<MissingReason> {
    let visible = visible_text(answer);
    let answer = visible.as_str();
    if answer.is_empty() {
        return Some(MissingReason::Empty);
    }
    let placeholder = cfg
        .placeholders
        .iter()
        .map(String::as_str)
        .chain(examples.iter().copied())
        .find(|p| is_placeholder(answer, p) || is_placeholder(answer, &visible_text(p)));
    if let Some(p) = placeholder {
        return Some(MissingReason::Placeholder(p.trim().to_owned()));
    }
    let chars = answer.chars().count();
    (chars < cfg.min_answer_chars).then_some(MissingReason::TooShort {
        chars,
        min: cfg.min_answer_chars,
    })
}

/// Whether `answer` is the placeholder `phrase`: equal ignoring case, spacing, emphasis
/// markers around it and trailing punctuation (`**TBD.**` is "tbd"). Answers of punctuation
/// only match a punctuation-only phrase made of the same marks (`....` is "...").
fn is_placeholder(answer: &str, phrase: &str) -> bool {
    let (answer_strict, phrase_strict) = (strict_key(answer), strict_key(phrase));
    if answer_strict == phrase_strict {
        return true;
    }
    let (answer_loose, phrase_loose) = (loose_key(&answer_strict), loose_key(&phrase_strict));
    if !answer_loose.is_empty() {
        return answer_loose == phrase_loose;
    }
    phrase_loose.is_empty() && dedup_chars(&answer_strict) == dedup_chars(&phrase_strict)
}

/// Lower case, whitespace collapsed, emphasis markers around it dropped.
fn strict_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_matches(['*', '_', '`', '~'])
        .trim()
        .to_owned()
}

/// A strict key without trailing punctuation.
fn loose_key(strict: &str) -> &str {
    strict.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace() || c == '…')
}

/// `s` with runs of the same character collapsed to one (`....` → `.`).
fn dedup_chars(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// The report as Markdown: a list of what is missing, or a line saying it is complete.
/// Questions are named as `form` labels them.
pub fn render_report(report: &CriteriaReport, form: &IssueForm) -> String {
    if report.is_complete() {
        return "All three questions are answered and at least one team is named: \
                this concern is ready for the council."
            .to_owned();
    }
    let mut out = String::from("This concern is not ready for the council yet:\n\n");
    for missing in &report.missing {
        out.push_str("- ");
        out.push_str(&missing.sentence(&missing.question.label(form)));
        out.push('\n');
    }
    if report.no_teams {
        let teams = form
            .label(super::form::TEAMS_FIELD_ID)
            .unwrap_or("Teams involved");
        out.push_str(&format!(
            "- No team is selected in \"{teams}\". Pick every team that has work to do; \
             each gets its own story.\n"
        ));
    }
    if !report.unknown_teams.is_empty() {
        let field = form
            .label(super::form::TEAMS_FIELD_ID)
            .unwrap_or("Teams involved");
        let mut named: Vec<String> = report
            .unknown_teams
            .iter()
            .take(MAX_UNKNOWN_TEAMS_SHOWN)
            // In a code span: a name like `@org/team` must not mention anyone.
            .map(|t| format!("`{}`", quote(t).replace('`', "'")))
            .collect();
        let more = report
            .unknown_teams
            .len()
            .saturating_sub(MAX_UNKNOWN_TEAMS_SHOWN);
        if more > 0 {
            named.push(format!("and {more} more"));
        }
        let which = if report.unknown_teams.len() == 1 {
            "which is not a team"
        } else {
            "which are not teams"
        };
        out.push_str(&format!(
            "- \"{field}\" names {}, {which} the council knows. Choose from: {}.\n",
            named.join(", "),
            report.valid_teams.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concern(answer: &str) -> Concern {
        Concern {
            why_sre: answer.into(),
            why_important: "Two incidents a month, 40 minutes each.".into(),
            what_involved: "Retry gateway calls idempotently.".into(),
            teams: vec!["payments".into()],
            ..Concern::default()
        }
    }

    fn reason(answer: &str) -> Option<MissingReason> {
        let report = check(&concern(answer), &CriteriaConfig::default());
        report
            .missing
            .iter()
            .find(|m| m.question == Question::WhySre)
            .map(|m| m.reason.clone())
    }

    #[test]
    fn each_reason() {
        let placeholder = |p: &str| Some(MissingReason::Placeholder(p.to_owned()));
        let cases: Vec<(&str, Option<MissingReason>)> = vec![
            ("", Some(MissingReason::Empty)),
            ("   \n ", Some(MissingReason::Empty)),
            ("TBD", placeholder("tbd")),
            ("  n/a. ", placeholder("n/a")),
            ("**TODO!**", placeholder("todo")),
            ("See   above", placeholder("see above")),
            ("....", placeholder("...")),
            ("?", placeholder("?")),
            ("short", Some(MissingReason::TooShort { chars: 5, min: 20 })),
            // 19 characters but 38 bytes: length counts characters.
            (
                "ééééééééééééééééééé",
                Some(MissingReason::TooShort { chars: 19, min: 20 }),
            ),
            ("éééééééééééééééééééé", None),
            ("Failover breaks checkout for 40 minutes.", None),
            ("TBD: we saw three incidents caused by this.", None),
        ];
        for (answer, want) in cases {
            assert_eq!(reason(answer), want, "{answer:?}");
        }
    }

    #[test]
    fn form_example_text_copied_back_is_a_placeholder() {
        let form = IssueForm::shipped();
        let example = form
            .field("why_sre")
            .and_then(|f| f.placeholder.clone())
            .expect("shipped form has a placeholder");
        let got = reason(&format!("  {}  ", example.to_uppercase()));
        assert_eq!(
            got,
            Some(MissingReason::Placeholder(example.trim().to_owned()))
        );
    }

    #[test]
    fn configured_minimum_and_phrases() {
        let cfg = CriteriaConfig {
            min_answer_chars: 3,
            placeholders: vec!["Coming soon".into()],
            issue_form: None,
        };
        let r = check(&concern("coming soon!"), &cfg);
        assert_eq!(
            r.missing[0].reason,
            MissingReason::Placeholder("Coming soon".into())
        );
        assert!(check(&concern("tbd"), &cfg).is_complete());
    }

    #[test]
    fn no_teams_and_completeness() {
        let mut c = concern("Failover breaks checkout for 40 minutes.");
        assert!(check(&c, &CriteriaConfig::default()).is_complete());
        c.teams.clear();
        let r = check(&c, &CriteriaConfig::default());
        assert!(r.no_teams && r.missing.is_empty() && !r.is_complete());
    }

    #[test]
    fn sentences_a_person_can_act_on() {
        let m = |reason| MissingAnswer {
            question: Question::WhyImportant,
            reason,
        };
        assert_eq!(
            m(MissingReason::Empty).to_string(),
            "\"Why is this important?\" is not answered yet. Edit the issue and answer it."
        );
        assert_eq!(
            m(MissingReason::Placeholder("tbd".into())).to_string(),
            "\"Why is this important?\" only says \"tbd\", which is a placeholder. \
             Replace it with the real answer."
        );
        assert_eq!(
            m(MissingReason::TooShort { chars: 5, min: 20 }).to_string(),
            "\"Why is this important?\" is only 5 characters long; the council asks for at \
             least 20. Add some detail."
        );
        let long = "x".repeat(200);
        assert!(
            m(MissingReason::Placeholder(long))
                .to_string()
                .contains("x…\"")
        );
        assert_eq!(MissingReason::Empty.to_string(), "is not answered yet");
    }

    #[test]
    fn rendered_report() {
        let form = IssueForm::shipped();
        let complete = render_report(&CriteriaReport::default(), &form);
        assert!(complete.contains("ready for the council"));
        let report = CriteriaReport {
            missing: vec![MissingAnswer {
                question: Question::WhySre,
                reason: MissingReason::Empty,
            }],
            no_teams: true,
            ..CriteriaReport::default()
        };
        let text = render_report(&report, &form);
        assert_eq!(
            text,
            "This concern is not ready for the council yet:\n\n\
             - \"Why is this SRE?\" is not answered yet. Edit the issue and answer it.\n\
             - No team is selected in \"Teams involved\". Pick every team that has work to do; \
             each gets its own story.\n"
        );
        assert_eq!(report.to_string(), text);
    }
}

#[cfg(test)]
mod team_tests {
    use super::*;
    use crate::concern::{TeamSplit, parse};

    fn body(teams: &str) -> String {
        format!(
            "### Why is this SRE?\n\nGateway failover breaks checkout for everyone.\n\n\
             ### Why is this important?\n\nTwo incidents a month, forty minutes each.\n\n\
             ### What is involved?\n\nRetry the gateway calls idempotently.\n\n\
             ### Teams involved\n\n{teams}\n"
        )
    }

    fn report(teams: &str) -> CriteriaReport {
        let form = IssueForm::shipped();
        check_with_form(
            &parse(&body(teams), &form),
            &CriteriaConfig::default(),
            &form,
        )
    }

    #[test]
    fn unknown_teams_are_named_with_the_valid_choices() {
        let form = IssueForm::shipped();
        let r = report("payments, security");
        assert!(!r.is_complete());
        assert_eq!(r.unknown_teams, ["security"]);
        assert_eq!(r.valid_teams, form.team_options);
        let text = render_report(&r, &form);
        assert!(
            text.contains(
                "- \"Teams involved\" names `security`, which is not a team the council knows. \
                 Choose from: payments, platform, data, identity, networking."
            ),
            "{text}"
        );
        let typo = report("Platfrom, @acme/everyone");
        assert_eq!(typo.unknown_teams, ["Platfrom", "@acme/everyone"]);
        assert!(
            render_report(&typo, &form)
                .contains("`Platfrom`, `@acme/everyone`, which are not teams")
        );
    }

    #[test]
    fn team_names_compare_as_the_form_reads() {
        for teams in [
            " Platform ",
            "PLATFORM",
            "platform",
            "- [x]  platform",
            "Plat\u{200B}form",
        ] {
            let r = report(teams);
            assert!(r.is_complete(), "{teams:?}: {r:?}");
        }
        // A team only a reader cannot see is not named.
        assert!(report("<!-- payments -->").no_teams);
        assert!(report("<!--\npayments\n-->\ndata").is_complete());
    }

    #[test]
    fn split_keeps_known_teams_apart_from_unknown_ones() {
        let form = IssueForm::shipped();
        let names: Vec<String> = ["payments", " Security", "DATA", "security ", "payments"]
            .map(String::from)
            .to_vec();
        let split = TeamSplit::of(&names, &form);
        assert_eq!(split.known, ["payments", "data"]);
        assert_eq!(split.unknown, ["Security"]);
    }

    #[test]
    fn invisible_answers_are_not_answers() {
        let form = IssueForm::shipped();
        let hidden = [
            "<!-- We need this because the failover is flaky and pages nightly -->",
            "<!--\nWe need this because\n-->",
            "<details><summary></summary></details>",
            "\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}\u{200B}",
            "[](https://example.com/a-very-long-link-that-is-not-shown)",
        ];
        for answer in hidden {
            let md = format!(
                "### Why is this SRE?\n\n{answer}\n\n### Why is this important?\n\n\
                 Two incidents a month, forty minutes each.\n\n### What is involved?\n\n\
                 Retry the gateway calls idempotently.\n\n### Teams involved\n\npayments\n"
            );
            let r = check_with_form(&parse(&md, &form), &CriteriaConfig::default(), &form);
            assert_eq!(
                r.missing,
                [MissingAnswer {
                    question: Question::WhySre,
                    reason: MissingReason::Empty
                }],
                "{answer:?}"
            );
        }
        // A comment hiding a heading hides it: the next section is still part of the hidden
        // text, so "Why is this important?" is unanswered too, and no heading is faked.
        let md = "### Why is this SRE?\n\nFailover breaks checkout for all of us.\n\n<!--\n\
                  ### Why is this important?\n\nTwo incidents a month, forty minutes each.\n-->\n\n\
                  ### What is involved?\n\nRetry the gateway calls idempotently.\n\n\
                  ### Teams involved\n\npayments\n";
        let r = check_with_form(&parse(md, &form), &CriteriaConfig::default(), &form);
        assert_eq!(r.missing.len(), 1, "{r:?}");
        assert_eq!(r.missing[0].question, Question::WhyImportant);
        // Hidden padding does not lengthen a short answer.
        let padded = "### Why is this SRE?\n\nflaky <!-- padding padding padding padding -->\n";
        let r = check_with_form(&parse(padded, &form), &CriteriaConfig::default(), &form);
        assert_eq!(
            r.missing[0].reason,
            MissingReason::TooShort { chars: 5, min: 20 }
        );
    }
}
