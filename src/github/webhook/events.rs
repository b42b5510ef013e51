//! Decoding of the GitHub webhook deliveries the daemon acts on.
//!
//! Our own small serde structs rather than octocrab's webhook types, which are partial (an
//! issue-comment payload without `repository` once failed to decode there). Fields we do not
//! use are ignored, so a delivery never fails on them; a field we *do* use that is missing
//! fails the delivery with a one-line reason. Events and actions we do not handle decode to
//! [`GithubEvent::Ignored`], never to an error.

use serde::Deserialize;

/// A decoded delivery: something the engine acts on, or something it ignores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GithubEvent {
    /// `issues` with one of the actions in [`IssuesAction`].
    Issues(IssuesEvent),
    /// `issue_comment` created or edited.
    IssueComment(IssueCommentEvent),
    /// Anything else (ping, projects_v2_item, `issues.assigned`, comment deleted, …).
    Ignored {
        /// The `X-GitHub-Event` name.
        event: String,
        /// The payload's `action`, when it has one.
        action: Option<String>,
    },
}

impl GithubEvent {
    /// The payload's `action` as GitHub spells it, for the inbox row and for logs.
    pub fn action_name(&self) -> Option<&str> {
        match self {
            Self::Issues(e) => Some(e.action.as_str()),
            Self::IssueComment(e) => Some(e.action.as_str()),
            Self::Ignored { action, .. } => action.as_deref(),
        }
    }
}

/// An `issues` delivery we act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuesEvent {
    /// What happened to the issue.
    pub action: IssuesAction,
    /// The issue as it is after the change.
    pub issue: WebhookIssue,
    /// The label added or removed (`labeled` / `unlabeled` only).
    pub label: Option<String>,
    /// Login of who did it: decisions are only valid from council members.
    pub sender: String,
    /// `owner/name` of the repository.
    pub repo: String,
    /// `transferred`: where the issue went; `opened` after a transfer: where it came from.
    pub transfer: Option<Transfer>,
}

/// The `issues` actions that move a concern along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuesAction {
    /// A concern was raised: run the criteria check.
    Opened,
    /// The body may now answer the questions: run the check again.
    Edited,
    /// A decision or status label was added.
    Labeled,
    /// A label was removed.
    Unlabeled,
    /// Closed (`state_reason` says completed or not planned).
    Closed,
    /// Reopened.
    Reopened,
    /// Someone was assigned (the epic's assignee follows).
    Assigned,
    /// Someone was unassigned.
    Unassigned,
    /// Moved to another repository (the same issue continues there under a new number).
    Transferred,
}

impl IssuesAction {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "opened" => Self::Opened,
            "edited" => Self::Edited,
            "labeled" => Self::Labeled,
            "unlabeled" => Self::Unlabeled,
            "closed" => Self::Closed,
            "reopened" => Self::Reopened,
            "assigned" => Self::Assigned,
            "unassigned" => Self::Unassigned,
            "transferred" => Self::Transferred,
            _ => return None,
        })
    }

    /// The action as GitHub spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Edited => "edited",
            Self::Labeled => "labeled",
            Self::Unlabeled => "unlabeled",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::Assigned => "assigned",
            Self::Unassigned => "unassigned",
            Self::Transferred => "transferred",
        }
    }
}

/// The parts of an issue the engine reads from a delivery. The delivery is only a cue: the
/// engine reads the issue as it is now from GitHub, so only what names the issue and orders
/// events is decoded. Everything else the schema marks optional or nullable (`user`,
/// `labels`, `state`, `body`, …) is not read, so a sparse delivery never fails on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookIssue {
    /// GitHub's database id (stable across transfers, unlike the number).
    pub id: u64,
    /// GitHub's global node id (stable across transfers); absent in some old payloads.
    pub node_id: Option<String>,
    /// The number within the repository.
    pub number: u64,
    /// ISO 8601, as GitHub sends it; orders deliveries that arrive out of order. Required
    /// by the schema for every handled event, but not needed to act, so never an error.
    pub updated_at: Option<String>,
}

