//! Jira webhook deliveries → the engine's neutral [`Cue`]s (see [`super::webhook`] for the
//! bodies; ../shared/specs/JIRA-WEBHOOKS.md for what Cloud and Data Center send).
//!
//! - `jira:issue_created` carrying a marker label (`council-sync-…`): [`Cue::Created`], even
//!   when the daemon caused it (its own create's answer may have been lost);
//! - an issue event whose changelog has a `Key` item (moved to another project):
//!   [`Cue::Moved`], then [`Cue::Changed`] for the new key;
//! - `jira:issue_*` and `comment_*` naming an issue key: [`Cue::Changed`]; naming only an
//!   id: [`Cue::ChangedAll`] (the store finds concerns by key);
//! - `sprint_*` naming a sprint: [`Cue::ChangedAll`] (a sprint names no issue);
//! - anything else, and anything `own_account` caused except creates: no cue.

use super::tracker::SYNC_LABEL;
use super::webhook::{JiraEvent, decode};
use crate::tracker::{Cue, CueError};

/// The cues of one Jira webhook body.
pub fn cues(body: &[u8], own_account: &str) -> Result<Vec<Cue>, CueError> {
    let event = decode(body).map_err(|e| CueError(e.to_string()))?;
    Ok(event_cues(&event, own_account))
}

fn event_cues(event: &JiraEvent, own_account: &str) -> Vec<Cue> {
    let mut out = created(event);
    let own = !own_account.is_empty() && event.user_ids.iter().any(|u| u == own_account);
    if own || !event.is_relevant() {
        return out;
    }
    if let Some(moved) = &event.key_change {
        out.push(Cue::Moved {
            from: moved.from.clone(),
            to: moved.to.clone(),
            id: event.issue_id.clone(),
        });
    }
    out.push(match &event.issue_key {
        Some(key) => Cue::Changed {
            keys: vec![key.clone()],
        },
        None => Cue::ChangedAll,
    });
    out
}

