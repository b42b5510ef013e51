//! The text of the tracking comment and of replies. Pure: the engine gathers the facts,
//! this renders them. The hidden markers are how the daemon finds its comments again after
//! a crash or a lost database, so they never change between versions.

use std::fmt::Write;

use super::{DecisionKind, Reply, Stage};

/// Hidden marker that identifies the one tracking comment of a concern.
pub const TRACKING_MARKER: &str = "<!-- council-sync:tracking -->";

/// What the story column of the tracking comment's table says for a team whose story is
/// still to be created.
pub const PENDING: &str = "pending";

/// Whether a comment body is a tracking comment.
pub fn is_tracking_comment(body: &str) -> bool {
    body.contains(TRACKING_MARKER)
}

/// Hidden marker of one reply, so a retried post finds the reply it already made.
pub fn reply_marker(key: &str) -> String {
    format!("<!-- council-sync:reply:{key} -->")
}

/// A recorded decision, as shown.
#[derive(Debug, Clone)]
pub struct DecisionView {
    pub kind: DecisionKind,
    pub actor: String,
    /// RFC 3339 time of the decision.
    pub at: String,
}

/// A tracker issue, as shown.
#[derive(Debug, Clone, Default)]
pub struct IssueLinkView {
    pub key: String,
    pub url: String,
    /// The team, for stories.
    pub team: Option<String>,
    /// Status name, once synced.
    pub status: Option<String>,
    /// Assignee's name, once synced.
    pub assignee: Option<String>,
    /// Sprint name (and state), once synced.
    pub sprint: Option<String>,
}

/// Everything the tracking comment shows.
#[derive(Debug, Clone)]
pub struct TrackingView {
    pub stage: Stage,
    /// The criteria result, already rendered as Markdown.
    pub criteria_md: String,
    pub decisions: Vec<DecisionView>,
    pub epic: Option<IssueLinkView>,
    pub stories: Vec<IssueLinkView>,
    /// Teams whose stories are still to be created.
    pub pending_teams: Vec<String>,
    /// A failure retrying cannot fix, shown until it is resolved.
    pub last_error: Option<String>,
    /// The before/after results, once presented.
    pub results: Option<String>,
    /// `owner/name#number` the issue was transferred from, when it was.
    pub moved_from: Option<String>,
}

fn headline(stage: Stage) -> &'static str {
    match stage {
        Stage::NeedsInfo => "⚠️ **Needs information** before the council can look at it.",
        Stage::Ready => "✅ **Ready for the council**: on the agenda of the next session.",
        Stage::Rejected => "❌ **Rejected** by the council.",
        Stage::OutOfScope => {
            "↪️ **Out of scope** for the SRE council: see the council's reply on this issue for where it belongs."
        }
        Stage::Accepted => "🟢 **Accepted** by the council: creating the epic.",
        Stage::Vetted => "🟢 **Vetted**: creating the team stories.",
        Stage::EpicCreated => "🟢 **Accepted**: the epic exists; team stories follow.",
        Stage::StoriesCreated => "🚀 **Accepted**: the epic and the team stories exist.",
        Stage::InProgress => "🔧 **In progress**: the teams are working on their stories.",
        Stage::Done => "🏁 **Done**: every story is done.",
        Stage::ResultsRequested => "📊 **Done**: waiting for the before/after results.",
        Stage::ResultsPresented => "🎉 **Results presented**: the concern is complete.",
    }
}

