//! Read-only views for the council's own pages (agenda, board, roadmap): each table read
//! whole in one query and grouped in memory, so a page over 1,000 concerns costs four
//! queries, not four thousand. Plus the claim that keeps two replicas (or a restart racing
//! a `--post`) from opening two agenda issues for one session.

use std::collections::BTreeMap;

use sqlx::Row;

use super::error::from_db;
use super::stages::parse_stage;
use super::{ConcernRow, Decision, DecisionKind, StageTransition, Store, StoreError, StoryLink};
use crate::council::Stage;
use crate::store::StoryState;

/// One concern with everything the store knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcernSnapshot {
    /// The concern's row.
    pub concern: ConcernRow,
    /// Its stage history, oldest first.
    pub history: Vec<StageTransition>,
    /// Council decisions, oldest first.
    pub decisions: Vec<Decision>,
    /// Team stories, by team name.
    pub stories: Vec<StoryLink>,
}

/// An outbox write that was given up on (`failed`): a step a person has to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedWrite {
    /// The job's kind (`materialize`, `reply`, …).
    pub kind: String,
    /// The concern it was for, when the payload names one (`repo`, `number`).
    pub concern: Option<(String, u64)>,
    /// Why it failed, as stored.
    pub error: Option<String>,
    /// When it was given up on (ms since the epoch).
    pub at_ms: i64,
}

/// Outcome of [`Store::claim_agenda_post`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgendaClaim {
    /// This caller may create the session's issue.
    Claimed,
    /// Another caller claimed it less than a lease ago: leave it to them.
    Busy,
}

type Key = (String, u64);

/// Between the fields of one transition in [`Store::histories`]' aggregate (ASCII unit
/// separator). Stages and causes are fixed words and `at` a number; the actor, a GitHub
/// login or a tracker account id, holds no control character, and comes last so that
/// even one that did could not shift the other fields.
const FIELD_SEP: &str = "\u{1f}";
/// Between the transitions of one concern in that aggregate (ASCII record separator).
const RECORD_SEP: &str = "\u{1e}";

/// One transition of the aggregate: `from US to US cause US at US actor` (empty `from` and
/// `actor` stand for none).
fn parse_transition(text: &str) -> Result<StageTransition, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: "stage history",
        reason,
    };
    let mut f = text.splitn(5, FIELD_SEP);
    let (Some(from), Some(to), Some(cause), Some(at), Some(actor)) =
        (f.next(), f.next(), f.next(), f.next(), f.next())
    else {
        return Err(corrupt(format!(
            "a transition of {} fields",
            text.split(FIELD_SEP).count()
        )));
    };
    Ok(StageTransition {
        from: Some(from)
            .filter(|s| !s.is_empty())
            .map(parse_stage)
            .transpose()?,
        to: parse_stage(to)?,
        cause: cause.to_owned(),
        actor: Some(actor).filter(|a| !a.is_empty()).map(str::to_owned),
        at_ms: at
            .parse()
            .map_err(|e| corrupt(format!("time `{at}`: {e}")))?,
    })
}

fn key(row: &sqlx::any::AnyRow) -> Result<Key, StoreError> {
    Ok((
        row.try_get("repo")?,
        from_db("issue number", row.try_get("number")?)?,
    ))
}

fn parse_kind(s: &str) -> Result<DecisionKind, StoreError> {
    DecisionKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt {
            what: "decision kind",
            reason: format!("unknown kind `{s}`"),
        })
}

/// The cursor row that records a claim on a session's agenda issue. Its value is minus the
/// claim's time in ms, so an issue number (positive) could later replace it.
fn claim_name(session_key: &str) -> String {
    format!("agenda-claim:{session_key}")
}

