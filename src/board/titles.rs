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
        let wanted: Vec<IssueKey> = {
            let known = self.known.lock().await;
            keys.iter()
                .filter(|k| {
                    known
                        .get(*k)
                        .is_none_or(|(t, _)| now.duration_since(*t) > FRESH_FOR)
                })
                .take(READS_PER_VIEW)
                .cloned()
                .collect()
        };
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
