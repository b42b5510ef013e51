//! The inbox writer: one task that stores webhook deliveries by group commit.
//!
//! Why: a webhook is acknowledged (202) only after its delivery is durably stored, and with
//! `synchronous=FULL` every SQLite commit waits for the disk. One commit per request tops out
//! around 3k deliveries/s on a two-core machine; committing everything that is already
//! queued in one transaction reaches 7–9k/s. Measured alongside: waiting a fixed window for
//! more work before committing made it slower, not faster, so the writer never waits. It
//! takes whatever is queued (at least one, at most [`MAX_BATCH`]), commits, answers every
//! submitter, wakes the engine, and goes back for the next batch; requests that arrive
//! during a commit form the next batch by themselves.
//!
//! A batch of up to 64 is one multi-row `INSERT`, its own transaction (one hand-off to
//! SQLite's worker thread); a larger one a few `INSERT`s in one transaction. The commit
//! never runs a WAL checkpoint: after every few MB stored the writer asks the inbox's
//! checkpointer, which runs beside the next commits (`inbox_file.rs`).
//!
//! Each submitter gets its answer only after the commit: `Inserted` or `Duplicate` (same
//! source and delivery id seen before, even earlier in the same batch). If the commit
//! fails, every submitter in that batch gets the error and answers 503, so GitHub redelivers.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::inbox_file::{CHECKPOINT_AFTER_BYTES, Checkpointer};
use super::{Backend, NewDelivery, Routing, Store, StoreError, Submitted, now_ms};

/// Most deliveries committed in one transaction: bounds how long one commit holds the write
/// lock (a few ms at 14 KB each) and how much a failed batch has to redeliver.
pub const MAX_BATCH: usize = 512;

/// Deliveries that may wait for the writer before `submit` itself waits (backpressure to
/// the HTTP handlers instead of unbounded memory).
const QUEUE_DEPTH: usize = 4096;

/// A commit of at least this many deliveries means senders queued behind the previous
/// commit: webhooks are arriving faster than one commit at a time can answer them. One
/// webhook at a time (GitHub's usual pace) never reaches it.
const BUSY_BATCH: usize = 4;

/// How long the writer counts as busy after a commit of [`BUSY_BATCH`] or more: a few
/// commits' time (each waits for an fsync, 0.1–1 ms here), so the busy spell ends soon
/// after a burst does.
const BUSY_FOR_MS: i64 = 20;

/// How busy the webhook writer is. The writer marks it after each commit; the engine's
/// inbox loop reads it and yields while the writer is busy (at most `engine::MAX_YIELD` at
/// a time), so a burst of webhooks is answered first and handled from the inbox after. One
/// per store (shared by its clones).
#[derive(Debug, Default)]
pub struct IngestPressure {
    /// Until when (ms since the epoch) the writer counts as busy.
    busy_until_ms: AtomicI64,
}

impl IngestPressure {
    /// Whether webhooks were queueing behind each other's commits within the last
    /// [`BUSY_FOR_MS`].
    pub fn busy(&self) -> bool {
        now_ms() < self.busy_until_ms.load(Ordering::Relaxed)
    }

    /// Marks the writer busy for the next `ms` milliseconds (tests of those who yield).
    #[cfg(test)]
    pub(crate) fn busy_for(&self, ms: i64) {
        self.busy_until_ms.store(now_ms() + ms, Ordering::Relaxed);
    }

    /// Records a commit of `deliveries`.
    pub fn committed(&self, deliveries: usize) {
        if deliveries >= BUSY_BATCH {
            self.busy_until_ms
                .store(now_ms() + BUSY_FOR_MS, Ordering::Relaxed);
        }
    }
}

struct Job {
    delivery: NewDelivery,
    /// Its routing columns (`None`: stored without them).
    routing: Option<Routing>,
    reply: oneshot::Sender<Result<Submitted, StoreError>>,
}

/// Submits deliveries to the single inbox writer task; cheap to clone, one per handler.
#[derive(Debug, Clone)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
    /// Checkpoints of the inbox file run so far (SQLite only).
    checkpoints: Option<watch::Receiver<u64>>,
    /// The store the writer commits to, asked by [`InboxWriter::ready`].
    store: Store,
}

