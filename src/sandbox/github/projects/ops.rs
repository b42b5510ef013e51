//! Changes to projects, items and the sub-issue tree, with the webhooks GitHub sends for
//! them: `projects_v2_item` (to the organisation's hooks only: GitHub sends it to
//! organisation webhooks and Apps) and `sub_issues` (to the parent's and the sub-issue's
//! repositories).

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::model::{Field, FieldKind, IssueAddr, Item, MAX_SUB_ISSUES, Project, ValueRec};
use crate::sandbox::github::http::ApiError;
use crate::sandbox::github::model::World;
use crate::sandbox::github::ops::Tx;
use crate::sandbox::github::render;
use crate::sandbox::webhooks::Outgoing;

/// The address of an issue: lower-cased `owner/name`, number.
pub fn addr(repo: &str, number: u64) -> IssueAddr {
    (repo.to_ascii_lowercase(), number)
}

/// The issue with this node id.
pub fn issue_by_node(w: &World, node_id: &str) -> Option<IssueAddr> {
    w.repos.iter().find_map(|(key, r)| {
        r.issues
            .iter()
            .find(|i| render::node_id("Issue", i.id) == node_id && i.transferred_to.is_none())
            .map(|i| (key.clone(), i.number))
    })
}

/// The issue with this REST id.
pub fn issue_by_id(w: &World, id: u64) -> Option<IssueAddr> {
    w.repos.iter().find_map(|(key, r)| {
        r.issues
            .iter()
            .find(|i| i.id == id && i.transferred_to.is_none())
            .map(|i| (key.clone(), i.number))
    })
}

/// The repository (lower-cased key) with this node id.
pub fn repo_by_node(w: &World, node_id: &str) -> Option<String> {
    w.repos
        .iter()
        .find(|(_, r)| render::node_id("Repository", r.id) == node_id)
        .map(|(k, _)| k.clone())
}

/// The issue rendered as REST does, with its repository.
pub fn issue_json(w: &World, a: &IssueAddr) -> Option<(Value, Value)> {
    let repo = w.repos.get(&a.0)?;
    let issue = repo.issue(a.1)?;
    let mut v = render::issue(w, repo, issue);
    let kids = w.projects.children.get(a).map(Vec::len).unwrap_or(0);
    let done = w
        .projects
        .children
        .get(a)
        .map(|c| {
            c.iter()
                .filter(|k| {
                    w.repos
                        .get(&k.0)
                        .and_then(|r| r.issue(k.1))
                        .is_some_and(|i| !i.open)
                })
                .count()
        })
        .unwrap_or(0);
    v["sub_issues_summary"] = json!({ "total": kids, "completed": done,
        "percent_completed": (done * 100).checked_div(kids).unwrap_or(0) });
    if let Some(t) = w.projects.issue_type_of.get(a)
        && let Some(rec) = w
            .projects
            .issue_types
            .get(&repo.owner.to_ascii_lowercase())
            .and_then(|ts| ts.iter().find(|x| x.name.eq_ignore_ascii_case(t)))
    {
        v["type"] = json!({ "id": rec.id, "node_id": rec.node_id, "name": rec.name,
            "description": null, "color": "purple", "created_at": render::ts(rec.created_at),
            "updated_at": render::ts(rec.created_at), "is_enabled": true });
    }
    Some((v, render::repository(w, repo)))
}

/// Sets an issue's type by name (`PATCH …/issues/{n}` with `type`): 422 when the
/// organisation does not define it; an empty name clears it.
pub fn set_issue_type(
    tx: &mut Tx<'_>,
    o: &str,
    r: &str,
    n: u64,
    name: &str,
) -> Result<(), ApiError> {
    let a = addr(&format!("{o}/{r}"), n);
    let w = &mut *tx.world;
    w.repos
        .get(&a.0)
        .and_then(|x| x.issue(n))
        .ok_or_else(ApiError::not_found)?;
    if name.is_empty() {
        w.projects.issue_type_of.remove(&a);
    } else {
        let known = w
            .projects
            .issue_types
            .get(&o.to_ascii_lowercase())
            .is_some_and(|ts| ts.iter().any(|t| t.name.eq_ignore_ascii_case(name)));
        if !known {
            return Err(ApiError::validation("Issue", "type", "invalid"));
        }
        w.projects.issue_type_of.insert(a, name.to_owned());
    }
    tx.changed = true;
    Ok(())
}

