//! GitHub Projects (v2) as the tracker: the concern issue is the epic, each team's story is
//! a sub-issue in the team's repository, and the project's Status, Team and Iteration
//! fields carry progress, ownership and the sprint.

pub mod documents;
