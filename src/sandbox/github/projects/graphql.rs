//! `POST /graphql`: the subset of GitHub's GraphQL API the daemon uses (organisation →
//! project → fields and items, repository → issue, `node`/`nodes`, `createIssue` with
//! `parentIssueId`, `addProjectV2ItemById`, `updateProjectV2ItemFieldValue`), executed
//! with apollo-compiler's resolvers over the sandbox's state.
//!
//! Every document is first validated against GitHub's published schema
//! (`../shared/specs/github-schema.graphql`, or the file named by
//! `COUNCIL_SYNC_GITHUB_SCHEMA`); an invalid one gets GitHub's answer shape, HTTP 200 with
//! `{"errors":[{"message","locations",…}]}`. Fields outside the subset answer a field error
//! naming the field rather than made-up data. Connections return every node (the sandbox's
//! lists are small), except a project's `items`, which pages by `first`/`after`.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use apollo_compiler::executable::OperationType;
use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::model::{FieldKind, IssueAddr, Project, ValueRec};
use super::ops;
use crate::sandbox::github::GithubHub;
use crate::sandbox::github::model::World;
use crate::sandbox::github::ops::{NewIssue, Tx};
use crate::sandbox::github::render;
use crate::sandbox::webhooks::Outgoing;

static SCHEMA: OnceLock<Result<Valid<Schema>, String>> = OnceLock::new();

/// Where the sandbox reads GitHub's schema.
pub fn schema_path() -> PathBuf {
    std::env::var_os("COUNCIL_SYNC_GITHUB_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // `shared/` as the tests find it: $COUNCIL_SHARED_DIR, beside the checkout, or
            // /work/shared.
            let shared = std::env::var_os("COUNCIL_SHARED_DIR")
                .map(PathBuf::from)
                .into_iter()
                .chain([
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
                    PathBuf::from("/work/shared"),
                ])
                .find(|d| d.is_dir())
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
            shared.join("specs/github-schema.graphql")
        })
}

/// GitHub's schema, loaded once (GitHub's SDL defines two fields twice: the parsed schema
/// is taken as it is, as `../shared/specs/SOURCES.md` says).
pub fn schema() -> Result<&'static Valid<Schema>, String> {
    SCHEMA
        .get_or_init(|| {
            let path = schema_path();
            let sdl = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "the sandbox needs GitHub's GraphQL schema at {} ({e}); set \
                     COUNCIL_SYNC_GITHUB_SCHEMA or put ../shared/specs beside the checkout",
                    path.display()
                )
            })?;
            Ok(match Schema::parse_and_validate(sdl, &path) {
                Ok(s) => s,
                Err(e) => Valid::assume_valid(e.partial),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn errors(list: Vec<Value>) -> Response {
    (StatusCode::OK, axum::Json(json!({ "errors": list }))).into_response()
}

/// The `POST /graphql` handler.
pub async fn handle(State(hub): State<Arc<GithubHub>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return crate::sandbox::github::http::ApiError::bad_json().into_response();
    };
    let Some(query) = req.get("query").and_then(Value::as_str).map(str::to_owned) else {
        return errors(vec![
            json!({ "message": "A query attribute must be specified and must be a string." }),
        ]);
    };
    let op_name = req
        .get("operationName")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let vars: JsonMap = req
        .get("variables")
        .filter(|v| v.is_object())
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let schema = match tokio::task::spawn_blocking(schema).await {
        Ok(Ok(s)) => s,
        Ok(Err(m)) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({ "errors": [{ "message": m }] })),
            )
                .into_response();
        }
        Err(e) => return errors(vec![json!({ "message": e.to_string() })]),
    };
    let doc = match ExecutableDocument::parse_and_validate(schema, query, "query.graphql") {
        Ok(d) => d,
        Err(e) => {
            let list = e
                .errors
                .iter()
                .map(|d| serde_json::to_value(d.to_json()).unwrap_or(Value::Null))
                .collect();
            return errors(list);
        }
    };
    let operation = match doc.operations.get(op_name.as_deref()) {
        Ok(op) => op.clone(),
        Err(e) => return errors(vec![json!({ "message": e.message().to_string() })]),
    };
    let run = |root: &dyn ObjectValue| -> Value {
        let exec = Execution::new(schema, &doc)
            .operation(&operation)
            .raw_variable_values(&vars);
        match exec.execute_sync(root) {
            Ok(resp) => serde_json::to_value(resp).unwrap_or(Value::Null),
            Err(e) => {
                json!({ "errors": [serde_json::to_value(e.to_graphql_error(&doc.sources)).unwrap_or(Value::Null)] })
            }
        }
    };
    let can_update = hub
        .admin
        .scopes()
        .is_none_or(|s| s.split(',').any(|x| x.trim() == "project"));
    let answer = if operation.operation_type == OperationType::Mutation {
        let bot = hub.read(|w| w.bot_login.clone());
        let result: Result<Value, crate::sandbox::github::http::ApiError> = hub.write(|tx| {
            let ctx = MutCtx {
                world: RefCell::new(&mut *tx.world),
                out: RefCell::new(Vec::new()),
                changed: Cell::new(false),
                actor: bot,
            };
            let v = run(&Obj {
                acc: Access::Cell(&ctx.world),
                kind: Kind::Mutation,
                muts: Some(&ctx),
                can_update,
            });
            let out = ctx.out.into_inner();
            tx.changed |= ctx.changed.get();
            tx.out.extend(out);
            Ok(v)
        });
        result.unwrap_or(Value::Null)
    } else {
        hub.read(|w| {
            run(&Obj {
                acc: Access::Read(w),
                kind: Kind::Query,
                muts: None,
                can_update,
            })
        })
    };
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// What a mutation changes and sends.
struct MutCtx<'x> {
    world: RefCell<&'x mut World>,
    out: RefCell<Vec<Outgoing>>,
    changed: Cell<bool>,
    actor: String,
}

