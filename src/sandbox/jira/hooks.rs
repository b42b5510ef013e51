//! Jira webhooks from the sandbox, the way Jira Cloud and Data Center send admin webhooks
//! (`../shared/specs/JIRA-WEBHOOKS.md`). Each target has a flavour: Cloud (v3) bodies name
//! people by `accountId`, Data Center (v2) bodies by `name`/`key` ([`super::hook_people`]).
//!
//! Change detection: rather than every handler announcing what it did, the state lock's
//! guard ([`super::StateGuard`]) calls [`Hooks::observe`] when a lock that was written
//! through is released, still holding it. `observe` compares the issues and sprints with the
//! last snapshot and turns the differences into events with changelog items, attributed to
//! the current actor ([`super::actor`]). So every way of changing the state (REST, agile,
//! control API, handlers added later) produces webhooks, in exactly the order of the changes.
//!
//! Delivery follows the GitHub half (`src/sandbox/webhooks.rs`): events are queued under the
//! state lock and one background task POSTs them one at a time to every registered target,
//! signing with `X-Hub-Signature: sha256=…` when the target has a secret, retrying what
//! Jira retries (408, 409, 425, 429, 5xx, transport) a few times with the same
//! `X-Atlassian-Webhook-Identifier`. The task is spawned on the first event seen inside a
//! Tokio runtime (the sandbox itself is built synchronously) and ends with the sandbox.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::create::SPRINT_FIELD;
use super::hook_people;
use super::people::{account_id, display_name};
use super::render::{self, FieldSel};
use super::sprints::{Sprint, SprintState};
use super::state::{Body, State, Status, StoredIssue};
use crate::config::JiraApiVersion;
use crate::github::webhook::signature::sign_prefixed;
use crate::sandbox::webhooks::DeliveryOutcome;

/// Attempts per delivery and target, the first included. Jira retries for up to 30 minutes;
/// the sandbox retries a little, so a receiver still starting up loses nothing.
const DELIVERY_ATTEMPTS: u32 = 4;
/// First wait between attempts; doubles each time (100, 200, 400 ms).
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(100);
/// Per-attempt timeout (Jira gives a receiver about 10 s).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries the log keeps (oldest dropped first), so a long demo stays small.
const LOG_CAPACITY: usize = 1000;
/// Base for `self` links until a request tells the sandbox its address.
const DEFAULT_BASE: &str = "http://jira.sandbox.invalid";

/// One event waiting to be delivered.
#[derive(Debug, Clone)]
struct Outgoing {
    event: String,
    payload: Value,
}

/// One entry of `GET /_sandbox/jira/deliveries`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraDelivery {
    /// `X-Atlassian-Webhook-Identifier`.
    pub id: String,
    /// `webhookEvent` of the payload.
    pub webhook_event: String,
    /// Target URL (none when no target was registered).
    pub url: Option<String>,
    /// What happened.
    pub outcome: DeliveryOutcome,
    /// Attempts made.
    pub attempts: u32,
    /// Status of the last answer.
    pub status: Option<u16>,
    /// The body sent.
    pub payload: Value,
}

#[derive(Debug, Clone)]
struct Target {
    url: String,
    secret: Option<SecretString>,
    /// Which Jira the target hears from: V3 Cloud, V2 Data Center.
    flavour: JiraApiVersion,
}

#[derive(Debug)]
struct Shared {
    targets: RwLock<Vec<Target>>,
    /// The flavour of targets registered without one (Cloud unless set).
    flavour: RwLock<JiraApiVersion>,
    drop: AtomicBool,
    log: Mutex<VecDeque<JiraDelivery>>,
    /// Deliveries logged so far (never decreases), so waiters need not poll.
    logged: tokio::sync::watch::Sender<u64>,
    base: RwLock<String>,
}

/// What an issue looked like when last observed (only what webhooks report).
#[derive(Debug, Clone, PartialEq)]
struct IssueSnap {
    status: Status,
    assignee: Option<String>,
    summary: String,
    description: Option<Body>,
    labels: Vec<String>,
    components: Vec<String>,
    sprints: Vec<u64>,
    comments: usize,
    /// Key and project change together when the issue is moved.
    key: String,
    project: String,
}

impl IssueSnap {
    fn of(i: &StoredIssue) -> Self {
        Self {
            key: i.key.clone(),
            project: i.project.clone(),
            status: i.status,
            assignee: i.assignee.clone(),
            summary: i.summary.clone(),
            description: i.description.clone(),
            labels: i.labels.clone(),
            components: i.components.clone(),
            sprints: i.sprints.clone(),
            comments: i.comments.len(),
        }
    }

