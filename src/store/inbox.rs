//! The inbox: webhook deliveries, stored before they are acknowledged and processed from
//! here. Writes go through [`InboxWriter`](super::InboxWriter); this file has the types and
//! the engine's side (read pending, record the outcome).

use bytes::Bytes;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, now_ms};

/// Deliveries that failed this many times are no longer offered by
/// [`Store::pending_deliveries`]: they stay in the table, unprocessed and with their last
/// error, for someone to look at. Five tries ride out a tracker outage of a few minutes
/// while the engine backs off; polling repairs whatever a dropped delivery missed.
pub const MAX_DELIVERY_ATTEMPTS: i64 = 5;

/// Most bodies [`Store::delivery_bodies`] reads in one query (one placeholder each: well
/// inside SQLite's and PostgreSQL's limits on parameters).
pub const MAX_BODIES: usize = 512;

/// Who sent a delivery; delivery ids are unique per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /webhooks/github` (`X-GitHub-Delivery`).
    Github,
    /// The tracker's own webhooks (today Jira's `POST /webhooks/jira`, keyed by
    /// `X-Atlassian-Webhook-Identifier`); the configured tracker turns them into cues.
    Tracker,
}

impl Source {
    /// The value in the `source` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            // The value files have held since Jira was the only tracker: kept, so stored
            // deliveries keep deduplicating against redeliveries.
            Self::Tracker => "jira",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "github" => Ok(Self::Github),
            "jira" => Ok(Self::Tracker),
            other => Err(StoreError::Corrupt {
                what: "delivery source",
                reason: format!("unknown source `{other}`"),
            }),
        }
    }
}

/// A delivery as received, before it is stored.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Who sent it.
    pub source: Source,
    /// The sender's delivery id; a redelivery carries the same one and is stored once.
    pub delivery_id: String,
    /// Event name (`issues`, `jira:issue_updated`, …).
    pub event: String,
    /// The payload's action, when it has one.
    pub action: Option<String>,
    /// The raw body, exactly as signed.
    pub payload: Bytes,
}

/// A GitHub delivery's place among the inbox round's runs (`engine::coalesce`), taken at
/// ingest from the parse the route already does, and stored beside the body (the columns
/// `cue`, `repository`, `issue_number`, `sender`: migration 0011, on SQLite the inbox
/// file's schema 2), so the engine decompresses and decodes only the bodies it acts on.
/// Rows stored before have none and are decoded as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    /// Which kind of cue the delivery is.
    pub cue: Cue,
    /// `owner/name` of the issue's repository, as GitHub sent it (`repository.full_name`).
    pub repo: String,
    /// The issue's number in `repo`.
    pub issue_number: u64,
    /// `sender.login`: who caused the event (the daemon's own writes come back with its
    /// login).
    pub sender: String,
}

/// The kinds of GitHub delivery the inbox round tells apart (the `cue` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// An `issues` event about one issue (its action is the row's `action`).
    Issue,
    /// An `issue_comment` event.
    Comment,
    /// An `issues` event about two issues: `transferred`, or `opened` after a transfer
    /// (GitHub's `changes.new_issue` / `changes.old_issue`).
    Transfer,
}

impl Cue {
    /// The value in the `cue` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issue => "issue",
            Self::Comment => "comment",
            Self::Transfer => "transfer",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "issue" => Ok(Self::Issue),
            "comment" => Ok(Self::Comment),
            "transfer" => Ok(Self::Transfer),
            other => Err(StoreError::Corrupt {
                what: "delivery cue",
                reason: format!("unknown cue `{other}`"),
            }),
        }
    }
}

/// What [`InboxWriter::submit`](super::InboxWriter::submit) did, once committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Stored as a new delivery with this sequence number.
    Inserted {
        /// Position in the inbox; deliveries are processed in this order.
        seq: i64,
    },
    /// A delivery with this source and id was already stored.
    Duplicate,
}

