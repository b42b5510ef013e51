//! Webhook deliveries from the sandbox's GitHub half, the way GitHub sends them.
//!
//! Every change is queued (in the order the changes happened, under the state lock) to one
//! background task per sandbox, which POSTs them one at a time: so the receiver sees them in
//! order, as it would from GitHub for one repository. Each delivery is signed with
//! HMAC-SHA256 over the exact body, retried a few times on failure, and logged. A switch
//! drops deliveries on purpose, to test that polling repairs what webhooks missed.
//!
//! Like GitHub, a repository can have its own hook (`POST /_sandbox/github/repos/{o}/{r}/hooks`):
//! its deliveries then go to that target instead of the global one. That lets several daemons
//! (one per test, each watching its own repository) share one sandbox and the API proxies in
//! front of it.
//!
//! An organisation's hooks (`POST /orgs/{org}/hooks`, as `setup` registers on GitHub
//! Projects) get the events they subscribe to of every repository the organisation owns and
//! of its projects (`projects_v2_item` goes to organisation hooks and Apps only), as well as
//! the repository's own hook when it has one: GitHub sends one delivery, with its own
//! `X-GitHub-Delivery`, to each hook that subscribes.
//! <https://docs.github.com/en/webhooks/types-of-webhooks>

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

/// Attempts per delivery, the first included (GitHub itself does not retry; the sandbox
/// retries a little so a receiver that is still starting does not lose the first events).
const DELIVERY_ATTEMPTS: u32 = 4;
/// First wait between attempts; doubles each time (100, 200, 400 ms).
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(100);
/// Per-attempt timeout: GitHub gives up on a receiver after 10 s.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many deliveries the log keeps (oldest dropped first). Large enough for a whole CI
/// run against one shared sandbox (the contract step validates every payload of the run; a
/// run makes a few hundred), small enough that a long-lived sandbox stays within tens of MB.
/// Records carry a sequence number, so a reader can tell when the oldest were dropped.
pub const LOG_CAPACITY: usize = 5000;
/// `X-GitHub-Hook-ID` of the global target; repository hooks get ids from 2 on.
const GLOBAL_HOOK_ID: u64 = 1;

/// `sha256=<hex>`: the `X-Hub-Signature-256` value for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One event waiting to be delivered.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `X-GitHub-Event`, e.g. `issues`.
    pub event: &'static str,
    /// The payload's `action`, for the log.
    pub action: String,
    /// The whole payload.
    pub payload: Value,
    /// `owner/name` (lower case) of the repository the event is about: picks its hook.
    pub repository: Option<String>,
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed (transport error or non-2xx).
    Failed,
    /// Dropped on purpose (the drop switch was on).
    Dropped,
    /// No webhook URL configured.
    NoTarget,
}

/// One entry of the delivery log (`GET /_sandbox/deliveries`).
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    /// 1, 2, 3, … in queue order over the sandbox's life; the log starts above 1 once it has
    /// dropped its oldest entries.
    pub seq: u64,
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `X-GitHub-Event`.
    pub event: &'static str,
    /// The payload's action.
    pub action: String,
    /// The repository (`owner/name`, lower case) the event is about.
    pub repository: Option<String>,
    /// `X-GitHub-Hook-ID` of the target it went to (none when there was no target).
    pub hook_id: Option<u64>,
    /// What happened.
    pub outcome: DeliveryOutcome,
    /// Attempts made.
    pub attempts: u32,
    /// Status of the last answer, if any.
    pub status: Option<u16>,
    /// The payload sent.
    pub payload: Value,
}

/// Where deliveries go.
#[derive(Debug, Default, Clone)]
struct Target {
    url: Option<String>,
    secret: Option<SecretString>,
}

/// An organisation hook as deliveries see it.
#[derive(Debug, Clone)]
pub struct OrgHook {
    /// `X-GitHub-Hook-ID`.
    pub id: u64,
    /// Payload URL.
    pub url: String,
    /// Secret the deliveries are signed with.
    pub secret: Option<SecretString>,
    /// The events it subscribes to (`*`: every event).
    pub events: Vec<String>,
}

