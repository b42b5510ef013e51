-- council-sync: what the daemon last wrote into each tracking comment (issue 13, accept path).
--
-- The tracking comment's id was already kept (`tracking_comment_id`); the text written into
-- it was remembered only in the process's memory, so a restarted daemon (or another
-- replica) read the comment back before each edit. `tracking_sent_id` names the comment
-- `tracking_sent_digest` was written into (a digest of its body, see engine::plan::digest):
-- it counts only while it names the concern's `tracking_comment_id`, so a row whose
-- comment id is rewritten (an upsert, a comment found again by marker) never trusts an old
-- digest. NULL on rows from before: their next refresh reads the comment once.
ALTER TABLE concerns ADD COLUMN tracking_sent_id BIGINT;
ALTER TABLE concerns ADD COLUMN tracking_sent_digest TEXT;
