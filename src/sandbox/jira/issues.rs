//! The sandbox's Jira issues, in creation order, with a record of which were written.
//!
//! Webhooks and the lagging search index need to know what a write changed. Comparing
//! every issue with its last snapshot after each write made each write O(N): a backfill of
//! 10,000 concerns (30,000 issues) took hours. [`Issues`] gives read access as a slice
//! and write access only through methods that note the position written ([`IndexMut`],
//! [`Issues::push`], [`Issues::iter_mut`]), so the compiler finds every write; the state
//! lock's guard takes the noted positions ([`Issues::take_touched`]) and compares only
//! those. A position noted but left unchanged costs one comparison and makes no event.
//!
//! It also keeps an index of keys and ids to positions, so finding an issue by key is not a
//! scan of every issue. The index is a hint: a hit is checked against the issue, and a miss
//! or a stale hit (a key changed by a move since) falls back to the scan.

use std::collections::{BTreeSet, HashMap};
use std::ops::{Deref, Index, IndexMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::state::StoredIssue;

/// The issues (see the module note). Serialised as the plain list.
#[derive(Debug, Default, Clone)]
pub struct Issues {
    list: Vec<StoredIssue>,
    /// Positions written through since the last [`Issues::take_touched`].
    touched: BTreeSet<usize>,
    /// Upper-case key → position, as of the last push or [`Issues::take_touched`].
    by_key: HashMap<String, usize>,
    /// Id → position (ids never change).
    by_id: HashMap<u64, usize>,
}

impl Issues {
    /// Appends an issue (noted as written).
    pub fn push(&mut self, issue: StoredIssue) {
        let at = self.list.len();
        self.by_key.insert(issue.key.to_ascii_uppercase(), at);
        self.by_id.insert(issue.id, at);
        self.list.push(issue);
        self.touched.insert(at);
    }

    /// Every issue for writing: notes every position (use an index where one will do).
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, StoredIssue> {
        self.touched.extend(0..self.list.len());
        self.list.iter_mut()
    }

    /// The positions written since the last call, in creation order, and forgets them;
    /// brings the key index up to date for them (a move changes a key).
    pub fn take_touched(&mut self) -> Vec<usize> {
        let touched = std::mem::take(&mut self.touched);
        for &at in &touched {
            if let Some(issue) = self.list.get(at) {
                self.by_key.insert(issue.key.to_ascii_uppercase(), at);
            }
        }
        touched.into_iter().collect()
    }

    /// Position of the issue with this key (any case), if there is one.
    pub fn position_of_key(&self, key: &str) -> Option<usize> {
        let hinted = self
            .by_key
            .get(&key.to_ascii_uppercase())
            .copied()
            .filter(|&at| {
                self.list
                    .get(at)
                    .is_some_and(|i| i.key.eq_ignore_ascii_case(key))
            });
        hinted.or_else(|| {
            self.list
                .iter()
                .position(|i| i.key.eq_ignore_ascii_case(key))
        })
    }

    /// Position of the issue with this id, if there is one.
    pub fn position_of_id(&self, id: u64) -> Option<usize> {
        self.by_id
            .get(&id)
            .copied()
            .filter(|&at| self.list.get(at).is_some_and(|i| i.id == id))
            .or_else(|| self.list.iter().position(|i| i.id == id))
    }
}

impl From<Vec<StoredIssue>> for Issues {
    fn from(list: Vec<StoredIssue>) -> Self {
        let by_key = list
            .iter()
            .enumerate()
            .map(|(at, i)| (i.key.to_ascii_uppercase(), at))
            .collect();
        let by_id = list.iter().enumerate().map(|(at, i)| (i.id, at)).collect();
        Self {
            list,
            touched: BTreeSet::new(),
            by_key,
            by_id,
        }
    }
}

impl Deref for Issues {
    type Target = [StoredIssue];
    fn deref(&self) -> &[StoredIssue] {
        &self.list
    }
}

impl Index<usize> for Issues {
    type Output = StoredIssue;
    fn index(&self, at: usize) -> &StoredIssue {
        &self.list[at]
    }
}

impl IndexMut<usize> for Issues {
    fn index_mut(&mut self, at: usize) -> &mut StoredIssue {
        self.touched.insert(at);
        &mut self.list[at]
    }
}

impl Serialize for Issues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Issues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<StoredIssue>::deserialize(d).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Issues {
        let mut issues = Issues::default();
        for id in 1..=3 {
            issues.push(StoredIssue::sample(id, "Story", &[]));
        }
        issues
    }

    #[test]
    fn only_what_was_written_through_is_touched() {
        let mut issues = three();
        assert_eq!(issues.take_touched(), vec![0, 1, 2], "pushes");
        assert!(issues.take_touched().is_empty(), "taken once");
        let read: usize = issues.iter().map(|i| i.labels.len()).sum();
        assert_eq!(read, 0);
        assert_eq!(issues[1].id, 2);
        assert!(issues.take_touched().is_empty(), "reads touch nothing");
        issues[2].summary = "changed".into();
        issues[0].labels.push("x".into());
        assert_eq!(issues.take_touched(), vec![0, 2], "in creation order");
        issues.iter_mut().for_each(|_| {});
        assert_eq!(issues.take_touched(), vec![0, 1, 2]);
    }

    #[test]
    fn keys_and_ids_are_found_after_a_move_and_a_restore() {
        let mut issues = three();
        assert_eq!(issues.position_of_key("p-2"), Some(1));
        assert_eq!(issues.position_of_id(3), Some(2));
        issues[1].key = "Q-1".into();
        // Before the guard takes the touched positions the hint is stale: still correct.
        assert_eq!(issues.position_of_key("Q-1"), Some(1));
        assert_eq!(issues.position_of_key("P-2"), None);
        issues.take_touched();
        assert_eq!(issues.position_of_key("q-1"), Some(1));
        let json = serde_json::to_value(&issues).expect("serialise");
        assert!(json.is_array(), "saved as the plain list");
        let back: Issues = serde_json::from_value(json).expect("restore");
        assert_eq!(back.position_of_key("Q-1"), Some(1));
        assert_eq!(back.position_of_id(1), Some(0));
        assert_eq!(back.len(), 3);
    }
}
