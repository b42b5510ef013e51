//! Saving the sandbox between runs (`[sandbox] state_dir`): the GitHub and Jira halves'
//! state as one JSON file, `sandbox.json`, written after every change (at most every
//! [`SAVE_EVERY`]) and at shutdown, and read back at start. Each save writes a temporary
//! file and renames it over the old one, so a crash mid-save leaves the previous state.
//!
//! The daemon keeps its store beside it in the same directory: a sandbox and a store that
//! persist together never disagree about which issue #1 is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file the sandbox's state is saved in, inside the state directory.
pub const STATE_FILE: &str = "sandbox.json";

/// Shortest time between two saves while changes keep coming: a burst of writes (a
/// concern accepted: epic, stories, labels, comments) costs one save, not dozens.
pub const SAVE_EVERY: Duration = Duration::from_millis(250);

/// Why the saved state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Reading, writing or renaming the file failed.
    #[error("sandbox state {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a saved sandbox state (or the state could not be turned into JSON).
    #[error("sandbox state {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
}

/// What is saved: each half's state as its own JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// Format version, for a future change of shape.
    pub version: u32,
    /// The GitHub half (`World`).
    pub github: Value,
    /// The Jira half (`State`).
    pub jira: Value,
}

/// The current format version.
pub const VERSION: u32 = 1;

/// The saved state in `dir`, or `None` when nothing was saved there yet.
pub fn load(dir: &Path) -> Result<Option<Saved>, PersistError> {
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PersistError::Io { path, source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| PersistError::Json { path, source })
}

/// Writes `saved` to `dir` (temporary file, then rename).
pub fn save(dir: &Path, saved: &Saved) -> Result<(), PersistError> {
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    let text = serde_json::to_vec(saved).map_err(|source| PersistError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&tmp, text).map_err(|source| PersistError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| PersistError::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_and_nothing_saved_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load(dir.path()).expect("load").is_none());
        let saved = Saved {
            version: VERSION,
            github: serde_json::json!({"a": 1}),
            jira: serde_json::json!([]),
        };
        save(dir.path(), &saved).expect("save");
        let back = load(dir.path()).expect("load").expect("saved");
        assert_eq!((back.github, back.jira), (saved.github, saved.jira));
        std::fs::write(dir.path().join(STATE_FILE), "not json").expect("write");
        assert!(matches!(load(dir.path()), Err(PersistError::Json { .. })));
    }
}
