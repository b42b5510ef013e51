-- council-sync: out-of-scope routing (issue 11). A concern that is not the council's job
-- (customer escalation, functional bug / UX, product idea) is answered with where it belongs
-- and closed as not planned: stage 'out-of-scope', by the author's choice on the form or a
-- council member's `council/out-of-scope` label (decision 'out-of-scope', cause
-- 'out-of-scope'). SQLite cannot change a CHECK in place: the three tables are rebuilt
-- (CREATE new, copy, DROP, RENAME) as in 0003. PostgreSQL gets its own migration.

CREATE TABLE concerns_next (
    repo                TEXT   NOT NULL,
    number              BIGINT NOT NULL,
    issue_id            BIGINT NOT NULL,
    stage               TEXT   NOT NULL CHECK (stage IN (
                            'needs-info', 'ready', 'rejected', 'out-of-scope', 'accepted',
                            'vetted', 'epic-created', 'stories-created', 'in-progress',
                            'done', 'results-requested', 'results-presented')),
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
    epic_id             TEXT,
    issue_node_id       TEXT,
    moved_from          TEXT,
    PRIMARY KEY (repo, number)
);
INSERT INTO concerns_next (repo, number, issue_id, stage, tracking_comment_id, epic_key,
                           epic_url, last_error, updated_at, progress, results, results_at,
                           issue_state, synced_hash, epic_id, issue_node_id, moved_from)
    SELECT repo, number, issue_id, stage, tracking_comment_id, epic_key, epic_url, last_error,
           updated_at, progress, results, results_at, issue_state, synced_hash, epic_id,
           issue_node_id, moved_from
    FROM concerns;
DROP TABLE concerns;
ALTER TABLE concerns_next RENAME TO concerns;
CREATE INDEX concerns_epic_key ON concerns (epic_key) WHERE epic_key IS NOT NULL;
CREATE INDEX concerns_stage ON concerns (stage);
CREATE INDEX concerns_epic_id ON concerns (epic_id) WHERE epic_id IS NOT NULL;
CREATE INDEX concerns_issue_id ON concerns (issue_id);

CREATE TABLE decisions_next (
    repo       TEXT   NOT NULL,
    number     BIGINT NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('accept', 'reject', 'vet', 'out-of-scope')),
    actor      TEXT   NOT NULL,
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (repo, number, kind)
);
INSERT INTO decisions_next (repo, number, kind, actor, decided_at)
    SELECT repo, number, kind, actor, decided_at FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_next RENAME TO decisions;

CREATE TABLE stage_transitions_next (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    repo       TEXT    NOT NULL,
    number     BIGINT  NOT NULL,
    from_stage TEXT,
    to_stage   TEXT    NOT NULL,
    cause      TEXT    NOT NULL CHECK (cause IN (
                   'criteria', 'accept', 'reject', 'vet', 'created', 'tracker-sync',
                   'results', 'backfill', 'out-of-scope')),
    actor      TEXT,
    at         BIGINT  NOT NULL
);
INSERT INTO stage_transitions_next (id, repo, number, from_stage, to_stage, cause, actor, at)
    SELECT id, repo, number, from_stage, to_stage, cause, actor, at FROM stage_transitions;
DROP TABLE stage_transitions;
ALTER TABLE stage_transitions_next RENAME TO stage_transitions;
CREATE INDEX stage_transitions_concern ON stage_transitions (repo, number, id);
