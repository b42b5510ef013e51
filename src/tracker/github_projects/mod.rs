//! GitHub Projects (v2) as the tracker: the concern issue is the epic, each team's story is
//! a sub-issue in the team's repository, and the project's Status, Team and Iteration
//! fields carry progress, ownership and the sprint.

pub mod batch;
pub mod cues;
pub mod documents;
pub mod model;
pub mod settings;
pub mod tracker;

#[cfg(test)]
mod e2e_tests;

pub use self::settings::GithubProjectsSettings;
pub use self::tracker::{GithubProjectsTracker, MAX_SUB_ISSUES};
