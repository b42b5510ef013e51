//! The outbox's job vocabulary: every external write the engine makes, as data.
//!
//! A job is stored (with an idempotency key) in the same transaction that records the
//! decision behind it, and executed afterwards, so a crash between deciding and doing never
//! loses the write, and a redelivered webhook never repeats it.

use serde::{Deserialize, Serialize};

use super::EngineError;
use crate::store::QueuedWrite;

/// One external write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Add and remove labels on the issue (both idempotent on GitHub's side).
    Labels {
        repo: String,
        number: u64,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Post a reply comment, unless a comment with its marker already exists.
    Reply {
        repo: String,
        number: u64,
        marker_key: String,
        body: String,
    },
    /// Close the issue as not planned.
    CloseNotPlanned { repo: String, number: u64 },
    /// Create or edit the tracking comment from the stored state.
    Tracking { repo: String, number: u64 },
    /// Make sure the epic exists (and with `stories`, the team stories).
    Materialize {
        repo: String,
        number: u64,
        stories: bool,
    },
    /// Re-read the epic and stories and make GitHub show what they say.
    SyncFromTracker { repo: String, number: u64 },
    /// Carry a change made on the GitHub issue over to the tracker.
    FollowIssue {
        repo: String,
        number: u64,
        change: IssueChange,
    },
    /// Record before/after results and copy them to the epic.
    RecordResults {
        repo: String,
        number: u64,
        text: String,
        by: String,
    },
    /// Compare both sides of one concern and repair whatever drifted.
    Reconcile { repo: String, number: u64 },
    /// After a transfer from `from_repo#from_number`: point the epic's link back to GitHub
    /// at the issue's new address (`repo#number`).
    Relink {
        repo: String,
        number: u64,
        from_repo: String,
        from_number: u64,
    },
    /// Comment the presented results on the epic. Queued once per concern and text (the
    /// key), however many `RecordResults` runs found them.
    CopyResults {
        repo: String,
        number: u64,
        text: String,
        by: String,
    },
}

/// A change on the GitHub issue that the tracker follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueChange {
    /// Closed as not planned: the epic and open stories move to the not-planned status.
    ClosedNotPlanned,
    /// Reopened: what the close moved comes back.
    Reopened,
    /// Title or answers edited: the epic's summary and description follow.
    Edited,
    /// Assignees changed: the epic's assignee follows through `[users]`.
    Assignees,
}

impl Job {
    /// The short name stored beside the payload (for logs and queries).
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Labels { .. } => "labels",
            Job::Reply { .. } => "reply",
            Job::CloseNotPlanned { .. } => "close_not_planned",
            Job::Tracking { .. } => "tracking",
            Job::Materialize { .. } => "materialize",
            Job::SyncFromTracker { .. } => "sync_from_tracker",
            Job::FollowIssue { .. } => "follow_issue",
            Job::RecordResults { .. } => "record_results",
            Job::Reconcile { .. } => "reconcile",
            Job::CopyResults { .. } => "copy_results",
            Job::Relink { .. } => "relink",
        }
    }

    /// The issue the job writes to.
    pub fn issue(&self) -> (&str, u64) {
        match self {
            Job::Labels { repo, number, .. }
            | Job::Reply { repo, number, .. }
            | Job::CloseNotPlanned { repo, number }
            | Job::Tracking { repo, number }
            | Job::Materialize { repo, number, .. }
            | Job::SyncFromTracker { repo, number }
            | Job::FollowIssue { repo, number, .. }
            | Job::RecordResults { repo, number, .. }
            | Job::CopyResults { repo, number, .. }
            | Job::Relink { repo, number, .. }
            | Job::Reconcile { repo, number } => (repo, *number),
        }
    }
}

/// A job with the key that makes enqueueing it twice a no-op.
#[derive(Debug, Clone)]
pub struct KeyedJob {
    /// Unique per intended write, e.g. `epic:acme/x#12`.
    pub key: String,
    pub job: Job,
}

impl KeyedJob {
    /// A job with its idempotency key.
    pub fn new(key: impl Into<String>, job: Job) -> Self {
        Self {
            key: key.into(),
            job,
        }
    }

    /// The job as it is stored (its JSON).
    pub fn payload(&self) -> Result<serde_json::Value, EngineError> {
        serde_json::to_value(&self.job).map_err(|e| EngineError::Decode {
            what: "job",
            reason: e.to_string(),
        })
    }
}

/// The outbox rows of `jobs`, ready for a transaction.
pub(crate) fn queued(jobs: &[KeyedJob]) -> Result<Vec<QueuedWrite<'_>>, EngineError> {
    jobs.iter()
        .map(|k| {
            Ok(QueuedWrite {
                idem_key: &k.key,
                kind: k.job.kind(),
                payload: k.payload()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_through_json() {
        let jobs = [
            Job::Labels {
                repo: "a/b".into(),
                number: 1,
                add: vec!["x".into()],
                remove: vec![],
            },
            Job::Reply {
                repo: "a/b".into(),
                number: 1,
                marker_key: "k".into(),
                body: "hi".into(),
            },
            Job::CloseNotPlanned {
                repo: "a/b".into(),
                number: 1,
            },
            Job::Tracking {
                repo: "a/b".into(),
                number: 1,
            },
            Job::Materialize {
                repo: "a/b".into(),
                number: 1,
                stories: true,
            },
            Job::SyncFromTracker {
                repo: "a/b".into(),
                number: 1,
            },
            Job::FollowIssue {
                repo: "a/b".into(),
                number: 1,
                change: IssueChange::ClosedNotPlanned,
            },
            Job::RecordResults {
                repo: "a/b".into(),
                number: 1,
                text: "p99 2s → 1s".into(),
                by: "alice".into(),
            },
            Job::Reconcile {
                repo: "a/b".into(),
                number: 1,
            },
            Job::CopyResults {
                repo: "a/b".into(),
                number: 1,
                text: "p99 2s → 1s".into(),
                by: "alice".into(),
            },
        ];
        for job in jobs {
            let text = serde_json::to_string(&job).unwrap();
            assert!(text.contains(&format!("\"kind\":\"{}\"", job.kind())));
            assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
        }
    }
}
