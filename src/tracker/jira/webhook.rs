//! Jira webhook bodies (no official schema: see ../shared/specs/JIRA-WEBHOOKS.md).
//!
//! Only what the daemon acts on is decoded: which event, who caused it (to recognise the
//! daemon's own writes), which issue or sprint, and which fields a change touched. Every
//! other field is ignored, because Jira adds fields to these bodies freely and Cloud and
//! Data Center differ (Cloud names users by `accountId`, Data Center by `name`). A body is
//! refused only when it is not JSON, lacks `webhookEvent`, or a field we read has a shape
//! no Jira sends (then the reason says which).

use serde::Deserialize;

/// What a Jira webhook delivery says, reduced to what the sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraEvent {
    /// `jira:issue_updated`, `comment_created`, `sprint_started`, …
    pub webhook_event: String,
    /// When Jira emitted the event (ms since the epoch), if it said.
    pub timestamp: Option<i64>,
    /// Who caused it: `user.accountId` (Cloud), else `user.name` (Data Center), else
    /// `user.key` (old Server); compared with the daemon's own account to skip echoes.
    /// Comment events carry no top-level `user`: there the comment's `updateAuthor` (who
    /// wrote this version of it), else its `author`, names who caused it.
    pub user_account: Option<String>,
    /// Every name the body gives that user (`accountId`, `name`, `key`, non-empty): the
    /// daemon's own account is recognised by any of them, whichever flavour it asked
    /// (`/myself` answers `accountId` on Cloud, `name` on Data Center; a body may carry
    /// several).
    pub user_ids: Vec<String>,
    /// `issue.key`, e.g. `SRE-12`.
    pub issue_key: Option<String>,
    /// `issue.id` (a string in Jira's bodies; a number is accepted too).
    pub issue_id: Option<String>,
    /// `changelog.items[].field`, in order (`status`, `assignee`, `Sprint`, …).
    pub changed_fields: Vec<String>,
    /// `sprint.id` of sprint events.
    pub sprint_id: Option<u64>,
    /// `issue.fields.labels` (strings only): a `jira:issue_created` carrying a marker label
    /// tells the daemon which issue an earlier create made (see `attempts`).
    pub issue_labels: Vec<String>,
    /// The issue's project key: `issue.fields.project.key`, else the part of `issue.key`
    /// before its last `-`.
    pub project_key: Option<String>,
    /// A move to another project: the changelog's `Key` item (`fromString` → `toString`,
    /// e.g. `PAY-14` → `PLAT-31`). The id stays; only the key (and project) change.
    pub key_change: Option<KeyChange>,
}

/// An issue's key before and after a move to another project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The key it had (`fromString`).
    pub from: String,
    /// The key it has now (`toString`).
    pub to: String,
}

impl JiraEvent {
    /// Whether an issue event concerns a project outside `watches` and can be dropped: an
    /// issue there is none of ours, unless it just moved (its old key may be one we link).
    pub fn outside(&self, watches: impl Fn(&str) -> bool) -> bool {
        self.key_change.is_none() && self.project_key.as_deref().is_some_and(|p| !watches(p))
    }

    /// Whether the sync acts on this event: issue events (`jira:issue_*`) and comment
    /// events (`comment_*`) that name an issue, and sprint events (`sprint_*`) that name a
    /// sprint. Everything else (boards, versions, worklogs, users, projects) is answered
    /// 202 and dropped: storing it would only fill the inbox with work that does nothing.
    pub fn is_relevant(&self) -> bool {
        let names_issue = self.issue_key.is_some() || self.issue_id.is_some();
        let event = self.webhook_event.as_str();
        if event.starts_with("jira:issue_") || event.starts_with("comment_") {
            names_issue
        } else if event.starts_with("sprint_") {
            self.sprint_id.is_some()
        } else {
            false
        }
    }
}

/// Why a body is not a Jira webhook we can read. Always one line (the receiver answers it
/// as a 400 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraDecodeError {
    /// Not JSON, or a field we read has a type Jira never sends.
    #[error("not a Jira webhook body: {0}")]
    Json(String),
    /// JSON, but no `webhookEvent` (so not a Jira webhook, or an empty one).
    #[error("not a Jira webhook body: missing webhookEvent")]
    MissingEvent,
}