#[derive(Clone, Copy)]
enum Access<'s, 'x> {
    Read(&'s World),
    Cell(&'s RefCell<&'x mut World>),
}

impl Access<'_, '_> {
    fn with<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        match self {
            Access::Read(w) => f(w),
            Access::Cell(c) => f(&c.borrow()),
        }
    }
}

#[derive(Clone)]
enum Kind {
    Query,
    Mutation,
    Org(String),
    Project(String),
    Repo(String),
    Issue(IssueAddr),
    Item(String, String),
    Json(String, Value),
}

struct Obj<'s, 'x> {
    acc: Access<'s, 'x>,
    kind: Kind,
    muts: Option<&'s MutCtx<'x>>,
    /// `ProjectV2.viewerCanUpdate`: false for a classic token without the `project` scope
    /// (GitHub: "Scopes for OAuth apps"; `read:project` reads only).
    can_update: bool,
}

fn fail(m: impl Into<String>) -> FieldError {
    FieldError { message: m.into() }
}

fn leaf<'r>(v: Value) -> ResolvedValue<'r> {
    ResolvedValue::leaf(serde_json::from_value::<JsonValue>(v).unwrap_or(JsonValue::Null))
}

fn args(info: &ResolveInfo<'_>) -> Value {
    serde_json::to_value(info.arguments()).unwrap_or(Value::Null)
}

fn field_json(f: &super::model::Field) -> Value {
    let today = Utc::now().date_naive();
    match &f.kind {
        FieldKind::Text => {
            json!({ "__typename": "ProjectV2Field", "id": f.node_id, "name": f.name, "dataType": "TITLE" })
        }
        FieldKind::SingleSelect(opts) => json!({ "__typename": "ProjectV2SingleSelectField",
            "id": f.node_id, "name": f.name, "dataType": "SINGLE_SELECT",
            "options": opts.iter().map(|(id, n)| json!({ "id": id, "name": n, "color": "GRAY",
                "description": "", "descriptionHTML": "", "nameHTML": n })).collect::<Vec<_>>() }),
        FieldKind::Iteration(its) => {
            let it = |x: &super::model::IterationRec| {
                json!({ "id": x.id, "title": x.title,
                "titleHTML": x.title, "startDate": x.start.format("%Y-%m-%d").to_string(), "duration": x.duration })
            };
            let done = |x: &&super::model::IterationRec| {
                x.start
                    .checked_add_days(chrono::Days::new(u64::from(x.duration)))
                    .is_some_and(|end| end <= today)
            };
            json!({ "__typename": "ProjectV2IterationField", "id": f.node_id, "name": f.name,
                "dataType": "ITERATION",
                "configuration": { "duration": 14, "startDay": 1,
                    "iterations": its.iter().filter(|x| !done(x)).map(it).collect::<Vec<_>>(),
                    "completedIterations": its.iter().filter(done).map(it).collect::<Vec<_>>() } })
        }
    }
}