/// The full body of the tracking comment.
pub fn render(view: &TrackingView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{TRACKING_MARKER}");
    let _ = writeln!(out, "## SRE council tracking\n");
    let _ = writeln!(out, "{}\n", headline(view.stage));
    if let Some(from) = &view.moved_from {
        // GitHub links `owner/name#n` in comments; the concern, its decisions, epic and
        // stories came along.
        let _ = writeln!(
            out,
            "↪️ Moved from {from}: the decisions, the epic and the stories came along.\n"
        );
    }
    let _ = writeln!(out, "### Criteria\n\n{}\n", view.criteria_md.trim_end());
    if !view.decisions.is_empty() {
        let _ = writeln!(out, "### Decisions\n");
        for d in &view.decisions {
            let verb = match d.kind {
                DecisionKind::Accept => "accepted",
                DecisionKind::Reject => "rejected",
                DecisionKind::Vet => "vetted",
                DecisionKind::OutOfScope => "routed out of scope",
            };
            let _ = writeln!(out, "- {verb} by @{} at {}", d.actor, d.at);
        }
        out.push('\n');
    }
    if let Some(epic) = &view.epic {
        let status = epic
            .status
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "### Tracker\n\nEpic: [{}]({}){status}\n",
            epic.key, epic.url
        );
        if !view.stories.is_empty() || !view.pending_teams.is_empty() {
            let _ = writeln!(
                out,
                "| Team | Story | Status | Assignee | Sprint |\n| --- | --- | --- | --- | --- |"
            );
            for s in &view.stories {
                let cell =
                    |v: &Option<String>| v.as_deref().map(table_cell).unwrap_or_else(|| "–".into());
                let _ = writeln!(
                    out,
                    "| {} | [{}]({}) | {} | {} | {} |",
                    s.team
                        .as_deref()
                        .map(table_cell)
                        .unwrap_or_else(|| "?".into()),
                    s.key,
                    s.url,
                    cell(&s.status),
                    cell(&s.assignee),
                    cell(&s.sprint),
                );
            }
            for t in &view.pending_teams {
                let _ = writeln!(out, "| {} | {PENDING} | | | |", table_cell(t));
            }
        }
        out.push('\n');
    }
    if let Some(results) = &view.results {
        let shown = cut(
            results,
            MAX_RESULTS_CHARS,
            "the rest is in the issue and its comments",
        );
        let quoted: Vec<String> = shown.lines().map(|l| format!("> {l}")).collect();
        let _ = writeln!(out, "### Results\n\n{}\n", quoted.join("\n"));
    }
    if let Some(err) = &view.last_error {
        let shown = cut(err, MAX_PROBLEM_CHARS, "the rest is in the daemon's log");
        let _ = writeln!(out, "### Problem\n\n> {}\n", shown.replace('\n', " "));
    }
    out.push_str(
        "<sub>Maintained by council-sync; edited in place as the concern moves on.</sub>\n",
    );
    out
}

/// Most characters of the results quoted in the tracking comment: with everything else it
/// stays far under GitHub's 65,536-character comment limit, whatever was presented.
const MAX_RESULTS_CHARS: usize = 20_000;
/// Most characters of a problem shown (an error can carry a whole response body).
const MAX_PROBLEM_CHARS: usize = 2_000;

/// `text` cut to `max` characters with a visible note saying `where_rest` is.
fn cut(text: &str, max: usize, where_rest: &str) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}… (cut; {where_rest})", &text[..at]),
    }
}

/// Text safe inside a Markdown table cell.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The friendly answer to an issue that is not an SRE concern: thanks, where it belongs,
/// and why it is closed.
fn out_of_scope_reply(
    author: &str,
    by: Option<&str>,
    route: Option<&(String, String)>,
    elsewhere: &[(String, String)],
) -> String {
    let mut out = format!("@{author} thank you for raising this. ");
    match by {
        Some(by) => {
            let _ = write!(out, "@{by} from the SRE council looked at it: ");
        }
        None => out.push_str("From the kind of problem you chose: "),
    }
    out.push_str(
        "this is not something the SRE council decides on (it takes reliability, availability,          latency and operability work).",
    );
    match route {
        Some((message, url)) => {
            let _ = write!(out, "\n\n{} Please take it there: {url}", message.trim());
        }
        None if !elsewhere.is_empty() => {
            out.push_str("\n\nOne of these is likely the right place:\n");
            for (option, url) in elsewhere {
                let _ = write!(out, "\n- {}: {url}", table_cell(option));
            }
        }
        None => {}
    }
    out.push_str(
        "\n\nI am closing this issue as not planned, so it stays off the council's agenda. \
         If it is a reliability concern after all, say so here and a council member can \
         reopen it.",
    );
    out
}