impl InboxWriter {
    /// Starts the writer task. It ends once every `InboxWriter` clone is dropped and the
    /// queue is drained; await the handle on shutdown so nothing accepted is lost.
    pub fn spawn(store: Store) -> (Self, JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        // SQLite only: the inbox file's checkpoints, out of the commit path.
        let checkpointer = (store.backend() == Backend::Sqlite)
            .then(|| Checkpointer::spawn(store.inbox_pool().clone()));
        let checkpoints = checkpointer.as_ref().map(|(c, _)| c.done());
        let task = tokio::spawn(run(store.clone(), queue, checkpointer));
        (
            Self {
                jobs,
                checkpoints,
                store,
            },
            task,
        )
    }

    /// How many checkpoints of the inbox file have run since the writer started (`None` on
    /// PostgreSQL, where the inbox has no file of its own). Tests await it instead of
    /// sleeping.
    pub fn checkpoints(&self) -> Option<watch::Receiver<u64>> {
        self.checkpoints.clone()
    }

    /// Whether a delivery could be stored now: the writer task is running and the database
    /// answers a query. For readiness probes; it writes nothing.
    pub async fn ready(&self) -> Result<(), StoreError> {
        if self.jobs.is_closed() {
            return Err(StoreError::WriterClosed);
        }
        self.store.ping_inbox().await
    }

    /// What the daemon has still to do (for `GET /status`).
    pub async fn backlog(&self) -> Result<super::Backlog, StoreError> {
        self.store.backlog().await
    }

    /// Stores one delivery; resolves once it is committed (or known to be a duplicate).
    /// The body is compressed here, on the submitter's task (`store/payload.rs`), so the
    /// one writer task only binds it.
    pub async fn submit(&self, delivery: NewDelivery) -> Result<Submitted, StoreError> {
        self.submit_routed(delivery, None).await
    }

    /// [`InboxWriter::submit`] of a GitHub delivery with its [`Routing`], stored in the
    /// row's routing columns so the engine's round places it without reading the body.
    pub async fn submit_routed(
        &self,
        mut delivery: NewDelivery,
        routing: Option<Routing>,
    ) -> Result<Submitted, StoreError> {
        delivery.payload = bytes::Bytes::from(super::payload::pack(&delivery.payload));
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                delivery,
                routing,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterClosed)?;
        answer.await.map_err(|_| StoreError::WriterClosed)?
    }
}