fn org_fields(w: &World, owner: &str, actor: &str) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(org) = w.is_org(owner).then(|| w.find_account(owner)).flatten() {
        m.insert(
            "organization".into(),
            render::organization(&w.base_url, org),
        );
    }
    m.insert("sender".into(), render::user_by_login(w, actor));
    m
}

/// Adds `a` to the project (or answers its existing item); sends `projects_v2_item.created`.
pub fn add_item(
    tx: &mut Tx<'_>,
    project_node: &str,
    a: &IssueAddr,
    actor: &str,
) -> Result<String, ApiError> {
    let w = &mut *tx.world;
    let p = w
        .projects
        .project_by_node(project_node)
        .ok_or_else(ApiError::not_found)?;
    if let Some(item) = p.item_of(a) {
        return Ok(item.node_id.clone());
    }
    let owner = p.owner.clone();
    if w.repos.get(&a.0).and_then(|r| r.issue(a.1)).is_none() {
        return Err(ApiError::not_found());
    }
    let id = w.next_id();
    let now = Utc::now();
    let item = Item {
        id,
        node_id: render::node_id("ProjectV2Item", id),
        content: a.clone(),
        values: Default::default(),
        creator: actor.to_owned(),
        created_at: now,
        updated_at: now,
    };
    let node = item.node_id.clone();
    if let Some(p) = w.projects.project_by_node_mut(project_node) {
        p.items.push(item);
    }
    tx.changed = true;
    emit_item(tx, project_node, &node, "created", None, &owner, actor);
    Ok(node)
}

/// Sets a field of an item; sends `projects_v2_item.edited` naming the field.
pub fn set_value(
    tx: &mut Tx<'_>,
    project_node: &str,
    item_node: &str,
    field_node: &str,
    value: ValueRec,
    actor: &str,
) -> Result<(), ApiError> {
    let invalid = |m: &str| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, m);
    let p = tx
        .world
        .projects
        .project_by_node_mut(project_node)
        .ok_or_else(|| invalid("Could not resolve to a ProjectV2 with the given id"))?;
    let field = p
        .fields
        .iter()
        .find(|f| f.node_id == field_node)
        .cloned()
        .ok_or_else(|| invalid("Could not resolve to a ProjectV2Field with the given id"))?;
    let ok = match (&field.kind, &value) {
        (FieldKind::SingleSelect(opts), ValueRec::Option(o)) => opts.iter().any(|(id, _)| id == o),
        (FieldKind::Iteration(its), ValueRec::Iteration(i)) => its.iter().any(|x| &x.id == i),
        _ => false,
    };
    if !ok {
        return Err(invalid(
            "The value does not fit the field (unknown option or iteration)",
        ));
    }
    let owner = p.owner.clone();
    let item = p
        .items
        .iter_mut()
        .find(|i| i.node_id == item_node)
        .ok_or_else(|| invalid("Could not resolve to a ProjectV2Item with the given id"))?;
    if item.values.get(field_node) == Some(&value) {
        return Ok(());
    }
    item.values.insert(field_node.to_owned(), value);
    item.updated_at = Utc::now();
    tx.changed = true;
    let kind = match field.kind {
        FieldKind::SingleSelect(_) => "single_select",
        FieldKind::Iteration(_) => "iteration",
        FieldKind::Text => "text",
    };
    let changes = json!({ "field_value": { "field_node_id": field.node_id, "field_type": kind,
        "field_name": field.name } });
    emit_item(
        tx,
        project_node,
        item_node,
        "edited",
        Some(changes),
        &owner,
        actor,
    );
    Ok(())
}

fn emit_item(
    tx: &mut Tx<'_>,
    project_node: &str,
    item_node: &str,
    action: &str,
    changes: Option<Value>,
    owner: &str,
    actor: &str,
) {
    let w = &*tx.world;
    let Some(p) = w.projects.project_by_node(project_node) else {
        return;
    };
    let Some(item) = p.items.iter().find(|i| i.node_id == item_node) else {
        return;
    };
    let content = w
        .repos
        .get(&item.content.0)
        .and_then(|r| r.issue(item.content.1))
        .map(|i| render::node_id("Issue", i.id))
        .unwrap_or_default();
    let mut payload = Map::new();
    payload.insert("action".into(), json!(action));
    payload.insert(
        "projects_v2_item".into(),
        json!({ "id": item.id, "node_id": item.node_id, "project_node_id": p.node_id,
            "content_node_id": content, "content_type": "Issue",
            "creator": render::user_by_login(w, &item.creator),
            "created_at": render::ts(item.created_at), "updated_at": render::ts(item.updated_at),
            "archived_at": null }),
    );
    if let Some(c) = changes {
        payload.insert("changes".into(), c);
    }
    payload.extend(org_fields(w, owner, actor));
    tx.out.push(Outgoing {
        event: "projects_v2_item",
        action: action.into(),
        payload: Value::Object(payload),
        // Organisation-level: only the global (organisation) hook receives it.
        repository: None,
    });
}

