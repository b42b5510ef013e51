-- council-sync: every stage change, and only the stages the state machine knows.
-- Portable as 0001/0002: BIGINT milliseconds, CHECK constraints, a plain table rebuild
-- (CREATE new, copy, DROP, RENAME), which SQLite needs to add a CHECK and PostgreSQL accepts.

-- The stage column gets the CHECK the state machine implies (council::Stage::as_str names).
CREATE TABLE concerns_checked (
    repo                TEXT   NOT NULL,
    number              BIGINT NOT NULL,
    issue_id            BIGINT NOT NULL,
    stage               TEXT   NOT NULL CHECK (stage IN (
                            'needs-info', 'ready', 'rejected', 'accepted', 'vetted',
                            'epic-created', 'stories-created', 'in-progress', 'done',
                            'results-requested', 'results-presented')),
    tracking_comment_id BIGINT,
    epic_key            TEXT,
    epic_url            TEXT,
    last_error          TEXT,
    updated_at          BIGINT NOT NULL,
    progress            TEXT
        CHECK (progress IS NULL OR progress IN ('todo', 'in_progress', 'done')),
    results             TEXT,
    results_at          BIGINT,
    issue_state         TEXT
        CHECK (issue_state IS NULL OR issue_state IN ('open', 'closed', 'closed_not_planned')),
    synced_hash         TEXT,
    PRIMARY KEY (repo, number)
);
INSERT INTO concerns_checked (repo, number, issue_id, stage, tracking_comment_id, epic_key,
                              epic_url, last_error, updated_at, progress, results, results_at,
                              issue_state, synced_hash)
    SELECT repo, number, issue_id, stage, tracking_comment_id, epic_key, epic_url, last_error,
           updated_at, progress, results, results_at, issue_state, synced_hash
    FROM concerns;
DROP TABLE concerns;
ALTER TABLE concerns_checked RENAME TO concerns;
CREATE INDEX concerns_epic_key ON concerns (epic_key) WHERE epic_key IS NOT NULL;
CREATE INDEX concerns_stage ON concerns (stage);

-- One row per stage change, written in the same transaction as the change itself: the
-- source of lead times (opened → ready → decided → epic → started → done → results).
-- `from_stage` is NULL when the concern was first recorded. `actor` is the GitHub login
-- behind the change when a person caused it (a decision, an edit), NULL for the daemon's own
-- steps. `at` is when it happened (a decision found later by reconcile keeps its real time).
CREATE TABLE stage_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    repo       TEXT    NOT NULL,
    number     BIGINT  NOT NULL,
    from_stage TEXT,
    to_stage   TEXT    NOT NULL,
    cause      TEXT    NOT NULL CHECK (cause IN (
                   'criteria', 'accept', 'reject', 'vet', 'created', 'tracker-sync',
                   'results', 'backfill')),
    actor      TEXT,
    at         BIGINT  NOT NULL
);
CREATE INDEX stage_transitions_concern ON stage_transitions (repo, number, id);

-- Outbox attempts a process never finished (it was killed, or it crashed, while running the
-- job): counted when the row is claimed again, so a job that takes the process down is parked
-- after a few tries instead of being replayed on every start. `started_at` is set (and
-- committed) just before the job runs and cleared when it ends, so only a job that was really
-- running when the process went away counts the interruption, not the rest of its batch.
ALTER TABLE outbox ADD COLUMN interrupted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN started_at BIGINT;
-- When a job was parked (it kept taking the process down), NULL otherwise. A parked job is
-- `failed` with its reason in last_error, and is retried only under a new key when its input
-- (the issue's title and body) changes.
ALTER TABLE outbox ADD COLUMN parked_at BIGINT;
-- A digest of the input the parked job ran on (the issue's title and body): the same input
-- never queues it again.
ALTER TABLE outbox ADD COLUMN parked_input TEXT;

-- Deliveries count each processing start before it runs (committed), beside `attempts`
-- (counted when one ends): a delivery whose processing takes the process down is given up
-- after a few starts instead of being replayed on every restart.
ALTER TABLE deliveries ADD COLUMN started BIGINT NOT NULL DEFAULT 0;