    /// Whether `i` is as this snapshot shows it: [`Self::of`]`(i) == *self` without the
    /// copies, so an issue written through without a change costs no copy.
    fn shows(&self, i: &StoredIssue) -> bool {
        self.status == i.status
            && self.comments == i.comments.len()
            && self.key == i.key
            && self.project == i.project
            && self.assignee == i.assignee
            && self.summary == i.summary
            && self.labels == i.labels
            && self.components == i.components
            && self.sprints == i.sprints
            && self.description == i.description
    }

    fn same_fields(&self, other: &Self) -> bool {
        Self {
            comments: 0,
            ..self.clone()
        } == Self {
            comments: 0,
            ..other.clone()
        }
    }
}

#[derive(Debug, Default)]
struct Seen {
    issues: BTreeMap<u64, IssueSnap>,
    sprints: BTreeMap<u64, Sprint>,
    changelog_id: u64,
}

/// The webhook side of a Jira sandbox: change detection, targets, queue and log.
#[derive(Debug)]
pub struct Hooks {
    seen: Mutex<Seen>,
    tx: mpsc::UnboundedSender<Outgoing>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    shared: Arc<Shared>,
}

impl Default for Hooks {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            seen: Mutex::new(Seen::default()),
            tx,
            rx: Mutex::new(Some(rx)),
            shared: Arc::new(Shared {
                targets: RwLock::new(Vec::new()),
                flavour: RwLock::new(JiraApiVersion::V3),
                drop: AtomicBool::new(false),
                log: Mutex::new(VecDeque::new()),
                logged: tokio::sync::watch::Sender::new(0),
                base: RwLock::new(DEFAULT_BASE.to_owned()),
            }),
        }
    }
}

