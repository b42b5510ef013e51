//! Validation and creation of issues, the way Jira checks a create request.
//!
//! Every problem is collected (Jira names each bad field in `errors`), so a client sees all
//! of them at once; the issue is stored only when there is none.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::state::{Body, State, Status, StoredIssue, issue_type};
use crate::config::JiraApiVersion;
use crate::tracker::jira::model::ErrorCollection;

/// Epic Link custom field id (Data Center flavour).
pub const EPIC_LINK_FIELD: &str = "customfield_10008";
/// Epic Name custom field id (required on epics created through v2).
pub const EPIC_NAME_FIELD: &str = "customfield_10011";
/// Sprint custom field id.
pub const SPRINT_FIELD: &str = "customfield_10020";
/// Longest summary Jira accepts ("Summary must be less than 255 characters"), also the
/// limit of a label, of Epic Name (a short text field) and of a remote link's title.
pub(super) const MAX_SUMMARY: usize = 255;
/// Longest text Jira stores in a rich-text field or a comment (JRACLOUD-78553 on v3, where
/// the answer is `CONTENT_LIMIT_EXCEEDED`; "The entered text is too long. It exceeds the
/// allowed limit of 32767 characters." on v2). Counted in UTF-16 units, as Java counts;
/// an ADF document by its JSON text.
pub(super) const MAX_TEXT: usize = 32_767;

/// Length as Jira (Java) counts it: UTF-16 code units.
pub(super) fn java_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Fields a create request may set.
pub(super) const SETTABLE: &[&str] = &[
    "project",
    "issuetype",
    "summary",
    "description",
    "labels",
    "components",
    "parent",
    "assignee",
    "reporter",
    EPIC_LINK_FIELD,
    EPIC_NAME_FIELD,
    SPRINT_FIELD,
    "fixVersions",
    "versions",
];

/// `fixVersions` / `versions` as sent on create or edit: the sandbox's projects have no
/// versions, so only an empty list (or `null`) is valid; a named one is refused the way
/// Jira refuses a version the project does not have.
pub(super) fn read_versions(v: Option<&Value>) -> Result<(), String> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => match items.first() {
            None => Ok(()),
            Some(item) => {
                let name = ref_value(Some(item), &["name", "id"]).unwrap_or_default();
                Err(format!("Version name '{name}' is not valid"))
            }
        },
        Some(_) => Err("data was not an array".into()),
    }
}