/// Makes `child` a sub-issue of `parent`, as `POST …/sub_issues` and `createIssue` with
/// `parentIssueId` do; sends `sub_issues.sub_issue_added` (parent's repository) and
/// `sub_issues.parent_issue_added` (the sub-issue's).
pub fn add_sub_issue(
    tx: &mut Tx<'_>,
    parent: &IssueAddr,
    child: &IssueAddr,
    replace_parent: bool,
    actor: &str,
) -> Result<(), ApiError> {
    let invalid = |field: &str, code: &str| ApiError::validation("Issue", field, code);
    let owner_of = |k: &str| k.split('/').next().unwrap_or_default().to_owned();
    if owner_of(&parent.0) != owner_of(&child.0) {
        // GitHub: a sub-issue must belong to the same repository owner as its parent.
        return Err(invalid("sub_issue_id", "invalid"));
    }
    if parent == child {
        return Err(invalid("sub_issue_id", "invalid"));
    }
    let pw = &mut tx.world.projects;
    if let Some(old) = pw.parent.get(child).cloned() {
        if &old == parent {
            return Err(invalid("sub_issue_id", "already_exists"));
        }
        if !replace_parent {
            return Err(invalid("sub_issue_id", "already_exists"));
        }
        remove_sub_issue(tx, &old, child, actor)?;
    }
    let pw = &mut tx.world.projects;
    let count = pw.children.get(parent).map(Vec::len).unwrap_or(0);
    if count >= MAX_SUB_ISSUES {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Parent cannot have more than 100 sub-issues",
        ));
    }
    pw.parent.insert(child.clone(), parent.clone());
    pw.children
        .entry(parent.clone())
        .or_default()
        .push(child.clone());
    tx.changed = true;
    emit_sub(tx, parent, child, "sub_issue_added", actor);
    emit_sub(tx, parent, child, "parent_issue_added", actor);
    Ok(())
}

/// Removes `child` from `parent`'s sub-issues; sends `sub_issue_removed` and
/// `parent_issue_removed`.
pub fn remove_sub_issue(
    tx: &mut Tx<'_>,
    parent: &IssueAddr,
    child: &IssueAddr,
    actor: &str,
) -> Result<(), ApiError> {
    let pw = &mut tx.world.projects;
    if pw.parent.get(child) != Some(parent) {
        return Err(ApiError::not_found());
    }
    pw.parent.remove(child);
    if let Some(kids) = pw.children.get_mut(parent) {
        kids.retain(|k| k != child);
    }
    tx.changed = true;
    emit_sub(tx, parent, child, "sub_issue_removed", actor);
    emit_sub(tx, parent, child, "parent_issue_removed", actor);
    Ok(())
}

fn emit_sub(tx: &mut Tx<'_>, parent: &IssueAddr, child: &IssueAddr, action: &str, actor: &str) {
    let w = &*tx.world;
    let (Some((p, prepo)), Some((c, crepo))) = (issue_json(w, parent), issue_json(w, child)) else {
        return;
    };
    let to_parent = action.starts_with("sub_issue");
    let here = if to_parent { &parent.0 } else { &child.0 };
    let owner = here.split('/').next().unwrap_or_default().to_owned();
    let mut payload = Map::new();
    payload.insert("action".into(), json!(action));
    payload.insert("parent_issue_id".into(), p["id"].clone());
    payload.insert("parent_issue".into(), p);
    payload.insert("sub_issue_id".into(), c["id"].clone());
    payload.insert("sub_issue".into(), c);
    if to_parent {
        payload.insert("sub_issue_repo".into(), crepo);
        payload.insert("repository".into(), prepo);
    } else {
        payload.insert("parent_issue_repo".into(), prepo);
        payload.insert("repository".into(), crepo);
    }
    payload.extend(org_fields(w, &owner, actor));
    tx.out.push(Outgoing {
        event: "sub_issues",
        action: action.into(),
        payload: Value::Object(payload),
        repository: Some(here.clone()),
    });
}