impl Hooks {
    /// Adds a target; every target gets every event from now on, shaped as a Jira of
    /// `flavour` sends it (V3 Cloud, V2 Data Center; [`Self::flavour`] when `None`).
    pub fn add_target(
        &self,
        url: String,
        secret: Option<SecretString>,
        flavour: Option<JiraApiVersion>,
    ) {
        let flavour = flavour.unwrap_or_else(|| self.flavour());
        self.shared
            .targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Target {
                url,
                secret,
                flavour,
            });
    }

    /// Which Jira the sandbox plays for targets registered without a flavour (through
    /// `POST /rest/webhooks/1.0/webhook`, whose body is the same on both): V3 Cloud by
    /// default, V2 Data Center when the config the sandbox serves says `api_version = 2`.
    pub fn set_flavour(&self, flavour: JiraApiVersion) {
        *self
            .shared
            .flavour
            .write()
            .unwrap_or_else(PoisonError::into_inner) = flavour;
    }

    /// See [`Self::set_flavour`].
    pub fn flavour(&self) -> JiraApiVersion {
        *self
            .shared
            .flavour
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes every target.
    pub fn clear_targets(&self) {
        self.shared
            .targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Turns dropping deliveries on purpose on or off.
    pub fn set_drop(&self, drop: bool) {
        self.shared.drop.store(drop, Ordering::SeqCst);
    }

    /// The delivery log, oldest first.
    pub fn log(&self) -> Vec<JiraDelivery> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Waits until at least `n` deliveries were logged since start, or `timeout` passes;
    /// returns the count then.
    pub async fn wait_logged(&self, n: u64, timeout: Duration) -> u64 {
        let mut rx = self.shared.logged.subscribe();
        // A timeout is an ordinary answer: the caller compares the count.
        let _ = tokio::time::timeout(timeout, rx.wait_for(|v| *v >= n)).await;
        *rx.borrow()
    }

    /// Remembers how clients address the sandbox, for `self` links in payloads.
    pub fn set_base(&self, base: &str) {
        let current = self.base();
        if current != base {
            *self
                .shared
                .base
                .write()
                .unwrap_or_else(PoisonError::into_inner) = base.to_owned();
        }
    }

    /// How clients address the sandbox (last seen `Host`).
    pub fn base(&self) -> String {
        self.shared
            .base
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes `state` as seen without queueing events: a state restored from a saved sandbox
    /// is where the webhooks start from, not a burst of changes.
    pub fn baseline(&self, state: &State) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.issues = state
            .issues
            .iter()
            .map(|i| (i.id, IssueSnap::of(i)))
            .collect();
        seen.sprints = state.sprints.clone();
    }

    /// Compares the issues at the positions `touched` (those written through since the
    /// last call, in creation order; see [`super::issues`]) and every sprint with the last
    /// snapshot and queues an event per difference, made by `actor`. Called with the state
    /// lock held, so events queue in change order. O(touched + sprints), not O(issues).
    pub fn observe(&self, state: &State, touched: &[usize], actor: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let base = self.base();
        let mut out = Vec::new();
        for issue in touched.iter().filter_map(|&at| state.issues.get(at)) {
            if seen
                .issues
                .get(&issue.id)
                .is_some_and(|old| old.shows(issue))
            {
                continue;
            }
            let snap = IssueSnap::of(issue);
            match seen.issues.get(&issue.id) {
                Some(old) if *old == snap => continue,
                Some(old) => {
                    let old = old.clone();
                    if !old.same_fields(&snap) {
                        seen.changelog_id += 1;
                        let items = changelog(state, &old, &snap);
                        let kind = event_type(&items);
                        let mut p = issue_event(state, &base, actor, issue, kind);
                        p["webhookEvent"] = json!("jira:issue_updated");
                        p["changelog"] =
                            json!({"id": seen.changelog_id.to_string(), "items": items});
                        out.push(p);
                    }
                    for c in issue.comments.iter().skip(old.comments) {
                        let comment = render::comment(&base, JiraApiVersion::V2, issue.id, c);
                        let mut p = issue_event(state, &base, actor, issue, "issue_commented");
                        p["webhookEvent"] = json!("jira:issue_updated");
                        p["comment"] = comment.clone();
                        out.push(p);
                        out.push(json!({
                            "timestamp": Utc::now().timestamp_millis(),
                            "webhookEvent": "comment_created",
                            "comment": comment,
                            "issue": issue_ref(state, &base, issue),
                        }));
                    }
                }
                None => {
                    let mut p = issue_event(state, &base, actor, issue, "issue_created");
                    p["webhookEvent"] = json!("jira:issue_created");
                    out.push(p);
                }
            }
            seen.issues.insert(issue.id, snap);
        }
        for sprint in state.sprints.values() {
            let event = match seen.sprints.get(&sprint.id) {
                Some(old) if old == sprint => continue,
                None => "sprint_created",
                Some(old) if old.state != sprint.state => match sprint.state {
                    SprintState::Active => "sprint_started",
                    SprintState::Closed => "sprint_closed",
                    SprintState::Future => "sprint_updated",
                },
                Some(_) => "sprint_updated",
            };
            out.push(json!({
                "timestamp": Utc::now().timestamp_millis(),
                "webhookEvent": event,
                "sprint": sprint.json(&base),
            }));
            seen.sprints.insert(sprint.id, sprint.clone());
        }
        drop(seen);
        for payload in out {
            let event = payload["webhookEvent"].as_str().unwrap_or("").to_owned();
            self.enqueue(Outgoing { event, payload });
        }
    }

    fn enqueue(&self, out: Outgoing) {
        // The receiver lives as long as the sandbox; a send error only means shutdown.
        let _ = self.tx.send(out);
        let mut rx = self.rx.lock().unwrap_or_else(PoisonError::into_inner);
        if rx.is_some()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
            && let Some(rx) = rx.take()
        {
            handle.spawn(run(rx, self.shared.clone()));
        }
    }
}

/// `issue_generic` for transitions, `issue_assigned` for assignments, else `issue_updated`
/// (what Jira's default event scheme fires).
fn event_type(items: &[Value]) -> &'static str {
    let only = |field: &str| !items.is_empty() && items.iter().all(|i| i["field"] == field);
    if items.iter().any(|i| i["field"] == "Key") {
        "issue_moved"
    } else if only("status") {
        "issue_generic"
    } else if only("assignee") {
        "issue_assigned"
    } else {
        "issue_updated"
    }
}

/// The issue as webhooks carry it: REST v2 fields (wiki text), sprints as objects (Cloud).
fn issue_json(state: &State, base: &str, issue: &StoredIssue) -> Value {
    let mut v = render::issue(state, base, JiraApiVersion::V2, issue, &FieldSel::All);
    let sprints = render::sprint_field(state, JiraApiVersion::V3, issue);
    v["fields"][SPRINT_FIELD] = sprints;
    if let Some(map) = v.as_object_mut() {
        map.remove("expand");
    }
    v
}

