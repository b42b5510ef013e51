//! The council's state machine: pure decisions, no I/O.
//!
//! The engine gathers what is true now (the stage it recorded, the labels on the issue as
//! re-read from GitHub, the criteria result, whether the actor is on the council) and asks
//! [`decide`] what should happen. The answer is a new stage and a list of [`Action`]s that the
//! engine carries out through the outbox. Keeping this pure is what lets every transition be
//! table-tested.

mod decide;
pub mod labels;
pub mod route;
mod stage;
pub mod sync;
pub mod tracking;
mod transition;

pub use decide::{
    Action, CloseReason, Decision, DecisionKind, Reply, Rules, Snapshot, Trigger, decide,
};
pub use labels::{LabelSet, same_label};
pub use route::{RouteInput, route};
pub use stage::{Stage, UnknownStage};
pub use transition::{Cause, may_move};
