//! Issue titles, authors and links for the board, read from GitHub (the store keeps no
//! titles: GitHub is the truth of what people wrote) and kept for a while, so a page view
//! costs GitHub nothing once the titles are known, and 1,000 concerns never mean 1,000
//! calls per view.
//!
//! A view reads at most [`READS_PER_VIEW`] missing or stale issues, within
//! [`READ_BUDGET`]; cards whose issue is not known yet show `owner/name#n`, and the next
//! view fills them in. A title edited on GitHub shows within [`FRESH_FOR`].

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::agenda::gather::read_issues;
use crate::agenda::model::{IssueKey, IssueSummary};
use crate::concern::form::IssueForm;
use crate::github::client::GithubClient;

/// How long a title is shown without asking GitHub again: a council reads the board over
/// minutes, and an edited title is rarely urgent.
pub const FRESH_FOR: Duration = Duration::from_secs(600);
/// Most issues read from GitHub for one page view (4 at a time, see
/// `agenda::gather`): about a second of GitHub calls, far inside its rate limits.
pub const READS_PER_VIEW: usize = 60;
/// Longest a page view waits for GitHub; what has not arrived by then is shown by number.
pub const READ_BUDGET: Duration = Duration::from_secs(3);
/// Lines of each answer kept (the board shows none; the summary is shared with the agenda).
const ANSWER_LINES: usize = 1;

/// Which of `keys` a view reads from GitHub: never-read issues first, then stale ones (a
/// card without its title is worse than a title a few minutes old), at most
/// [`READS_PER_VIEW`].
fn to_read(
    known: &HashMap<IssueKey, (Instant, IssueSummary)>,
    keys: &[IssueKey],
    now: Instant,
) -> Vec<IssueKey> {
    let missing = keys.iter().filter(|k| !known.contains_key(*k));
    let stale = keys.iter().filter(|k| {
        known
            .get(*k)
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > FRESH_FOR)
    });
    missing.chain(stale).take(READS_PER_VIEW).cloned().collect()
}

/// The cache of issue summaries.
#[derive(Debug)]
pub struct Titles {
    github: GithubClient,
    form: IssueForm,
    known: Mutex<HashMap<IssueKey, (Instant, IssueSummary)>>,
}

impl Titles {
    /// An empty cache reading through `github`.
    pub fn new(github: GithubClient, form: IssueForm) -> Self {
        Self {
            github,
            form,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The summaries of `keys` that are known after reading (a bounded number of) the
    /// missing and stale ones from GitHub.
    pub async fn get(&self, keys: Vec<IssueKey>) -> BTreeMap<IssueKey, IssueSummary> {
        let now = Instant::now();
        let wanted = to_read(&*self.known.lock().await, &keys, now);
        if !wanted.is_empty() {
            let read = read_issues(&self.github, &self.form, wanted, ANSWER_LINES);
            match tokio::time::timeout(READ_BUDGET, read).await {
                Ok(fresh) => {
                    let mut known = self.known.lock().await;
                    for (k, v) in fresh {
                        known.insert(k, (Instant::now(), v));
                    }
                }
                Err(_) => tracing::warn!(
                    "board: GitHub did not answer in time; some cards show numbers only"
                ),
            }
        }
        let known = self.known.lock().await;
        keys.into_iter()
            .filter_map(|k| known.get(&k).map(|(_, v)| (k, v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> IssueSummary {
        IssueSummary {
            title: "t".into(),
            author: "a".into(),
            url: "https://github.com/a/b/issues/1".into(),
            teams: Vec::new(),
            answers: Vec::new(),
            measure: None,
        }
    }

    #[test]
    fn missing_titles_are_read_before_stale_ones_and_reads_are_bounded() {
        let now = Instant::now() + FRESH_FOR * 3;
        let key = |n: u64| ("a/b".to_owned(), n);
        let mut known = HashMap::new();
        known.insert(key(1), (now - FRESH_FOR * 2, summary())); // stale
        known.insert(key(2), (now, summary())); // fresh
        let keys: Vec<IssueKey> = (1..=3).map(key).collect();
        assert_eq!(to_read(&known, &keys, now), [key(3), key(1)]);
        let many: Vec<IssueKey> = (10..10 + 2 * READS_PER_VIEW as u64).map(key).collect();
        assert_eq!(to_read(&known, &many, now).len(), READS_PER_VIEW);
    }
}
