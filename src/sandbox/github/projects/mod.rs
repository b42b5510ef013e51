//! Projects v2, sub-issues and issue types in the sandbox's GitHub half: `POST /graphql`
//! (validated against GitHub's schema), the sub-issues REST routes, the organisation's
//! issue types, and control routes that act as a team member on a project.

pub mod control;
pub mod graphql;
pub mod model;
pub mod ops;
pub mod rest;