fn issue_ref(state: &State, base: &str, issue: &StoredIssue) -> Value {
    let full = issue_json(state, base, issue);
    json!({
        "id": full["id"], "self": full["self"], "key": full["key"],
        "fields": {
            "summary": full["fields"]["summary"],
            "status": full["fields"]["status"],
            "issuetype": full["fields"]["issuetype"],
            "project": full["fields"]["project"],
        },
    })
}

fn webhook_user(base: &str, actor: &str) -> Value {
    let u = render::user(base, JiraApiVersion::V2, actor);
    json!({
        "self": format!("{base}/rest/api/2/user?accountId={}", account_id(actor)),
        "accountId": u["accountId"],
        "displayName": u["displayName"],
        "name": u["name"],
        "key": u["key"],
        "active": true,
        "timeZone": "UTC",
        "accountType": "atlassian",
    })
}

fn issue_event(state: &State, base: &str, actor: &str, issue: &StoredIssue, kind: &str) -> Value {
    json!({
        "timestamp": Utc::now().timestamp_millis(),
        "webhookEvent": "",
        "issue_event_type_name": kind,
        "user": webhook_user(base, actor),
        "issue": issue_json(state, base, issue),
    })
}

fn item(
    field: &str,
    fieldtype: &str,
    field_id: &str,
    from: (Value, Value),
    to: (Value, Value),
) -> Value {
    json!({
        "field": field, "fieldtype": fieldtype, "fieldId": field_id,
        "from": from.0, "fromString": from.1, "to": to.0, "toString": to.1,
    })
}

fn text(s: &str) -> (Value, Value) {
    (Value::Null, json!(s))
}

fn opt_text(b: Option<&Body>) -> (Value, Value) {
    match b {
        None => (Value::Null, Value::Null),
        Some(b) => (Value::Null, render::body(JiraApiVersion::V2, b)),
    }
}

fn person(name: Option<&String>) -> (Value, Value) {
    match name {
        None => (Value::Null, Value::Null),
        Some(n) => (json!(account_id(n)), json!(display_name(n))),
    }
}

fn sprint_list(state: &State, ids: &[u64]) -> (Value, Value) {
    if ids.is_empty() {
        return (json!(""), json!(""));
    }
    let sprints = state.sprints_of(ids);
    let ids: Vec<String> = sprints.iter().map(|s| s.id.to_string()).collect();
    let names: Vec<&str> = sprints.iter().map(|s| s.name.as_str()).collect();
    (json!(ids.join(", ")), json!(names.join(", ")))
}

/// Changelog items between two snapshots, in Jira's field order.
fn changelog(state: &State, old: &IssueSnap, new: &IssueSnap) -> Vec<Value> {
    let mut items = Vec::new();
    if old.project != new.project {
        let project = |key: &str| {
            state.project(key).map_or((Value::Null, json!(key)), |p| {
                (json!(p.id.to_string()), json!(p.name))
            })
        };
        items.push(item(
            "project",
            "jira",
            "project",
            project(&old.project),
            project(&new.project),
        ));
    }
    if old.key != new.key {
        // Jira's move item: only the strings, no ids (`from`/`to` are null).
        items.push(json!({
            "field": "Key", "fieldtype": "jira",
            "from": null, "fromString": old.key, "to": null, "toString": new.key,
        }));
    }
    if old.summary != new.summary {
        items.push(item(
            "summary",
            "jira",
            "summary",
            text(&old.summary),
            text(&new.summary),
        ));
    }
    if old.description != new.description {
        items.push(item(
            "description",
            "jira",
            "description",
            opt_text(old.description.as_ref()),
            opt_text(new.description.as_ref()),
        ));
    }
    if old.labels != new.labels {
        items.push(item(
            "labels",
            "jira",
            "labels",
            text(&old.labels.join(" ")),
            text(&new.labels.join(" ")),
        ));
    }
    if old.components != new.components {
        items.push(item(
            "Component",
            "jira",
            "components",
            text(&old.components.join(", ")),
            text(&new.components.join(", ")),
        ));
    }
    if old.assignee != new.assignee {
        items.push(item(
            "assignee",
            "jira",
            "assignee",
            person(old.assignee.as_ref()),
            person(new.assignee.as_ref()),
        ));
    }
    if old.status != new.status {
        items.push(item(
            "status",
            "jira",
            "status",
            (json!(old.status.id()), json!(old.status.name())),
            (json!(new.status.id()), json!(new.status.name())),
        ));
    }
    if old.sprints != new.sprints {
        items.push(item(
            "Sprint",
            "custom",
            SPRINT_FIELD,
            sprint_list(state, &old.sprints),
            sprint_list(state, &new.sprints),
        ));
    }
    items
}

