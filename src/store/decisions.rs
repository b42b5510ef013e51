//! Council decisions: who accepted, rejected or vetted a concern, and when. At most one of
//! each kind per concern, so a relabel or a redelivered event does not record it twice and
//! the first decision's actor and time stand.

use sqlx::Row;

use super::error::to_db;
use super::{Store, StoreError};

pub use crate::council::DecisionKind;

/// A stored `kind` back as the council's decision kind.
fn parse_kind(s: &str) -> Result<DecisionKind, StoreError> {
    DecisionKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt {
            what: "decision kind",
            reason: format!("unknown kind `{s}`"),
        })
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What was decided.
    pub kind: DecisionKind,
    /// The council member's login.
    pub actor: String,
    /// When (ms since the epoch).
    pub decided_at: i64,
}

impl Store {
    /// Records a decision; `false` when one of this kind was already recorded (kept as is).
    pub async fn record_decision(
        &self,
        repo: &str,
        number: u64,
        kind: DecisionKind,
        actor: &str,
        decided_at: i64,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "INSERT INTO decisions (repo, number, kind, actor, decided_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, number, kind) DO NOTHING",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .bind(kind.as_str())
        .bind(actor)
        .bind(decided_at)
        .execute(self.pool())
        .await
        .inspect(super::counted)?;
        Ok(done.rows_affected() == 1)
    }

    /// Every decision on this concern, oldest first.
    pub async fn decisions_for(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<Decision>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, actor, decided_at FROM decisions \
             WHERE repo = $1 AND number = $2 ORDER BY decided_at, kind",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Decision {
                    kind: parse_kind(row.try_get("kind")?)?,
                    actor: row.try_get("actor")?,
                    decided_at: row.try_get("decided_at")?,
                })
            })
            .collect()
    }

    /// The council member who submits this concern's stories: who vetted it (two-step
    /// mode), else who accepted it; `None` before either decision. Issue #11: "the story is
    /// submitted by the council member who raised it".
    pub async fn submitter(&self, repo: &str, number: u64) -> Result<Option<String>, StoreError> {
        let decisions = self.decisions_for(repo, number).await?;
        let by = |kind: DecisionKind| decisions.iter().find(|d| d.kind == kind);
        Ok(by(DecisionKind::Vet)
            .or_else(|| by(DecisionKind::Accept))
            .map(|d| d.actor.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[tokio::test]
    async fn the_submitter_is_who_vetted_else_who_accepted() {
        on_each_backend(|store| async move {
            let repo = "acme/ops";
            assert_eq!(store.submitter(repo, 1).await.expect("none"), None);
            store
                .record_decision(repo, 1, DecisionKind::Accept, "carol", 100)
                .await
                .expect("accept");
            assert_eq!(
                store.submitter(repo, 1).await.expect("accepted"),
                Some("carol".to_owned())
            );
            store
                .record_decision(repo, 1, DecisionKind::Vet, "dave", 200)
                .await
                .expect("vet");
            assert_eq!(
                store.submitter(repo, 1).await.expect("vetted"),
                Some("dave".to_owned())
            );
            store
                .record_decision(repo, 2, DecisionKind::Reject, "erin", 50)
                .await
                .expect("reject");
            assert_eq!(store.submitter(repo, 2).await.expect("rejected"), None);
        })
        .await;
    }

    #[tokio::test]
    async fn first_decision_of_a_kind_stands() {
        on_each_backend(|store| async move {
            let repo = "acme/ops";
            assert!(
                store
                    .record_decision(repo, 1, DecisionKind::Accept, "carol", 100)
                    .await
                    .expect("record")
            );
            assert!(
                !store
                    .record_decision(repo, 1, DecisionKind::Accept, "dave", 200)
                    .await
                    .expect("again")
            );
            assert!(
                store
                    .record_decision(repo, 1, DecisionKind::Vet, "dave", 300)
                    .await
                    .expect("vet")
            );
            assert!(
                store
                    .record_decision(repo, 2, DecisionKind::Reject, "carol", 50)
                    .await
                    .expect("other issue")
            );
            assert_eq!(
                store.decisions_for(repo, 1).await.expect("list"),
                vec![
                    Decision {
                        kind: DecisionKind::Accept,
                        actor: "carol".into(),
                        decided_at: 100
                    },
                    Decision {
                        kind: DecisionKind::Vet,
                        actor: "dave".into(),
                        decided_at: 300
                    },
                ]
            );
            assert!(store.decisions_for(repo, 3).await.expect("none").is_empty());
        })
        .await;
    }
}
