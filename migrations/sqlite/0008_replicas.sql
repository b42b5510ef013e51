-- council-sync: several replicas sharing one outbox (PostgreSQL; harmless with SQLite, where
-- one daemon holds the store). Portable as 0002: one ADD COLUMN each, NULL for old rows.

-- The concern a job belongs to (`owner/name#number`), NULL when the job names none (rows
-- queued before this migration, too). A claim never takes a job of a concern that has an
-- earlier job still running under a live lease, so one concern's writes keep their order
-- across replicas.
ALTER TABLE outbox ADD COLUMN concern TEXT;
-- Which process claimed the running job (a random id per start). The lease (`next_attempt_at`
-- of a running row) is renewed by that process while it runs, so a slow job is never taken
-- by another replica, and a dead replica's jobs are due again a lease after it stopped.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

CREATE INDEX outbox_concern ON outbox (concern) WHERE state = 'running';