/// Validates a create body (`{"fields": {...}}`) and stores the issue; returns its index.
pub fn create_issue(
    state: &mut State,
    version: JiraApiVersion,
    body: &Value,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<usize, ErrorCollection> {
    let empty = Map::new();
    let fields = match body.get("fields") {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            return Err(ErrorCollection {
                error_messages: vec!["Field 'fields' must be an object.".into()],
                errors: BTreeMap::new(),
            });
        }
    };
    let mut errors = BTreeMap::new();
    for name in fields.keys() {
        if !SETTABLE.contains(&name.as_str()) && state.custom_field(name).is_none() {
            errors.insert(
                name.clone(),
                format!(
                    "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                ),
            );
        }
    }
    let project = ref_value(fields.get("project"), &["key", "id"])
        .and_then(|k| state.project(&k).map(|p| p.key.clone()));
    match project.as_deref().and_then(|k| state.project(k)) {
        None => {
            errors.insert("project".into(), "Specify a valid project ID or key".into());
        }
        Some(p) => {
            for name in fields.keys().filter(|n| !p.on_create_screen(n)) {
                errors.insert(
                    name.clone(),
                    format!(
                        "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                    ),
                );
            }
        }
    }
    // Cloud names the reporter by accountId, Data Center by user name, as for assignees.
    let reporter = match fields.get("reporter") {
        None | Some(Value::Null) => None,
        Some(v) => super::edit::read_assignee(state, version, v)
            .map_err(|m| errors.insert("reporter".into(), m.replace("assignee", "reporter")))
            .ok()
            .flatten(),
    };
    let itype = match ref_value(fields.get("issuetype"), &["name", "id"]) {
        None => {
            errors.insert("issuetype".into(), "Specify an issue type".into());
            None
        }
        Some(name) => {
            let t = issue_type(&name);
            if t.is_none() {
                errors.insert(
                    "issuetype".into(),
                    "The issue type selected is invalid.".into(),
                );
            }
            t
        }
    };
    let summary = match fields.get("summary") {
        Some(Value::String(s)) if java_len(s) > MAX_SUMMARY => {
            errors.insert(
                "summary".into(),
                "Summary must be less than 255 characters.".into(),
            );
            String::new()
        }
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            errors.insert(
                "summary".into(),
                "You must specify a summary of the issue.".into(),
            );
            String::new()
        }
    };
    let description = read_body(version, fields.get("description"))
        .map_err(|m| errors.insert("description".into(), m))
        .ok()
        .flatten();
    let labels = read_labels(fields.get("labels"))
        .map_err(|m| errors.insert("labels".into(), m))
        .unwrap_or_default();
    let components = project
        .as_deref()
        .map(|p| read_components(state, p, fields.get("components")))
        .transpose()
        .map_err(|m| errors.insert("components".into(), m))
        .ok()
        .flatten()
        .unwrap_or_default();
    let parent = read_parent(state, version, itype.map(|t| t.hierarchy_level), fields)
        .map_err(|(f, m)| errors.insert(f, m))
        .ok()
        .flatten();
    let epic_name = match fields.get(EPIC_NAME_FIELD) {
        Some(Value::String(s)) if java_len(s) > MAX_SUMMARY => {
            errors.insert(
                EPIC_NAME_FIELD.into(),
                "Epic Name must be less than 255 characters.".into(),
            );
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    };
    if version == JiraApiVersion::V2
        && itype.is_some_and(|t| t.hierarchy_level == 1)
        && epic_name.is_none()
    {
        errors.insert(EPIC_NAME_FIELD.into(), "Epic Name is required.".into());
    }
    for name in ["fixVersions", "versions"] {
        if let Err(m) = read_versions(fields.get(name)) {
            errors.insert(name.into(), m);
        }
    }
    let mut custom = BTreeMap::new();
    for (name, value) in fields {
        if let Some(field) = state.custom_field(name) {
            match field.read(value) {
                Ok(Some(v)) => {
                    custom.insert(field.field_id(), v);
                }
                Ok(None) => {}
                Err(m) => {
                    errors.insert(name.clone(), m);
                }
            }
        }
    }
    let assignee = ref_value(fields.get("assignee"), &["accountId", "name"]);
    let (Some(project), Some(itype), true) = (project, itype, errors.is_empty()) else {
        return Err(ErrorCollection {
            error_messages: vec![],
            errors,
        });
    };
    let (id, key) = state.allocate_key(&project);
    state.issues.push(StoredIssue {
        id,
        key,
        project,
        issue_type: itype.name.to_owned(),
        summary,
        description,
        labels,
        components,
        parent,
        epic_name,
        status: Status::ToDo,
        assignee,
        reporter: reporter.unwrap_or_else(|| actor.to_owned()),
        created: now,
        updated: now,
        comments: vec![],
        remote_links: vec![],
        sprints: vec![],
        creator: Some(actor.to_owned()),
        custom,
    });
    Ok(state.issues.len() - 1)
}

/// `{"key": ...}` / `{"name": ...}` / `{"id": ...}` (first of `keys` present), or a bare string.
pub fn ref_value(v: Option<&Value>, keys: &[&str]) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => keys.iter().find_map(|k| match map.get(*k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }),
        _ => None,
    }
}

/// A rich-text body: an ADF document on v3, a string on v2.
pub fn read_body(version: JiraApiVersion, v: Option<&Value>) -> Result<Option<Body>, String> {
    match (version, v) {
        (_, None | Some(Value::Null)) => Ok(None),
        (JiraApiVersion::V3, Some(doc @ Value::Object(map)))
            if map.get("type") == Some(&Value::String("doc".into()))
                && map.get("content").is_some_and(Value::is_array) =>
        {
            if java_len(&doc.to_string()) > MAX_TEXT {
                return Err("CONTENT_LIMIT_EXCEEDED".into());
            }
            Ok(Some(Body::Adf(doc.clone())))
        }
        (JiraApiVersion::V3, Some(_)) => Err(
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                .into(),
        ),
        (JiraApiVersion::V2, Some(Value::String(s))) if java_len(s) > MAX_TEXT => Err(format!(
            "The entered text is too long. It exceeds the allowed limit of {MAX_TEXT} characters."
        )),
        (JiraApiVersion::V2, Some(Value::String(s))) => Ok(Some(Body::Wiki(s.clone()))),
        (JiraApiVersion::V2, Some(_)) => Err("Operation value must be a string".into()),
    }
}

