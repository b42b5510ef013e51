-- council-sync: the state of the two-way sync after the stories exist.
-- Portable as 0001: plain ALTER TABLE ... ADD COLUMN (one column each, as SQLite requires),
-- BIGINT milliseconds, NULL meaning "not known yet", so existing rows need no backfill.

-- Named read positions (e.g. the last Jira `updated` a poll has seen). Values only grow:
-- a late or repeated poll never moves a cursor back.
CREATE TABLE cursors (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

-- What the concern's stories add up to, as shown on GitHub.
ALTER TABLE concerns ADD COLUMN progress TEXT
    CHECK (progress IS NULL OR progress IN ('todo', 'in_progress', 'done'));
-- The before/after figures the team presented, and when they were recorded.
ALTER TABLE concerns ADD COLUMN results TEXT;
ALTER TABLE concerns ADD COLUMN results_at BIGINT;
-- The GitHub issue's state as the daemon last saw or set it.
ALTER TABLE concerns ADD COLUMN issue_state TEXT
    CHECK (issue_state IS NULL OR issue_state IN ('open', 'closed', 'closed_not_planned'));
-- Hash of the epic description the daemon last wrote, so its own edit coming back as a
-- webhook is recognised and not mistaken for someone else's.
ALTER TABLE concerns ADD COLUMN synced_hash TEXT;

-- Each story's tracker state as last seen.
ALTER TABLE links ADD COLUMN status TEXT;
ALTER TABLE links ADD COLUMN status_category TEXT;
ALTER TABLE links ADD COLUMN assignee TEXT;
ALTER TABLE links ADD COLUMN sprint TEXT;
-- The story's `updated` in the tracker (ms): an older state never overwrites a newer one.
ALTER TABLE links ADD COLUMN updated_ms BIGINT;

-- A Jira webhook names an issue by key: find its concern through the epic or a story.
CREATE INDEX concerns_epic_key ON concerns (epic_key) WHERE epic_key IS NOT NULL;
CREATE INDEX links_story_key ON links (story_key);
-- Reconcile walks concerns by stage.
CREATE INDEX concerns_stage ON concerns (stage);
