//! Conditional GETs: the validator (ETag) and body of each conditional GET answered before, so a
//! repeated read sends `If-None-Match` and a 304 is served from here. GitHub does not count
//! a 304 against the rate limit, which is what lets the engine re-read an issue for every
//! webhook and the reconcile pass walk every concern cheaply.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{HeaderMap, HeaderValue};

/// Entries kept; past this the cache starts over (a cold read costs one full request).
/// Sized for a few thousand concerns with their comment pages.
pub const ETAG_CACHE_ENTRIES: usize = 4096;

/// What a GET answered last time.
#[derive(Debug, Clone)]
pub struct Cached {
    pub etag: HeaderValue,
    pub headers: HeaderMap,
    pub body: String,
}

/// Path → last answer, shared by the clones of a client.
#[derive(Debug, Default)]
pub struct EtagCache {
    entries: Mutex<HashMap<String, Cached>>,
    not_modified: AtomicU64,
}

impl EtagCache {
    /// The last answer for `path`, if it carried an ETag.
    pub fn get(&self, path: &str) -> Option<Cached> {
        self.entries.lock().ok()?.get(path).cloned()
    }

    /// Remembers an answer that carried an ETag.
    pub fn put(&self, path: &str, headers: &HeaderMap, body: &str) {
        let Some(etag) = headers.get(reqwest::header::ETAG) else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= ETAG_CACHE_ENTRIES && !entries.contains_key(path) {
                entries.clear();
            }
            entries.insert(
                path.to_owned(),
                Cached {
                    etag: etag.clone(),
                    headers: headers.clone(),
                    body: body.to_owned(),
                },
            );
        }
    }

    /// Counts a 304 served from the cache.
    pub fn hit(&self) {
        self.not_modified.fetch_add(1, Ordering::Relaxed);
    }

    /// How many reads were answered 304 so far.
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_answers_with_an_etag_and_starts_over_when_full() {
        let cache = EtagCache::default();
        cache.put("/a", &HeaderMap::new(), "no etag");
        assert!(cache.get("/a").is_none());
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::ETAG, HeaderValue::from_static("W/\"1\""));
        for i in 0..ETAG_CACHE_ENTRIES {
            cache.put(&format!("/p{i}"), &h, "x");
        }
        assert!(cache.get("/p0").is_some());
        cache.put("/new", &h, "y");
        assert!(cache.get("/p0").is_none(), "started over");
        assert_eq!(cache.get("/new").map(|c| c.body), Some("y".into()));
    }
}