/// The body of a reply comment, with its marker.
pub fn render_reply(reply: &Reply, marker_key: &str) -> String {
    let text = match reply {
        Reply::NotCouncilMember { actor, label } => format!(
            "@{actor} only members of the SRE council decide on concerns, so I removed `{label}`. \
             If you think this concern should be decided, bring it to the next council session."
        ),
        Reply::NotApplicable { actor, label, why } => {
            format!("@{actor} I removed `{label}` because {why}.")
        }
        Reply::Rejected { by } => format!(
            "The SRE council (@{by}) rejected this concern, so I am closing it as not planned. \
             Reopen it with new information if the situation changes."
        ),
        Reply::OutOfScope {
            author,
            by,
            route,
            elsewhere,
        } => out_of_scope_reply(author, by.as_deref(), route.as_ref(), elsewhere),
        Reply::ResultsRequested { author } => format!(
            "@{author} every team story is done. Please present the before/after figures: add a \
             `### Results` section to the issue, or comment `/results` followed by them \
             (for example `/results p99 checkout latency 2.1 s → 0.4 s`)."
        ),
    };
    format!("{}\n{text}\n", reply_marker(marker_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(stage: Stage) -> TrackingView {
        TrackingView {
            stage,
            criteria_md: "- All three questions are answered.".into(),
            decisions: vec![],
            epic: None,
            stories: vec![],
            pending_teams: vec![],
            last_error: None,
            results: None,
            moved_from: None,
        }
    }

    #[test]
    fn a_transferred_concern_says_where_it_came_from() {
        let mut v = view(Stage::StoriesCreated);
        assert!(!render(&v).contains("Moved from"));
        v.moved_from = Some("acme/concerns#12".into());
        let text = render(&v);
        assert!(text.contains("Moved from acme/concerns#12"), "{text}");
    }

    #[test]
    fn tracking_comment_has_marker_and_state() {
        let text = render(&view(Stage::NeedsInfo));
        assert!(is_tracking_comment(&text));
        assert!(text.contains("Needs information"));
        assert!(!text.contains("### Tracker"));
    }

    #[test]
    fn tracking_comment_lists_epic_and_stories() {
        let mut v = view(Stage::StoriesCreated);
        v.decisions.push(DecisionView {
            kind: DecisionKind::Accept,
            actor: "carol".into(),
            at: "2026-11-26T10:00:00Z".into(),
        });
        v.epic = Some(IssueLinkView {
            key: "SRE-1".into(),
            url: "http://j/browse/SRE-1".into(),
            ..Default::default()
        });
        v.stories.push(IssueLinkView {
            key: "PAY-1".into(),
            url: "http://j/browse/PAY-1".into(),
            team: Some("payments".into()),
            status: Some("In Progress".into()),
            assignee: Some("carol".into()),
            sprint: Some("Sprint 42 | active".into()),
        });
        v.results = Some("p99 2.1 s → 0.4 s\npages 14 → 1".into());
        v.pending_teams.push("data".into());
        v.last_error = Some("tracker refused (400): no such project\nDATA".into());
        let text = render(&v);
        assert!(text.contains("accepted by @carol"));
        assert!(text.contains("Epic: [SRE-1](http://j/browse/SRE-1)"));
        assert!(text.contains("| payments | [PAY-1](http://j/browse/PAY-1) | In Progress | carol | Sprint 42 \\| active |"), "{text}");
        assert!(text.contains("| data | pending | | | |"), "{text}");
        assert!(text.contains("> p99 2.1 s → 0.4 s\n> pages 14 → 1"));
        assert!(text.contains("> tracker refused (400): no such project DATA"));
    }

    #[test]
    fn tracking_comment_stays_within_githubs_limit() {
        let mut v = view(Stage::ResultsPresented);
        v.results = Some("p99 2.1 s → 0.4 s\n".repeat(4_000));
        v.last_error = Some("x".repeat(70_000));
        let text = render(&v);
        assert!(text.chars().count() < 30_000, "{}", text.chars().count());
        assert!(text.contains("(cut; the rest is in the issue and its comments)"));
        assert!(text.contains("(cut; the rest is in the daemon's log)"));
    }

    #[test]
    fn replies_carry_their_marker() {
        let r = render_reply(
            &Reply::NotCouncilMember {
                actor: "mallory".into(),
                label: "council/accepted".into(),
            },
            "k1",
        );
        assert!(r.starts_with(&reply_marker("k1")));
        assert!(r.contains("@mallory") && r.contains("council/accepted"));
        assert!(!is_tracking_comment(&r));
    }
}
