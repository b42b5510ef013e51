//! People in a Jira webhook body, as each flavour names them.
//!
//! Jira Cloud names a person by `accountId` only (GDPR: `name` and `key` are gone from its
//! user objects); Jira Data Center (REST v2) has no account ids and names a person by
//! `name` (the user name) and `key`. A webhook body carries people in many places: the
//! acting `user`, the issue's `assignee`, `reporter` and `creator`, a comment's `author`
//! and `updateAuthor`, and changelog items of person fields, whose `from`/`to` are account
//! ids on Cloud and user keys on Data Center.
//!
//! The sandbox builds each event once, with both ids (what its REST API answers, since its
//! v2 also plays Cloud's v2), and [`shape`] reduces every person in it to what the target's
//! flavour sends, just before delivery. Walking the whole body, rather than listing the
//! places, keeps a person added to a payload later from leaking the other flavour's ids.

use serde_json::{Map, Value};

use super::people::ACCOUNT_PREFIX;
use crate::config::JiraApiVersion;

/// Changelog fields whose `from`/`to` name a person (Jira's `fieldId`s).
const PERSON_FIELDS: &[&str] = &["assignee", "reporter", "creator"];

/// `payload` as a Jira of flavour `v` sends it: V3 (Cloud) people by `accountId` and no
/// `name`/`key`; V2 (Data Center) people by `name`/`key` and no `accountId`/`accountType`,
/// and person changelog items with user keys instead of account ids.
pub fn shape(payload: &Value, v: JiraApiVersion) -> Value {
    let mut out = payload.clone();
    walk(&mut out, v);
    out
}

fn walk(value: &mut Value, v: JiraApiVersion) {
    match value {
        Value::Object(map) => {
            if is_person(map) {
                person(map, v);
                return;
            }
            if is_person_item(map) && v == JiraApiVersion::V2 {
                for end in ["from", "to"] {
                    if let Some(Value::String(id)) = map.get_mut(end)
                        && let Some(name) = id.strip_prefix(ACCOUNT_PREFIX)
                    {
                        *id = name.to_owned();
                    }
                }
            }
            map.values_mut().for_each(|x| walk(x, v));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| walk(x, v)),
        _ => {}
    }
}

/// A user object: a display name beside an id of either flavour (projects, components,
/// statuses and issue types have a `name` but never a `displayName`).
fn is_person(map: &Map<String, Value>) -> bool {
    map.contains_key("displayName")
        && (map.contains_key("accountId") || map.contains_key("name") || map.contains_key("key"))
}

/// A changelog item of a person field.
fn is_person_item(map: &Map<String, Value>) -> bool {
    let named = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .is_some_and(|f| PERSON_FIELDS.iter().any(|p| f.eq_ignore_ascii_case(p)))
    };
    map.contains_key("fromString") && (named("fieldId") || named("field"))
}

fn person(map: &mut Map<String, Value>, v: JiraApiVersion) {
    let account = map
        .get("accountId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            account
                .as_deref()
                .and_then(|a| a.strip_prefix(ACCOUNT_PREFIX))
                .map(str::to_owned)
        });
    let query = match v {
        JiraApiVersion::V3 => {
            map.remove("name");
            map.remove("key");
            account.map(|a| format!("accountId={a}"))
        }
        JiraApiVersion::V2 => {
            map.remove("accountId");
            map.remove("accountType");
            if let Some(n) = &name {
                map.entry("name")
                    .or_insert_with(|| Value::String(n.clone()));
                map.entry("key").or_insert_with(|| Value::String(n.clone()));
            }
            name.map(|n| format!("username={n}"))
        }
    };
    if let (Some(query), Some(Value::String(url))) = (query, map.get_mut("self")) {
        let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
        *url = format!("{path}?{query}");
    }
}

/// Every place in `payload` that names a person the other flavour's way, as JSON pointers
/// with what is wrong (empty when the body is as flavour `v` sends it). Tests of the
/// sandbox and of the daemon's intake use it on whole bodies.
pub fn foreign_ids(payload: &Value, v: JiraApiVersion) -> Vec<String> {
    let mut out = Vec::new();
    find_foreign(payload, v, String::new(), &mut out);
    out
}