/// Where a transferred issue went (`issues.transferred`: `changes.new_issue` and
/// `changes.new_repository`) or came from (`issues.opened` in the new repository:
/// `changes.old_issue` and `changes.old_repository`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// `owner/name` of the other repository.
    pub repo: String,
    /// The issue there.
    pub issue: WebhookIssue,
}

/// An `issue_comment` delivery we act on (e.g. a `/results` comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCommentEvent {
    /// Created or edited.
    pub action: CommentAction,
    /// The issue the comment is on.
    pub issue: WebhookIssue,
    /// The comment's id (our own tracking comment is recognised by it).
    pub comment_id: u64,
    /// The comment's Markdown.
    pub comment_body: String,
    /// Login of who wrote or edited it.
    pub sender: String,
    /// `owner/name` of the repository.
    pub repo: String,
}

/// The `issue_comment` actions we act on; `deleted` is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    /// A new comment.
    Created,
    /// A comment's body changed.
    Edited,
}

impl CommentAction {
    fn parse(action: &str) -> Option<Self> {
        match action {
            "created" => Some(Self::Created),
            "edited" => Some(Self::Edited),
            _ => None,
        }
    }

    /// The action as GitHub spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Edited => "edited",
        }
    }
}

/// Why a delivery could not be decoded; the text is one line, fit for a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is not JSON (or not a JSON object with a usable `action`).
    #[error("{event}: body is not valid JSON: {reason}")]
    Json {
        /// The `X-GitHub-Event` name.
        event: String,
        /// serde_json's one-line message.
        reason: String,
    },
    /// A handled event lacks a field we use, or has one of the wrong type.
    #[error("{event}.{action}: {reason}")]
    Field {
        /// The `X-GitHub-Event` name.
        event: String,
        /// The payload's action.
        action: String,
        /// What is missing or wrong.
        reason: String,
    },
}

/// Decodes a delivery given its `X-GitHub-Event` header and raw body.
pub fn decode(event: &str, body: &[u8]) -> Result<GithubEvent, DecodeError> {
    decode_routed(event, body).map(|r| r.event)
}

/// A decoded delivery with what the webhook route needs beside it, from one parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The delivery as the engine acts on it (or ignores it).
    pub event: GithubEvent,
    /// The payload's `repository.full_name`, when it has one, including for events decoded
    /// as [`GithubEvent::Ignored`] (an `issues` action the council ignores is still a
    /// tracker's cue when its repository is a team's, see `Scope::tracker_reads`).
    pub repo: Option<String>,
}

/// Decodes a delivery as [`decode`] does, and names its repository, parsing the body once.
///
/// Why: the ingest profile of issue 13 found the 14 KB body parsed three times per
/// webhook (the action, then the event's fields, then `repository` for the tracker's
/// `issues`). Here one pass reads every field any handled event uses; only a body that
/// pass refuses (a field we use missing or of the wrong type, or an ignored event shaped
/// unlike the ones we handle) is decoded again field by field by [`decode_in_steps`], so
/// the answer and its error text stay what they were.
pub fn decode_routed(event: &str, body: &[u8]) -> Result<Routed, DecodeError> {
    match parse::<Whole>(body) {
        Ok(whole) => match whole.into_routed(event) {
            Some(routed) => Ok(routed),
            None => decode_in_steps(event, body),
        },
        Err(_) => decode_in_steps(event, body),
    }
}

/// The body in one pass: every field a handled event uses, each optional so that the pass
/// itself never decides which are required (that depends on the event and the action).
#[derive(Deserialize)]
struct Whole {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    repository: Option<RawRepository>,
    #[serde(default)]
    issue: Option<RawIssue>,
    #[serde(default)]
    label: Option<RawLabel>,
    #[serde(default)]
    sender: Option<RawUser>,
    #[serde(default)]
    changes: Option<RawChanges>,
    #[serde(default)]
    comment: Option<RawComment>,
}