pub(super) fn read_labels(v: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(v) = v else { return Ok(vec![]) };
    let Value::Array(items) = v else {
        return Err("Field 'labels' must be an array of strings.".into());
    };
    let mut labels: Vec<String> = Vec::new();
    for item in items {
        let Value::String(label) = item else {
            return Err("Field 'labels' must be an array of strings.".into());
        };
        if label.is_empty() || label.chars().any(char::is_whitespace) {
            return Err(format!(
                "The label '{label}' contains spaces which is invalid."
            ));
        }
        if java_len(label) > MAX_SUMMARY {
            return Err("The label must not exceed 255 characters.".into());
        }
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    Ok(labels)
}

fn read_components(state: &State, project: &str, v: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(v) = v else { return Ok(vec![]) };
    let Value::Array(items) = v else {
        return Err("Field 'components' must be an array.".into());
    };
    let known = state.project(project).map(|p| &p.components);
    let mut out = Vec::new();
    for item in items {
        let wanted = ref_value(Some(item), &["name", "id"]).unwrap_or_default();
        let found = known.and_then(|c| {
            c.iter()
                .find(|(name, id)| **name == wanted || id.to_string() == wanted)
                .map(|(name, _)| name.clone())
        });
        match found {
            Some(name) => out.push(name),
            None => return Err(format!("Component name '{wanted}' is not valid")),
        }
    }
    Ok(out)
}

/// The parent from `parent` (hierarchy checked) or the Epic Link field (must name an epic).
fn read_parent(
    state: &State,
    version: JiraApiVersion,
    level: Option<i32>,
    fields: &Map<String, Value>,
) -> Result<Option<String>, (String, String)> {
    let by_parent = ref_value(fields.get("parent"), &["key", "id"]);
    let by_link = match fields.get(EPIC_LINK_FIELD) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err((
                EPIC_LINK_FIELD.into(),
                "Epic Link must be an issue key.".into(),
            ));
        }
    };
    if let Some(key) = by_parent {
        let err = |m: &str| Err(("parent".to_owned(), m.to_owned()));
        let Some(parent) = state.issue(&key) else {
            return err(&format!("Could not find issue by id or key '{key}'."));
        };
        let parent_level = issue_type(&parent.issue_type).map_or(0, |t| t.hierarchy_level);
        // Data Center only parents sub-tasks; epics there are linked by the Epic Link field.
        if version == JiraApiVersion::V2 && level != Some(-1) {
            return err(
                "Field 'parent' cannot be set. It is not on the appropriate screen, or unknown.",
            );
        }
        if level.is_some_and(|l| parent_level != l + 1) {
            return err("Given parent work item does not belong to appropriate hierarchy.");
        }
        return Ok(Some(parent.key.clone()));
    }
    if let Some(key) = by_link {
        let err = |m: String| Err((EPIC_LINK_FIELD.to_owned(), m));
        if level == Some(1) {
            return err("An epic cannot be linked to another epic.".into());
        }
        return match state.issue(&key) {
            Some(epic) if epic.issue_type == "Epic" => Ok(Some(epic.key.clone())),
            Some(_) => err(format!("The issue {key} is not an Epic.")),
            None => err(format!(
                "Epic '{key}' does not exist or you do not have permission to see it."
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> State {
        let mut s = State::default();
        s.add_project("SRE", "SRE", &[]);
        s.add_project("PAY", "Payments", &["Backend".into()]);
        s
    }

    fn create(s: &mut State, v: JiraApiVersion, fields: Value) -> Result<String, ErrorCollection> {
        create_issue(s, v, &json!({ "fields": fields }), "bot", Utc::now())
            .map(|i| s.issues[i].key.clone())
    }

    fn adf() -> Value {
        json!({"type": "doc", "version": 1, "content": []})
    }

    #[test]
    fn creates_epic_and_child_on_v3() {
        let mut s = state();
        let epic = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Epic"}, "summary": "E",
                "description": adf(), "labels": ["council-sync-i1"]
            }),
        );
        assert_eq!(epic, Ok("SRE-1".into()));
        let story = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "S",
                "components": [{"name": "Backend"}], "parent": {"key": "SRE-1"}
            }),
        );
        assert_eq!(story, Ok("PAY-1".into()));
        assert_eq!(s.issues[1].parent.as_deref(), Some("SRE-1"));
        assert_eq!(s.issues[1].components, vec!["Backend".to_owned()]);
    }

    #[test]
    fn reports_every_bad_field() {
        let mut s = state();
        let err = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "NOPE"}, "issuetype": {"name": "Saga"}, "summary": " ",
                "description": "plain", "labels": ["has space"], "priority": {"name": "High"}
            }),
        )
        .expect_err("invalid");
        let fields: Vec<&str> = err.errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            vec![
                "description",
                "issuetype",
                "labels",
                "priority",
                "project",
                "summary"
            ]
        );
        assert!(s.issues.is_empty());
    }

    #[test]
    fn v2_needs_epic_name_and_links_by_custom_field() {
        let mut s = state();
        let err = create(
            &mut s,
            JiraApiVersion::V2,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Epic"}, "summary": "E"
            }),
        )
        .expect_err("epic name");
        assert!(err.errors.contains_key(EPIC_NAME_FIELD));
        let epic = create(
            &mut s,
            JiraApiVersion::V2,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Epic"}, "summary": "E",
                "description": "wiki", EPIC_NAME_FIELD: "E"
            }),
        );
        assert_eq!(epic, Ok("SRE-1".into()));
        let via_parent = create(
            &mut s,
            JiraApiVersion::V2,
            json!({
                "project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "S", "parent": {"key": "SRE-1"}
            }),
        );
        assert!(
            via_parent
                .expect_err("no parent on DC")
                .errors
                .contains_key("parent")
        );
        let story = create(
            &mut s,
            JiraApiVersion::V2,
            json!({
                "project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "S", EPIC_LINK_FIELD: "SRE-1"
            }),
        );
        assert_eq!(story, Ok("PAY-1".into()));
        let not_epic = create(
            &mut s,
            JiraApiVersion::V2,
            json!({
                "project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "S", EPIC_LINK_FIELD: "PAY-1"
            }),
        );
        assert!(not_epic.expect_err("not an epic").errors[EPIC_LINK_FIELD].contains("not an Epic"));
    }

    #[test]
    fn parent_must_fit_the_hierarchy() {
        let mut s = state();
        let story = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Story"}, "summary": "S"
            }),
        );
        assert_eq!(story, Ok("SRE-1".into()));
        let under_story = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Story"}, "summary": "S", "parent": {"key": "SRE-1"}
            }),
        );
        assert!(under_story.expect_err("hierarchy").errors["parent"].contains("hierarchy"));
        let missing = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Story"}, "summary": "S", "parent": {"key": "SRE-99"}
            }),
        );
        assert!(missing.is_err());
        let component = create(
            &mut s,
            JiraApiVersion::V3,
            json!({
                "project": {"key": "SRE"}, "issuetype": {"name": "Story"}, "summary": "S", "components": [{"name": "Backend"}]
            }),
        );
        assert!(
            component
                .expect_err("component")
                .errors
                .contains_key("components")
        );
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use serde_json::json;

    fn state() -> State {
        let mut s = State::default();
        s.add_project("PAY", "Payments", &[]);
        s
    }

    /// Jira's documented limits, enforced the way Jira answers (issue 8, item 6).
    #[test]
    fn limits_are_enforced_on_create() {
        let long_text = "x".repeat(MAX_TEXT + 1);
        let cases: Vec<(JiraApiVersion, Value, &str)> = vec![
            (
                JiraApiVersion::V3,
                json!({"summary": "s".repeat(256)}),
                "summary",
            ),
            // 128 emoji are 256 UTF-16 units: too long for Jira, though 128 characters.
            (
                JiraApiVersion::V3,
                json!({"summary": "😀".repeat(128)}),
                "summary",
            ),
            (
                JiraApiVersion::V2,
                json!({"description": long_text}),
                "description",
            ),
            (
                JiraApiVersion::V3,
                json!({"description": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": long_text}]}
                ]}}),
                "description",
            ),
            (
                JiraApiVersion::V3,
                json!({"labels": ["l".repeat(256)]}),
                "labels",
            ),
            (
                JiraApiVersion::V3,
                json!({"labels": ["has space"]}),
                "labels",
            ),
        ];
        for (version, extra, field) in cases {
            let mut fields = json!({
                "project": {"key": "PAY"}, "issuetype": {"name": "Story"}, "summary": "S"
            });
            if let (Value::Object(f), Value::Object(e)) = (&mut fields, extra) {
                f.extend(e);
            }
            let err = create_issue(
                &mut state(),
                version,
                &json!({ "fields": fields }),
                "bot",
                Utc::now(),
            )
            .expect_err(field);
            assert!(err.errors.contains_key(field), "{field}: {err:?}");
        }
        let ok = json!({"fields": {"project": {"key": "PAY"}, "issuetype": {"name": "Story"},
            "summary": "s".repeat(255), "description": "x".repeat(MAX_TEXT)}});
        assert!(create_issue(&mut state(), JiraApiVersion::V2, &ok, "bot", Utc::now()).is_ok());
    }
}
