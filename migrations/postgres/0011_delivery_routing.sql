-- council-sync: what the inbox round needs to coalesce and route a GitHub delivery, stored
-- beside its body at ingest (issue 13, ingest), so the engine decompresses and decodes only
-- the bodies it acts on. Taken from the parse the webhook route already does:
-- `cue` ('issue', 'comment' or 'transfer'), `repository` (owner/name), `issue_number`,
-- `sender` (sender.login). All four are set together or all NULL: a tracker's delivery,
-- or a row stored before this migration (the engine decodes its body as before).
ALTER TABLE deliveries
    ADD COLUMN cue          TEXT CHECK (cue IN ('issue', 'comment', 'transfer')),
    ADD COLUMN repository   TEXT,
    ADD COLUMN issue_number BIGINT,
    ADD COLUMN sender       TEXT;
