//! Create metadata: which issue types a project offers and which fields each one takes.
//!
//! Clients ask before they create: the `jira` Python package calls the old
//! `GET /issue/createmeta?projectKeys=…&expand=projects.issuetypes.fields` on Cloud, and the
//! paged `GET /issue/createmeta/{project}/issuetypes[/{id}]` on Data Center 8.4 and later
//! (where the old one is gone from 9.0). Cloud answers the paged routes with `issueTypes` /
//! `fields`, Data Center with `values` and `isLast`; the sandbox's v3 is Cloud and its v2 is
//! Data Center, so each version answers in its own product's shape. What the metadata calls
//! required is exactly what [`super::create`] refuses to create without.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::create::{EPIC_LINK_FIELD, EPIC_NAME_FIELD, SPRINT_FIELD};
use super::render;
use super::state::{ISSUE_TYPES, IssueType, Project, issue_type};
use crate::config::JiraApiVersion;

type Sb = State<Arc<JiraSandbox>>;

/// Page size of the paged createmeta routes when the client names none (Jira's default).
const DEFAULT_PAGE: usize = 50;
/// Largest page the paged createmeta routes return.
const MAX_PAGE: usize = 200;

/// One field of the create screen of an issue type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateField {
    /// Field id (`summary`, `customfield_10011`, …).
    pub id: &'static str,
    /// Whether a create without it is refused.
    pub required: bool,
}

/// The fields an issue of type `t` can be created with through API version `v`, in the
/// order Jira lists them (required ones first among the system fields).
pub fn create_fields(v: JiraApiVersion, t: IssueType) -> Vec<CreateField> {
    let f = |id, required| CreateField { id, required };
    let mut out = vec![
        f("project", true),
        f("issuetype", true),
        f("summary", true),
        f("description", false),
        f("labels", false),
        f("components", false),
        f("assignee", false),
        f("reporter", false),
        f("fixVersions", false),
    ];
    let epic = t.hierarchy_level == 1;
    match v {
        // Cloud: children point at their epic (and sub-tasks at their parent) by `parent`.
        JiraApiVersion::V3 if !epic => out.push(f("parent", false)),
        // Data Center: sub-tasks take `parent`, standard issues the Epic Link field, and an
        // epic needs its Epic Name.
        JiraApiVersion::V2 if t.hierarchy_level < 0 => out.push(f("parent", false)),
        JiraApiVersion::V2 if !epic => out.push(f(EPIC_LINK_FIELD, false)),
        JiraApiVersion::V2 => out.push(f(EPIC_NAME_FIELD, true)),
        JiraApiVersion::V3 => {}
    }
    if !epic {
        out.push(f(SPRINT_FIELD, false));
    }
    out
}

/// `FieldMetadata` of one field (`with_id` adds `fieldId`, making it `FieldCreateMetadata`).
fn field_meta(
    base: &str,
    v: JiraApiVersion,
    project: &Project,
    t: IssueType,
    f: &CreateField,
    with_id: bool,
) -> Value {
    let listed = render::fields();
    let known = listed
        .as_array()
        .and_then(|all| all.iter().find(|x| x["id"] == f.id));
    let name = known.and_then(|x| x["name"].as_str()).unwrap_or(f.id);
    let schema = known.map_or_else(|| json!({"type": "any"}), |x| x["schema"].clone());
    let mut m = json!({
        "required": f.required,
        "schema": schema,
        "name": name,
        "key": f.id,
        "hasDefaultValue": false,
        "operations": if f.id == "labels" || f.id == "components" { json!(["add", "set", "remove"]) } else { json!(["set"]) },
    });
    let allowed = match f.id {
        "project" => Some(json!([{
            "self": format!("{base}/rest/api/{}/project/{}", v.number(), project.id),
            "id": project.id.to_string(), "key": project.key, "name": project.name,
        }])),
        "issuetype" => Some(json!([render::issuetype(base, v, t)])),
        "components" => Some(
            project
                .components
                .iter()
                .map(|(n, id)| {
                    json!({
                        "self": format!("{base}/rest/api/{}/component/{id}", v.number()),
                        "id": id.to_string(), "name": n,
                    })
                })
                .collect(),
        ),
        _ => None,
    };
    if let Some(a) = allowed {
        m["allowedValues"] = a;
    }
    if with_id {
        m["fieldId"] = json!(f.id);
    }
    m
}

/// `IssueTypeIssueCreateMetadata`, with its `fields` when asked.
fn issuetype_meta(
    base: &str,
    v: JiraApiVersion,
    project: &Project,
    t: IssueType,
    fields: bool,
) -> Value {
    let mut m = render::issuetype(base, v, t);
    if fields {
        let map: Map<String, Value> = create_fields(v, t)
            .iter()
            .filter(|f| project.on_create_screen(f.id))
            .map(|f| (f.id.to_owned(), field_meta(base, v, project, t, f, false)))
            .collect();
        m["fields"] = Value::Object(map);
    } else {
        m["expand"] = json!("fields");
    }
    m
}

