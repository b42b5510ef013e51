//! The GitHub half of the sandbox: state, REST routes, and the control routes that act as
//! people. One `Mutex` guards the whole state: requests are tiny and the sandbox is a test
//! and demo tool, so one lock keeps every change and its webhook deliveries in one order.

pub mod admin;
pub mod app;
pub mod control;
pub mod events;
pub mod http;
pub mod milestones;
pub mod model;
pub mod ops;
pub mod orgs;
pub mod projects;
pub mod render;
pub mod rest;

use std::sync::{Mutex, MutexGuard};

use self::http::{ApiError, RateCounter};
use self::model::World;
use self::ops::Tx;
use super::feed::ChangeFeed;
use super::webhooks::Deliveries;

/// The login `GET /user` answers for the daemon's token.
pub const BOT_LOGIN: &str = "council-sync-bot";

/// The GitHub half's state and what it talks to.
#[derive(Debug)]
pub struct GithubHub {
    world: Mutex<World>,
    /// Webhook deliveries of changes.
    pub deliveries: Deliveries,
    /// Bumped on every change.
    pub feed: ChangeFeed,
    /// When set, the only token REST accepts; any token otherwise.
    pub bot_token: Option<String>,
    /// Shown in `x-ratelimit-*`.
    pub rate: RateCounter,
    /// Repository hooks, file contents and the token's scopes.
    pub admin: admin::RepoAdmin,
    /// The GitHub App and its installation tokens.
    pub app: app::AppState,
}

impl GithubHub {
    /// A hub over `world`.
    pub fn new(
        world: World,
        deliveries: Deliveries,
        feed: ChangeFeed,
        bot_token: Option<String>,
    ) -> Self {
        Self {
            world: Mutex::new(world),
            deliveries,
            feed,
            bot_token,
            rate: RateCounter::default(),
            admin: admin::RepoAdmin::default(),
            app: app::AppState::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic inside a handler cannot leave the world half-written in a way that matters
        // to a test sandbox; keep serving.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the state; queues the change's deliveries (in order, under the lock) and
    /// bumps the change feed. Deliveries of the part done before an error still go out.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut world = self.lock();
        let mut tx = Tx::new(&mut world);
        let result = f(&mut tx);
        let changed = tx.changed;
        for out in std::mem::take(&mut tx.out) {
            self.deliveries.enqueue(out);
        }
        drop(world);
        if changed {
            self.feed.bump();
        }
        result
    }

    /// The whole GitHub state as JSON, to save it (`[sandbox] state_dir`).
    pub fn snapshot(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(&*self.lock())
    }

    /// The sandbox's base URL.
    pub fn base_url(&self) -> String {
        self.read(|w| w.base_url.clone())
    }
}
