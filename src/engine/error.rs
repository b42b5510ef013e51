use crate::github::client::GithubError;
use crate::retry::{RetryHint, Retryable};
use crate::store::StoreError;
use crate::tracker::TrackerError;

/// Why handling a delivery or running a job failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("GitHub: {0}")]
    Github(#[from] GithubError),
    #[error("{0}")]
    Tracker(#[from] TrackerError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The stored delivery or job cannot be read; retrying will not change that.
    #[error("cannot decode {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    /// The concern cannot be carried out as it stands (e.g. a team with no tracker project).
    #[error("{0}")]
    Invalid(String),
}

impl EngineError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Github(e) => e.retry_hint() != RetryHint::Never,
            EngineError::Tracker(TrackerError::Transient(_)) => true,
            EngineError::Tracker(TrackerError::Permanent { .. }) => false,
            EngineError::Store(_) => true,
            EngineError::Decode { .. } | EngineError::Invalid(_) => false,
        }
    }
}