/// Values of a query parameter given repeated (`a=1&a=2`) or comma-separated (`a=1,2`).
fn multi(q: &[(String, String)], name: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `GET /issue/createmeta`: projects (all, or those named by key or id) with their issue
/// types (filtered by id or name); fields with `expand=projects.issuetypes.fields`.
pub async fn createmeta(State(sb): Sb, c: Caller, RawQuery(raw): RawQuery) -> Response {
    let q = pairs(raw.as_deref());
    let keys = multi(&q, "projectKeys");
    let ids = multi(&q, "projectIds");
    let type_ids = multi(&q, "issuetypeIds");
    let type_names = multi(&q, "issuetypeNames");
    let expand = multi(&q, "expand");
    let with_fields = expand.iter().any(|e| e == "projects.issuetypes.fields");
    let state = sb.lock();
    let projects: Vec<Value> = state
        .projects
        .values()
        .filter(|p| {
            (keys.is_empty() && ids.is_empty())
                || keys.iter().any(|k| k.eq_ignore_ascii_case(&p.key))
                || ids.iter().any(|i| *i == p.id.to_string())
        })
        .map(|p| {
            let types: Vec<Value> = ISSUE_TYPES
                .iter()
                .filter(|t| {
                    (type_ids.is_empty() && type_names.is_empty())
                        || type_ids.iter().any(|i| i == t.id)
                        || type_names.iter().any(|n| n.eq_ignore_ascii_case(t.name))
                })
                .map(|t| issuetype_meta(&c.base, c.version, p, *t, with_fields))
                .collect();
            json!({
                "expand": "issuetypes",
                "self": format!("{}/rest/api/{}/project/{}", c.base, c.version.number(), p.id),
                "id": p.id.to_string(),
                "key": p.key,
                "name": p.name,
                "avatarUrls": {"48x48": format!("{}/avatar/project/{}.png", c.base, p.id)},
                "issuetypes": types,
            })
        })
        .collect();
    Json(json!({"expand": "projects", "projects": projects})).into_response()
}

/// `startAt` / `maxResults` of the paged routes, or Jira's message for a bad number.
fn page(q: &[(String, String)]) -> Result<(usize, usize), String> {
    let get = |name: &str, default: usize| match q.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| format!("The value '{v}' is invalid for {name}.")),
    };
    Ok((
        get("startAt", 0)?,
        get("maxResults", DEFAULT_PAGE)?.clamp(1, MAX_PAGE),
    ))
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(render::errors(&[message]))).into_response()
}

/// One page of `items` in the version's shape: Cloud `{<cloud_key>, startAt, maxResults,
/// total}`, Data Center `{values, startAt, maxResults, total, isLast}`.
fn paged(v: JiraApiVersion, cloud_key: &str, items: Vec<Value>, start: usize, max: usize) -> Value {
    let total = items.len();
    let chunk: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let is_last = start + chunk.len() >= total;
    match v {
        JiraApiVersion::V3 => {
            json!({ cloud_key: chunk, "startAt": start, "maxResults": max, "total": total })
        }
        JiraApiVersion::V2 => {
            json!({ "values": chunk, "startAt": start, "maxResults": max, "total": total, "isLast": is_last })
        }
    }
}

fn no_project(key: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(render::errors(&[&format!(
            "No project could be found with key '{key}'."
        )])),
    )
        .into_response()
}

/// `GET /issue/createmeta/{projectIdOrKey}/issuetypes`.
pub async fn createmeta_issuetypes(
    State(sb): Sb,
    c: Caller,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (start, max) = match page(&pairs(raw.as_deref())) {
        Ok(p) => p,
        Err(m) => return bad_request(&m),
    };
    if sb.lock().project(&project).is_none() {
        return no_project(&project);
    }
    let items = ISSUE_TYPES
        .iter()
        .map(|t| render::issuetype(&c.base, c.version, *t))
        .collect();
    Json(paged(c.version, "issueTypes", items, start, max)).into_response()
}