async fn run(
    store: Store,
    mut queue: mpsc::Receiver<Job>,
    checkpointer: Option<(Checkpointer, JoinHandle<()>)>,
) {
    let notify = store.inbox_notify();
    let pressure = store.ingest_pressure();
    let mut since_checkpoint = 0usize;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit(&store, &batch).await {
            Ok(results) => {
                pressure.committed(batch.len());
                if results
                    .iter()
                    .any(|r| matches!(r, Submitted::Inserted { .. }))
                {
                    notify.notify_one();
                }
                since_checkpoint += batch
                    .iter()
                    .map(|j| j.delivery.payload.len())
                    .sum::<usize>();
                for (job, result) in batch.drain(..).zip(results) {
                    // A submitter that gave up (client hung up) no longer needs the answer.
                    let _ = job.reply.send(Ok(result));
                }
                if since_checkpoint >= CHECKPOINT_AFTER_BYTES {
                    if let Some((checkpointer, _)) = &checkpointer {
                        checkpointer.request();
                    }
                    since_checkpoint = 0;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = batch.len(), "inbox commit failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
    // The last checkpoint asked for finishes before the writer counts as ended.
    if let Some((checkpointer, task)) = checkpointer {
        drop(checkpointer);
        let _ = task.await;
    }
}

/// Batches of up to this many deliveries are stored by one `INSERT` of exactly their size,
/// without `BEGIN` and `COMMIT` around it: a single statement commits by itself (SQLite's
/// autocommit; on PostgreSQL likewise), so the common batch costs one hand-off to SQLite's
/// worker thread instead of three. The ingest bench sees batches of 1–64 (one per waiting
/// sender); the 64 statement shapes this prepares stay inside sqlx's cache of 100 per
/// connection.
const ONE_STATEMENT: usize = 64;

/// Rows per `INSERT` for the part of a batch above [`ONE_STATEMENT`]: taken largest first
/// inside one transaction, the rest (at most [`ONE_STATEMENT`]) as one statement of its
/// own size, so a full batch takes at most four statements.
const CHUNKS: [usize; 3] = [512, 256, 128];

/// How a batch of `n` is stored: the size of each `INSERT`, in order (empty for none).
fn statements(mut n: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    for size in CHUNKS {
        while n > ONE_STATEMENT && n >= size {
            sizes.push(size);
            n -= size;
        }
    }
    while n > ONE_STATEMENT {
        sizes.push(ONE_STATEMENT);
        n -= ONE_STATEMENT;
    }
    if n > 0 {
        sizes.push(n);
    }
    sizes
}

async fn commit(store: &Store, batch: &[Job]) -> Result<Vec<Submitted>, StoreError> {
    let received_at = now_ms();
    let sizes = statements(batch.len());
    let inserted = if let [_] = sizes[..] {
        // One statement: it is its own transaction, committed (fsync'd under
        // `synchronous = FULL`) before its rows come back.
        insert_chunk(
            store.inbox_pool(),
            insert_sql(batch.len())?,
            batch,
            received_at,
        )
        .await?
    } else {
        let mut tx = store.inbox_pool().begin().await?;
        let mut inserted: Vec<Option<i64>> = Vec::with_capacity(batch.len());
        let mut rest = batch;
        for size in sizes {
            let (chunk, tail) = rest.split_at(size);
            inserted.extend(insert_chunk(&mut *tx, insert_sql(size)?, chunk, received_at).await?);
            rest = tail;
        }
        tx.commit().await?;
        inserted
    };
    Ok(inserted
        .into_iter()
        .map(|seq| match seq {
            Some(seq) => Submitted::Inserted { seq },
            None => Submitted::Duplicate,
        })
        .collect())
}

/// The statement of each size [`statements`] plans: 1 to [`ONE_STATEMENT`] rows, then each
/// of [`CHUNKS`]; built once (only placeholders vary: no data goes into the SQL text).
static INSERT_SQL: std::sync::LazyLock<Vec<(usize, String)>> = std::sync::LazyLock::new(|| {
    (1..=ONE_STATEMENT)
        .chain(CHUNKS)
        .map(|n| (n, build_insert_sql(n)))
        .collect()
});

/// The `INSERT` of `rows` deliveries, for a size [`statements`] plans (`OutOfRange` for
/// any other: a bug here, answered as a failed commit rather than a panic).
fn insert_sql(rows: usize) -> Result<&'static str, StoreError> {
    INSERT_SQL
        .iter()
        .find(|(n, _)| *n == rows)
        .map(|(_, sql)| sql.as_str())
        .ok_or_else(|| StoreError::OutOfRange {
            what: "inbox batch statement size",
            value: rows.to_string(),
        })
}

/// Parameters of one row in the `INSERT` (all but `received_at`, shared by every row).
const PER_ROW: usize = 9;

/// The `INSERT` of `rows` deliveries: `received_at` is one parameter shared by every row.
fn build_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO deliveries (source, delivery_id, event, action, payload, \
         cue, repository, issue_number, sender, received_at) VALUES ",
    );
    for i in 0..rows {
        let p = 2 + i * PER_ROW;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for k in 0..PER_ROW {
            sql.push_str(&format!("${}, ", p + k));
        }
        sql.push_str("$1)");
    }
    sql.push_str(
        " ON CONFLICT (source, delivery_id) DO NOTHING RETURNING seq, source, delivery_id",
    );
    sql
}

