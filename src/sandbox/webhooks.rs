//! Webhook deliveries from the sandbox's GitHub half, the way GitHub sends them.
//!
//! Every change is queued (in the order the changes happened, under the state lock) to one
//! background task per sandbox, which POSTs them one at a time: so the receiver sees them in
//! order, as it would from GitHub for one repository. Each delivery is signed with
//! HMAC-SHA256 over the exact body, retried a few times on failure, and logged. A switch
//! drops deliveries on purpose, to test that polling repairs what webhooks missed.

use std::collections::VecDeque;
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
/// How many deliveries the log keeps (oldest dropped first), so a long demo stays small.
const LOG_CAPACITY: usize = 1000;

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
    /// `X-GitHub-Delivery`.
    pub id: String,
    /// `X-GitHub-Event`.
    pub event: &'static str,
    /// The payload's action.
    pub action: String,
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
#[derive(Debug, Default)]
struct Target {
    url: Option<String>,
    secret: Option<SecretString>,
}

#[derive(Debug, Default)]
struct Shared {
    target: RwLock<Target>,
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
        if let Ok(mut t) = shared.target.write() {
            *t = Target { url, secret };
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

    /// Sets where deliveries go from now on.
    pub fn set_target(&self, url: Option<String>, secret: Option<SecretString>) {
        if let Ok(mut t) = self.shared.target.write() {
            *t = Target { url, secret };
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
    let client = match reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).build() {
        Ok(c) => c,
        Err(err) => {
            tracing::error!(error = %err, "sandbox webhook client failed to build; deliveries off");
            return;
        }
    };
    while let Some(out) = rx.recv().await {
        let record = deliver(&client, &shared, out).await;
        if let Ok(mut log) = shared.log.lock() {
            if log.len() >= LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(record);
        }
    }
}

async fn deliver(client: &reqwest::Client, shared: &Shared, out: Outgoing) -> DeliveryRecord {
    let id = uuid::Uuid::new_v4().to_string();
    let mut record = DeliveryRecord {
        id: id.clone(),
        event: out.event,
        action: out.action,
        outcome: DeliveryOutcome::NoTarget,
        attempts: 0,
        status: None,
        payload: out.payload,
    };
    if shared.drop.load(Ordering::SeqCst) {
        record.outcome = DeliveryOutcome::Dropped;
        return record;
    }
    let (url, signature, body) = {
        let Ok(target) = shared.target.read() else {
            return record;
        };
        let Some(url) = target.url.clone() else {
            return record;
        };
        let body = serde_json::to_vec(&record.payload).unwrap_or_default();
        let signature = target
            .secret
            .as_ref()
            .map(|s| sign(s.expose_secret().as_bytes(), &body));
        (url, signature, body)
    };
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
            .header("x-github-hook-id", "1")
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