impl Store {
    /// Every concern with its history, decisions and stories, ordered by repository and
    /// issue number.
    ///
    /// The four reads run at once (the pool has several connections), and the stage
    /// history, the longest table (about five rows a concern), comes back as one row per
    /// concern ([`Store::histories`]): with 1,000 concerns the per-row cost of the `Any`
    /// driver (a copy of every value, a message from SQLite's worker thread per row) was
    /// most of the time (`benches/board.rs`: 326 ms at p50 before, in the dev profile).
    pub async fn council_snapshot(&self) -> Result<Vec<ConcernSnapshot>, StoreError> {
        let (mut history, mut decisions, mut stories, mut concerns) = tokio::try_join!(
            self.histories(),
            self.all_decisions(),
            self.story_links_by_concern(),
            self.concerns_in_stage(&Stage::ALL),
        )?;
        concerns.sort_by(|a, b| (&a.repo, a.number).cmp(&(&b.repo, b.number)));
        Ok(concerns
            .into_iter()
            .map(|concern| {
                let k = (concern.repo.clone(), concern.number);
                ConcernSnapshot {
                    history: history.remove(&k).unwrap_or_default(),
                    decisions: decisions.remove(&k).unwrap_or_default(),
                    stories: stories.remove(&k).unwrap_or_default(),
                    concern,
                }
            })
            .collect())
    }