/// Reads a Jira webhook body. Unknown fields are ignored; `null` counts as absent.
pub fn decode(body: &[u8]) -> Result<JiraEvent, JiraDecodeError> {
    let raw: RawBody = serde_json::from_slice(body)
        .map_err(|e| JiraDecodeError::Json(e.to_string().replace(['\r', '\n'], " ")))?;
    let webhook_event = raw
        .webhook_event
        .filter(|e| !e.trim().is_empty())
        .ok_or(JiraDecodeError::MissingEvent)?;
    let comment_by = raw.comment.and_then(|c| c.update_author.or(c.author));
    let user_ids: Vec<String> = raw
        .user
        .or(comment_by)
        .map(|u| [u.account_id, u.name, u.key])
        .into_iter()
        .flatten()
        .flatten()
        .filter(|a| !a.is_empty())
        .collect();
    let user_account = user_ids.first().cloned();
    let (issue_key, issue_id, issue_labels, project) = match raw.issue {
        Some(issue) => {
            let (labels, project) = match issue.fields {
                Some(f) => (
                    f.labels
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|l| l.as_str().map(str::to_owned))
                        .collect(),
                    f.project.and_then(|p| p.key),
                ),
                None => (Vec::new(), None),
            };
            (issue.key, issue.id.map(|id| id.0), labels, project)
        }
        None => (None, None, Vec::new(), None),
    };
    let project_key = project.or_else(|| {
        issue_key
            .as_deref()
            .and_then(|k| k.rsplit_once('-'))
            .map(|(p, _)| p.to_owned())
    });
    let items = raw.changelog.map(|c| c.items).unwrap_or_default();
    let key_change = items.iter().find_map(|i| {
        let field = i.field.as_deref()?;
        if !field.eq_ignore_ascii_case("key") {
            return None;
        }
        Some(KeyChange {
            from: i.from_string.clone()?,
            to: i.to_string.clone()?,
        })
    });
    let changed_fields = items.into_iter().filter_map(|i| i.field).collect();
    let sprint_id = raw.sprint.and_then(|s| s.id);
    Ok(JiraEvent {
        webhook_event,
        timestamp: raw.timestamp,
        user_account,
        user_ids,
        issue_key,
        issue_id,
        changed_fields,
        sprint_id,
        issue_labels,
        project_key,
        key_change,
    })
}

/// The parts of a body we read; serde ignores every other field.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBody {
    webhook_event: Option<String>,
    timestamp: Option<i64>,
    user: Option<RawUser>,
    issue: Option<RawIssue>,
    changelog: Option<RawChangelog>,
    sprint: Option<RawSprint>,
    comment: Option<RawComment>,
}

/// A comment's people (`comment_*` events have no top-level `user`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawComment {
    author: Option<RawUser>,
    update_author: Option<RawUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    account_id: Option<String>,
    name: Option<String>,
    key: Option<String>,
}

#[derive(Deserialize)]
struct RawIssue {
    id: Option<IdText>,
    key: Option<String>,
    fields: Option<RawFields>,
}

/// `labels` is read leniently (a non-string element is skipped, not a refusal): it only
/// helps resolve create attempts.
#[derive(Deserialize)]
struct RawFields {
    labels: Option<Vec<serde_json::Value>>,
    project: Option<RawProject>,
}

#[derive(Deserialize)]
struct RawProject {
    key: Option<String>,
}

#[derive(Deserialize)]
struct RawChangelog {
    #[serde(default)]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    field: Option<String>,
    from_string: Option<String>,
    to_string: Option<String>,
}

#[derive(Deserialize)]
struct RawSprint {
    id: Option<u64>,
}

