//! Stage changes as compare-and-set, each with its row in `stage_transitions`.
//!
//! A cause decides on the stage it read; the write succeeds only if that stage is still the
//! one stored (`UPDATE … WHERE stage = $expected`, rows affected checked) and only if
//! [`council::may_move`](crate::council::may_move) allows the move for that cause. Both run
//! inside the transaction that records the decision or event, so the history row, the stage,
//! the decision and the queued writes commit together or not at all. A cause that lost the
//! race gets [`StoreError::StageConflict`] and decides again from the stage that is there now
//! (today's race: a re-check that read `ready` committing after an accept).

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::error::{from_db, to_db};
use super::{Store, StoreError, now_ms};
use crate::council::{Cause, Stage, may_move};

/// One stage change to make, as the cause decided it.
#[derive(Debug, Clone)]
pub struct StageChange<'a> {
    /// `owner/name`.
    pub repo: &'a str,
    /// Issue number.
    pub number: u64,
    /// GitHub's global issue id (for a concern recorded by this change).
    pub issue_id: u64,
    /// The stage the cause read and decided on; `None`: the concern was not recorded.
    pub expected: Option<Stage>,
    /// The stage it moves to (may equal `expected`: then only the read is confirmed).
    pub to: Stage,
    /// Why.
    pub cause: Cause,
    /// The person behind it (a council member, the issue's editor), if any.
    pub actor: Option<&'a str>,
    /// When it happened (ms since the epoch); a decision found later keeps its real time.
    pub at_ms: i64,
}

/// One row of a concern's stage history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTransition {
    /// The stage before; `None` when the concern was first recorded.
    pub from: Option<Stage>,
    /// The stage after.
    pub to: Stage,
    /// The cause's stored name ([`Cause::as_str`]).
    pub cause: String,
    /// Who, when a person caused it.
    pub actor: Option<String>,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

pub(crate) fn parse_stage(s: &str) -> Result<Stage, StoreError> {
    s.parse()
        .map_err(|e: crate::council::UnknownStage| StoreError::Corrupt {
            what: "stage",
            reason: e.to_string(),
        })
}

impl StageTransition {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let from: Option<String> = row.try_get("from_stage")?;
        let to: String = row.try_get("to_stage")?;
        Ok(Self {
            from: from.as_deref().map(parse_stage).transpose()?,
            to: parse_stage(&to)?,
            cause: row.try_get("cause")?,
            actor: row.try_get("actor")?,
            at_ms: row.try_get("at")?,
        })
    }
}

/// Applies `c` inside `tx`: checks the rule, compares and sets, writes the history row.
/// Errors with [`StoreError::StageRefused`] when the rule forbids the move and
/// [`StoreError::StageConflict`] when the stored stage is no longer `c.expected`.
pub(crate) async fn apply(
    tx: &mut Transaction<'static, Any>,
    c: &StageChange<'_>,
) -> Result<(), StoreError> {
    if !may_move(c.expected, c.to, c.cause) {
        return Err(StoreError::StageRefused {
            from: c.expected.map_or("(none)", Stage::as_str),
            to: c.to.as_str(),
            cause: c.cause.as_str(),
        });
    }
    let number = to_db("issue number", c.number)?;
    let now = now_ms();
    let done = match c.expected {
        None => {
            sqlx::query(
                "INSERT INTO concerns (repo, number, issue_id, stage, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, number) DO NOTHING",
            )
            .bind(c.repo)
            .bind(number)
            .bind(to_db("issue id", c.issue_id)?)
            .bind(c.to.as_str())
            .bind(now)
            .execute(&mut **tx)
            .await?
        }
        Some(expected) => {
            sqlx::query(
                "UPDATE concerns SET stage = $1, updated_at = $2 \
                 WHERE repo = $3 AND number = $4 AND stage = $5",
            )
            .bind(c.to.as_str())
            .bind(now)
            .bind(c.repo)
            .bind(number)
            .bind(expected.as_str())
            .execute(&mut **tx)
            .await?
        }
    };
    if done.rows_affected() != 1 {
        return Err(StoreError::StageConflict {
            repo: c.repo.to_owned(),
            number: c.number,
            expected: c.expected.map_or("(none)", Stage::as_str),
        });
    }
    if c.expected != Some(c.to) {
        sqlx::query(
            "INSERT INTO stage_transitions (repo, number, from_stage, to_stage, cause, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.repo)
        .bind(number)
        .bind(c.expected.map(Stage::as_str))
        .bind(c.to.as_str())
        .bind(c.cause.as_str())
        .bind(c.actor)
        .bind(c.at_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// [`Store::advance_stage`] inside `tx` (with what else the caller writes in the same
/// commit). The caller commits when it returns `Some`, or when it wrote anything else.
pub(crate) async fn advance_in(
    tx: &mut Transaction<'static, Any>,
    repo: &str,
    number: u64,
    to: Stage,
    cause: Cause,
    actor: Option<&str>,
) -> Result<Option<Stage>, StoreError> {
    let n = to_db("issue number", number)?;
    // A write first, so SQLite takes the write lock now and the read below cannot go
    // stale before the compare-and-set (which would catch it anyway).
    sqlx::query("UPDATE concerns SET updated_at = updated_at WHERE repo = $1 AND number = $2")
        .bind(repo)
        .bind(n)
        .execute(&mut **tx)
        .await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT stage FROM concerns WHERE repo = $1 AND number = $2")
            .bind(repo)
            .bind(n)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(current) = current.as_deref().map(parse_stage).transpose()? else {
        return Ok(None);
    };
    if current == to || !may_move(Some(current), to, cause) {
        return Ok(None);
    }
    let change = StageChange {
        repo,
        number,
        issue_id: 0,
        expected: Some(current),
        to,
        cause,
        actor,
        at_ms: now_ms(),
    };
    apply(tx, &change).await?;
    Ok(Some(current))
}

impl Store {
    /// Moves a recorded concern to `to` if `cause` may move it there from the stage stored
    /// now; reads and writes in one transaction (the first statement takes the write lock).
    /// Returns the stage it moved from, or `None` when it stayed (not recorded, already
    /// there, or the rule refused: e.g. the sync never moves a concern back before its
    /// stories).
    pub async fn advance_stage(
        &self,
        repo: &str,
        number: u64,
        to: Stage,
        cause: Cause,
        actor: Option<&str>,
    ) -> Result<Option<Stage>, StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool().begin().await?;
        let moved = advance_in(&mut tx, repo, number, to, cause, actor).await?;
        if moved.is_some() {
            tx.commit().await.inspect(super::committed)?;
        }
        Ok(moved)
    }

    /// A concern's stage history, oldest first.
    pub async fn stage_history(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<StageTransition>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_stage, to_stage, cause, actor, at FROM stage_transitions \
             WHERE repo = $1 AND number = $2 ORDER BY id",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(StageTransition::from_row).collect()
    }

    /// How many concerns are recorded (for tests and the status page).
    pub async fn concern_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM concerns")
            .fetch_one(self.pool())
            .await?;
        from_db("concern count", n)
    }
}

#[cfg(test)]
mod tests;
