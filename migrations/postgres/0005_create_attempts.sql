-- council-sync: tracker creates whose outcome may be unknown (see src/store/attempts.rs).
-- One row per marker (the Jira label `council-sync-<id>` of an epic or story). Written
-- BEFORE the create request goes out, completed when its answer, a search or the
-- created-issue webhook shows the issue; so after a crash or a lost answer the daemon
-- knows an earlier attempt may have made the issue, even when search cannot show it yet.
CREATE TABLE create_attempts (
    marker        TEXT    PRIMARY KEY,
    -- When the first attempt of the current unknown run went out (ms).
    first_at      BIGINT  NOT NULL,
    -- When the latest attempt went out (ms): search is trusted once the consistency
    -- window has passed since then.
    last_at       BIGINT  NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 1,
    -- 'unknown' (sent, no answer yet), 'created' (issue known), 'absent' (proven not made).
    outcome       TEXT    NOT NULL DEFAULT 'unknown'
        CHECK (outcome IN ('unknown', 'created', 'absent')),
    issue_id      TEXT,
    issue_key     TEXT,
    -- Set when a job gave up waiting for the outcome (reported; cleared when resolved).
    parked_at     BIGINT,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX create_attempts_parked ON create_attempts (parked_at) WHERE parked_at IS NOT NULL;
