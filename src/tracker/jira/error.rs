//! Errors of the Jira client, classified for retrying and turned into [`TrackerError`]s.

use std::time::SystemTime;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::model::ErrorCollection;
use crate::retry::{RetryHint, Retryable, classify};
use crate::tracker::TrackerError;

/// Why a Jira call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JiraError {
    /// The request never got an HTTP answer (connect, timeout, reset).
    #[error("jira {call}: transport error: {reason}")]
    Transport {
        /// Which call, e.g. `POST /issue`.
        call: String,
        /// What went wrong: the URL and the whole cause (`tcp connect error: Connection
        /// refused`, `dns error: …`).
        reason: String,
        /// The host was not reached at all (refused, or its name did not resolve).
        unreachable: bool,
    },
    /// Jira answered with an error status.
    #[error("jira {call}: HTTP {status}: {reason}")]
    Status {
        /// Which call.
        call: String,
        /// HTTP status code.
        status: u16,
        /// Jira's `errorMessages`/`errors` in one line, or the raw body.
        reason: String,
        /// Whether and when to retry, from the status and headers.
        hint: RetryHint,
    },
    /// A success answer we could not read.
    #[error("jira {call}: unreadable response: {reason}")]
    Decode {
        /// Which call.
        call: String,
        /// Parser message.
        reason: String,
    },
    /// The client was given something it cannot use (bad base URL, bad credentials).
    #[error("jira client misconfigured: {0}")]
    Config(String),
    /// Not Jira's doing, and worth trying again shortly: the daemon's own store failed, or
    /// another worker is creating the same issue this moment (see `attempts`).
    #[error("jira {call}: deferred: {reason}")]
    Deferred {
        /// Which step.
        call: String,
        /// Why.
        reason: String,
    },
    /// Jira answered, but not what the protocol promises (e.g. paging that never ends).
    #[error("jira {call}: {reason}")]
    Protocol {
        /// Which call.
        call: String,
        /// What was wrong.
        reason: String,
    },
}

impl JiraError {
    /// Builds a status error from the response parts; the body is read as Jira's error shape.
    pub(crate) fn from_response(
        call: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Self {
        Self::Status {
            call: call.to_owned(),
            status: status.as_u16(),
            reason: error_reason(body),
            hint: classify(status, headers, SystemTime::now()),
        }
    }

    /// HTTP status, when Jira answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Jira's `{errorMessages, errors}` as one readable line; the raw body (shortened) otherwise.
pub fn error_reason(body: &str) -> String {
    match serde_json::from_str::<ErrorCollection>(body) {
        Ok(errors) if !errors.is_empty() => errors.reason(),
        _ => {
            let trimmed = body.trim();
            if trimmed.is_empty() {
                "(empty body)".to_owned()
            } else {
                trimmed.chars().take(300).collect()
            }
        }
    }
}

impl Retryable for JiraError {
    fn retry_hint(&self) -> RetryHint {
        match self {
            Self::Transport { .. } | Self::Deferred { .. } => RetryHint::Backoff,
            Self::Status { hint, .. } => *hint,
            Self::Decode { .. } | Self::Config(_) | Self::Protocol { .. } => RetryHint::Never,
        }
    }

    fn unreachable(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                unreachable: true,
                ..
            }
        )
    }
}

impl From<JiraError> for TrackerError {
    fn from(err: JiraError) -> Self {
        match err.retry_hint() {
            RetryHint::Never => TrackerError::Permanent {
                status: err.status(),
                reason: err.to_string(),
            },
            RetryHint::Backoff | RetryHint::After(_) => TrackerError::Transient(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_reads_jira_error_shape_or_raw_body() {
        assert_eq!(
            error_reason(
                r#"{"errorMessages":[],"errors":{"summary":"You must specify a summary of the issue."}}"#
            ),
            "summary: You must specify a summary of the issue."
        );
        assert_eq!(
            error_reason("<html>Bad gateway</html>"),
            "<html>Bad gateway</html>"
        );
        assert_eq!(error_reason(""), "(empty body)");
    }

    #[test]
    fn maps_to_tracker_errors_by_retry_hint() {
        let headers = HeaderMap::new();
        let bad = JiraError::from_response("POST /issue", StatusCode::BAD_REQUEST, &headers, "{}");
        assert!(matches!(
            TrackerError::from(bad),
            TrackerError::Permanent {
                status: Some(400),
                ..
            }
        ));
        let busy =
            JiraError::from_response("GET /x", StatusCode::SERVICE_UNAVAILABLE, &headers, "");
        assert_eq!(busy.retry_hint(), RetryHint::Backoff);
        assert!(matches!(
            TrackerError::from(busy),
            TrackerError::Transient(_)
        ));
        let transport = JiraError::Transport {
            call: "GET /x".into(),
            reason: "reset".into(),
            unreachable: false,
        };
        assert!(matches!(
            TrackerError::from(transport),
            TrackerError::Transient(_)
        ));
    }
}