/// A stored delivery waiting to be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Position in the inbox.
    pub seq: i64,
    /// Who sent it.
    pub source: Source,
    /// The sender's delivery id.
    pub delivery_id: String,
    /// Event name.
    pub event: String,
    /// The payload's action.
    pub action: Option<String>,
    /// The raw body as received (the inbox stores it compressed, see `store/payload.rs`);
    /// decode it again with `github::webhook::decode`.
    pub payload: Vec<u8>,
    /// When it was stored (ms since the epoch).
    pub received_at: i64,
    /// Earlier processing attempts that failed.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Earlier processing starts that never ended: the process went away while deciding it.
    pub interrupted: i64,
    /// Its place among a round's runs, stored at ingest (`None`: a tracker's delivery, or
    /// one stored before the columns existed).
    pub routing: Option<Routing>,
}

/// A stored delivery waiting to be processed, without its body: what the inbox round reads
/// for every delivery ([`Store::pending_headers`]); the bodies of those it acts on come
/// from [`Store::delivery_bodies`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryHeader {
    /// Position in the inbox.
    pub seq: i64,
    /// Who sent it.
    pub source: Source,
    /// The sender's delivery id.
    pub delivery_id: String,
    /// Event name.
    pub event: String,
    /// The payload's action.
    pub action: Option<String>,
    /// When it was stored (ms since the epoch).
    pub received_at: i64,
    /// Earlier processing attempts that failed.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Earlier processing starts that never ended.
    pub interrupted: i64,
    /// Its place among a round's runs (see [`Routing`]).
    pub routing: Option<Routing>,
}

impl DeliveryHeader {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let cue: Option<String> = row.try_get("cue")?;
        let repo: Option<String> = row.try_get("repository")?;
        let number: Option<i64> = row.try_get("issue_number")?;
        let sender: Option<String> = row.try_get("sender")?;
        // All four or none (a number too large to store leaves the row without them).
        let routing = match (cue, repo, number, sender) {
            (Some(cue), Some(repo), Some(number), Some(sender)) => Some(Routing {
                cue: Cue::parse(&cue)?,
                repo,
                issue_number: u64::try_from(number).map_err(|_| StoreError::Corrupt {
                    what: "delivery issue number",
                    reason: format!("negative: {number}"),
                })?,
                sender,
            }),
            _ => None,
        };
        Ok(Self {
            seq: row.try_get("seq")?,
            source: Source::parse(row.try_get("source")?)?,
            delivery_id: row.try_get("delivery_id")?,
            event: row.try_get("event")?,
            action: row.try_get("action")?,
            received_at: row.try_get("received_at")?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            interrupted: row.try_get::<i64, _>("started")? - row.try_get::<i64, _>("attempts")?,
            routing,
        })
    }

    /// The delivery with its body as received (from [`Store::delivery_bodies`]).
    pub fn with_body(self, payload: Vec<u8>) -> Delivery {
        Delivery {
            seq: self.seq,
            source: self.source,
            delivery_id: self.delivery_id,
            event: self.event,
            action: self.action,
            payload,
            received_at: self.received_at,
            attempts: self.attempts,
            last_error: self.last_error,
            interrupted: self.interrupted,
            routing: self.routing,
        }
    }
}

impl Store {
    /// The oldest unprocessed deliveries (up to `limit`), in arrival order, skipping those
    /// that already failed [`MAX_DELIVERY_ATTEMPTS`] times.
    ///
    /// A delivery is unprocessed while `delivery_outcomes` records no `processed_at` for
    /// it; the inbox's own `processed_at` (a hint, see [`Store::mark_handled`]) only keeps
    /// the scan short.
    pub async fn pending_deliveries(&self, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let headers = self.pending_headers(limit).await?;
        let seqs: Vec<i64> = headers.iter().map(|h| h.seq).collect();
        let mut bodies = self.delivery_bodies(&seqs).await?;
        headers
            .into_iter()
            .map(|h| match bodies.remove(&h.seq) {
                Some(body) => Ok(h.with_body(body)),
                None => Err(StoreError::Corrupt {
                    what: "inbox",
                    reason: format!("delivery {} has no body", h.seq),
                }),
            })
            .collect()
    }