/// Inserts `chunk` in one statement (`sql`: [`insert_sql`] of its size) on `on` (the pool
/// or a transaction); per job, its new `seq`, or `None` for a duplicate (the
/// pair was stored before, or earlier in this batch: the first occurrence is the one
/// inserted, as row-at-a-time inserts would have it). The database returns only the rows it
/// inserted, in no promised order, so they are matched back by (source, delivery id).
async fn insert_chunk<'c, E>(
    on: E,
    sql: &'static str,
    chunk: &[Job],
    received_at: i64,
) -> Result<Vec<Option<i64>>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    use sqlx::Row;
    let mut query = sqlx::query(sql).bind(received_at);
    for job in chunk {
        let d = &job.delivery;
        query = query
            .bind(d.source.as_str())
            .bind(d.delivery_id.as_str())
            .bind(d.event.as_str())
            .bind(d.action.as_deref())
            .bind(&d.payload[..]);
        let r = job.routing.as_ref();
        query = query
            .bind(r.map(|r| r.cue.as_str()))
            .bind(r.map(|r| r.repo.as_str()))
            // GitHub's issue numbers are far below i64::MAX; one that is not is stored as
            // no number, and the engine reads that row's body instead.
            .bind(r.and_then(|r| i64::try_from(r.issue_number).ok()))
            .bind(r.map(|r| r.sender.as_str()));
    }
    let rows = query.fetch_all(on).await?;
    let mut seqs: std::collections::HashMap<(String, String), i64> =
        std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        seqs.insert(
            (row.try_get("source")?, row.try_get("delivery_id")?),
            row.try_get("seq")?,
        );
    }
    Ok(chunk
        .iter()
        .map(|job| {
            let d = &job.delivery;
            // `remove`: a second job with the same key in this batch is the duplicate.
            seqs.remove(&(d.source.as_str().to_owned(), d.delivery_id.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Source;
    use crate::store::testing::{on_each_backend, temp_store};
    use bytes::Bytes;

    fn delivery(id: String) -> NewDelivery {
        NewDelivery {
            source: Source::Github,
            delivery_id: id,
            event: "issues".into(),
            action: Some("edited".into()),
            payload: Bytes::from(vec![b'x'; 1024]),
        }
    }

    async fn count(store: &Store) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
            .fetch_one(store.inbox_pool())
            .await
            .expect("count")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submits_all_land_once() {
        let (store, _dir) = temp_store().await;
        let (writer, task) = InboxWriter::spawn(store.clone());
        let mut tasks = Vec::new();
        for t in 0..50 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..20 {
                    match writer.submit(delivery(format!("{t}-{i}"))).await {
                        Ok(Submitted::Inserted { seq }) => seqs.push(seq),
                        other => panic!("{t}-{i}: {other:?}"),
                    }
                }
                seqs
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.extend(t.await.expect("task"));
        }
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), 1000, "every submit got its own seq");
        assert_eq!(count(&store).await, 1000);

        // Every one of them again, concurrently: all duplicates, nothing new stored.
        let mut tasks = Vec::new();
        for t in 0..50 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20 {
                    let r = writer.submit(delivery(format!("{t}-{i}"))).await;
                    assert_eq!(r.expect("submit"), Submitted::Duplicate, "{t}-{i}");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(count(&store).await, 1000);

        drop(writer);
        task.await
            .expect("writer task ends when every sender is gone");
    }

    #[tokio::test]
    async fn duplicate_inside_one_batch() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            // Both submits are queued before the writer runs, so they share one transaction.
            let (a, b) = tokio::join!(
                writer.submit(delivery("same".into())),
                writer.submit(delivery("same".into()))
            );
            let mut results = [a.expect("a"), b.expect("b")];
            results.sort_by_key(|r| matches!(r, Submitted::Duplicate));
            assert!(matches!(results[0], Submitted::Inserted { .. }));
            assert_eq!(results[1], Submitted::Duplicate);
            assert_eq!(count(&store).await, 1);
        })
        .await;
    }

    #[tokio::test]
    async fn batches_of_every_size_answer_each_job_as_row_at_a_time_inserts_would() {
        on_each_backend(|store| async move {
            // Stored before: "old-0" … "old-9".
            let (writer, _task) = InboxWriter::spawn(store.clone());
            for i in 0..10 {
                writer
                    .submit(delivery(format!("old-{i}")))
                    .await
                    .expect("old");
            }
            let mut stored = 10;
            // Sizes that cross every chunk boundary, up to a full batch.
            for (round, n) in [1usize, 2, 3, 37, 255, 256, 511, MAX_BATCH]
                .into_iter()
                .enumerate()
            {
                // Every 7th job repeats the job 3 before it; every 11th is an old one.
                let ids: Vec<String> = (0..n)
                    .map(|i| match i {
                        i if i % 11 == 10 => format!("old-{}", i % 10),
                        i if i % 7 == 6 => format!("r{round}-{}", i - 3),
                        i => format!("r{round}-{i}"),
                    })
                    .collect();
                let (replies, answers): (Vec<_>, Vec<_>) =
                    ids.iter().map(|_| oneshot::channel()).unzip();
                let jobs: Vec<Job> = ids
                    .iter()
                    .zip(replies)
                    .map(|(id, reply)| Job {
                        delivery: delivery(id.clone()),
                        routing: None,
                        reply,
                    })
                    .collect();
                drop(answers);
                let results = commit(&store, &jobs).await.expect("commit");
                assert_eq!(results.len(), n);
                let mut seen = std::collections::HashSet::new();
                let mut seqs = Vec::new();
                for (id, result) in ids.iter().zip(&results) {
                    let first = !id.starts_with("old-") && seen.insert(id.clone());
                    match result {
                        Submitted::Inserted { seq } if first => seqs.push(*seq),
                        Submitted::Duplicate if !first => {}
                        other => panic!("n = {n}, {id}: {other:?} (first: {first})"),
                    }
                }
                let new = seqs.len();
                seqs.sort_unstable();
                seqs.dedup();
                assert_eq!(seqs.len(), new, "n = {n}: every insert its own seq");
                stored += new as i64;
                assert_eq!(count(&store).await, stored, "n = {n}");
            }
        })
        .await;
    }

    #[tokio::test]
    async fn commit_wakes_the_engine() {
        on_each_backend(|store| async move {
            let notify = store.inbox_notify();
            let (writer, _task) = InboxWriter::spawn(store.clone());
            writer
                .submit(delivery("wake".into()))
                .await
                .expect("submit");
            // notify_one leaves a permit, so a wake that came before the wait is not lost.
            tokio::time::timeout(std::time::Duration::from_secs(5), notify.notified())
                .await
                .expect("engine was woken");
        })
        .await;
    }

    #[tokio::test]
    async fn failed_commit_reaches_every_submitter() {
        on_each_backend(|store| async move {
            let (writer, _task) = InboxWriter::spawn(store.clone());
            sqlx::query("DROP TABLE deliveries")
                .execute(store.inbox_pool())
                .await
                .expect("drop");
            let err = writer
                .submit(delivery("lost".into()))
                .await
                .expect_err("no table, no commit");
            assert!(matches!(err, StoreError::Db(_)), "{err}");
        })
        .await;
    }

    #[tokio::test]
    async fn submit_after_writer_stopped_is_writer_closed() {
        on_each_backend(|store| async move {
            let (writer, task) = InboxWriter::spawn(store);
            task.abort();
            let _ = task.await;
            let err = writer
                .submit(delivery("late".into()))
                .await
                .expect_err("writer gone");
            assert!(matches!(err, StoreError::WriterClosed));
        })
        .await;
    }

    /// A commit of one delivery at a time leaves the writer idle; one of several senders
    /// queued together marks it busy, for a short while only.
    #[test]
    fn queued_senders_mark_the_writer_busy_for_a_while() {
        let p = IngestPressure::default();
        assert!(!p.busy());
        p.committed(BUSY_BATCH - 1);
        assert!(!p.busy(), "one webhook at a time is no pressure");
        p.committed(BUSY_BATCH);
        assert!(p.busy());
        p.busy_until_ms.store(now_ms() - 1, Ordering::Relaxed);
        assert!(
            !p.busy(),
            "the spell ends {BUSY_FOR_MS} ms after the last busy commit"
        );
    }

    /// Every batch size up to [`MAX_BATCH`] is planned as at most four statements whose
    /// sizes add up to it, each with its statement text; up to [`ONE_STATEMENT`] it is one.
    #[test]
    fn every_batch_size_has_a_plan() {
        assert!(statements(0).is_empty());
        for n in 1..=MAX_BATCH {
            let plan = statements(n);
            assert_eq!(plan.iter().sum::<usize>(), n, "{n}: {plan:?}");
            assert!(plan.len() <= 4, "{n}: {plan:?}");
            if n <= ONE_STATEMENT {
                assert_eq!(plan, [n]);
            }
            for size in plan {
                let sql = insert_sql(size).expect("planned size has its statement");
                assert_eq!(sql.matches("$1)").count(), size, "{n}");
            }
        }
        assert!(
            insert_sql(65).is_err(),
            "never planned: an error, not a panic"
        );
    }

    /// The inbox file is checkpointed beside the commits once a few MB are stored, and
    /// everything stored reads back after a reopen (the WAL and the copy agree).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_checkpoint_follows_a_few_megabytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = Store::open(&url).await.expect("open");
        let (writer, task) = InboxWriter::spawn(store.clone());
        let mut done = writer.checkpoints().expect("SQLite has checkpoints");
        assert_eq!(*done.borrow(), 0, "none before anything is stored");
        let size = 16 * 1024;
        let n = CHECKPOINT_AFTER_BYTES / size + 1;
        let mut tasks = Vec::new();
        for t in 0..16 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..n).step_by(16) {
                    let mut d = delivery(format!("big-{i}"));
                    // Random bytes: they stay their size compressed (the count is of
                    // bytes stored).
                    d.payload =
                        Bytes::from((0..size).map(|_| rand::random::<u8>()).collect::<Vec<u8>>());
                    writer.submit(d).await.expect("stored");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            done.wait_for(|&n| n >= 1),
        )
        .await
        .expect("a checkpoint ran")
        .expect("checkpointer alive");
        drop(writer);
        task.await.expect("writer and checkpointer end");
        store.close().await;
        let store = Store::open(&url).await.expect("reopen");
        assert_eq!(count(&store).await, n as i64);
    }
}
