//! Out-of-scope routing in the engine: gathers what [`council::route`] needs (the form's
//! kind answer, the kind a deciding member named in a comment) and asks it before
//! [`council::decide`].

use super::EngineError;
use super::context::Ctx;
use crate::concern::Concern;
use crate::config::LabelsConfig;
use crate::council::{self, Decision, RouteInput, Snapshot, Trigger, same_label};
use crate::github::client::Issue;
use crate::tracker::Tracker;

/// The command a council member comments to name the kind: `/out-of-scope <kind>`.
pub const KIND_COMMAND: &str = "/out-of-scope";

/// The routing decision for this event, when routing has one (see [`council::route`]).
pub(crate) async fn route_first<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    snap: &Snapshot<'_>,
    trigger: &Trigger,
    issue: &Issue,
    parsed: &Concern,
) -> Result<Option<Decision>, EngineError> {
    let named = match trigger {
        Trigger::LabelAdded {
            label,
            actor,
            actor_is_member: true,
        } if same_label(label, &cx.config.labels.out_of_scope) => {
            kind_named_by(cx, repo, issue.number, actor).await?
        }
        _ => None,
    };
    let input = RouteInput {
        labels: &cx.config.labels,
        routes: &cx.config.routing,
        kind_answer: parsed.kind.as_deref(),
        kind_named: named.as_deref(),
        author: &issue.author,
    };
    Ok(council::route(snap, trigger, &input))
}

/// The kind in `actor`'s latest `/out-of-scope <kind>` comment on the issue.
pub(crate) async fn kind_named_by<T: Tracker + 'static>(
    cx: &Ctx<T>,
    repo: &str,
    number: u64,
    actor: &str,
) -> Result<Option<String>, EngineError> {
    let comments = cx.github.list_comments(repo, number).await?;
    Ok(comments
        .iter()
        .rev()
        .filter(|c| c.author.eq_ignore_ascii_case(actor))
        .find_map(|c| kind_in(&c.body)))
}

/// The kind named by a `/out-of-scope <kind>` line (the first such line), lower-cased.
pub fn kind_in(body: &str) -> Option<String> {
    body.lines().find_map(|line| {
        let line = line.trim();
        let rest = line
            .get(..KIND_COMMAND.len())
            .filter(|p| p.eq_ignore_ascii_case(KIND_COMMAND))
            .map(|_| &line[KIND_COMMAND.len()..])?;
        let kind = rest.split_whitespace().next()?;
        (rest.starts_with(char::is_whitespace)).then(|| kind.to_ascii_lowercase())
    })
}

/// Whether a label is one a council member decides with (members only).
pub fn is_decision_label(labels: &LabelsConfig, label: &str) -> bool {
    [
        &labels.accepted,
        &labels.rejected,
        &labels.vetted,
        &labels.out_of_scope,
    ]
    .iter()
    .any(|d| same_label(label, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_command_line() {
        assert_eq!(
            kind_in("Thanks!\n/out-of-scope Product-Idea please"),
            Some("product-idea".into())
        );
        assert_eq!(
            kind_in("/OUT-OF-SCOPE customer-escalation"),
            Some("customer-escalation".into())
        );
        assert_eq!(kind_in("/out-of-scope"), None);
        assert_eq!(kind_in("/out-of-scopex y"), None);
        assert_eq!(kind_in("see /out-of-scope y"), None);
    }
}
