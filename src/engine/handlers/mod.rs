//! One handler per kind of work, each a function over [`Ctx`](super::context::Ctx) and its
//! job's data (the way rust-lang/bors splits `src/bors/handlers/`). The inbox dispatches
//! deliveries to the `*_event` handlers, the outbox each [`Job`](super::Job) to its own.

pub(crate) mod comment_event;
pub(crate) mod decide;
pub(crate) mod follow_issue;
pub(crate) mod issue_writes;
pub(crate) mod issues_event;
pub(crate) mod materialize;
pub(crate) mod results;
pub(crate) mod sync_from_tracker;
pub(crate) mod tracker_event;
pub(crate) mod tracking;
pub(crate) mod transfer;