async fn run(mut rx: mpsc::UnboundedReceiver<Outgoing>, shared: Arc<Shared>) {
    let client = match crate::crypto::http_client_builder()
        .timeout(DELIVERY_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "sandbox Jira webhook client failed to build; deliveries off");
            return;
        }
    };
    while let Some(out) = rx.recv().await {
        let targets = shared
            .targets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut records = Vec::new();
        if targets.is_empty() {
            let flavour = *shared
                .flavour
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            records.push(record(&out, None, flavour, DeliveryOutcome::NoTarget));
        }
        for target in &targets {
            if shared.drop.load(Ordering::SeqCst) {
                records.push(record(
                    &out,
                    Some(&target.url),
                    target.flavour,
                    DeliveryOutcome::Dropped,
                ));
            } else {
                records.push(deliver(&client, target, &out).await);
            }
        }
        let added = records.len() as u64;
        {
            let mut log = shared.log.lock().unwrap_or_else(PoisonError::into_inner);
            for r in records {
                if log.len() >= LOG_CAPACITY {
                    log.pop_front();
                }
                log.push_back(r);
            }
        }
        shared.logged.send_modify(|n| *n += added);
    }
}

/// A log entry for `out` as a Jira of `flavour` sends it.
fn record(
    out: &Outgoing,
    url: Option<&str>,
    flavour: JiraApiVersion,
    outcome: DeliveryOutcome,
) -> JiraDelivery {
    JiraDelivery {
        id: uuid::Uuid::new_v4().to_string(),
        webhook_event: out.event.clone(),
        url: url.map(str::to_owned),
        outcome,
        attempts: 0,
        status: None,
        payload: hook_people::shape(&out.payload, flavour),
    }
}

/// Statuses Jira retries (besides timeouts and transport errors).
fn retried(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429) || status >= 500
}