/// An id Jira sends as a string (`"77256"`) in issue bodies but as a number elsewhere;
/// kept as text either way.
struct IdText(String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        Ok(Self(match Either::deserialize(d)? {
            Either::Text(s) => s,
            Either::Number(n) => n.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jira Cloud, a status change (the shape in JIRA-WEBHOOKS.md, with the fields Cloud
    /// adds that we do not read).
    const CLOUD_STATUS_CHANGE: &str = r#"{
      "timestamp": 1727087443918,
      "webhookEvent": "jira:issue_updated",
      "issue_event_type_name": "issue_generic",
      "user": {"self": "https://acme.atlassian.net/rest/api/2/user?accountId=557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
               "accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
               "avatarUrls": {"48x48": "https://secure.gravatar.com/avatar/x.png"},
               "displayName": "Dana Ops", "active": true, "timeZone": "Europe/Berlin",
               "accountType": "atlassian"},
      "issue": {"id": "77256", "self": "https://acme.atlassian.net/rest/api/2/issue/77256",
                "key": "PAY-14",
                "fields": {"summary": "Payments: flaky failover", "customfield_10020": null,
                           "status": {"name": "In Progress",
                                      "statusCategory": {"id": 4, "key": "indeterminate",
                                                         "name": "In Progress"}},
                           "labels": ["council-sync-4445000041-payments"]}},
      "changelog": {"id": "10400", "items": [
          {"field": "status", "fieldtype": "jira", "fieldId": "status",
           "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"},
          {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
           "from": null, "fromString": null, "to": null, "toString": null}]}
    }"#;

    /// Jira Data Center: users by `name` and `key`, no `accountId`; a sprint change.
    const DC_SPRINT_CHANGE: &str = r#"{
      "timestamp": 1727090000000,
      "webhookEvent": "jira:issue_updated",
      "issue_event_type_name": "issue_updated",
      "user": {"self": "https://jira.acme.internal/rest/api/2/user?username=dana",
               "name": "dana", "key": "JIRAUSER10100", "emailAddress": "dana@acme.example",
               "displayName": "Dana Ops", "active": true, "timeZone": "Europe/Berlin"},
      "issue": {"id": "10042", "self": "https://jira.acme.internal/rest/api/2/issue/10042",
                "key": "PLAT-7", "fields": {"summary": "Platform: failover drill"}},
      "changelog": {"id": "20811", "items": [
          {"field": "Sprint", "fieldtype": "custom", "from": "", "fromString": "",
           "to": "12", "toString": "PLAT Sprint 12"}]}
    }"#;

    #[test]
    fn cloud_issue_update() {
        let event = decode(CLOUD_STATUS_CHANGE.as_bytes()).expect("decodes");
        assert_eq!(
            event,
            JiraEvent {
                webhook_event: "jira:issue_updated".into(),
                timestamp: Some(1_727_087_443_918),
                user_account: Some("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077".into()),
                user_ids: vec!["557058:f58131cb-b67d-43c7-b30d-6b58d40bd077".into()],
                issue_key: Some("PAY-14".into()),
                issue_id: Some("77256".into()),
                changed_fields: vec!["status".into(), "resolution".into()],
                sprint_id: None,
                issue_labels: vec!["council-sync-4445000041-payments".into()],
                project_key: Some("PAY".into()),
                key_change: None,
            }
        );
        assert!(event.is_relevant());
    }

    /// A story moved from PAY to PLAT, as Jira Cloud and Data Center both report it: a
    /// `project` item and a `Key` item; the body already carries the new key.
    #[test]
    fn a_move_reports_old_and_new_key() {
        let body = r#"{"webhookEvent":"jira:issue_updated","user":{"name":"dana"},
            "issue":{"id":"77256","key":"PLAT-31","fields":{"project":{"id":"10001","key":"PLAT"}}},
            "changelog":{"id":"5","items":[
              {"field":"project","fieldtype":"jira","from":"10000","fromString":"Payments","to":"10001","toString":"Platform"},
              {"field":"Key","fieldtype":"jira","from":null,"fromString":"PAY-14","to":null,"toString":"PLAT-31"}]}}"#;
        let event = decode(body.as_bytes()).expect("decodes");
        assert_eq!(
            event.key_change,
            Some(KeyChange {
                from: "PAY-14".into(),
                to: "PLAT-31".into()
            })
        );
        assert_eq!(event.project_key.as_deref(), Some("PLAT"));
        assert!(!event.outside(|p| p == "PAY"), "a move is never dropped");
    }

    #[test]
    fn unwatched_projects_are_outside() {
        let event = decode(CLOUD_STATUS_CHANGE.as_bytes()).expect("decodes");
        assert!(!event.outside(|p| p == "PAY"));
        assert!(event.outside(|p| p == "SRE"));
        // No fields: the project comes from the key.
        let body = r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"HR-1"}}"#;
        let event = decode(body.as_bytes()).expect("decodes");
        assert_eq!(event.project_key.as_deref(), Some("HR"));
        assert!(event.outside(|p| p == "PAY"));
        // Sprint events name no project: never outside.
        let body = r#"{"webhookEvent":"sprint_started","sprint":{"id":3}}"#;
        assert!(!decode(body.as_bytes()).expect("decodes").outside(|_| false));
    }

    #[test]
    fn a_created_issue_names_its_labels_and_odd_elements_are_skipped() {
        let body = br#"{"webhookEvent":"jira:issue_created","issue":{"id":"10001","key":"SRE-1",
            "fields":{"labels":["council-sync-42",7,null,"council-sync"]}}}"#;
        let event = decode(body).expect("decodes");
        assert_eq!(event.issue_labels, ["council-sync-42", "council-sync"]);
        let body =
            br#"{"webhookEvent":"jira:issue_created","issue":{"id":"1","fields":{"labels":null}}}"#;
        assert!(decode(body).expect("decodes").issue_labels.is_empty());
    }

    #[test]
    fn data_center_names_the_user_by_name() {
        let event = decode(DC_SPRINT_CHANGE.as_bytes()).expect("decodes");
        assert_eq!(event.user_account.as_deref(), Some("dana"));
        assert_eq!(event.issue_key.as_deref(), Some("PLAT-7"));
        assert_eq!(event.changed_fields, ["Sprint"]);
        assert!(event.is_relevant());

        // Old Server bodies can carry only the user key.
        let body = r#"{"webhookEvent":"jira:issue_created","user":{"key":"admin"},
                       "issue":{"id":10001,"key":"SRE-1"}}"#;
        let event = decode(body.as_bytes()).expect("decodes");
        assert_eq!(event.user_account.as_deref(), Some("admin"));
        assert_eq!(event.issue_id.as_deref(), Some("10001"), "numeric id kept");
        assert!(event.changed_fields.is_empty());
        assert_eq!(event.timestamp, None);
    }

    #[test]
    fn comment_events_are_relevant_only_with_their_issue() {
        let cloud = r#"{"timestamp":1727087500000,"webhookEvent":"comment_created",
            "comment":{"id":"10055","body":"picked up","author":{"accountId":"557058:aa"},
                       "created":"2024-09-23T12:31:40.000+0000"},
            "issue":{"id":"77256","key":"PAY-14","fields":{"summary":"x"}}}"#;
        let event = decode(cloud.as_bytes()).expect("decodes");
        assert_eq!(event.issue_key.as_deref(), Some("PAY-14"));
        assert_eq!(
            event.user_account.as_deref(),
            Some("557058:aa"),
            "comment events have no top-level user: the comment's author caused it"
        );
        assert!(event.is_relevant());

        // Data Center sends comment events without the issue: nothing to act on.
        let dc = r#"{"timestamp":1727087500000,"webhookEvent":"comment_updated",
            "comment":{"self":"https://jira.acme.internal/rest/api/2/issue/10042/comment/3",
                       "id":"3","author":{"name":"dana"}}}"#;
        let event = decode(dc.as_bytes()).expect("decodes");
        assert!(!event.is_relevant());
    }

    #[test]
    fn sprint_events_carry_the_sprint() {
        let body = r#"{"timestamp":1727100000000,"webhookEvent":"sprint_started",
            "sprint":{"id":37,"self":"https://acme.atlassian.net/rest/agile/1.0/sprint/37",
                      "state":"active","name":"PAY Sprint 37",
                      "startDate":"2024-09-23T08:00:00.000Z","endDate":"2024-10-07T08:00:00.000Z",
                      "originBoardId":5,"goal":"Failover drill"}}"#;
        let event = decode(body.as_bytes()).expect("decodes");
        assert_eq!(event.webhook_event, "sprint_started");
        assert_eq!(event.sprint_id, Some(37));
        assert_eq!(event.issue_key, None);
        assert!(event.is_relevant());

        let without = r#"{"webhookEvent":"sprint_closed"}"#;
        assert!(!decode(without.as_bytes()).expect("decodes").is_relevant());
    }

    #[test]
    fn other_events_are_not_relevant() {
        for body in [
            r#"{"webhookEvent":"board_created","board":{"id":5,"name":"PAY"}}"#,
            r#"{"webhookEvent":"jira:version_released","version":{"id":"10000"}}"#,
            r#"{"webhookEvent":"jira:worklog_updated","worklog":{"issueId":"77256"}}"#,
            r#"{"webhookEvent":"user_created","user":{"accountId":"557058:bb"}}"#,
            // An issue event without its issue has nothing to sync.
            r#"{"webhookEvent":"jira:issue_deleted"}"#,
        ] {
            let event = decode(body.as_bytes()).expect("decodes");
            assert!(!event.is_relevant(), "{body}");
        }
    }

    #[test]
    fn nulls_count_as_absent() {
        let body = r#"{"webhookEvent":"jira:issue_updated","timestamp":null,"user":null,
            "issue":{"id":"1","key":"SRE-1"},"changelog":{"items":[{"field":null},{"field":"assignee"}]},
            "sprint":null}"#;
        let event = decode(body.as_bytes()).expect("decodes");
        assert_eq!(event.user_account, None);
        assert_eq!(event.changed_fields, ["assignee"]);
        let no_items = r#"{"webhookEvent":"jira:issue_updated","changelog":{"id":"1"}}"#;
        assert!(
            decode(no_items.as_bytes())
                .expect("decodes")
                .changed_fields
                .is_empty()
        );
    }

    #[test]
    fn malformed_bodies_are_refused_with_one_line() {
        let cases: [(&[u8], &str); 6] = [
            (
                b"{\"webhookEvent\": \"jira:issue_updated\"",
                "not a Jira webhook body",
            ),
            (b"", "EOF"),
            (b"[1, 2]", "invalid type"),
            (br#"{"timestamp": 1}"#, "missing webhookEvent"),
            (br#"{"webhookEvent": "  "}"#, "missing webhookEvent"),
            (
                br#"{"webhookEvent": "sprint_started", "sprint": {"id": "thirty"}}"#,
                "invalid type",
            ),
        ];
        for (body, reason) in cases {
            let err = decode(body).expect_err("refused");
            let text = err.to_string();
            assert!(text.contains(reason), "{text:?} lacks {reason:?}");
            assert!(!text.contains('\n'), "{text:?}");
        }
    }
}
