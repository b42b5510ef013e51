//! JSON shapes of the sandbox's answers, following Jira's published schemas.
//!
//! `IssueBean` and several others are `additionalProperties: false` in Atlassian's
//! description, so only listed top-level keys appear; free-form places (`fields`) carry the
//! rest. v3 bodies are ADF, v2 bodies are strings.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::create::{EPIC_LINK_FIELD, EPIC_NAME_FIELD, SPRINT_FIELD};
use super::state::{
    Body, ISSUE_TYPES, IssueType, Project, State, Status, StoredComment, StoredIssue,
    StoredRemoteLink, Transition, issue_type,
};
use crate::config::JiraApiVersion;

/// Which fields an answer includes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSel {
    /// `*all` / `*navigable` (or nothing asked, where Jira's default is everything).
    All,
    /// Only these (possibly none: ids and keys only).
    Only(Vec<String>),
}

impl FieldSel {
    /// From a list of names as sent (`fields=a,b` or `"fields": [...]`); `default` when empty.
    pub fn parse<S: AsRef<str>>(names: &[S], default: FieldSel) -> Self {
        let names: Vec<String> = names
            .iter()
            .flat_map(|n| n.as_ref().split(','))
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty() && !n.starts_with('-'))
            .collect();
        if names.is_empty() {
            default
        } else if names.iter().any(|n| n == "*all" || n == "*navigable") {
            Self::All
        } else {
            Self::Only(names)
        }
    }

    fn wants(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// Jira's timestamp format, e.g. `2024-03-01T10:00:00.000+0000`.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// RFC 3339 with milliseconds, for places Jira's schema declares `format: date-time`
/// (server info, comments), so schema validators accept them.
pub fn time_rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

fn api(base: &str, v: JiraApiVersion) -> String {
    format!("{base}/rest/api/{}", v.number())
}

/// A user, as `UserDetails` (see [`super::people`] for handles and account ids).
pub fn user(base: &str, v: JiraApiVersion, name: &str) -> Value {
    super::people::user_json(base, v, name)
}

/// A status with its category.
pub fn status(base: &str, v: JiraApiVersion, s: Status) -> Value {
    let (cid, ckey, color, cname) = s.category();
    json!({
        "self": format!("{}/status/{}", api(base, v), s.id()),
        "description": "",
        "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
        "name": s.name(),
        "id": s.id(),
        "statusCategory": {
            "self": format!("{}/statuscategory/{cid}", api(base, v)),
            "id": cid,
            "key": ckey,
            "colorName": color,
            "name": cname,
        },
    })
}

/// An issue type as `IssueTypeDetails`.
pub fn issuetype(base: &str, v: JiraApiVersion, t: IssueType) -> Value {
    json!({
        "self": format!("{}/issuetype/{}", api(base, v), t.id),
        "id": t.id,
        "name": t.name,
        "description": "",
        "iconUrl": format!("{base}/images/icons/issuetypes/{}.svg", t.name.to_ascii_lowercase()),
        "subtask": t.hierarchy_level < 0,
        "hierarchyLevel": t.hierarchy_level,
    })
}

fn component(base: &str, v: JiraApiVersion, project: &Project, name: &str, id: u64) -> Value {
    json!({
        "self": format!("{}/component/{id}", api(base, v)),
        "id": id.to_string(),
        "name": name,
        "project": project.key,
        "projectId": project.id,
    })
}

/// A project as `Project`.
pub fn project(base: &str, v: JiraApiVersion, p: &Project) -> Value {
    json!({
        "self": format!("{}/project/{}", api(base, v), p.id),
        "id": p.id.to_string(),
        "key": p.key,
        "name": p.name,
        "projectTypeKey": "software",
        "simplified": false,
        "style": "classic",
        "isPrivate": false,
        "components": p.components.iter().map(|(n, id)| component(base, v, p, n, *id)).collect::<Vec<_>>(),
        "issueTypes": ISSUE_TYPES.iter().map(|t| issuetype(base, v, *t)).collect::<Vec<_>>(),
    })
}

/// A body in the version's format: ADF on v3 (wiki text wrapped in a paragraph), text on v2.
pub fn body(v: JiraApiVersion, b: &Body) -> Value {
    match (v, b) {
        (JiraApiVersion::V3, Body::Adf(doc)) => doc.clone(),
        (JiraApiVersion::V3, Body::Wiki(text)) => json!({
            "type": "doc", "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }),
        (JiraApiVersion::V2, Body::Wiki(text)) => Value::String(text.clone()),
        (JiraApiVersion::V2, Body::Adf(doc)) => Value::String(adf_text(doc)),
    }
}

/// The plain text of an ADF document (paragraphs separated by blank lines).
fn adf_text(node: &Value) -> String {
    if let Some(t) = node.get("text").and_then(Value::as_str) {
        return t.to_owned();
    }
    let children: Vec<String> = node
        .get("content")
        .and_then(Value::as_array)
        .map(|c| c.iter().map(adf_text).collect())
        .unwrap_or_default();
    let block = matches!(node.get("type").and_then(Value::as_str), Some("doc"));
    children.join(if block { "\n\n" } else { "" })
}

fn parent_ref(base: &str, v: JiraApiVersion, p: &StoredIssue) -> Value {
    json!({
        "id": p.id.to_string(),
        "key": p.key,
        "self": format!("{}/issue/{}", api(base, v), p.id),
        "fields": {
            "summary": p.summary,
            "status": status(base, v, p.status),
            "issuetype": issue_type(&p.issue_type).map(|t| issuetype(base, v, t)),
        },
    })
}

/// An issue as `IssueBean`, with the selected fields.
pub fn issue(
    state: &State,
    base: &str,
    v: JiraApiVersion,
    i: &StoredIssue,
    sel: &FieldSel,
) -> Value {
    let mut f = Map::new();
    let mut put = |name: &str, value: Value| {
        if sel.wants(name) {
            f.insert(name.to_owned(), value);
        }
    };
    put("summary", json!(i.summary));
    put(
        "description",
        i.description.as_ref().map_or(Value::Null, |b| body(v, b)),
    );
    put(
        "issuetype",
        issue_type(&i.issue_type).map_or(Value::Null, |t| issuetype(base, v, t)),
    );
    put("project", state.project(&i.project).map_or(Value::Null, |p| {
        json!({"self": format!("{}/project/{}", api(base, v), p.id), "id": p.id.to_string(), "key": p.key, "name": p.name, "projectTypeKey": "software", "simplified": false})
    }));
    put("status", status(base, v, i.status));
    put("labels", json!(i.labels));
    put(
        "components",
        json!(
            state
                .project(&i.project)
                .map(|p| {
                    i.components
                        .iter()
                        .filter_map(|n| p.components.get(n).map(|id| component(base, v, p, n, *id)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        ),
    );
    put("created", json!(time(i.created)));
    put("updated", json!(time(i.updated)));
    put(
        "assignee",
        i.assignee
            .as_deref()
            .map_or(Value::Null, |a| user(base, v, a)),
    );
    put("reporter", user(base, v, &i.reporter));
    // Who created it: the reporter only when the creator named nobody else.
    put(
        "creator",
        user(base, v, i.creator.as_deref().unwrap_or(&i.reporter)),
    );
    // Fields every project's configuration has and the sandbox does not model: no
    // versions, no priority scheme (Jira answers `null` for an unset priority).
    put("fixVersions", json!([]));
    put("versions", json!([]));
    put("priority", Value::Null);
    for cf in &state.custom_fields {
        let id = cf.field_id();
        let value = i.custom.get(&id).map_or(Value::Null, |s| json!(s));
        put(&id, value);
    }
    let parent = i.parent.as_deref().and_then(|k| state.issue(k));
    match v {
        // Cloud: epics' children point at them through `parent`.
        JiraApiVersion::V3 => {
            if let Some(p) = parent {
                put("parent", parent_ref(base, v, p));
            }
        }
        // Data Center: the Epic Link custom field holds the epic's key.
        JiraApiVersion::V2 => put(
            EPIC_LINK_FIELD,
            parent.map_or(Value::Null, |p| json!(p.key)),
        ),
    }
    put(
        EPIC_NAME_FIELD,
        i.epic_name.as_ref().map_or(Value::Null, |n| json!(n)),
    );
    put(SPRINT_FIELD, sprint_field(state, v, i));
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id.to_string(),
        "self": format!("{}/issue/{}", api(base, v), i.id),
        "key": i.key,
        "fields": f,
    })
}

/// The sprint field: objects on v3 (Cloud), GreenHopper's legacy strings on v2 (older Data
/// Center), `null` when the issue was never in a sprint.
pub fn sprint_field(state: &State, v: JiraApiVersion, i: &StoredIssue) -> Value {
    let sprints = state.sprints_of(&i.sprints);
    if sprints.is_empty() {
        return Value::Null;
    }
    match v {
        JiraApiVersion::V3 => Value::Array(sprints.iter().map(|s| s.field_object()).collect()),
        JiraApiVersion::V2 => Value::Array(
            sprints
                .iter()
                .map(|s| Value::String(s.field_legacy()))
                .collect(),
        ),
    }
}

/// A comment as `Comment`.
pub fn comment(base: &str, v: JiraApiVersion, issue_id: u64, c: &StoredComment) -> Value {
    json!({
        "self": format!("{}/issue/{issue_id}/comment/{}", api(base, v), c.id),
        "id": c.id.to_string(),
        "author": user(base, v, &c.author),
        "updateAuthor": user(base, v, &c.author),
        "body": body(v, &c.body),
        "created": time_rfc3339(c.created),
        "updated": time_rfc3339(c.created),
        "jsdPublic": true,
    })
}

/// A remote link as `RemoteIssueLink`.
pub fn remote_link(base: &str, v: JiraApiVersion, issue_id: u64, l: &StoredRemoteLink) -> Value {
    let mut out = json!({
        "id": l.id,
        "self": format!("{}/issue/{issue_id}/remotelink/{}", api(base, v), l.id),
        "object": {"url": l.url, "title": l.title},
    });
    if let Some(g) = &l.global_id {
        out["globalId"] = json!(g);
    }
    if let Some(r) = &l.relationship {
        out["relationship"] = json!(r);
    }
    if let Some(a) = &l.application {
        out["application"] = a.clone();
    }
    out
}

/// A transition as `IssueTransition`.
pub fn transition(base: &str, v: JiraApiVersion, t: &Transition) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "to": status(base, v, t.to),
        "hasScreen": false,
        "isGlobal": t.is_global(),
        "isInitial": false,
        "isAvailable": true,
        "isConditional": false,
    })
}

/// `GET /field`: the system fields and the three agile custom fields ([`fields`]), then the
/// administrator's (`state.custom_fields`).
pub fn all_fields(state: &State) -> Value {
    let mut all = fields();
    if let Value::Array(list) = &mut all {
        list.extend(state.custom_fields.iter().map(|f| f.details()));
    }
    all
}

/// The system fields we serve and the three agile custom fields.
pub fn fields() -> Value {
    let system = |id: &str, name: &str, ty: &str, items: Option<&str>| {
        let mut schema = json!({"type": ty, "system": id});
        if let Some(items) = items {
            schema["items"] = json!(items);
        }
        json!({
            "id": id, "key": id, "name": name, "custom": false, "orderable": true,
            "navigable": true, "searchable": true, "clauseNames": [id], "schema": schema,
        })
    };
    let custom = |id: &str, name: &str, ty: &str, plugin: &str, cid: u64| {
        json!({
            "id": id, "key": id, "name": name, "custom": true, "orderable": true,
            "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{cid}]"), name],
            "schema": {"type": ty, "custom": plugin, "customId": cid},
        })
    };
    json!([
        system("summary", "Summary", "string", None),
        system("description", "Description", "string", None),
        system("issuetype", "Issue Type", "issuetype", None),
        system("project", "Project", "project", None),
        system("status", "Status", "status", None),
        system("labels", "Labels", "array", Some("string")),
        system("components", "Components", "array", Some("component")),
        system("parent", "Parent", "issuelink", None),
        system("assignee", "Assignee", "user", None),
        system("reporter", "Reporter", "user", None),
        system("created", "Created", "datetime", None),
        system("updated", "Updated", "datetime", None),
        custom(
            EPIC_LINK_FIELD,
            "Epic Link",
            "any",
            "com.pyxis.greenhopper.jira:gh-epic-link",
            10008
        ),
        custom(
            EPIC_NAME_FIELD,
            "Epic Name",
            "string",
            "com.pyxis.greenhopper.jira:gh-epic-label",
            10011
        ),
        custom(
            SPRINT_FIELD,
            "Sprint",
            "array",
            "com.pyxis.greenhopper.jira:gh-sprint",
            10020
        ),
        system("creator", "Creator", "user", None),
        system("fixVersions", "Fix Version/s", "array", Some("version")),
        system("versions", "Affects Version/s", "array", Some("version")),
        system("priority", "Priority", "priority", None),
    ])
}

