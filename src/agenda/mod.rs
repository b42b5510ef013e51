//! The agenda of the council's next session (`council-sync agenda`, and the agenda issue the
//! daemon keeps up to date before each session).
//!
//! * [`cadence`]: when sessions are (`[agenda]` first_session + every, in an IANA zone);
//! * [`model`]: what goes on the agenda, from the store's snapshot (pure);
//! * [`render`]: Markdown and JSON;
//! * [`gather`]: reads the store and GitHub;
//! * [`post`]: one issue per session, found by its marker, edited until the session starts.

pub mod cadence;
pub mod gather;
pub mod model;
pub mod post;
pub mod render;
pub mod schedule;

#[cfg(test)]
mod tests;

pub use cadence::{Cadence, CadenceError, Session};
pub use gather::gather;
pub use model::{Agenda, AgendaInput, build};
pub use post::{Posted, post};

/// Why the agenda could not be made or posted.
#[derive(Debug, thiserror::Error)]
pub enum AgendaError {
    /// `[agenda]` does not give a usable cadence.
    #[error(transparent)]
    Cadence(#[from] CadenceError),
    /// The store could not be read.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// GitHub refused or failed a call.
    #[error("GitHub: {0}")]
    Github(#[from] crate::github::client::GithubError),
    /// The session has started: its issue is the record and is no longer edited.
    #[error("the session starting {0} has started; its agenda issue is left as the record")]
    SessionStarted(jiff::Timestamp),
}
