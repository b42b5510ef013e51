-- council-sync: what the engine did with each delivery, apart from the delivery itself
-- (issue 13, ingest). On SQLite the deliveries move to a file of their own so the webhook
-- writer never waits for the engine's lock; here they stay in `deliveries` (PostgreSQL locks
-- rows, not the database), and both backends share the engine's queries: the webhook writer
-- only ever INSERTs into `deliveries`, the engine records each outcome in
-- `delivery_outcomes` in the same transaction as its decision, and sets
-- `deliveries.processed_at` afterwards only as a hint that keeps the pending index short.
CREATE TABLE delivery_outcomes (
    seq          BIGINT PRIMARY KEY,
    started      BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    processed_at BIGINT
);
INSERT INTO delivery_outcomes (seq, started, attempts, last_error, processed_at)
SELECT seq, started, attempts, last_error, processed_at FROM deliveries
WHERE started > 0 OR attempts > 0 OR processed_at IS NOT NULL;
ALTER TABLE deliveries DROP COLUMN started, DROP COLUMN attempts, DROP COLUMN last_error;