/// `GET /issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}`.
pub async fn createmeta_fields(
    State(sb): Sb,
    c: Caller,
    Path((project, type_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (start, max) = match page(&pairs(raw.as_deref())) {
        Ok(p) => p,
        Err(m) => return bad_request(&m),
    };
    let state = sb.lock();
    let Some(p) = state.project(&project) else {
        return no_project(&project);
    };
    // By id, as the route says; Jira answers 400 for an issue type the project lacks.
    let Some(t) = issue_type(&type_id).filter(|t| t.id == type_id) else {
        return bad_request(&format!(
            "The issue type with id '{type_id}' does not exist or is not valid for this project."
        ));
    };
    let items = create_fields(c.version, t)
        .iter()
        .filter(|f| p.on_create_screen(f.id))
        .map(|f| field_meta(&c.base, c.version, p, t, f, true))
        .collect();
    Json(paged(c.version, "fields", items, start, max)).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use reqwest::StatusCode;
    use serde_json::{Value, json};

    use super::*;
    use crate::sandbox::SandboxOptions;
    use crate::sandbox::tests::{Env, options, start_with};

    async fn env() -> Env {
        let jira = JiraSandbox::new(&["PYC"]);
        jira.add_project("PYC", "PYC", &["API"]);
        start_with(SandboxOptions {
            jira: Arc::new(jira),
            ..options()
        })
        .await
    }

    async fn get(env: &Env, path: &str) -> (StatusCode, Value) {
        let resp = env
            .http
            .get(env.url(path))
            .basic_auth("py@example.com", Some("token"))
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// What the metadata calls required is what create refuses without, in both versions.
    #[test]
    fn required_fields_match_create_validation() {
        let mut state = super::super::state::State::default();
        state.add_project("PYC", "PYC", &[]);
        for v in [JiraApiVersion::V2, JiraApiVersion::V3] {
            for t in ISSUE_TYPES {
                let fields = create_fields(v, *t);
                let required: Vec<&str> =
                    fields.iter().filter(|f| f.required).map(|f| f.id).collect();
                let mut body = json!({"fields": {
                    "project": {"key": "PYC"}, "issuetype": {"id": t.id}, "summary": "s",
                    EPIC_NAME_FIELD: "name",
                }});
                if v == JiraApiVersion::V3 && t.hierarchy_level == 1 {
                    // Cloud has no Epic Name on the create screen.
                    body["fields"]
                        .as_object_mut()
                        .map(|f| f.remove(EPIC_NAME_FIELD));
                }
                let now = chrono::Utc::now();
                assert!(
                    super::super::create::create_issue(&mut state, v, &body, "u", now).is_ok(),
                    "{v:?} {}: the required fields suffice",
                    t.name
                );
                for drop in required
                    .iter()
                    .filter(|r| body["fields"].get(**r).is_some())
                {
                    let mut less = body.clone();
                    less["fields"].as_object_mut().map(|f| f.remove(*drop));
                    assert!(
                        super::super::create::create_issue(&mut state, v, &less, "u", now).is_err(),
                        "{v:?} {}: {drop} is required",
                        t.name
                    );
                }
                for f in &fields {
                    assert!(
                        super::super::create::SETTABLE.contains(&f.id),
                        "{} is settable",
                        f.id
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn old_createmeta_filters_and_expands() {
        let env = env().await;
        let (status, all) = get(&env, "/rest/api/3/issue/createmeta").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all["projects"][0]["key"], "PYC");
        assert!(
            all["projects"][0]["issuetypes"][0].get("fields").is_none(),
            "fields only when expanded"
        );
        let (_, meta) = get(
            &env,
            "/rest/api/3/issue/createmeta?projectKeys=pyc&issuetypeNames=Story&expand=projects.issuetypes.fields",
        )
        .await;
        let types = meta["projects"][0]["issuetypes"].as_array().expect("types");
        assert_eq!(types.len(), 1);
        let fields = &types[0]["fields"];
        assert_eq!(fields["summary"]["required"], true);
        assert_eq!(fields["parent"]["required"], false);
        assert_eq!(fields["components"]["allowedValues"][0]["name"], "API");
        let (_, none) = get(&env, "/rest/api/3/issue/createmeta?projectKeys=NOPE").await;
        assert_eq!(none["projects"], json!([]));
        let unauthenticated = env
            .http
            .get(env.url("/rest/api/3/issue/createmeta"))
            .send()
            .await
            .expect("GET");
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn paged_createmeta_in_cloud_and_data_center_shapes() {
        let env = env().await;
        let (status, cloud) = get(&env, "/rest/api/3/issue/createmeta/PYC/issuetypes").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cloud["total"], ISSUE_TYPES.len());
        assert!(cloud["issueTypes"].is_array() && cloud.get("values").is_none());
        let (_, dc) = get(
            &env,
            "/rest/api/2/issue/createmeta/PYC/issuetypes?startAt=1&maxResults=2",
        )
        .await;
        assert_eq!(dc["values"].as_array().map(Vec::len), Some(2));
        assert_eq!((&dc["startAt"], &dc["isLast"]), (&json!(1), &json!(false)));

        let (_, epic) = get(&env, "/rest/api/2/issue/createmeta/PYC/issuetypes/10000").await;
        let ids: Vec<&str> = epic["values"]
            .as_array()
            .expect("values")
            .iter()
            .filter_map(|f| f["fieldId"].as_str())
            .collect();
        assert!(ids.contains(&EPIC_NAME_FIELD), "{ids:?}");
        let (_, story) = get(&env, "/rest/api/3/issue/createmeta/PYC/issuetypes/10001").await;
        let ids: Vec<&str> = story["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["fieldId"].as_str())
            .collect();
        assert!(
            ids.contains(&"parent") && !ids.contains(&EPIC_LINK_FIELD),
            "{ids:?}"
        );

        let (status, _) = get(&env, "/rest/api/3/issue/createmeta/NOPE/issuetypes").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = get(&env, "/rest/api/3/issue/createmeta/PYC/issuetypes/Story").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the route takes an id");
        let (status, _) = get(
            &env,
            "/rest/api/3/issue/createmeta/PYC/issuetypes?maxResults=x",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