/// The global target, the repositories' own hooks and the organisations' hooks.
#[derive(Debug, Default)]
struct Targets {
    global: Target,
    /// By `owner/name` in lower case (GitHub's names are case-insensitive): hook id, target.
    repos: HashMap<String, (u64, Target)>,
    /// By organisation login in lower case: its active JSON hooks.
    orgs: HashMap<String, Vec<OrgHook>>,
    /// Last hook id handed out (the global one is `GLOBAL_HOOK_ID`).
    last_hook_id: u64,
}

impl Targets {
    /// The hooks a delivery of `event` about `repo` (owned by `org`) goes to: the
    /// repository's own and each organisation hook subscribed to the event, else the
    /// global one.
    fn pick(&self, event: &str, repo: Option<&str>, org: Option<&str>) -> Vec<(u64, Target)> {
        let mut out: Vec<(u64, Target)> = repo
            .and_then(|r| self.repos.get(r))
            .cloned()
            .into_iter()
            .collect();
        let org_hooks = org.and_then(|o| self.orgs.get(&o.to_ascii_lowercase()));
        for h in org_hooks.into_iter().flatten() {
            if h.events.iter().any(|e| e == event || e == "*") {
                let target = Target {
                    url: Some(h.url.clone()),
                    secret: h.secret.clone(),
                };
                out.push((h.id, target));
            }
        }
        if out.is_empty() {
            out.push((GLOBAL_HOOK_ID, self.global.clone()));
        }
        out
    }
}

/// The organisation a delivery belongs to: the repository's owner, else the payload's
/// `organization` (a `projects_v2_item` names no repository).
fn org_of(out: &Outgoing) -> Option<String> {
    match &out.repository {
        Some(r) => r.split_once('/').map(|(o, _)| o.to_owned()),
        None => out.payload["organization"]["login"]
            .as_str()
            .map(str::to_owned),
    }
}

#[derive(Debug, Default)]
struct Shared {
    targets: RwLock<Targets>,
    drop: AtomicBool,
    log: Mutex<VecDeque<DeliveryRecord>>,
}

/// The sending side of the delivery queue, its settings and its log.
#[derive(Debug, Clone)]
pub struct Deliveries {
    tx: mpsc::UnboundedSender<Outgoing>,
    shared: Arc<Shared>,
}

impl Deliveries {
    /// Starts the delivery task; it ends when every `Deliveries` clone is dropped.
    pub fn start(
        url: Option<String>,
        secret: Option<SecretString>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let shared = Arc::new(Shared::default());
        if let Ok(mut t) = shared.targets.write() {
            t.global = Target { url, secret };
            t.last_hook_id = GLOBAL_HOOK_ID;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(rx, shared.clone()));
        (Self { tx, shared }, task)
    }

    /// Queues one delivery (called under the state lock, so the order is the change order).
    pub fn enqueue(&self, out: Outgoing) {
        // The task only stops when the sandbox shuts down; a lost event then is fine.
        let _ = self.tx.send(out);
    }

    /// Sets where deliveries go from now on (those of repositories without their own hook).
    pub fn set_target(&self, url: Option<String>, secret: Option<SecretString>) {
        if let Ok(mut t) = self.shared.targets.write() {
            t.global = Target { url, secret };
        }
    }

    /// Sets the hook of repository `owner/name`: its deliveries go to `url` from now on,
    /// signed with `secret`. `url: None` removes the hook (back to the global target).
    /// Returns the hook's id (`X-GitHub-Hook-ID`), kept when the hook is replaced.
    pub fn set_repo_target(
        &self,
        full_name: &str,
        url: Option<String>,
        secret: Option<SecretString>,
    ) -> Option<u64> {
        let key = full_name.to_ascii_lowercase();
        let Ok(mut t) = self.shared.targets.write() else {
            return None;
        };
        if url.is_none() {
            t.repos.remove(&key);
            return None;
        }
        let id = match t.repos.get(&key) {
            Some((id, _)) => *id,
            None => {
                t.last_hook_id += 1;
                t.last_hook_id
            }
        };
        t.repos.insert(key, (id, Target { url, secret }));
        Some(id)
    }