    /// Every concern's stage history, oldest first, read as one row per concern: the
    /// transitions joined by [`RECORD_SEP`] (ordered by id, the order they were written),
    /// their fields by [`FIELD_SEP`]. `string_agg(… ORDER BY …)` is the same SQL on
    /// PostgreSQL and on SQLite (3.44 and later; sqlx bundles a newer one).
    async fn histories(&self) -> Result<BTreeMap<Key, Vec<StageTransition>>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo, number, string_agg(\
                 COALESCE(from_stage, '') || $1 || to_stage || $1 || cause || $1 \
                 || CAST(at AS TEXT) || $1 || COALESCE(actor, ''), $2 ORDER BY id) AS walk \
             FROM stage_transitions GROUP BY repo, number",
        )
        .bind(FIELD_SEP)
        .bind(RECORD_SEP)
        .fetch_all(self.pool())
        .await?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let walk: String = row.try_get("walk")?;
            let steps = walk
                .split(RECORD_SEP)
                .map(parse_transition)
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(key(row)?, steps);
        }
        Ok(out)
    }

    /// Every decision, grouped by concern, oldest first.
    async fn all_decisions(&self) -> Result<BTreeMap<Key, Vec<Decision>>, StoreError> {
        let mut decisions: BTreeMap<Key, Vec<Decision>> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT repo, number, kind, actor, decided_at FROM decisions \
             ORDER BY decided_at, kind",
        )
        .fetch_all(self.pool())
        .await?;
        for row in &rows {
            decisions.entry(key(row)?).or_default().push(Decision {
                kind: parse_kind(&row.try_get::<String, _>("kind")?)?,
                actor: row.try_get("actor")?,
                decided_at: row.try_get("decided_at")?,
            });
        }
        Ok(decisions)
    }

    /// Every story link, grouped by concern, by team.
    async fn story_links_by_concern(&self) -> Result<BTreeMap<Key, Vec<StoryLink>>, StoreError> {
        let mut stories: BTreeMap<Key, Vec<StoryLink>> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT repo, number, team, story_key, story_url, status, status_category, \
                    assignee, sprint, updated_ms FROM links ORDER BY team",
        )
        .fetch_all(self.pool())
        .await?;
        for row in &rows {
            stories.entry(key(row)?).or_default().push(StoryLink {
                team: row.try_get("team")?,
                story_key: row.try_get("story_key")?,
                story_url: row.try_get("story_url")?,
                state: StoryState {
                    status: row.try_get("status")?,
                    progress: super::links::progress_column(row)?,
                    assignee: row.try_get("assignee")?,
                    sprint: row.try_get("sprint")?,
                    updated_ms: row.try_get("updated_ms")?,
                },
            });
        }
        Ok(stories)
    }

    /// Outbox writes given up on, newest first.
    pub async fn failed_writes(&self) -> Result<Vec<FailedWrite>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, payload, last_error, updated_at FROM outbox \
             WHERE state = 'failed' ORDER BY updated_at DESC, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                // A payload this version cannot read still counts as a failed step.
                let concern = serde_json::from_str::<serde_json::Value>(&payload)
                    .ok()
                    .and_then(|v| {
                        Some((
                            v.get("repo")?.as_str()?.to_owned(),
                            v.get("number")?.as_u64()?,
                        ))
                    });
                Ok(FailedWrite {
                    kind: row.try_get("kind")?,
                    concern,
                    error: row.try_get("last_error")?,
                    at_ms: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Claims the creation of one session's agenda issue for `lease_ms`. One statement, so
    /// two replicas (or a daemon and a `--post`) on the same store cannot both win; a claim
    /// older than the lease (its holder died before creating the issue) can be taken over.
    /// The caller looks for the issue by its marker first and after a `Busy`.
    pub async fn claim_agenda_post(
        &self,
        session_key: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<AgendaClaim, StoreError> {
        // Stored as -claimed_at; a claim is stale when claimed_at < now - lease, i.e. when
        // the stored value is greater than -(now - lease).
        let done = sqlx::query(
            "INSERT INTO cursors (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value \
             WHERE cursors.value < 0 AND cursors.value > $3",
        )
        .bind(claim_name(session_key))
        .bind(-now_ms)
        .bind(-(now_ms - lease_ms))
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(if done.rows_affected() == 1 {
            AgendaClaim::Claimed
        } else {
            AgendaClaim::Busy
        })
    }
}

/// Counts for `/metrics`, read at scrape time so every replica reports the same truth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricCounts {
    /// Concerns per stage name (only stages that have any).
    pub stages: Vec<(String, i64)>,
    /// Decisions per kind name.
    pub decisions: Vec<(String, i64)>,
    /// Outbox rows per state (`pending`, `running`, `failed`, `done`).
    pub outbox: Vec<(String, i64)>,
    /// Creation time (ms) of the oldest outbox row not yet done or failed.
    pub oldest_pending_ms: Option<i64>,
    /// Deliveries stored but not yet processed.
    pub inbox_pending: i64,
}

async fn grouped(store: &Store, sql: &'static str) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(store.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

impl Store {
    /// The counts `/metrics` reports (five small aggregate queries).
    pub async fn metric_counts(&self) -> Result<MetricCounts, StoreError> {
        Ok(MetricCounts {
            stages: grouped(self, "SELECT stage, COUNT(*) FROM concerns GROUP BY stage").await?,
            decisions: grouped(self, "SELECT kind, COUNT(*) FROM decisions GROUP BY kind").await?,
            outbox: grouped(self, "SELECT state, COUNT(*) FROM outbox GROUP BY state").await?,
            oldest_pending_ms: sqlx::query_scalar(
                "SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'running')",
            )
            .fetch_one(self.pool())
            .await?,
            inbox_pending: sqlx::query_scalar(self.inbox_sql(
                "SELECT COUNT(*) FROM {inbox} d LEFT JOIN delivery_outcomes o ON o.seq = d.seq \
                 WHERE d.processed_at IS NULL AND o.processed_at IS NULL",
            ))
            .fetch_one(self.pool())
            .await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::council::Cause;
    use crate::store::StageChange;
    use crate::store::testing::on_each_backend;

    #[tokio::test]
    async fn snapshot_groups_history_decisions_and_stories_per_concern() {
        on_each_backend(|store| async move {
            for (n, to, cause, actor, at) in [
                (1, Stage::Ready, Cause::Criteria, None, 10),
                (2, Stage::NeedsInfo, Cause::Criteria, None, 20),
            ] {
                let change = StageChange {
                    repo: "acme/ops",
                    number: n,
                    issue_id: n * 100,
                    expected: None,
                    to,
                    cause,
                    actor,
                    at_ms: at,
                };
                store
                    .commit_decision(None, Some(&change), None, &[])
                    .await
                    .expect("record");
            }
            let accept = StageChange {
                repo: "acme/ops",
                number: 1,
                issue_id: 100,
                expected: Some(Stage::Ready),
                to: Stage::Accepted,
                cause: Cause::Accept,
                actor: Some("carol"),
                at_ms: 30,
            };
            store
                .commit_decision(
                    None,
                    Some(&accept),
                    Some((DecisionKind::Accept, "carol")),
                    &[],
                )
                .await
                .expect("accept");
            store
                .set_story_link("acme/ops", 1, "payments", "PAY-1", "https://j/PAY-1")
                .await
                .expect("link");

            let snap = store.council_snapshot().await.expect("snapshot");
            assert_eq!(snap.len(), 2);
            let first = &snap[0];
            assert_eq!(first.concern.number, 1);
            assert_eq!(first.concern.stage, Stage::Accepted);
            assert_eq!(
                first
                    .history
                    .iter()
                    .map(|t| (t.to, t.at_ms))
                    .collect::<Vec<_>>(),
                [(Stage::Ready, 10), (Stage::Accepted, 30)]
            );
            assert_eq!(first.decisions[0].actor, "carol");
            assert_eq!(first.decisions[0].decided_at, 30);
            assert_eq!(first.stories[0].story_key, "PAY-1");
            let second = &snap[1];
            assert_eq!(second.concern.stage, Stage::NeedsInfo);
            assert!(second.decisions.is_empty() && second.stories.is_empty());
            assert_eq!(second.history.len(), 1);
            // The aggregated read gives what the per-concern history read gives, field for
            // field (no `from` on the first, the actor where a person acted).
            for c in &snap {
                let one = store
                    .stage_history(&c.concern.repo, c.concern.number)
                    .await
                    .expect("history");
                assert_eq!(c.history, one, "concern {}", c.concern.number);
            }
            assert_eq!(first.history[0].from, None);
            assert_eq!(first.history[1].from, Some(Stage::Ready));
            assert_eq!(first.history[1].actor.as_deref(), Some("carol"));
            assert_eq!(first.history[1].cause, "accept");
        })
        .await;
    }

    #[test]
    fn a_history_aggregate_is_read_field_by_field_or_refused() {
        let t = parse_transition("ready\u{1f}accepted\u{1f}accept\u{1f}30\u{1f}carol")
            .expect("transition");
        assert_eq!(
            (t.from, t.to, t.cause.as_str(), t.at_ms, t.actor.as_deref()),
            (
                Some(Stage::Ready),
                Stage::Accepted,
                "accept",
                30,
                Some("carol")
            )
        );
        let first = parse_transition("\u{1f}ready\u{1f}criteria\u{1f}10\u{1f}").expect("first");
        assert_eq!((first.from, first.actor), (None, None));
        for bad in [
            "",
            "ready\u{1f}accepted",
            "ready\u{1f}nowhere\u{1f}accept\u{1f}30\u{1f}carol",
            "ready\u{1f}accepted\u{1f}accept\u{1f}soon\u{1f}carol",
        ] {
            assert!(parse_transition(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn one_claim_per_session_until_the_lease_runs_out() {
        on_each_backend(|store| async move {
            let lease = 60_000;
            assert_eq!(
                store
                    .claim_agenda_post("s1", 1_000_000, lease)
                    .await
                    .unwrap(),
                AgendaClaim::Claimed
            );
            assert_eq!(
                store
                    .claim_agenda_post("s1", 1_030_000, lease)
                    .await
                    .unwrap(),
                AgendaClaim::Busy,
                "inside the lease"
            );
            assert_eq!(
                store
                    .claim_agenda_post("s2", 1_030_000, lease)
                    .await
                    .unwrap(),
                AgendaClaim::Claimed,
                "another session is independent"
            );
            assert_eq!(
                store
                    .claim_agenda_post("s1", 1_070_000, lease)
                    .await
                    .unwrap(),
                AgendaClaim::Claimed,
                "a stale claim is taken over"
            );
        })
        .await;
    }
}
