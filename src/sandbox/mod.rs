//! A stateful stand-in for GitHub and Jira on loopback.

pub mod jira;