    /// [`Store::pending_deliveries`] without the bodies: the same deliveries in the same
    /// order, each with its [`Routing`] when stored with one. The inbox round reads these
    /// for every delivery and the bodies only of those it acts on.
    pub async fn pending_headers(&self, limit: u32) -> Result<Vec<DeliveryHeader>, StoreError> {
        let rows = sqlx::query(self.inbox_sql(
            "SELECT d.seq, d.source, d.delivery_id, d.event, d.action, d.received_at, \
                    d.cue, d.repository, d.issue_number, d.sender, \
                    COALESCE(o.attempts, 0) AS attempts, o.last_error, \
                    COALESCE(o.started, 0) AS started \
             FROM {inbox} d LEFT JOIN delivery_outcomes o ON o.seq = d.seq \
             WHERE d.processed_at IS NULL AND o.processed_at IS NULL \
               AND COALESCE(o.attempts, 0) < $1 \
             ORDER BY d.seq LIMIT $2",
        ))
        .bind(MAX_DELIVERY_ATTEMPTS)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(DeliveryHeader::from_row).collect()
    }

    /// The bodies, as received, of the stored deliveries `seqs` (at most
    /// [`MAX_BODIES`] at a time; more is `OutOfRange`), by `seq`; a `seq` not stored is
    /// absent. One query. `Corrupt` when a compressed body does not decompress.
    pub async fn delivery_bodies(
        &self,
        seqs: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<u8>>, StoreError> {
        if seqs.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        if seqs.len() > MAX_BODIES {
            return Err(StoreError::OutOfRange {
                what: "delivery bodies asked at once",
                value: seqs.len().to_string(),
            });
        }
        let placeholders: Vec<String> = (1..=seqs.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT seq, payload FROM {{inbox}} WHERE seq IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(self.inbox_sql(&sql));
        for seq in seqs {
            query = query.bind(seq);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("seq")?,
                    // Compressed on the way in, or (rows stored before) as received.
                    super::payload::unpack(row.try_get("payload")?)?,
                ))
            })
            .collect()
    }

    /// Counts a processing start of each of `seqs`, committed (in one transaction) before
    /// they are decided, so a delivery whose processing takes the process down shows as
    /// interrupted on the next start. Nothing to count, nothing written. Committed through
    /// [`Store::relaxed_pool`]: the process going away keeps it, and a power cut that loses
    /// it only leaves a start uncounted that the delivery did not cause.
    pub async fn begin_deliveries(&self, seqs: &[i64]) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        if seqs.is_empty() {
            return Ok(());
        }
        let mut tx = self.relaxed_pool().begin().await?;
        for &seq in seqs {
            sqlx::query(
                "INSERT INTO delivery_outcomes (seq, started) VALUES ($1, 1) \
                 ON CONFLICT (seq) DO UPDATE SET started = delivery_outcomes.started + 1",
            )
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.count_on_relaxed(1);
        Ok(())
    }

    /// Records how processing went: `Ok` marks the delivery processed; `Err` keeps it
    /// pending (so a transient failure is retried) with the reason and one more attempt.
    ///
    /// Committed through [`Store::relaxed_pool`]: whatever the handling queued was
    /// committed before it, waiting for the disk (a decision with its stage and writes
    /// commits with its outcome in [`Store::commit_decision`]). A power cut that loses it
    /// leaves the delivery pending, as a crash just before it would, and handling it again
    /// writes nothing new (a redelivered event is handled the same way). Most deliveries
    /// that end here are the daemon's own writes coming back (labels, the tracking comment,
    /// the tracker's created-issue events), several per accept, each of which held the
    /// write lock through an fsync before.
    pub async fn finish_delivery(
        &self,
        seq: i64,
        outcome: Result<(), String>,
    ) -> Result<(), StoreError> {
        self.finish_deliveries(&[seq], outcome).await
    }

    /// Records one outcome for each of `seqs` in one commit: the deliveries an inbox round
    /// handled together (a run of edits of one issue, decided once: see
    /// `engine::coalesce`). Same meaning and durability as [`Store::finish_delivery`] for
    /// each of them; nothing to record, nothing written.
    pub async fn finish_deliveries(
        &self,
        seqs: &[i64],
        outcome: Result<(), String>,
    ) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let (processed_at, error) = match outcome {
            Ok(()) => (Some(now_ms()), None),
            Err(reason) => (None, Some(reason)),
        };
        if let [seq] = seqs {
            // One row: one statement commits alone, no BEGIN/COMMIT round trips.
            sqlx::query(RECORD_OUTCOME)
                .bind(processed_at)
                .bind(error)
                .bind(seq)
                .execute(self.relaxed_pool())
                .await?;
            self.count_on_relaxed(1);
            return Ok(());
        }
        let mut tx = self.relaxed_pool().begin().await?;
        for &seq in seqs {
            sqlx::query(RECORD_OUTCOME)
                .bind(processed_at)
                .bind(error.as_deref())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.count_on_relaxed(1);
        Ok(())
    }

    /// Copies the outcomes of the inbox's deliveries up to `seq` that are processed into
    /// the inbox's `processed_at`, the hint that keeps [`Store::pending_deliveries`]'s scan
    /// short. One statement on the inbox per round, not per delivery; on SQLite it commits
    /// without waiting for the disk (see `INBOX_ATTACHED_PRAGMAS`): losing it costs a look-up
    /// at the next round, never a second handling.
    pub async fn mark_handled(&self, up_to_seq: i64) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(self.inbox_sql(
            "UPDATE {inbox} SET processed_at = $1 \
             WHERE processed_at IS NULL AND seq <= $2 AND EXISTS \
                 (SELECT 1 FROM delivery_outcomes o \
                  WHERE o.seq = deliveries.seq AND o.processed_at IS NOT NULL)",
        ))
        .bind(now_ms())
        .bind(up_to_seq)
        .execute(self.pool())
        .await
        // The attached inbox commits with `synchronous = NORMAL`.
        .inspect(super::counted_relaxed)?;
        Ok(())
    }
}

