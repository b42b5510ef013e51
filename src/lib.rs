//! council-sync: bridges an SRE council's GitHub concerns into Jira epics and team stories.
//!
//! The domain (`concern`, `council`) is pure; I/O lives at the edges (`github`, `tracker`,
//! `store`, `server`); `engine` runs inbox → decide → outbox → trackers. `sandbox` is a
//! stateful stand-in for GitHub and Jira used by the demo and the tests; it and the demo
//! sit behind the default `sandbox` feature, and nothing else imports them.

pub mod agenda;
pub mod board;
pub mod concern;
pub mod config;
pub mod council;
pub mod crypto;
pub mod daemon;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod doctor;
pub mod engine;
pub mod github;
pub mod health;
pub mod markup;
pub mod metrics;
pub mod retry;
pub mod roadmap;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;
pub mod setup;
pub mod store;
pub mod tracker;