impl Whole {
    /// What the step-by-step decoding would answer, or `None` where that answer is an error
    /// (a required field missing): the caller then decodes in steps for its exact text.
    fn into_routed(self, event: &str) -> Option<Routed> {
        let repo = self.repository.map(|r| r.full_name);
        let ignored = |action: Option<String>, repo: Option<String>| {
            Some(Routed {
                event: GithubEvent::Ignored {
                    event: event.to_owned(),
                    action,
                },
                repo,
            })
        };
        let handled = match (event, self.action.as_deref()) {
            ("issues", Some(a)) => IssuesAction::parse(a).map(Handled::Issues),
            ("issue_comment", Some(a)) => CommentAction::parse(a).map(Handled::Comment),
            _ => None,
        };
        let Some(handled) = handled else {
            return ignored(self.action, repo);
        };
        // As in `decode_in_steps`: outside any repository, ignored whatever else it lacks.
        let Some(repo) = repo else {
            return ignored(self.action, None);
        };
        let issue = self.issue?;
        let sender = self.sender?.login;
        let event = match handled {
            Handled::Issues(action) => {
                let transfer = transfer_of(action, self.changes);
                if action == IssuesAction::Transferred && transfer.is_none() {
                    return None;
                }
                GithubEvent::Issues(IssuesEvent {
                    action,
                    issue: issue.into(),
                    label: self.label.map(|l| l.name),
                    sender,
                    repo: repo.clone(),
                    transfer,
                })
            }
            Handled::Comment(action) => {
                let comment = self.comment?;
                GithubEvent::IssueComment(IssueCommentEvent {
                    action,
                    issue: issue.into(),
                    comment_id: comment.id,
                    comment_body: comment.body,
                    sender,
                    repo: repo.clone(),
                })
            }
        };
        Some(Routed {
            event,
            repo: Some(repo),
        })
    }
}

/// Where a transferred issue went, or where an opened one came from (see [`Transfer`]).
fn transfer_of(action: IssuesAction, changes: Option<RawChanges>) -> Option<Transfer> {
    let (issue, repo) = changes.and_then(|c| match action {
        IssuesAction::Transferred => c.new_issue.zip(c.new_repository),
        IssuesAction::Opened => c.old_issue.zip(c.old_repository),
        _ => None,
    })?;
    Some(Transfer {
        repo: repo.full_name,
        issue: issue.into(),
    })
}

/// `body` parsed as `T`; every parse of a delivery's body goes through here, so the tests
/// can count them.
fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    #[cfg(test)]
    PARSES.with(|n| n.set(n.get() + 1));
    serde_json::from_slice(body)
}

