//! Jira as a tracker: Cloud (REST v3, ADF bodies, basic auth) and Data Center (REST v2, wiki
//! markup, bearer PAT).
//!
//! [`client::JiraClient`] is our own small typed client (the published crates either only read
//! or drag in a second HTTP stack); [`tracker::JiraTracker`] implements
//! [`crate::tracker::Tracker`] on top of it. Creates are never retried blindly: the tracker
//! searches for the marker label first, so a lost response cannot produce a second epic.

pub mod attempts;
pub mod auth;
pub mod client;
pub mod cues;
pub mod error;
pub mod jql;
pub mod model;
pub mod progress;
pub mod sync;
pub mod tracker;
pub mod webhook;

// Driven against the sandbox's Jira over HTTP, so only in builds that have it.
#[cfg(all(test, feature = "sandbox"))]
mod e2e_tests;
#[cfg(all(test, feature = "sandbox"))]
mod sync_e2e_tests;

pub use auth::JiraCredentials;
pub use client::JiraClient;
pub use error::JiraError;
pub use tracker::JiraTracker;