/// `jira:issue_created` with an id, a key and marker labels: one [`Cue::Created`] per marker.
fn created(event: &JiraEvent) -> Vec<Cue> {
    if event.webhook_event != "jira:issue_created" {
        return Vec::new();
    }
    let (Some(id), Some(key)) = (&event.issue_id, &event.issue_key) else {
        return Vec::new();
    };
    let prefix = format!("{SYNC_LABEL}-");
    event
        .issue_labels
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .map(|marker| Cue::Created {
            marker: marker.clone(),
            id: id.clone(),
            key: key.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "557058:council-sync";

    fn changed(key: &str) -> Cue {
        Cue::Changed {
            keys: vec![key.into()],
        }
    }

    fn of(body: &str, own: &str) -> Vec<Cue> {
        cues(body.as_bytes(), own).expect("decodes")
    }

    /// Every event the daemon subscribes (doctor::needs::JIRA_EVENTS), Cloud and Data
    /// Center shapes, by someone else: the issue's concern is re-read.
    #[test]
    fn every_subscribed_issue_and_comment_event_cues_its_issue() {
        let cases = [
            // Cloud: accountId.
            r#"{"webhookEvent":"jira:issue_updated","user":{"accountId":"557058:dana"},
                "issue":{"id":"77256","key":"PAY-14","fields":{"status":{"name":"In Progress"}}},
                "changelog":{"items":[{"field":"status","fromString":"To Do","toString":"In Progress"}]}}"#,
            // Data Center: name.
            r#"{"webhookEvent":"jira:issue_updated","user":{"name":"dana","key":"JIRAUSER10100"},
                "issue":{"id":"10042","key":"PAY-14","fields":{"summary":"x"}},
                "changelog":{"items":[{"field":"Sprint","toString":"PAY Sprint 12"}]}}"#,
            r#"{"webhookEvent":"jira:issue_created","user":{"accountId":"557058:dana"},
                "issue":{"id":"77256","key":"PAY-14","fields":{"labels":["backend"]}}}"#,
            r#"{"webhookEvent":"comment_created","comment":{"id":"1","author":{"accountId":"557058:dana"}},
                "issue":{"id":"77256","key":"PAY-14"}}"#,
            r#"{"webhookEvent":"comment_updated","comment":{"id":"1"},
                "issue":{"id":"77256","key":"PAY-14"}}"#,
            // Deleted: the re-read finds it missing and says so.
            r#"{"webhookEvent":"jira:issue_deleted","user":{"accountId":"557058:dana"},
                "issue":{"id":"77256","key":"PAY-14"}}"#,
        ];
        for body in cases {
            assert_eq!(of(body, ME), vec![changed("PAY-14")], "{body}");
        }
    }

    #[test]
    fn sprint_events_cue_every_concern_in_flight() {
        for event in ["sprint_started", "sprint_closed", "sprint_updated"] {
            let body = format!(
                r#"{{"webhookEvent":"{event}","sprint":{{"id":37,"state":"active","name":"PAY Sprint 37"}}}}"#
            );
            assert_eq!(of(&body, ME), vec![Cue::ChangedAll], "{event}");
        }
        // Without its sprint there is nothing to re-read.
        assert!(of(r#"{"webhookEvent":"sprint_closed"}"#, ME).is_empty());
    }

    /// Cloud and Data Center both report a move with a `Key` changelog item; the body
    /// already carries the new key.
    #[test]
    fn a_move_between_projects_follows_then_rereads_the_new_key() {
        let body = r#"{"webhookEvent":"jira:issue_updated","user":{"name":"dana"},
            "issue":{"id":"77256","key":"PLAT-31","fields":{"project":{"key":"PLAT"}}},
            "changelog":{"items":[
              {"field":"project","fromString":"Payments","toString":"Platform"},
              {"field":"Key","fromString":"PAY-14","toString":"PLAT-31"}]}}"#;
        assert_eq!(
            of(body, ME),
            vec![
                Cue::Moved {
                    from: "PAY-14".into(),
                    to: "PLAT-31".into(),
                    id: Some("77256".into())
                },
                changed("PLAT-31"),
            ]
        );
    }

    #[test]
    fn a_created_issue_with_markers_is_recorded_even_when_the_daemon_made_it() {
        let body = r#"{"webhookEvent":"jira:issue_created","user":{"accountId":"557058:council-sync"},
            "issue":{"id":"10001","key":"SRE-1",
              "fields":{"labels":["council-sync","council-sync-42","council-sync-42-payments",7]}}}"#;
        let created = |marker: &str| Cue::Created {
            marker: marker.into(),
            id: "10001".into(),
            key: "SRE-1".into(),
        };
        // Its own: only the records, no re-read of its own write.
        assert_eq!(
            of(body, ME),
            vec![
                created("council-sync-42"),
                created("council-sync-42-payments")
            ]
        );
        // Someone else's (a person copying a marker label): records and a re-read.
        assert_eq!(
            of(body, "someone-else"),
            vec![
                created("council-sync-42"),
                created("council-sync-42-payments"),
                changed("SRE-1")
            ]
        );
        // Markers on other events are no creation.
        let updated = body.replace("jira:issue_created", "jira:issue_updated");
        assert!(of(&updated, ME).is_empty());
        // A create without its key cannot be recorded.
        let keyless = r#"{"webhookEvent":"jira:issue_created","issue":{"id":"1","fields":{"labels":["council-sync-42"]}}}"#;
        assert_eq!(of(keyless, ME), vec![Cue::ChangedAll]);
    }

    #[test]
    fn the_daemons_own_changes_cue_nothing_in_either_flavour() {
        for (body, own) in [
            (
                r#"{"webhookEvent":"jira:issue_updated","user":{"accountId":"557058:council-sync"},
                    "issue":{"id":"1","key":"PAY-1"},"changelog":{"items":[{"field":"status"}]}}"#,
                ME,
            ),
            (
                r#"{"webhookEvent":"jira:issue_updated","user":{"name":"council-bot","key":"JIRAUSER1"},
                    "issue":{"id":"1","key":"PAY-1"},"changelog":{"items":[{"field":"Key","fromString":"A-1","toString":"PAY-1"}]}}"#,
                "council-bot",
            ),
            // A body naming the user every way (as the sandbox and some Jira versions
            // send): the Data Center daemon knows itself by `name`, Cloud by `accountId`.
            (
                r#"{"webhookEvent":"jira:issue_updated","user":{"accountId":"557058:council-sync","name":"council-bot","key":"JIRAUSER1"},
                    "issue":{"id":"1","key":"PAY-1"},"changelog":{"items":[{"field":"status"}]}}"#,
                "council-bot",
            ),
            (
                r#"{"webhookEvent":"jira:issue_updated","user":{"accountId":"557058:council-sync","name":"council-bot","key":"JIRAUSER1"},
                    "issue":{"id":"1","key":"PAY-1"},"changelog":{"items":[{"field":"status"}]}}"#,
                ME,
            ),
        ] {
            assert!(of(body, own).is_empty(), "{body}");
        }
        // Someone else named every way is still someone else.
        let dana = r#"{"webhookEvent":"jira:issue_updated","user":{"accountId":"557058:dana","name":"dana","key":"JIRAUSER9"},
            "issue":{"id":"1","key":"PAY-1"},"changelog":{"items":[{"field":"status"}]}}"#;
        assert_eq!(of(dana, "council-bot"), vec![changed("PAY-1")]);
        // An unknown own account (not yet asked) never matches an anonymous event.
        let anonymous = r#"{"webhookEvent":"comment_created","issue":{"id":"1","key":"PAY-1"}}"#;
        assert_eq!(of(anonymous, ""), vec![changed("PAY-1")]);
    }

    #[test]
    fn events_the_sync_ignores_cue_nothing_and_garbage_is_refused() {
        for body in [
            r#"{"webhookEvent":"board_created","board":{"id":5}}"#,
            r#"{"webhookEvent":"jira:worklog_updated","worklog":{"issueId":"1"}}"#,
            r#"{"webhookEvent":"jira:issue_deleted"}"#,
            r#"{"webhookEvent":"comment_updated","comment":{"id":"3"}}"#,
        ] {
            assert!(of(body, ME).is_empty(), "{body}");
        }
        for bad in [&b"{"[..], b"[]", br#"{"timestamp":1}"#] {
            let err = cues(bad, ME).expect_err("refused");
            assert!(
                err.to_string().starts_with("not a Jira webhook body"),
                "{err}"
            );
        }
    }
}