fn value_json(p: &Project, field_node: &str, v: &ValueRec) -> Option<Value> {
    let f = p.field(field_node)?;
    match (&f.kind, v) {
        (FieldKind::SingleSelect(opts), ValueRec::Option(o)) => {
            let name = opts
                .iter()
                .find(|(id, _)| id == o)
                .map(|(_, n)| n.clone())?;
            Some(
                json!({ "__typename": "ProjectV2ItemFieldSingleSelectValue", "name": name,
                "optionId": o, "field": field_json(f) }),
            )
        }
        (FieldKind::Iteration(its), ValueRec::Iteration(i)) => {
            let x = its.iter().find(|x| &x.id == i)?;
            Some(
                json!({ "__typename": "ProjectV2ItemFieldIterationValue", "iterationId": x.id,
                "title": x.title, "startDate": x.start.format("%Y-%m-%d").to_string(),
                "duration": x.duration, "field": field_json(f) }),
            )
        }
        _ => None,
    }
}

/// What a node id names.
fn node_kind(w: &World, id: &str) -> Option<Kind> {
    if w.projects.project_by_node(id).is_some() {
        return Some(Kind::Project(id.to_owned()));
    }
    if let Some(a) = ops::issue_by_node(w, id) {
        return Some(Kind::Issue(a));
    }
    ops::repo_by_node(w, id).map(Kind::Repo)
}

impl<'s, 'x> Obj<'s, 'x> {
    fn child(&self, kind: Kind) -> Obj<'s, 'x> {
        Obj {
            acc: self.acc,
            kind,
            muts: self.muts,
            can_update: self.can_update,
        }
    }