/// Records one end of a delivery's processing in `delivery_outcomes` (binds: `processed_at`
/// or NULL, `last_error` or NULL, `seq`): one more attempt, and either processed (the error
/// cleared) or still pending with its error. An upsert, so it works whether or not
/// [`Store::begin_deliveries`] ran first (a one-shot command deciding without a round).
pub(crate) const RECORD_OUTCOME: &str = "INSERT INTO delivery_outcomes (seq, attempts, last_error, processed_at) VALUES ($3, 1, $2, $1) \
     ON CONFLICT (seq) DO UPDATE SET attempts = delivery_outcomes.attempts + 1, \
         last_error = excluded.last_error, processed_at = excluded.processed_at";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InboxWriter;
    use crate::store::testing::on_each_backend;

    fn delivery(id: &str) -> NewDelivery {
        NewDelivery {
            source: Source::Github,
            delivery_id: id.to_owned(),
            event: "issues".into(),
            action: Some("opened".into()),
            payload: Bytes::from_static(b"{\"action\":\"opened\"}"),
        }
    }

    #[tokio::test]
    async fn pending_then_processed_or_retried() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            for id in ["a", "b", "c"] {
                writer.submit(delivery(id)).await.expect("submit");
            }
            let pending = store.pending_deliveries(10).await.expect("pending");
            let ids: Vec<_> = pending.iter().map(|d| d.delivery_id.as_str()).collect();
            assert_eq!(ids, ["a", "b", "c"]);
            assert_eq!(pending[0].payload, b"{\"action\":\"opened\"}");
            assert_eq!(pending[0].action.as_deref(), Some("opened"));
            assert_eq!(pending[0].source, Source::Github);

            store
                .finish_delivery(pending[0].seq, Ok(()))
                .await
                .expect("ok");
            store
                .finish_delivery(pending[1].seq, Err("jira 503".into()))
                .await
                .expect("err");
            let pending = store.pending_deliveries(10).await.expect("pending");
            let ids: Vec<_> = pending.iter().map(|d| d.delivery_id.as_str()).collect();
            assert_eq!(ids, ["b", "c"]);
            assert_eq!(pending[0].attempts, 1);
            assert_eq!(pending[0].last_error.as_deref(), Some("jira 503"));
            assert_eq!(store.pending_deliveries(1).await.expect("limit").len(), 1);
        })
        .await;
    }

    /// Starts counted together in one commit show as interrupted until an outcome ends
    /// them; a delivery ended (processed or failed) is not interrupted.
    #[tokio::test]
    async fn starts_counted_together_show_as_interrupted_until_ended() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            for id in ["a", "b", "c"] {
                writer.submit(delivery(id)).await.expect("submit");
            }
            let seqs: Vec<i64> = store
                .pending_deliveries(10)
                .await
                .expect("pending")
                .iter()
                .map(|d| d.seq)
                .collect();
            store.begin_deliveries(&seqs).await.expect("begin");
            store.begin_deliveries(&[]).await.expect("nothing to count");
            store
                .finish_delivery(seqs[1], Err("jira 503".into()))
                .await
                .expect("failed once");
            store.begin_deliveries(&seqs[..1]).await.expect("again");
            let got: Vec<_> = store
                .pending_deliveries(10)
                .await
                .expect("pending")
                .iter()
                .map(|d| (d.seq, d.interrupted, d.attempts))
                .collect();
            assert_eq!(got, [(seqs[0], 2, 0), (seqs[1], 0, 1), (seqs[2], 1, 0)]);
        })
        .await;
    }

    /// Deliveries handled together get one outcome each in one commit: processed ones
    /// leave the pending list, failed ones stay with their error and one more attempt.
    #[tokio::test]
    async fn outcomes_of_a_run_are_recorded_for_each_delivery() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            for id in ["a", "b", "c", "d"] {
                writer.submit(delivery(id)).await.expect("submit");
            }
            let seqs: Vec<i64> = store
                .pending_deliveries(10)
                .await
                .expect("pending")
                .iter()
                .map(|d| d.seq)
                .collect();
            store.begin_deliveries(&seqs).await.expect("begin");
            store
                .finish_deliveries(&[], Ok(()))
                .await
                .expect("nothing to record");
            store
                .finish_deliveries(&seqs[..2], Ok(()))
                .await
                .expect("processed");
            store
                .finish_deliveries(&seqs[2..], Err("github 502".into()))
                .await
                .expect("failed");
            let got: Vec<_> = store
                .pending_deliveries(10)
                .await
                .expect("pending")
                .iter()
                .map(|d| (d.seq, d.attempts, d.interrupted, d.last_error.clone()))
                .collect();
            let failed = Some("github 502".to_owned());
            assert_eq!(
                got,
                [(seqs[2], 1, 0, failed.clone()), (seqs[3], 1, 0, failed)]
            );
        })
        .await;
    }

    /// Bodies are stored compressed, and rows stored before that (the body as received)
    /// read back beside new ones, each as it came in.
    #[tokio::test]
    async fn rows_stored_before_compression_read_back_beside_new_ones() {
        on_each_backend(|store| async move {
            let body = |n: u64| {
                let filler = "https://api.github.com/repos/acme/ops/issues/".repeat(200);
                format!(r#"{{"action":"edited","issue":{{"number":{n},"body":"{filler}"}}}}"#)
            };
            // As the writer stored a row before: the body as received.
            sqlx::query(
                "INSERT INTO deliveries (source, delivery_id, event, action, payload, received_at) \
                 VALUES ('github', 'old', 'issues', 'edited', $1, 1)",
            )
            .bind(body(1).into_bytes())
            .execute(store.inbox_pool())
            .await
            .expect("old row");
            let (writer, _task) = InboxWriter::spawn(store.clone());
            let mut new = delivery("new");
            new.payload = Bytes::from(body(2));
            writer.submit(new).await.expect("submit");

            let pending = store.pending_deliveries(10).await.expect("pending");
            let got: Vec<_> = pending
                .iter()
                .map(|d| (d.delivery_id.as_str(), d.payload.clone()))
                .collect();
            assert_eq!(
                got,
                [("old", body(1).into_bytes()), ("new", body(2).into_bytes())]
            );
            let stored: Vec<u8> =
                sqlx::query_scalar("SELECT payload FROM deliveries WHERE delivery_id = 'new'")
                    .fetch_one(store.inbox_pool())
                    .await
                    .expect("stored");
            assert!(
                stored.starts_with(b"\0lz4") && stored.len() * 4 < body(2).len(),
                "stored compressed: {} of {} bytes",
                stored.len(),
                body(2).len()
            );
        })
        .await;
    }

    /// A delivery stored with its routing reads back with it, one stored without (a
    /// tracker's, or a row from before the columns) without; the headers come in the same
    /// order as the deliveries, and bodies are read only for the `seq`s asked.
    #[tokio::test]
    async fn routing_is_stored_beside_the_body_and_bodies_are_read_by_seq() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            let routing = Routing {
                cue: Cue::Comment,
                repo: "Acme/Ops".into(),
                issue_number: 42,
                sender: "alice".into(),
            };
            writer
                .submit_routed(delivery("routed"), Some(routing.clone()))
                .await
                .expect("routed");
            let mut tracker = delivery("tracker");
            tracker.source = Source::Tracker;
            writer.submit(tracker).await.expect("tracker");
            // As a writer before the columns stored a row.
            sqlx::query(
                "INSERT INTO deliveries (source, delivery_id, event, action, payload, received_at) \
                 VALUES ('github', 'old', 'issues', 'edited', $1, 1)",
            )
            .bind(b"{}".to_vec())
            .execute(store.inbox_pool())
            .await
            .expect("old row");

            let headers = store.pending_headers(10).await.expect("headers");
            let got: Vec<_> = headers
                .iter()
                .map(|h| (h.delivery_id.as_str(), h.routing.clone()))
                .collect();
            assert_eq!(
                got,
                [("routed", Some(routing)), ("tracker", None), ("old", None)]
            );
            let full = store.pending_deliveries(10).await.expect("pending");
            assert_eq!(
                full.iter().map(|d| d.routing.clone()).collect::<Vec<_>>(),
                headers
                    .iter()
                    .map(|h| h.routing.clone())
                    .collect::<Vec<_>>()
            );

            let bodies = store
                .delivery_bodies(&[headers[0].seq, headers[2].seq, 9_999_999])
                .await
                .expect("bodies");
            assert_eq!(bodies.len(), 2, "only the stored ones asked for");
            assert_eq!(bodies[&headers[0].seq], b"{\"action\":\"opened\"}");
            assert_eq!(bodies[&headers[2].seq], b"{}");
            assert!(store.delivery_bodies(&[]).await.expect("none").is_empty());
            let too_many: Vec<i64> = (0..=MAX_BODIES as i64).collect();
            assert!(matches!(
                store.delivery_bodies(&too_many).await,
                Err(StoreError::OutOfRange { .. })
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            let Submitted::Inserted { seq } = writer.submit(delivery("x")).await.expect("submit")
            else {
                panic!("not inserted");
            };
            for _ in 0..MAX_DELIVERY_ATTEMPTS {
                assert_eq!(
                    store.pending_deliveries(10).await.expect("pending").len(),
                    1
                );
                store
                    .finish_delivery(seq, Err("boom".into()))
                    .await
                    .expect("finish");
            }
            assert!(
                store
                    .pending_deliveries(10)
                    .await
                    .expect("pending")
                    .is_empty()
            );
        })
        .await;
    }

    #[tokio::test]
    async fn same_id_from_another_source_is_not_a_duplicate() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            let mut jira = delivery("same");
            jira.source = Source::Tracker;
            assert!(matches!(
                writer.submit(delivery("same")).await,
                Ok(Submitted::Inserted { .. })
            ));
            assert!(matches!(
                writer.submit(jira).await,
                Ok(Submitted::Inserted { .. })
            ));
            assert_eq!(
                writer.submit(delivery("same")).await.expect("dup"),
                Submitted::Duplicate
            );
        })
        .await;
    }
}