#[cfg(test)]
thread_local! {
    /// Parses of a body on this thread (see [`parse`]), for the tests that count them.
    pub(crate) static PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The parses of a delivery's body so far on this thread (tests only).
#[cfg(test)]
pub(crate) fn parses() -> u64 {
    PARSES.with(std::cell::Cell::get)
}

/// The decoding one step at a time: the action first (so an event we ignore never fails on
/// its shape), then the handled event's own fields, then the repository's name. What
/// [`decode_routed`] falls back to for a body its single pass refuses; its answers are the
/// reference the single pass is tested against.
fn decode_in_steps(event: &str, body: &[u8]) -> Result<Routed, DecodeError> {
    let decoded = decode_event_in_steps(event, body)?;
    let repo = match &decoded {
        GithubEvent::Issues(e) => Some(e.repo.clone()),
        GithubEvent::IssueComment(c) => Some(c.repo.clone()),
        GithubEvent::Ignored { .. } => parse::<RepositoryOnly>(body)
            .ok()
            .and_then(|r| r.repository)
            .map(|r| r.full_name),
    };
    Ok(Routed {
        event: decoded,
        repo,
    })
}

/// Only `repository.full_name` (for an event decoded as ignored).
#[derive(Deserialize)]
struct RepositoryOnly {
    #[serde(default)]
    repository: Option<RawRepository>,
}

fn decode_event_in_steps(event: &str, body: &[u8]) -> Result<GithubEvent, DecodeError> {
    // First only the action (serde_json still checks the whole body is valid JSON), so an
    // event we ignore never fails on its shape.
    let envelope: Envelope = parse(body).map_err(|e| DecodeError::Json {
        event: event.to_owned(),
        reason: e.to_string(),
    })?;
    let action = envelope.action;
    let handled = match (event, action.as_deref()) {
        ("issues", Some(a)) => IssuesAction::parse(a).map(Handled::Issues),
        ("issue_comment", Some(a)) => CommentAction::parse(a).map(Handled::Comment),
        _ => None,
    };
    let Some(handled) = handled else {
        return Ok(GithubEvent::Ignored {
            event: event.to_owned(),
            action,
        });
    };
    // A delivery outside any repository (an organisation-level event) cannot be about a
    // watched repository: ignored, whatever else it lacks.
    if envelope.repository.is_none() {
        return Ok(GithubEvent::Ignored {
            event: event.to_owned(),
            action,
        });
    }
    let field_error = |reason: String| DecodeError::Field {
        event: event.to_owned(),
        action: action.clone().unwrap_or_default(),
        reason,
    };
    match handled {
        Handled::Issues(action) => {
            let raw: RawIssuesEvent = parse(body).map_err(|e| field_error(e.to_string()))?;
            let transfer = transfer_of(action, raw.changes);
            if action == IssuesAction::Transferred && transfer.is_none() {
                return Err(field_error(
                    "missing field `changes.new_issue` or `changes.new_repository`".into(),
                ));
            }
            Ok(GithubEvent::Issues(IssuesEvent {
                action,
                issue: raw.issue.into(),
                // `unlabeled` has no `label` when a repository label was deleted: the
                // schema marks it optional, and the engine re-reads the issue anyway.
                label: raw.label.map(|l| l.name),
                sender: raw.sender.login,
                repo: raw.repository.full_name,
                transfer,
            }))
        }
        Handled::Comment(action) => {
            let raw: RawCommentEvent = parse(body).map_err(|e| field_error(e.to_string()))?;
            Ok(GithubEvent::IssueComment(IssueCommentEvent {
                action,
                issue: raw.issue.into(),
                comment_id: raw.comment.id,
                comment_body: raw.comment.body,
                sender: raw.sender.login,
                repo: raw.repository.full_name,
            }))
        }
    }
}

enum Handled {
    Issues(IssuesAction),
    Comment(CommentAction),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    action: Option<String>,
    /// Only whether it is there (and not `null`); not copied.
    #[serde(default)]
    repository: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawIssuesEvent {
    issue: RawIssue,
    #[serde(default)]
    label: Option<RawLabel>,
    sender: RawUser,
    repository: RawRepository,
    #[serde(default)]
    changes: Option<RawChanges>,
}

/// `changes` of `transferred` (new_*) and of `opened` after a transfer (old_*); `edited`'s
/// `changes` (title/body `from`) has none of these keys and decodes to all `None`.
#[derive(Deserialize)]
struct RawChanges {
    #[serde(default)]
    new_issue: Option<RawIssue>,
    #[serde(default)]
    new_repository: Option<RawRepository>,
    #[serde(default)]
    old_issue: Option<RawIssue>,
    #[serde(default)]
    old_repository: Option<RawRepository>,
}

#[derive(Deserialize)]
struct RawCommentEvent {
    issue: RawIssue,
    comment: RawComment,
    sender: RawUser,
    repository: RawRepository,
}

#[derive(Deserialize)]
struct RawIssue {
    id: u64,
    #[serde(default)]
    node_id: Option<String>,
    number: u64,
    #[serde(default)]
    updated_at: Option<String>,
}

impl From<RawIssue> for WebhookIssue {
    fn from(raw: RawIssue) -> Self {
        Self {
            id: raw.id,
            node_id: raw.node_id,
            number: raw.number,
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct RawLabel {
    name: String,
}

#[derive(Deserialize)]
struct RawUser {
    login: String,
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
}

#[derive(Deserialize)]
struct RawComment {
    id: u64,
    body: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::webhook::fixtures;

    #[test]
    fn every_shared_fixture_decodes() {
        let files = fixtures::github_webhook_files();
        assert!(files.len() >= 14, "fixtures not found: {files:?}");
        for path in files {
            let (event, action) = fixtures::event_and_action(&path);
            let body = std::fs::read(&path).expect("read fixture");
            let decoded =
                decode(&event, &body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                decoded.action_name(),
                action.as_deref(),
                "{}",
                path.display()
            );
            let handled = matches!(
                (event.as_str(), action.as_deref()),
                ("issues", _) | ("issue_comment", Some("created" | "edited"))
            );
            assert_eq!(
                !matches!(decoded, GithubEvent::Ignored { .. }),
                handled,
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn labeled_fixture_fields() {
        let body = fixtures::read("issues.labeled.json");
        let GithubEvent::Issues(e) = decode("issues", &body).expect("decodes") else {
            panic!("not an issues event");
        };
        assert_eq!(e.action, IssuesAction::Labeled);
        assert_eq!(e.label.as_deref(), Some("bug"));
        assert_eq!(e.repo, "Codertocat/Hello-World");
        assert_eq!(e.sender, "Codertocat");
        assert_eq!(e.issue.number, 1);
        assert_eq!(e.issue.id, 444500041);
        assert_eq!(e.issue.node_id.as_deref(), Some("MDU6SXNzdWU0NDQ1MDAwNDE="));
        assert_eq!(e.issue.updated_at.as_deref(), Some("2019-05-15T15:20:18Z"));
        assert_eq!(e.transfer, None);
    }

    #[test]
    fn comment_fixture_fields() {
        let body = fixtures::read("issue_comment.created.json");
        let GithubEvent::IssueComment(e) = decode("issue_comment", &body).expect("decodes") else {
            panic!("not a comment event");
        };
        assert_eq!(e.action, CommentAction::Created);
        assert_eq!(e.issue.number, 1);
        assert!(e.comment_id > 0);
        assert!(!e.comment_body.is_empty());
    }

    fn closed_payload() -> serde_json::Value {
        serde_json::json!({
            "action": "closed",
            "issue": {
                "id": 7, "number": 42, "title": "Disk alerts are noise",
                "body": null, "state": "closed", "state_reason": "not_planned",
                "labels": [{"name": "sre-concern", "color": "ededed"}],
                "user": {"login": "alice", "id": 1},
                "html_url": "https://github.com/acme/ops/issues/42",
                "updated_at": "2025-01-02T03:04:05Z",
                "some_future_field": {"nested": true}
            },
            "repository": {"full_name": "acme/ops", "id": 9},
            "sender": {"login": "bob"}
        })
    }

    #[test]
    fn closed_with_state_reason() {
        let body = serde_json::to_vec(&closed_payload()).expect("json");
        let GithubEvent::Issues(e) = decode("issues", &body).expect("decodes") else {
            panic!("not an issues event");
        };
        assert_eq!(e.action, IssuesAction::Closed);
        assert_eq!(e.issue.number, 42);
        assert_eq!(e.label, None);
        assert_eq!(e.sender, "bob");
        assert_eq!(e.repo, "acme/ops");
    }

    #[test]
    fn missing_used_field_is_a_one_line_error() {
        let mut payload = closed_payload();
        payload["issue"]
            .as_object_mut()
            .expect("object")
            .remove("number");
        let body = serde_json::to_vec(&payload).expect("json");
        let err = decode("issues", &body).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.starts_with("issues.closed: missing field `number`"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    /// GitHub sends `unlabeled` without `label` when a repository label is deleted; the
    /// schema marks `label` optional (so it is for `labeled` too).
    #[test]
    fn label_events_without_label_decode() {
        for action in ["labeled", "unlabeled"] {
            let mut payload = closed_payload();
            payload["action"] = action.into();
            let body = serde_json::to_vec(&payload).expect("json");
            let GithubEvent::Issues(e) = decode("issues", &body).expect(action) else {
                panic!("not an issues event");
            };
            assert_eq!(e.label, None, "{action}");
        }
    }

    #[test]
    fn nullable_and_optional_issue_fields_are_not_needed() {
        let mut payload = closed_payload();
        let issue = payload["issue"].as_object_mut().expect("object");
        for key in ["title", "body", "state", "labels", "html_url", "updated_at"] {
            issue.remove(key);
        }
        issue.insert("user".into(), serde_json::Value::Null);
        let body = serde_json::to_vec(&payload).expect("json");
        assert!(matches!(
            decode("issues", &body),
            Ok(GithubEvent::Issues(_))
        ));
    }

    #[test]
    fn transfer_both_ends() {
        let mut payload = closed_payload();
        payload["action"] = "transferred".into();
        payload["changes"] = serde_json::json!({
            "new_issue": {"id": 70, "node_id": "I_new", "number": 3},
            "new_repository": {"full_name": "acme/infra"}
        });
        let body = serde_json::to_vec(&payload).expect("json");
        let GithubEvent::Issues(e) = decode("issues", &body).expect("transferred") else {
            panic!("not an issues event");
        };
        let t = e.transfer.expect("transfer");
        assert_eq!(
            (t.repo.as_str(), t.issue.number, t.issue.id),
            ("acme/infra", 3, 70)
        );

        payload["action"] = "opened".into();
        payload["changes"] = serde_json::json!({
            "old_issue": {"id": 7, "number": 42},
            "old_repository": {"full_name": "acme/ops"}
        });
        let body = serde_json::to_vec(&payload).expect("json");
        let GithubEvent::Issues(e) = decode("issues", &body).expect("opened") else {
            panic!("not an issues event");
        };
        let t = e.transfer.expect("came from");
        assert_eq!((t.repo.as_str(), t.issue.number), ("acme/ops", 42));

        payload["changes"] =
            serde_json::json!({"old_issue": null, "old_repository": {"full_name": "acme/ops"}});
        let body = serde_json::to_vec(&payload).expect("json");
        let GithubEvent::Issues(e) = decode("issues", &body).expect("opened, null old_issue")
        else {
            panic!("not an issues event");
        };
        assert_eq!(e.transfer, None);

        payload["action"] = "transferred".into();
        payload["changes"] = serde_json::json!({});
        let body = serde_json::to_vec(&payload).expect("json");
        assert!(matches!(
            decode("issues", &body),
            Err(DecodeError::Field { .. })
        ));
    }

    #[test]
    fn unhandled_actions_and_events_are_ignored_even_when_sparse() {
        let assigned = br#"{"action":"milestoned","issue":{}}"#;
        assert_eq!(
            decode("issues", assigned),
            Ok(GithubEvent::Ignored {
                event: "issues".into(),
                action: Some("milestoned".into())
            })
        );
        assert_eq!(
            decode("issue_comment", br#"{"action":"deleted"}"#),
            Ok(GithubEvent::Ignored {
                event: "issue_comment".into(),
                action: Some("deleted".into())
            })
        );
        assert_eq!(
            decode(
                "issues",
                br#"{"action":"opened","issue":{"id":1,"number":1}}"#
            ),
            Ok(GithubEvent::Ignored {
                event: "issues".into(),
                action: Some("opened".into())
            }),
            "no repository: an organisation-level delivery"
        );
        assert_eq!(
            decode("ping", br#"{"zen":"Keep it logically awesome."}"#),
            Ok(GithubEvent::Ignored {
                event: "ping".into(),
                action: None
            })
        );
    }

    #[test]
    fn malformed_json_is_an_error_for_any_event() {
        for event in ["issues", "ping", "push"] {
            let err = decode(event, b"{\"action\": \"opened\"").expect_err("must fail");
            assert!(matches!(err, DecodeError::Json { .. }), "{event}: {err}");
            assert!(!err.to_string().contains('\n'));
        }
        assert!(decode("issues", b"[1,2]").is_err());
    }

    /// Every example delivery decodes from one parse of its body, with the answer (event
    /// and repository) of the step-by-step decoding, which parses it two or three times.
    #[test]
    fn every_shared_fixture_is_parsed_once() {
        for path in fixtures::github_webhook_files() {
            let (event, _) = fixtures::event_and_action(&path);
            let body = std::fs::read(&path).expect("read fixture");
            let before = parses();
            let routed = decode_routed(&event, &body);
            assert_eq!(parses() - before, 1, "{}", path.display());
            assert_eq!(routed, decode_in_steps(&event, &body), "{}", path.display());
            let routed = routed.expect("decodes");
            let named = serde_json::from_slice::<serde_json::Value>(&body).expect("json")
                ["repository"]["full_name"]
                .as_str()
                .map(str::to_owned);
            assert_eq!(routed.repo, named, "{}", path.display());
        }
        // The step-by-step decoding of an ignored `issues` action reads the body three
        // times (action, then nothing, then the repository): what the one pass replaces.
        let body = br#"{"action":"milestoned","repository":{"full_name":"a/b"}}"#;
        let before = parses();
        let routed = decode_routed("issues", body).expect("decodes");
        assert_eq!(parses() - before, 1);
        assert_eq!(routed.repo.as_deref(), Some("a/b"));
        let before = parses();
        assert_eq!(decode_in_steps("issues", body), Ok(routed));
        assert_eq!(parses() - before, 2);
    }

    /// What [`mutated`] does at a path of the payload.
    #[derive(Debug, Clone, Copy)]
    enum Change {
        Remove,
        Null,
        Number,
        Text,
        EmptyObject,
        EmptyArray,
    }

    /// Paths whose presence, absence or type one of the decodings looks at.
    const PATHS: &[&[&str]] = &[
        &["action"],
        &["issue"],
        &["issue", "id"],
        &["issue", "number"],
        &["issue", "node_id"],
        &["issue", "updated_at"],
        &["repository"],
        &["repository", "full_name"],
        &["sender"],
        &["sender", "login"],
        &["label"],
        &["label", "name"],
        &["comment"],
        &["comment", "id"],
        &["comment", "body"],
        &["changes"],
        &["changes", "new_issue"],
        &["changes", "new_repository"],
        &["changes", "old_issue"],
        &["changes", "old_repository"],
    ];

    fn mutated(mut v: serde_json::Value, path: &[&str], change: Change) -> serde_json::Value {
        let Some((last, parents)) = path.split_last() else {
            return v;
        };
        let mut at = &mut v;
        for key in parents {
            let Some(next) = at.get_mut(*key) else {
                return v;
            };
            at = next;
        }
        let Some(object) = at.as_object_mut() else {
            return v;
        };
        let value = match change {
            Change::Remove => {
                object.remove(*last);
                return v;
            }
            Change::Null => serde_json::Value::Null,
            Change::Number => serde_json::json!(5),
            Change::Text => serde_json::json!("x"),
            Change::EmptyObject => serde_json::json!({}),
            Change::EmptyArray => serde_json::json!([]),
        };
        object.insert((*last).to_owned(), value);
        v
    }

    /// The payloads the property mutates: every example delivery, and one carrying every
    /// optional field (both ends of a transfer, a label, a comment).
    static BASES: std::sync::LazyLock<Vec<serde_json::Value>> = std::sync::LazyLock::new(|| {
        let mut bases: Vec<serde_json::Value> = fixtures::github_webhook_files()
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json"))
            .collect();
        let mut transfer = closed_payload();
        transfer["changes"] = serde_json::json!({
            "new_issue": {"id": 70, "number": 3},
            "new_repository": {"full_name": "acme/infra"},
            "old_issue": {"id": 7, "number": 42},
            "old_repository": {"full_name": "acme/ops"}
        });
        transfer["label"] = serde_json::json!({"name": "bug"});
        transfer["comment"] = serde_json::json!({"id": 3, "body": "/results"});
        bases.push(transfer);
        bases
    });

    proptest::proptest! {
        /// Whatever a payload lacks or carries of the wrong type, for any event and action,
        /// the one-pass decoding answers as the step-by-step decoding does: the same event,
        /// repository, or error text.
        #[test]
        fn one_pass_answers_as_the_steps(
            base in 0usize..64,
            event in proptest::sample::select(vec!["issues", "issue_comment", "ping", "star"]),
            action in proptest::sample::select(vec![
                "opened", "edited", "labeled", "unlabeled", "closed", "reopened", "assigned",
                "unassigned", "transferred", "created", "deleted", "milestoned",
            ]),
            changes in proptest::collection::vec(
                (0..PATHS.len(), 0u8..6),
                0..4,
            ),
        ) {
            let mut v = BASES[base % BASES.len()].clone();
            if let Some(object) = v.as_object_mut() {
                object.insert("action".into(), action.into());
            }
            for (path, change) in changes {
                let change = [
                    Change::Remove,
                    Change::Null,
                    Change::Number,
                    Change::Text,
                    Change::EmptyObject,
                    Change::EmptyArray,
                ][usize::from(change)];
                v = mutated(v, PATHS[path], change);
            }
            let body = serde_json::to_vec(&v).expect("json");
            proptest::prop_assert_eq!(decode_routed(event, &body), decode_in_steps(event, &body));
        }
    }
}