    fn nullable<'r>(&'r self, kind: Option<Kind>) -> ResolvedValue<'r> {
        ResolvedValue::nullable_object(kind.map(|k| self.child(k)))
    }

    /// A JSON value as GraphQL output: `$issue`/`$item`/`$project` objects become live
    /// objects, other objects are plain (typed by `__typename` or the field's type).
    fn value<'r>(&'r self, v: Value, declared: String) -> ResolvedValue<'r> {
        match v {
            Value::Null => ResolvedValue::null(),
            Value::Array(xs) => {
                ResolvedValue::list(xs.into_iter().map(move |x| self.value(x, declared.clone())))
            }
            Value::Object(m) => {
                if let Some(a) = m.get("$issue") {
                    let addr = (
                        a[0].as_str().unwrap_or_default().to_owned(),
                        a[1].as_u64().unwrap_or(0),
                    );
                    return ResolvedValue::object(self.child(Kind::Issue(addr)));
                }
                if let Some(a) = m.get("$item") {
                    return ResolvedValue::object(self.child(Kind::Item(
                        a[0].as_str().unwrap_or_default().to_owned(),
                        a[1].as_str().unwrap_or_default().to_owned(),
                    )));
                }
                let ty = m
                    .get("__typename")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or(declared);
                ResolvedValue::object(self.child(Kind::Json(ty, Value::Object(m))))
            }
            scalar => leaf(scalar),
        }
    }

    fn query<'r>(&'r self, info: &'r ResolveInfo<'r>) -> Result<ResolvedValue<'r>, FieldError> {
        let a = args(info);
        let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
        Ok(match info.field_name() {
            "organization" => {
                let login = s("login");
                self.nullable(
                    self.acc
                        .with(|w| w.is_org(&login))
                        .then_some(Kind::Org(login)),
                )
            }
            "repository" => {
                let key = format!("{}/{}", s("owner"), s("name")).to_ascii_lowercase();
                self.nullable(
                    self.acc
                        .with(|w| w.repos.contains_key(&key))
                        .then_some(Kind::Repo(key)),
                )
            }
            "node" => {
                let id = s("id");
                self.nullable(self.acc.with(|w| node_kind(w, &id)))
            }
            "nodes" => {
                let ids: Vec<String> = a["ids"]
                    .as_array()
                    .map(|v| {
                        v.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let kinds: Vec<Option<Kind>> = self
                    .acc
                    .with(|w| ids.iter().map(|id| node_kind(w, id)).collect());
                ResolvedValue::list(kinds.into_iter().map(move |k| self.nullable(k)))
            }
            other => return Err(fail(format!("the sandbox does not serve Query.{other}"))),
        })
    }

    fn org<'r>(
        &'r self,
        login: &str,
        info: &'r ResolveInfo<'r>,
    ) -> Result<ResolvedValue<'r>, FieldError> {
        let a = args(info);
        Ok(match info.field_name() {
            "id" => leaf(json!(self.acc.with(|w| {
                w.find_account(login)
                    .map(|x| render::node_id("Organization", x.id))
            }))),
            "login" => leaf(json!(login)),
            "projectV2" => {
                let n = a["number"].as_u64().unwrap_or(0);
                let node = self
                    .acc
                    .with(|w| w.projects.project(login, n).map(|p| p.node_id.clone()));
                self.nullable(node.map(Kind::Project))
            }
            other => {
                return Err(fail(format!(
                    "the sandbox does not serve Organization.{other}"
                )));
            }
        })
    }

    fn project<'r>(
        &'r self,
        node: &str,
        info: &'r ResolveInfo<'r>,
    ) -> Result<ResolvedValue<'r>, FieldError> {
        let a = args(info);
        let p = self
            .acc
            .with(|w| w.projects.project_by_node(node).cloned())
            .ok_or_else(|| fail("project gone"))?;
        let base = self.acc.with(|w| w.base_url.clone());
        Ok(match info.field_name() {
            "id" => leaf(json!(p.node_id)),
            "number" => leaf(json!(p.number)),
            "title" => leaf(json!(p.title)),
            "viewerCanUpdate" => leaf(json!(self.can_update)),
            "url" => leaf(json!(format!(
                "{base}/orgs/{}/projects/{}",
                p.owner, p.number
            ))),
            "fields" => {
                let nodes: Vec<Value> = p.fields.iter().map(field_json).collect();
                self.value(
                    json!({ "nodes": nodes, "totalCount": p.fields.len() }),
                    "ProjectV2FieldConfigurationConnection".into(),
                )
            }
            "items" => {
                let first = a["first"].as_u64().unwrap_or(100).min(100) as usize;
                let start = a["after"]
                    .as_str()
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(0);
                let page: Vec<Value> = p
                    .items
                    .iter()
                    .skip(start)
                    .take(first)
                    .map(|i| json!({ "$item": [p.node_id, i.node_id] }))
                    .collect();
                let end = start + page.len();
                self.value(
                    json!({ "nodes": page, "totalCount": p.items.len(),
                    "pageInfo": { "__typename": "PageInfo", "hasNextPage": end < p.items.len(),
                        "hasPreviousPage": start > 0, "startCursor": start.to_string(),
                        "endCursor": end.to_string() } }),
                    "ProjectV2ItemConnection".into(),
                )
            }
            other => {
                return Err(fail(format!(
                    "the sandbox does not serve ProjectV2.{other}"
                )));
            }
        })
    }

    fn repo<'r>(
        &'r self,
        key: &str,
        info: &'r ResolveInfo<'r>,
    ) -> Result<ResolvedValue<'r>, FieldError> {
        let a = args(info);
        let (id, full, base) = self
            .acc
            .with(|w| {
                w.repos.get(key).map(|r| {
                    (
                        render::node_id("Repository", r.id),
                        r.full_name(),
                        w.base_url.clone(),
                    )
                })
            })
            .ok_or_else(|| fail("repository gone"))?;
        Ok(match info.field_name() {
            "id" => leaf(json!(id)),
            "nameWithOwner" => leaf(json!(full)),
            "name" => leaf(json!(full.split('/').nth(1))),
            "url" => leaf(json!(format!("{base}/{full}"))),
            "issue" => {
                let n = a["number"].as_u64().unwrap_or(0);
                let exists = self.acc.with(|w| {
                    w.repos
                        .get(key)
                        .and_then(|r| r.issue(n))
                        .is_some_and(|i| i.transferred_to.is_none())
                });
                self.nullable(exists.then(|| Kind::Issue((key.to_owned(), n))))
            }
            other => {
                return Err(fail(format!(
                    "the sandbox does not serve Repository.{other}"
                )));
            }
        })
    }

    fn issue<'r>(
        &'r self,
        addr: &IssueAddr,
        info: &'r ResolveInfo<'r>,
    ) -> Result<ResolvedValue<'r>, FieldError> {
        let v = self
            .acc
            .with(|w| {
                let r = w.repos.get(&addr.0)?;
                let i = r.issue(addr.1)?;
                let items: Vec<Value> = w.projects.items_of(addr)
                    .map(|(p, it)| json!({ "$item": [p.node_id, it.node_id] })).collect();
                let parent = w.projects.parent.get(addr).map(|p| json!({ "$issue": [p.0, p.1] }));
                let kids: Vec<Value> = w.projects.children.get(addr).into_iter().flatten()
                    .map(|k| json!({ "$issue": [k.0, k.1] })).collect();
                let assignees: Vec<Value> = i.assignees.iter()
                    .map(|l| json!({ "__typename": "User", "login": w.find_account(l).map(|a| a.login.clone()).unwrap_or_else(|| l.clone()), "name": null }))
                    .collect();
                Some(json!({
                    "id": render::node_id("Issue", i.id), "number": i.number, "title": i.title,
                    "body": i.body.clone().unwrap_or_default(),
                    "url": format!("{}/{}/issues/{}", w.base_url, r.full_name(), i.number),
                    "state": if i.open { "OPEN" } else { "CLOSED" },
                    "stateReason": i.state_reason.as_ref().map(|s| s.to_ascii_uppercase()),
                    "closed": !i.open, "createdAt": render::ts(i.created_at), "updatedAt": render::ts(i.updated_at),
                    "assignees": { "nodes": assignees, "totalCount": i.assignees.len() },
                    "projectItems": { "nodes": items.clone(), "totalCount": items.len() },
                    "parent": parent,
                    "subIssues": { "nodes": kids.clone(), "totalCount": kids.len() },
                }))
            })
            .ok_or_else(|| fail("issue gone"))?;
        Ok(match info.field_name() {
            "repository" => ResolvedValue::object(self.child(Kind::Repo(addr.0.clone()))),
            name if v.get(name).is_some() => {
                let declared = info.field_definition().ty.inner_named_type().to_string();
                self.value(v[name].clone(), declared)
            }
            other => return Err(fail(format!("the sandbox does not serve Issue.{other}"))),
        })
    }

    fn item<'r>(
        &'r self,
        project: &str,
        node: &str,
        info: &'r ResolveInfo<'r>,
    ) -> Result<ResolvedValue<'r>, FieldError> {
        let v = self
            .acc
            .with(|w| {
                let p = w.projects.project_by_node(project)?;
                let it = p.items.iter().find(|i| i.node_id == node)?;
                let values: Vec<Value> = it
                    .values
                    .iter()
                    .filter_map(|(f, v)| value_json(p, f, v))
                    .collect();
                Some(
                    json!({ "id": it.node_id, "type": "ISSUE", "isArchived": false,
                    "createdAt": render::ts(it.created_at), "updatedAt": render::ts(it.updated_at),
                    "content": { "$issue": [it.content.0, it.content.1] },
                    "fieldValues": { "nodes": values.clone(), "totalCount": values.len() } }),
                )
            })
            .ok_or_else(|| fail("item gone"))?;
        Ok(match info.field_name() {
            "project" => ResolvedValue::object(self.child(Kind::Project(project.to_owned()))),
            name if v.get(name).is_some() => {
                let declared = info.field_definition().ty.inner_named_type().to_string();
                self.value(v[name].clone(), declared)
            }
            other => {
                return Err(fail(format!(
                    "the sandbox does not serve ProjectV2Item.{other}"
                )));
            }
        })
    }

    fn mutation<'r>(&'r self, info: &'r ResolveInfo<'r>) -> Result<ResolvedValue<'r>, FieldError> {
        let ctx = self.muts.ok_or_else(|| fail("not a mutation"))?;
        let input = args(info)["input"].clone();
        let s = |k: &str| input[k].as_str().unwrap_or_default().to_owned();
        let mut world = ctx.world.borrow_mut();
        let mut tx = Tx::new(&mut world);
        let result = match info.field_name() {
            "createIssue" => create_issue(&mut tx, &input, &ctx.actor)
                .map(|a| json!({ "issue": { "$issue": [a.0, a.1] }, "clientMutationId": null })),
            "addProjectV2ItemById" => {
                let project = s("projectId");
                let content = s("contentId");
                let addr = ops::issue_by_node(tx.world, &content).ok_or_else(|| {
                    fail(format!(
                        "Could not resolve to a node with the global id of '{content}'"
                    ))
                });
                addr.and_then(|a| {
                    ops::add_item(&mut tx, &project, &a, &ctx.actor)
                        .map_err(|_| fail(format!("Could not resolve to a ProjectV2 with the global id of '{project}'")))
                })
                .map(|item| json!({ "item": { "$item": [project, item] }, "clientMutationId": null }))
            }
            "updateProjectV2ItemFieldValue" => {
                let value = if let Some(o) = input["value"]["singleSelectOptionId"].as_str() {
                    Ok(ValueRec::Option(o.to_owned()))
                } else if let Some(i) = input["value"]["iterationId"].as_str() {
                    Ok(ValueRec::Iteration(i.to_owned()))
                } else {
                    Err(fail(
                        "the sandbox sets single-select options and iterations only",
                    ))
                };
                let (project, item) = (s("projectId"), s("itemId"));
                value
                    .and_then(|v| {
                        ops::set_value(&mut tx, &project, &item, &s("fieldId"), v, &ctx.actor)
                            .map_err(|e| fail(format!("{e:?}")))
                    })
                    .map(|()| json!({ "projectV2Item": { "$item": [project, item] }, "clientMutationId": null }))
            }
            "createProjectV2Field" => new_field(&input)
                .and_then(|(name, kind)| {
                    ops::create_field(&mut tx, &s("projectId"), &name, kind).map_err(fail)
                })
                .map(|f| json!({ "projectV2Field": field_json(&f), "clientMutationId": null })),
            other => Err(fail(format!("the sandbox does not serve Mutation.{other}"))),
        };
        ctx.changed.set(ctx.changed.get() | tx.changed);
        ctx.out.borrow_mut().extend(std::mem::take(&mut tx.out));
        drop(tx);
        drop(world);
        let declared = info.field_definition().ty.inner_named_type().to_string();
        result.map(|v| self.value(v, declared))
    }
}

