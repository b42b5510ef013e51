//! `council-sync backfill`: imports concerns that existed before the daemon, so they join
//! the same life (criteria check, decisions, epics) as new ones. Each is recorded at the
//! stage its labels show, with the jobs that stage implies; their idempotency keys are the
//! ones the live path uses, so a backfill run twice (or beside the daemon) does nothing twice.

use super::jobs::{Job, KeyedJob, queued};
use super::{Engine, EngineError};
use crate::council::{Cause, Stage, same_label};
use crate::github::client::{Issue, IssueState};
use crate::store::StageChange;
use crate::tracker::Tracker;

/// One issue the backfill looked at.
#[derive(Debug, Clone)]
pub struct BackfillItem {
    pub repo: String,
    pub number: u64,
    pub title: String,
    /// The stage it is (or would be) recorded at; `None` when the store knew it already.
    pub stage: Option<Stage>,
}

impl BackfillItem {
    /// One line for a log or a plain progress line.
    pub fn describe(&self) -> String {
        match self.stage {
            Some(stage) => format!("{}#{} \"{}\" → {stage}", self.repo, self.number, self.title),
            None => format!(
                "{}#{} \"{}\": already known",
                self.repo, self.number, self.title
            ),
        }
    }
}

/// What a backfill found and did.
#[derive(Debug, Clone, Default)]
pub struct BackfillSummary {
    pub seen: usize,
    pub imported: usize,
    pub known: usize,
}

impl<T: Tracker + 'static> Engine<T> {
    /// The stage an existing issue's labels show.
    fn stage_from_labels(&self, issue: &Issue) -> Stage {
        let l = &self.config.labels;
        let has = |name: &str| issue.labels.iter().any(|x| same_label(x, name));
        if has(&l.rejected) {
            Stage::Rejected
        } else if has(&l.out_of_scope) {
            Stage::OutOfScope
        } else if has(&l.accepted) {
            Stage::Accepted
        } else if has(&l.ready) {
            Stage::Ready
        } else {
            Stage::NeedsInfo
        }
    }

    /// The concern issues of every watched repository (all pages), with their repository.
    pub async fn backfill_candidates(&self) -> Result<Vec<(String, Issue)>, EngineError> {
        let mut all = Vec::new();
        for repo in &self.config.github.repos {
            let issues = self
                .github
                .list_issues(
                    repo,
                    std::slice::from_ref(&self.config.labels.concern),
                    None,
                )
                .await?;
            all.extend(
                issues
                    .into_iter()
                    .filter(|i| !i.is_pull_request)
                    .map(|i| (repo.clone(), i)),
            );
        }
        Ok(all)
    }

    /// Imports one issue (or, with `dry_run`, says what it would do).
    pub async fn backfill_one(
        &self,
        repo: &str,
        issue: &Issue,
        dry_run: bool,
    ) -> Result<BackfillItem, EngineError> {
        let mut item = BackfillItem {
            repo: repo.to_owned(),
            number: issue.number,
            title: issue.title.clone(),
            stage: None,
        };
        if self.store.get_concern(repo, issue.number).await?.is_some() {
            return Ok(item);
        }
        let stage = self.stage_from_labels(issue);
        item.stage = Some(stage);
        if dry_run {
            return Ok(item);
        }
        let n = issue.number;
        let mut jobs = Vec::new();
        match stage {
            Stage::Accepted => jobs.push(KeyedJob::new(
                format!("epic:{repo}#{n}"),
                Job::Materialize {
                    repo: repo.into(),
                    number: n,
                    stories: !self.config.council.two_step,
                },
            )),
            // Undecided: the reconcile re-runs the criteria check (labels, tracking comment).
            Stage::NeedsInfo | Stage::Ready if issue.state == IssueState::Open => {
                jobs.push(KeyedJob::new(
                    format!("reconcile:{repo}#{n}:backfill"),
                    Job::Reconcile {
                        repo: repo.into(),
                        number: n,
                    },
                ))
            }
            _ => {}
        }
        jobs.push(KeyedJob::new(
            format!("tracking:{repo}#{n}:backfill"),
            Job::Tracking {
                repo: repo.into(),
                number: n,
            },
        ));
        let writes = queued(&jobs)?;
        let update = StageChange {
            repo,
            number: n,
            issue_id: issue.id,
            expected: None,
            to: stage,
            cause: Cause::Backfill,
            actor: None,
            at_ms: crate::store::now_ms(),
        };
        match self
            .store
            .commit_decision(None, Some(&update), None, &writes)
            .await
        {
            // Recorded meanwhile (the daemon got a delivery for it): already known.
            Err(crate::store::StoreError::StageConflict { .. }) => item.stage = None,
            other => other?,
        }
        Ok(item)
    }
}
