//! The GitHub client's error, which knows whether retrying can help.

use crate::retry::{RetryHint, Retryable};

/// A failed GitHub call.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// GitHub answered with an error status.
    #[error("GitHub {method} {path}: HTTP {status}: {message}")]
    Status {
        /// Request method.
        method: String,
        /// Request path.
        path: String,
        /// Response status.
        status: u16,
        /// GitHub's `message` (or the raw body).
        message: String,
        /// From `crate::retry::classify` over status and headers (`Retry-After`, rate limit).
        hint: RetryHint,
    },
    /// The request did not get an answer (connection refused, reset, timeout). The message
    /// names the host and the whole cause (`tcp connect error: Connection refused`, `dns
    /// error: failed to lookup address`), not only octocrab's outer words.
    #[error("GitHub {method} {path} at {host}: {}", crate::retry::error_chain(source.as_ref()))]
    Transport {
        /// Request method.
        method: String,
        /// The host the call went to (`api.github.com`).
        host: String,
        /// Request path.
        path: String,
        /// Whether the failure is transient (network) rather than a local bug (bad URI).
        transient: bool,
        /// The underlying error.
        #[source]
        source: Box<octocrab::Error>,
    },
    /// The answer was not the JSON we expected.
    #[error("GitHub {path}: unexpected response body: {source}")]
    Decode {
        /// Request path.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// GitHub answered a GraphQL document with `errors` (HTTP 200, as GraphQL does).
    #[error("GitHub GraphQL {operation}: {message}")]
    GraphQl {
        /// The operation's name.
        operation: String,
        /// The errors' messages, joined.
        message: String,
        /// The errors' `type`s (`NOT_FOUND`, `FORBIDDEN`, `RATE_LIMITED`, …), when given.
        kinds: Vec<String>,
    },
    /// The client could not be built (bad API URL).
    #[error("GitHub client: {0}")]
    Setup(String),
    /// An argument cannot be sent (e.g. a repository not written `owner/name`).
    #[error("GitHub client: {0}")]
    Invalid(String),
}

impl GithubError {
    /// The HTTP status GitHub answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether GitHub said 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

impl Retryable for GithubError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Status { hint, .. } => *hint,
            Self::Transport {
                transient: true, ..
            } => RetryHint::Backoff,
            // GitHub's GraphQL API reports a spent limit as an error of type RATE_LIMITED.
            Self::GraphQl { kinds, .. } if kinds.iter().any(|k| k == "RATE_LIMITED") => {
                RetryHint::Backoff
            }
            _ => RetryHint::Never,
        }
    }

    fn unreachable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => crate::retry::is_unreachable(source.as_ref()),
            _ => false,
        }
    }
}