/// The field a `CreateProjectV2FieldInput` asks for: its name and kind. A single select
/// needs options (GitHub refuses one without: "Single select fields must have at least one
/// option"); an iteration field takes `iterationConfiguration`'s iterations, none when
/// absent. DATE and NUMBER fields are not modelled here.
fn new_field(input: &Value) -> Result<(String, FieldKind), FieldError> {
    let name = input["name"].as_str().unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(fail("Name can't be blank"));
    }
    let kind = match input["dataType"].as_str().unwrap_or_default() {
        "SINGLE_SELECT" => {
            let options: Vec<(String, String)> = input["singleSelectOptions"]
                .as_array()
                .map(|o| {
                    o.iter()
                        .filter_map(|x| x["name"].as_str())
                        .map(|n| (String::new(), n.to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            if options.is_empty() {
                return Err(fail("Single select fields must have at least one option"));
            }
            FieldKind::SingleSelect(options)
        }
        "ITERATION" => {
            let config = &input["iterationConfiguration"];
            let iterations = config["iterations"]
                .as_array()
                .map(|its| {
                    its.iter()
                        .filter_map(|x| {
                            let start = chrono::NaiveDate::parse_from_str(
                                x["startDate"].as_str()?,
                                "%Y-%m-%d",
                            )
                            .ok()?;
                            Some(super::model::IterationRec {
                                id: start.format("%Y%m%d").to_string(),
                                title: x["title"].as_str().unwrap_or_default().to_owned(),
                                start,
                                duration: u32::try_from(x["duration"].as_u64()?).ok()?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            FieldKind::Iteration(iterations)
        }
        "TEXT" => FieldKind::Text,
        other => {
            return Err(fail(format!(
                "the sandbox does not serve {other} project fields"
            )));
        }
    };
    Ok((name, kind))
}

/// `createIssue`: the issue, and with `parentIssueId` its sub-issue link, in one change.
fn create_issue(tx: &mut Tx<'_>, input: &Value, actor: &str) -> Result<IssueAddr, FieldError> {
    let repo_node = input["repositoryId"].as_str().unwrap_or_default();
    let key = ops::repo_by_node(tx.world, repo_node).ok_or_else(|| {
        fail(format!(
            "Could not resolve to a node with the global id of '{repo_node}'"
        ))
    })?;
    let parent = match input["parentIssueId"].as_str() {
        Some(p) => Some(ops::issue_by_node(tx.world, p).ok_or_else(|| {
            fail(format!(
                "Could not resolve to a node with the global id of '{p}'"
            ))
        })?),
        None => None,
    };
    if let Some(p) = &parent {
        let owner = |k: &str| k.split('/').next().unwrap_or_default().to_owned();
        if owner(&p.0) != owner(&key) {
            return Err(fail(
                "The parent issue must belong to the same repository owner",
            ));
        }
        if tx.world.projects.children.get(p).map(Vec::len).unwrap_or(0)
            >= super::model::MAX_SUB_ISSUES
        {
            return Err(fail("Parent cannot have more than 100 sub-issues"));
        }
    }
    let (owner, name) = key
        .split_once('/')
        .map(|(o, n)| (o.to_owned(), n.to_owned()))
        .unwrap_or_default();
    let new = NewIssue {
        title: input["title"].as_str().unwrap_or_default().to_owned(),
        body: input["body"].as_str().map(str::to_owned),
        ..NewIssue::default()
    };
    let number = tx
        .create_issue(&owner, &name, actor, new)
        .map_err(|e| fail(format!("{e:?}")))?;
    let addr = (key, number);
    if let Some(p) = parent {
        ops::add_sub_issue(tx, &p, &addr, false, actor).map_err(|e| fail(format!("{e:?}")))?;
    }
    Ok(addr)
}

impl ObjectValue for Obj<'_, '_> {
    fn type_name(&self) -> &str {
        match &self.kind {
            Kind::Query => "Query",
            Kind::Mutation => "Mutation",
            Kind::Org(_) => "Organization",
            Kind::Project(_) => "ProjectV2",
            Kind::Repo(_) => "Repository",
            Kind::Issue(_) => "Issue",
            Kind::Item(..) => "ProjectV2Item",
            Kind::Json(t, _) => t,
        }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match &self.kind {
            Kind::Query => self.query(info),
            Kind::Mutation => self.mutation(info),
            Kind::Org(l) => self.org(l, info),
            Kind::Project(n) => self.project(n, info),
            Kind::Repo(k) => self.repo(k, info),
            Kind::Issue(a) => self.issue(a, info),
            Kind::Item(p, i) => self.item(p, i, info),
            Kind::Json(t, v) => match v.get(info.field_name()) {
                Some(x) => {
                    let declared = info.field_definition().ty.inner_named_type().to_string();
                    Ok(self.value(x.clone(), declared))
                }
                None => Err(fail(format!(
                    "the sandbox does not serve {t}.{}",
                    info.field_name()
                ))),
            },
        }
    }
}
