-- council-sync: out-of-scope routing (issue 11), the same change as SQLite's 0007: stage
-- 'out-of-scope', decision 'out-of-scope' and stage-transition cause 'out-of-scope' become
-- valid. PostgreSQL changes a CHECK in place: the old CHECK on each of the three columns is
-- found by column (its name depends on the table it was created in, 0001 or 0003's rebuild)
-- and replaced by a named one.
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.conrelid::regclass::text AS tbl, c.conname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.contype = 'c'
          AND ((c.conrelid = 'concerns'::regclass AND a.attname = 'stage')
            OR (c.conrelid = 'decisions'::regclass AND a.attname = 'kind')
            OR (c.conrelid = 'stage_transitions'::regclass AND a.attname = 'cause'))
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tbl, r.conname);
    END LOOP;
END $$;

ALTER TABLE concerns ADD CONSTRAINT concerns_stage_check CHECK (stage IN (
    'needs-info', 'ready', 'rejected', 'out-of-scope', 'accepted', 'vetted', 'epic-created',
    'stories-created', 'in-progress', 'done', 'results-requested', 'results-presented'));
ALTER TABLE decisions ADD CONSTRAINT decisions_kind_check
    CHECK (kind IN ('accept', 'reject', 'vet', 'out-of-scope'));
ALTER TABLE stage_transitions ADD CONSTRAINT stage_transitions_cause_check CHECK (cause IN (
    'criteria', 'accept', 'reject', 'vet', 'created', 'tracker-sync', 'results', 'backfill',
    'out-of-scope'));
