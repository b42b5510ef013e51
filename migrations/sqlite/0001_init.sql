-- council-sync durable state, SQLite flavour.
-- Kept close to what PostgreSQL accepts: timestamps are BIGINT milliseconds since the Unix
-- epoch, upserts use ON CONFLICT, partial indexes use WHERE. Only the auto-numbered keys
-- differ (INTEGER PRIMARY KEY AUTOINCREMENT here, GENERATED ... AS IDENTITY there).

-- Inbox: every webhook delivery, stored before it is acknowledged, processed from here.
CREATE TABLE deliveries (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT    NOT NULL CHECK (source IN ('github', 'jira')),
    delivery_id  TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    action       TEXT,
    payload      BLOB    NOT NULL,
    received_at  BIGINT  NOT NULL,
    processed_at BIGINT,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (source, delivery_id)
);
CREATE INDEX deliveries_pending ON deliveries (seq) WHERE processed_at IS NULL;

-- One row per GitHub issue raised as a concern.
CREATE TABLE concerns (
    repo                TEXT   NOT NULL,
    number              BIGINT NOT NULL,
    issue_id            BIGINT NOT NULL,
    stage               TEXT   NOT NULL,
    tracking_comment_id BIGINT,
    epic_key            TEXT,
    epic_url            TEXT,
    last_error          TEXT,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (repo, number)
);

-- Council decisions: at most one of each kind per concern.
CREATE TABLE decisions (
    repo       TEXT   NOT NULL,
    number     BIGINT NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('accept', 'reject', 'vet')),
    actor      TEXT   NOT NULL,
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (repo, number, kind)
);

-- The team stories created for a concern.
CREATE TABLE links (
    repo      TEXT   NOT NULL,
    number    BIGINT NOT NULL,
    team      TEXT   NOT NULL,
    story_key TEXT   NOT NULL,
    story_url TEXT   NOT NULL,
    PRIMARY KEY (repo, number, team)
);

-- Outbox: every external write, keyed by an idempotency key.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state IN ('pending', 'running');
