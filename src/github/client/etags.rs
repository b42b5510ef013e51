//! Conditional GETs: the validator (ETag) and body of each conditional GET answered before, so a
//! repeated read sends `If-None-Match` and a 304 is served from here. GitHub does not count
//! a 304 against the rate limit, which is what lets the engine re-read an issue for every
//! webhook and the reconcile pass walk every concern cheaply.
//!
//! Bounded as a least-recently-used cache: when full, the answer read longest ago makes
//! room, so the concerns being worked on keep their validators (wiping the whole cache at
//! the bound made every hot read cold at once).

use std::sync::Mutex;

use hashlink::LruCache;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::{HeaderMap, HeaderValue};

/// Entries kept; past this the least recently used one is dropped (its next read costs one
/// full request). Sized for a few thousand concerns with their comment pages.
pub const ETAG_CACHE_ENTRIES: usize = 4096;

/// What a GET answered last time.
#[derive(Debug, Clone)]
pub struct Cached {
    pub etag: HeaderValue,
    pub headers: HeaderMap,
    pub body: String,
}

/// Path → last answer, shared by the clones of a client.
pub struct EtagCache {
    entries: Mutex<LruCache<String, Cached>>,
    not_modified: AtomicU64,
}

impl std::fmt::Debug for EtagCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("EtagCache")
            .field("entries", &len)
            .field("not_modified", &self.not_modified())
            .finish()
    }
}

impl Default for EtagCache {
    fn default() -> Self {
        Self::with_capacity(ETAG_CACHE_ENTRIES)
    }
}

impl EtagCache {
    /// A cache keeping at most `capacity` answers.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity.max(1))),
            not_modified: AtomicU64::new(0),
        }
    }

    /// The last answer for `path`, if it carried an ETag (and marks it recently used).
    pub fn get(&self, path: &str) -> Option<Cached> {
        self.entries.lock().ok()?.get(path).cloned()
    }

    /// Remembers an answer that carried an ETag.
    pub fn put(&self, path: &str, headers: &HeaderMap, body: &str) {
        let Some(etag) = headers.get(reqwest::header::ETAG) else {
            return;
        };
        if let Ok(mut entries) = self.entries.lock() {
            // Past the capacity, `insert` drops the least recently used entry.
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

    fn etag() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::ETAG, HeaderValue::from_static("W/\"1\""));
        h
    }

    #[test]
    fn keeps_only_answers_with_an_etag() {
        let cache = EtagCache::default();
        cache.put("/a", &HeaderMap::new(), "no etag");
        assert!(cache.get("/a").is_none());
        cache.put("/a", &etag(), "x");
        assert_eq!(cache.get("/a").map(|c| c.body), Some("x".into()));
    }

    /// Full, it drops the answer used longest ago, not everything: a path read again
    /// recently survives a stream of new ones.
    #[test]
    fn when_full_the_least_recently_used_answer_makes_room() {
        let cache = EtagCache::default();
        let h = etag();
        for i in 0..ETAG_CACHE_ENTRIES {
            cache.put(&format!("/p{i}"), &h, "x");
        }
        // /p0 is read again: now the most recently used.
        assert!(cache.get("/p0").is_some());
        cache.put("/new", &h, "y");
        assert!(cache.get("/p0").is_some(), "recently used kept");
        assert!(cache.get("/p1").is_none(), "least recently used dropped");
        assert!(cache.get("/p2").is_some(), "the rest kept");
        assert_eq!(cache.get("/new").map(|c| c.body), Some("y".into()));
        let kept = (0..ETAG_CACHE_ENTRIES)
            .filter(|i| cache.get(&format!("/p{i}")).is_some())
            .count();
        assert_eq!(kept, ETAG_CACHE_ENTRIES - 1, "bounded: one made room");
    }

    /// A replaced answer does not grow the cache.
    #[test]
    fn replacing_an_answer_keeps_one_entry() {
        let cache = EtagCache::with_capacity(2);
        let h = etag();
        cache.put("/a", &h, "1");
        cache.put("/a", &h, "2");
        cache.put("/b", &h, "3");
        assert_eq!(cache.get("/a").map(|c| c.body), Some("2".into()));
        assert!(cache.get("/b").is_some());
    }
}
