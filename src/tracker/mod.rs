//! Trackers where epics and stories live. The engine only talks to them through [`Tracker`].

pub mod jira;