    /// Sets the hooks of organisation `org` (its active hooks with JSON payloads), replacing
    /// what it had; an empty list removes them.
    pub fn set_org_hooks(&self, org: &str, hooks: Vec<OrgHook>) {
        if let Ok(mut t) = self.shared.targets.write() {
            if hooks.is_empty() {
                t.orgs.remove(&org.to_ascii_lowercase());
            } else {
                t.orgs.insert(org.to_ascii_lowercase(), hooks);
            }
        }
    }

    /// Turns dropping deliveries on purpose on or off.
    pub fn set_drop(&self, drop: bool) {
        self.shared.drop.store(drop, Ordering::SeqCst);
    }

    /// The delivery log, oldest first.
    pub fn log(&self) -> Vec<DeliveryRecord> {
        self.shared
            .log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Outgoing>, shared: Arc<Shared>) {
    let client = match crate::crypto::http_client_builder()
        .timeout(DELIVERY_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "sandbox webhook client failed to build; deliveries off");
            return;
        }
    };
    let mut seq = 0;
    while let Some(out) = rx.recv().await {
        let org = org_of(&out);
        let targets = match shared.targets.read() {
            Ok(t) => t.pick(out.event, out.repository.as_deref(), org.as_deref()),
            Err(_) => continue,
        };
        for (hook_id, target) in targets {
            seq += 1;
            let record = deliver(&client, &shared, seq, out.clone(), hook_id, target).await;
            if let Ok(mut log) = shared.log.lock() {
                if log.len() >= LOG_CAPACITY {
                    log.pop_front();
                }
                log.push_back(record);
            }
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    shared: &Shared,
    seq: u64,
    out: Outgoing,
    hook_id: u64,
    target: Target,
) -> DeliveryRecord {
    let id = uuid::Uuid::new_v4().to_string();
    let mut record = DeliveryRecord {
        seq,
        id: id.clone(),
        event: out.event,
        action: out.action,
        repository: out.repository,
        hook_id: None,
        outcome: DeliveryOutcome::NoTarget,
        attempts: 0,
        status: None,
        payload: out.payload,
    };
    if shared.drop.load(Ordering::SeqCst) {
        record.outcome = DeliveryOutcome::Dropped;
        return record;
    }
    let Some(url) = target.url.clone() else {
        return record;
    };
    let body = serde_json::to_vec(&record.payload).unwrap_or_default();
    let signature = target
        .secret
        .as_ref()
        .map(|s| sign(s.expose_secret().as_bytes(), &body));
    record.hook_id = Some(hook_id);
    let hook_header = hook_id.to_string();
    let mut wait = FIRST_RETRY_WAIT;
    record.outcome = DeliveryOutcome::Failed;
    while record.attempts < DELIVERY_ATTEMPTS {
        record.attempts += 1;
        let mut req = client
            .post(&url)
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/sandbox")
            .header("x-github-event", record.event)
            .header("x-github-delivery", &id)
            .header("x-github-hook-id", &hook_header)
            .body(body.clone());
        if let Some(sig) = &signature {
            req = req.header("x-hub-signature-256", sig);
        }
        match req.send().await {
            Ok(resp) => {
                record.status = Some(resp.status().as_u16());
                if resp.status().is_success() {
                    record.outcome = DeliveryOutcome::Delivered;
                    return record;
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, delivery = %id, "sandbox webhook attempt failed")
            }
        }
        if record.attempts < DELIVERY_ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_github() {
        // The example from GitHub's "Validating webhook deliveries" documentation.
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
