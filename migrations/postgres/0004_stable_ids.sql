-- council-sync: link tracker items by the ids that never change, not only by their names.
-- A Jira issue moved to another project gets a new key (PAY-14 -> PLAT-31) and keeps its id;
-- a GitHub issue transferred to another repository gets a new repo and number and keeps its
-- node id. The names stay (people read them); the ids let the daemon re-resolve them.
-- Portable to PostgreSQL as 0002: one ADD COLUMN each, NULL meaning "not known yet", so
-- existing rows need no backfill (an id is filled in the first time it is seen).

-- Jira issue id of the epic.
ALTER TABLE concerns ADD COLUMN epic_id TEXT;
-- GitHub node id of the concern issue (stable across transfers).
ALTER TABLE concerns ADD COLUMN issue_node_id TEXT;
-- Jira issue id of each team's story.
ALTER TABLE links ADD COLUMN story_id TEXT;

CREATE INDEX concerns_epic_id ON concerns (epic_id) WHERE epic_id IS NOT NULL;
CREATE INDEX links_story_id ON links (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX concerns_issue_id ON concerns (issue_id);
