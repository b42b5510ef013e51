//! The concern domain: the shipped issue form, parsing an issue-form body into a
//! [`Concern`], and the criteria check. Pure: no I/O beyond reading a form file on request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod criteria;
pub mod figures;
pub mod form;
mod parse;
#[cfg(test)]
mod proptests;
mod sections;
mod visible;

pub use form::{FormError, IssueForm};
pub use parse::parse;
pub use visible::{is_visible, visible_text};

/// The three questions the council asks of every concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Question {
    /// "Why is this SRE?": why reliability engineering, not a feature request.
    WhySre,
    /// "Why is this important?": the cost of leaving it.
    WhyImportant,
    /// "What is involved?": the work, with per-team task lines.
    WhatInvolved,
}

impl Question {
    /// Every question, in the order the form asks them.
    pub const ALL: [Question; 3] = [Self::WhySre, Self::WhyImportant, Self::WhatInvolved];

    /// The id of the question's field in the issue form; labels are looked up by it.
    pub fn form_id(self) -> &'static str {
        match self {
            Self::WhySre => "why_sre",
            Self::WhyImportant => "why_important",
            Self::WhatInvolved => "what_involved",
        }
    }

    /// The question as `form` words it (its field label), falling back to the field id.
    pub fn label(self, form: &IssueForm) -> String {
        form.label(self.form_id())
            .map_or_else(|| self.form_id().to_owned(), str::to_owned)
    }
}

impl std::fmt::Display for Question {
    /// Writes the question as the shipped form words it, for messages without a form at hand.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label(&IssueForm::shipped()))
    }
}

/// A concern as read from its issue body: the answers, the teams and their tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concern {
    /// Answer to "Why is this SRE?": trimmed Markdown; "" when missing or `_No response_`.
    pub why_sre: String,
    /// Answer to "Why is this important?", same rules.
    pub why_important: String,
    /// Answer to "What is involved?", same rules; task lines stay in it too.
    pub what_involved: String,
    /// Selected teams: the form option's spelling when one matches (case-insensitively),
    /// else as written, so the caller can report unknown teams. Deduplicated, in order.
    pub teams: Vec<String>,
    /// `- [ ] team: task` lines in "What is involved?", keyed by team (canonical spelling
    /// when the team is a form option), tasks in order. Each goes into that team's story.
    pub team_tasks: BTreeMap<String, Vec<String>>,
    /// The Results section (before/after figures), when answered.
    pub results: Option<String>,
    /// The answer to "What kind of problem is this?" (the form's `kind` dropdown), when
    /// answered: what `[routing]` compares with each route's `option`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The answer to the optional "How will we measure the improvement?", when given.
    #[serde(default)]
    pub measure: Option<String>,
}

impl Concern {
    /// The answer to one question, so callers can loop over [`Question::ALL`].
    pub fn answer(&self, q: Question) -> &str {
        match q {
            Question::WhySre => &self.why_sre,
            Question::WhyImportant => &self.why_important,
            Question::WhatInvolved => &self.what_involved,
        }
    }

    /// Teams named in the concern that are not options of `form`, for a "who is that?" note.
    pub fn unknown_teams<'a>(&'a self, form: &IssueForm) -> Vec<&'a str> {
        self.teams
            .iter()
            .filter(|t| form.canonical_team(t).is_none())
            .map(String::as_str)
            .collect()
    }

    /// The named teams split into those the form offers and the rest; see [`TeamSplit`].
    pub fn team_split(&self, form: &IssueForm) -> TeamSplit {
        TeamSplit::of(&self.teams, form)
    }
}

/// The teams a concern names, split by whether they are options of the issue form's
/// "Teams involved" dropdown (which `config check` keeps equal to `[teams]`).
///
/// Names compare the way the form's options read: case-insensitively, with runs of white
/// space as one space and the ends trimmed (`" Platform "` is `platform`). The engine makes
/// the stories of `known` teams at once and never waits on `unknown` ones; the criteria
/// check names `unknown` ones to the author with the valid choices (needs-info).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamSplit {
    /// Known teams in the form option's spelling, in the order named, without repeats.
    pub known: Vec<String>,
    /// Names that match no option, as written (trimmed), in order, without repeats.
    pub unknown: Vec<String>,
}

impl TeamSplit {
    /// Splits `names` against the options of `form`. Pure and linear in the names given
    /// times the number of options.
    pub fn of(names: &[String], form: &IssueForm) -> Self {
        let mut split = Self::default();
        for name in names {
            let trimmed = name.trim();
            let (list, entry) = match form.canonical_team(trimmed) {
                Some(option) => (&mut split.known, option.to_owned()),
                None => (&mut split.unknown, trimmed.to_owned()),
            };
            if !entry.is_empty() && !list.iter().any(|t| form::fold(t) == form::fold(&entry)) {
                list.push(entry);
            }
        }
        split
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_ids_and_labels_come_from_the_form() {
        let form = IssueForm::shipped();
        let labels: Vec<String> = Question::ALL.iter().map(|q| q.label(&form)).collect();
        assert_eq!(
            labels,
            [
                "Why is this SRE?",
                "Why is this important?",
                "What is involved?"
            ]
        );
        assert_eq!(Question::WhatInvolved.to_string(), "What is involved?");
        for q in Question::ALL {
            assert!(form.field(q.form_id()).is_some(), "{q:?}");
        }
    }

    #[test]
    fn answer_and_unknown_teams() {
        let c = Concern {
            why_sre: "a".into(),
            why_important: "b".into(),
            what_involved: "c".into(),
            teams: vec!["payments".into(), "Marketing".into()],
            ..Concern::default()
        };
        let answers: Vec<&str> = Question::ALL.iter().map(|q| c.answer(*q)).collect();
        assert_eq!(answers, ["a", "b", "c"]);
        assert_eq!(c.unknown_teams(&IssueForm::shipped()), ["Marketing"]);
    }
}