/// `GET /serverInfo`: Cloud on v3, Data Center on v2.
pub fn server_info(base: &str, v: JiraApiVersion, now: DateTime<Utc>) -> Value {
    let (version, numbers, deployment) = match v {
        JiraApiVersion::V3 => ("1001.0.0-SNAPSHOT", json!([1001, 0, 0]), "Cloud"),
        JiraApiVersion::V2 => ("9.12.0", json!([9, 12, 0]), "Server"),
    };
    json!({
        "baseUrl": base,
        "displayUrl": base,
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": 100_000,
        "buildDate": "2024-03-01T00:00:00.000+00:00",
        "serverTime": time_rfc3339(now),
        "scmInfo": "sandbox",
        "serverTitle": "council-sync sandbox",
    })
}

/// Jira's error body.
pub fn errors(messages: &[&str]) -> Value {
    json!({"errorMessages": messages, "errors": {}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selection() {
        assert_eq!(FieldSel::parse::<&str>(&[], FieldSel::All), FieldSel::All);
        assert_eq!(
            FieldSel::parse(&["*all"], FieldSel::Only(vec![])),
            FieldSel::All
        );
        assert_eq!(
            FieldSel::parse(&["summary,labels", "-comment"], FieldSel::All),
            FieldSel::Only(vec!["summary".into(), "labels".into()])
        );
    }

    #[test]
    fn bodies_convert_between_versions() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "c"}]}
        ]});
        assert_eq!(
            body(JiraApiVersion::V2, &Body::Adf(doc.clone())),
            json!("ab\n\nc")
        );
        assert_eq!(body(JiraApiVersion::V3, &Body::Adf(doc.clone())), doc);
        assert_eq!(
            body(JiraApiVersion::V3, &Body::Wiki("w".into()))["type"],
            "doc"
        );
    }

    #[test]
    fn timestamps_look_like_jira() {
        let t = DateTime::<Utc>::from_timestamp_millis(1_709_287_200_123).unwrap_or_default();
        assert_eq!(time(t), "2024-03-01T10:00:00.123+0000");
        assert_eq!(time_rfc3339(t), "2024-03-01T10:00:00.123+00:00");
    }
}
