-- council-sync: the inbox gets a write path of its own (issue 13, ingest).
--
-- Deliveries now live in a SQLite file of their own beside this one (`<store>.inbox.db`,
-- created by the store at open, see src/store/inbox_file.rs), written only by the webhook
-- writer, so a webhook's commit never waits for the engine's transactions on this file.
-- What the engine did with each delivery is recorded here instead, in the same transaction
-- as its decision: a delivery is handled exactly once across crashes because its outcome
-- and the decision commit together (or not at all).
--
-- `seq` is the delivery's `seq` in the inbox file. `started` counts processing starts,
-- `attempts` the ends (`started - attempts` = starts the process did not survive);
-- `processed_at` is set once handled (or given up, with `last_error`).
CREATE TABLE delivery_outcomes (
    seq          INTEGER PRIMARY KEY,
    started      BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    processed_at BIGINT
);
-- The outcomes of deliveries stored before this migration. Their rows themselves move to the
-- inbox file after the migrations (two commits, each of one file, safe to repeat), and then
-- this file's `deliveries` table is dropped.
INSERT INTO delivery_outcomes (seq, started, attempts, last_error, processed_at)
SELECT seq, started, attempts, last_error, processed_at FROM deliveries
WHERE started > 0 OR attempts > 0 OR processed_at IS NOT NULL;