/// Gives organisation `org` these issue types (replacing its list), as an owner defines
/// them under Settings → Planning → Issue types.
pub fn set_issue_types(w: &mut World, org: &str, names: Vec<String>) {
    w.org(org);
    let mut list = Vec::new();
    for name in names {
        let id = w.next_id();
        list.push(super::model::IssueTypeRec {
            id,
            node_id: render::node_id("IssueType", id),
            name,
            created_at: Utc::now(),
        });
    }
    w.projects
        .issue_types
        .insert(org.to_ascii_lowercase(), list);
}

/// A new project for the control API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSeed {
    /// Owner (organisation) login.
    pub owner: String,
    /// Number.
    pub number: u64,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Single-select fields: name → option names.
    #[serde(default)]
    pub single_select: std::collections::BTreeMap<String, Vec<String>>,
    /// Iteration fields: name → iterations (title, start `YYYY-MM-DD`, days).
    #[serde(default)]
    pub iteration: std::collections::BTreeMap<String, Vec<(String, chrono::NaiveDate, u32)>>,
}

/// `createProjectV2Field`: adds a field named `name` of `kind` to the project with node id
/// `project_node` and answers it. Refused, with GitHub's words, when the project is
/// unknown or a field of that name (case-insensitive) exists.
pub fn create_field(
    tx: &mut Tx<'_>,
    project_node: &str,
    name: &str,
    kind: FieldKind,
) -> Result<Field, String> {
    let w = &mut *tx.world;
    let taken = w
        .projects
        .project_by_node(project_node)
        .ok_or_else(|| {
            format!("Could not resolve to a ProjectV2 with the global id of '{project_node}'")
        })?
        .field_named(name)
        .is_some();
    if taken {
        return Err("Name has already been taken".into());
    }
    let kind = match kind {
        FieldKind::SingleSelect(names) => FieldKind::SingleSelect(
            names
                .into_iter()
                .map(|(_, n)| (format!("{:08x}", w.next_id() & 0xffff_ffff), n))
                .collect(),
        ),
        other => other,
    };
    let type_name = match kind {
        FieldKind::Text => "ProjectV2Field",
        FieldKind::SingleSelect(_) => "ProjectV2SingleSelectField",
        FieldKind::Iteration(_) => "ProjectV2IterationField",
    };
    let field = Field {
        node_id: render::node_id(type_name, w.next_id()),
        name: name.to_owned(),
        kind,
    };
    if let Some(p) = w.projects.project_by_node_mut(project_node) {
        p.fields.push(field.clone());
    }
    tx.changed = true;
    Ok(field)
}

/// Creates (or replaces) a project.
pub fn seed_project(w: &mut World, seed: ProjectSeed) -> String {
    w.org(&seed.owner);
    let id = w.next_id();
    let mut fields = vec![Field {
        node_id: render::node_id("ProjectV2Field", w.next_id()),
        name: "Title".into(),
        kind: FieldKind::Text,
    }];
    for (name, opts) in &seed.single_select {
        let options = opts
            .iter()
            .map(|o| (format!("{:08x}", w.next_id() & 0xffff_ffff), o.clone()))
            .collect();
        fields.push(Field {
            node_id: render::node_id("ProjectV2SingleSelectField", w.next_id()),
            name: name.clone(),
            kind: FieldKind::SingleSelect(options),
        });
    }
    for (name, its) in &seed.iteration {
        let iterations = its
            .iter()
            .map(|(title, start, duration)| super::model::IterationRec {
                id: format!("{:08x}", w.next_id() & 0xffff_ffff),
                title: title.clone(),
                start: *start,
                duration: *duration,
            })
            .collect();
        fields.push(Field {
            node_id: render::node_id("ProjectV2IterationField", w.next_id()),
            name: name.clone(),
            kind: FieldKind::Iteration(iterations),
        });
    }
    let node_id = render::node_id("ProjectV2", id);
    w.projects
        .projects
        .retain(|p| !(p.owner.eq_ignore_ascii_case(&seed.owner) && p.number == seed.number));
    w.projects.projects.push(Project {
        id,
        node_id: node_id.clone(),
        owner: seed.owner,
        number: seed.number,
        title: seed.title,
        fields,
        items: Vec::new(),
    });
    node_id
}