fn find_foreign(value: &Value, v: JiraApiVersion, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if is_person(map) {
                let (bad, need): (&[&str], &[&str]) = match v {
                    JiraApiVersion::V3 => (&["name", "key"], &["accountId"]),
                    JiraApiVersion::V2 => (&["accountId", "accountType"], &["name", "key"]),
                };
                out.extend(
                    bad.iter()
                        .filter(|k| map.contains_key(**k))
                        .map(|k| format!("{at}/{k} present")),
                );
                out.extend(
                    need.iter()
                        .filter(|k| !map.contains_key(**k))
                        .map(|k| format!("{at}/{k} missing")),
                );
            }
            if is_person_item(map) && v == JiraApiVersion::V2 {
                for end in ["from", "to"] {
                    if map
                        .get(end)
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.starts_with(ACCOUNT_PREFIX))
                    {
                        out.push(format!("{at}/{end} is an account id"));
                    }
                }
            }
            for (k, x) in map {
                find_foreign(x, v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (n, x) in items.iter().enumerate() {
                find_foreign(x, v, format!("{at}/{n}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn both(name: &str) -> Value {
        json!({
            "self": format!("http://j/rest/api/2/user?accountId=557058:{name}"),
            "accountId": format!("557058:{name}"), "accountType": "atlassian",
            "name": name, "key": name, "displayName": name.to_uppercase(), "active": true,
        })
    }

    fn sample() -> Value {
        json!({
            "webhookEvent": "jira:issue_updated",
            "user": both("alice"),
            "issue": {"key": "PAY-1", "fields": {
                "assignee": both("bob"), "reporter": both("carol"), "creator": both("carol"),
                "project": {"key": "PAY", "name": "Payments", "id": "1"},
                "status": {"name": "To Do", "id": "1"},
                "comment": {"comments": [{"author": both("dave"), "updateAuthor": both("dave")}]},
            }},
            "comment": {"author": both("erin"), "updateAuthor": both("erin")},
            "changelog": {"items": [
                {"field": "assignee", "fieldId": "assignee", "from": "557058:bob", "fromString": "Bob", "to": "557058:alice", "toString": "Alice"},
                {"field": "summary", "fieldId": "summary", "from": null, "fromString": "557058:x", "to": null, "toString": "y"},
            ]},
        })
    }

    #[test]
    fn data_center_bodies_name_people_by_name_and_key_only() {
        let dc = shape(&sample(), JiraApiVersion::V2);
        assert_eq!(foreign_ids(&dc, JiraApiVersion::V2), Vec::<String>::new());
        assert!(!dc.to_string().contains("accountId"), "{dc}");
        assert_eq!(dc["user"]["name"], "alice");
        assert_eq!(
            dc["user"]["self"],
            "http://j/rest/api/2/user?username=alice"
        );
        assert_eq!(dc["issue"]["fields"]["assignee"]["key"], "bob");
        assert_eq!(dc["changelog"]["items"][0]["from"], "bob");
        assert_eq!(dc["changelog"]["items"][0]["to"], "alice");
        assert_eq!(
            dc["changelog"]["items"][1]["fromString"], "557058:x",
            "only person fields are rewritten"
        );
        assert_eq!(
            dc["issue"]["fields"]["project"],
            json!({"key": "PAY", "name": "Payments", "id": "1"})
        );
    }

    #[test]
    fn cloud_bodies_name_people_by_account_id_only() {
        let cloud = shape(&sample(), JiraApiVersion::V3);
        assert_eq!(
            foreign_ids(&cloud, JiraApiVersion::V3),
            Vec::<String>::new()
        );
        assert_eq!(cloud["comment"]["author"]["accountId"], "557058:erin");
        assert!(cloud["comment"]["author"].get("name").is_none());
        assert_eq!(cloud["changelog"]["items"][0]["to"], "557058:alice");
        assert_eq!(
            cloud["issue"]["fields"]["status"],
            json!({"name": "To Do", "id": "1"})
        );
    }

    #[test]
    fn the_check_names_each_foreign_id() {
        let wrong = foreign_ids(&sample(), JiraApiVersion::V2);
        assert!(
            wrong.contains(&"/user/accountId present".to_owned()),
            "{wrong:?}"
        );
        assert!(
            wrong.contains(&"/changelog/items/0/from is an account id".to_owned()),
            "{wrong:?}"
        );
        let wrong = foreign_ids(&sample(), JiraApiVersion::V3);
        assert!(
            wrong.contains(&"/issue/fields/assignee/name present".to_owned()),
            "{wrong:?}"
        );
    }

    /// Shaping twice changes nothing more, and shaping a body of one flavour for the
    /// other leaves no id of the first.
    #[test]
    fn shaping_is_idempotent_and_total() {
        for v in [JiraApiVersion::V2, JiraApiVersion::V3] {
            let once = shape(&sample(), v);
            assert_eq!(shape(&once, v), once);
        }
        let dc = shape(&sample(), JiraApiVersion::V2);
        let cloud = shape(&dc, JiraApiVersion::V3);
        // A Data Center body has no account ids to keep: Cloud people lose their names.
        assert!(cloud["user"].get("name").is_none());
    }
}
