//! Test helper: finds the shared example deliveries (`shared/fixtures/github-webhooks/`).
//!
//! The shared folder sits beside the checkout, not inside it, so it is looked up in order:
//! `$COUNCIL_SHARED_DIR`, then `CARGO_MANIFEST_DIR/../shared`, then `/work/shared`.

use std::path::{Path, PathBuf};

/// The shared folder (specs and fixtures), or a panic naming where it was looked for.
pub(crate) fn shared_dir() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("COUNCIL_SHARED_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
            PathBuf::from("/work/shared"),
        ])
        .collect();
    candidates
        .iter()
        .find(|dir| dir.join("fixtures/github-webhooks").is_dir())
        .cloned()
        .unwrap_or_else(|| panic!("shared fixtures not found in any of {candidates:?}"))
}

/// Every example delivery, sorted by file name.
pub(crate) fn github_webhook_files() -> Vec<PathBuf> {
    let dir = shared_dir().join("fixtures/github-webhooks");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// `(event, action)` from a file named `<event>.<action>.json` or `<event>.json`.
pub(crate) fn event_and_action(path: &Path) -> (String, Option<String>) {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_else(|| panic!("bad fixture name {}", path.display()));
    match stem.split_once('.') {
        Some((event, action)) => (event.to_owned(), Some(action.to_owned())),
        None => (stem.to_owned(), None),
    }
}

/// The bytes of one example delivery, by file name.
pub(crate) fn read(name: &str) -> Vec<u8> {
    let path = shared_dir().join("fixtures/github-webhooks").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
