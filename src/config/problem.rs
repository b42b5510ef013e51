//! One thing wrong (or doubtful) with one key of the configuration.

use std::fmt;

/// How bad a problem is: errors make `config check` (and start-up) fail, warnings are shown
/// but the configuration is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The daemon cannot work, or would do something wrong, with this value.
    Error,
    /// Allowed, but probably not what was meant; the reason says what to prefer.
    Warning,
}

/// A problem with one key of the configuration, phrased so a person can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key, e.g. `jira.api_version` or `github.repos[1]`.
    pub key: String,
    /// What is wrong and what to do instead. Never contains a secret value.
    pub reason: String,
    /// Whether this stops the daemon.
    pub severity: Severity,
}

impl ConfigProblem {
    /// A problem that makes the configuration unusable.
    pub fn error(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
            severity: Severity::Error,
        }
    }

    /// A doubtful value that is still used.
    pub fn warning(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
            severity: Severity::Warning,
        }
    }

    /// Whether this problem makes the configuration unusable.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.key, self.reason),
            Severity::Warning => write!(f, "{}: warning: {}", self.key, self.reason),
        }
    }
}