async fn deliver(client: &reqwest::Client, target: &Target, out: &Outgoing) -> JiraDelivery {
    let mut rec = record(
        out,
        Some(&target.url),
        target.flavour,
        DeliveryOutcome::Failed,
    );
    let body = serde_json::to_vec(&rec.payload).unwrap_or_default();
    let signature = target
        .secret
        .as_ref()
        .map(|s| sign_prefixed("sha256=", s.expose_secret().as_bytes(), &body));
    let mut wait = FIRST_RETRY_WAIT;
    while rec.attempts < DELIVERY_ATTEMPTS {
        let mut req = client
            .post(&target.url)
            .header("content-type", "application/json; charset=utf-8")
            .header("user-agent", "Atlassian Webhook HTTP Client")
            .header("x-atlassian-webhook-identifier", &rec.id)
            .body(body.clone());
        if rec.attempts > 0 {
            req = req.header("x-atlassian-webhook-retry", rec.attempts.to_string());
        }
        if let Some(sig) = &signature {
            req = req.header("x-hub-signature", sig);
        }
        rec.attempts += 1;
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                rec.status = Some(status);
                if resp.status().is_success() {
                    rec.outcome = DeliveryOutcome::Delivered;
                    return rec;
                }
                if !retried(status) {
                    return rec;
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, delivery = %rec.id, "sandbox Jira webhook attempt failed")
            }
        }
        if rec.attempts < DELIVERY_ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_follow_the_changed_fields() {
        let status = item("status", "jira", "status", text("a"), text("b"));
        let assignee = item("assignee", "jira", "assignee", text("a"), text("b"));
        assert_eq!(event_type(std::slice::from_ref(&status)), "issue_generic");
        assert_eq!(
            event_type(std::slice::from_ref(&assignee)),
            "issue_assigned"
        );
        assert_eq!(event_type(&[status, assignee]), "issue_updated");
        assert!(retried(503) && retried(429) && !retried(400) && !retried(404));
    }

    fn stored(id: u64) -> StoredIssue {
        StoredIssue::sample(id, "Story", &["a"])
    }

    /// `shows` is the snapshot's equality without the copies: true for the issue it was
    /// taken of, false after a change of any field a snapshot holds.
    #[test]
    fn a_snapshot_shows_its_issue_until_a_field_changes() {
        let base = stored(1);
        let snap = IssueSnap::of(&base);
        assert!(snap.shows(&base));
        let changes: Vec<fn(&mut StoredIssue)> = vec![
            |i| i.status = crate::sandbox::jira::state::Status::Done,
            |i| i.assignee = Some("bob".into()),
            |i| i.summary = "t".into(),
            |i| i.description = Some(crate::sandbox::jira::state::Body::Wiki("d".into())),
            |i| i.labels.push("b".into()),
            |i| i.components.push("c".into()),
            |i| i.sprints.push(3),
            |i| {
                i.comments.push(crate::sandbox::jira::state::StoredComment {
                    id: 1,
                    author: "a".into(),
                    body: crate::sandbox::jira::state::Body::Wiki("c".into()),
                    created: Utc::now(),
                })
            },
            |i| i.key = "Q-1".into(),
            |i| i.project = "Q".into(),
        ];
        for (n, change) in changes.into_iter().enumerate() {
            let mut changed = base.clone();
            change(&mut changed);
            assert!(!snap.shows(&changed), "change {n}");
            assert!(IssueSnap::of(&changed) != snap, "change {n}");
        }
    }

    /// The events queued so far (no runtime runs the delivery task in a plain test), with
    /// their `timestamp` taken out so that two runs compare equal.
    fn queued(hooks: &Hooks) -> Vec<Value> {
        let mut rx = hooks.rx.lock().unwrap_or_else(PoisonError::into_inner);
        let rx = rx.as_mut().expect("no delivery task in a plain test");
        let mut out = Vec::new();
        while let Ok(mut o) = rx.try_recv() {
            if let Some(m) = o.payload.as_object_mut() {
                m.remove("timestamp");
            }
            out.push(o.payload);
        }
        out
    }

    /// #13: a write is diffed by the positions it wrote through, not by comparing every
    /// issue: an issue changed but not written through (here: a position not passed) makes
    /// no event, and the events of a series of writes are exactly those that comparing every
    /// issue after each write made.
    #[test]
    fn a_write_diffs_only_the_issues_it_touched_and_events_are_unchanged() {
        use crate::sandbox::jira::state::{Status, StoredComment};
        let mut state = State::default();
        state.add_project("P", "P", &[]);
        state.add_project("Q", "Q", &[]);
        for id in 1..=40 {
            state.issues.push(stored(id));
        }
        let every = |s: &State| (0..s.issues.len()).collect::<Vec<usize>>();
        let (by_touch, by_all) = (Hooks::default(), Hooks::default());
        let created = state.issues.take_touched();
        assert_eq!(created, every(&state));
        by_touch.observe(&state, &created, "alice");
        by_all.observe(&state, &every(&state), "alice");
        let writes: Vec<fn(&mut StoredIssue)> = vec![
            |i| i.status = Status::InProgress,
            |i| i.assignee = Some("bob".into()),
            |i| i.labels.push("b".into()),
            |i| {
                i.comments.push(StoredComment {
                    id: 9,
                    author: "bob".into(),
                    body: Body::Wiki("c".into()),
                    created: Utc::now(),
                })
            },
            |i| {
                i.key = "Q-1".into();
                i.project = "Q".into();
            },
            |i| i.summary = "s".into(), // unchanged: no event
        ];
        for (n, write) in writes.iter().enumerate() {
            let at = (n * 7) % 40;
            write(&mut state.issues[at]);
            let touched = state.issues.take_touched();
            assert_eq!(touched, vec![at], "one write, one position");
            by_touch.observe(&state, &touched, "alice");
            by_all.observe(&state, &every(&state), "alice");
        }
        // A new issue with a write to another in the same lock: both, in creation order.
        state.issues.push(stored(41));
        state.issues[3].status = Status::Done;
        let touched = state.issues.take_touched();
        assert_eq!(touched, vec![3, 40]);
        by_touch.observe(&state, &touched, "alice");
        by_all.observe(&state, &every(&state), "alice");
        let (a, b) = (queued(&by_touch), queued(&by_all));
        // 40 created, 5 updates (the comment makes an update and a comment_created), 1 more
        // created and 1 more update.
        assert_eq!(a.len(), 40 + 6 + 2, "{:#?}", &a[40..]);
        assert_eq!(a, b, "the same events as comparing every issue");
        // Only what is passed is compared: issue 10 changed, only 20 is passed.
        state.issues[10].summary = "changed, not passed".into();
        state.issues[20].summary = "changed and passed".into();
        state.issues.take_touched();
        by_touch.observe(&state, &[20], "alice");
        let a = queued(&by_touch);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0]["issue"]["id"], json!("21"), "{:#}", a[0]);
    }
}
