-- council-sync: what the inbox round needs to coalesce and route a GitHub delivery, stored
-- beside its body at ingest (issue 13, ingest): the columns `cue`, `repository`,
-- `issue_number` and `sender` of `deliveries`.
--
-- On SQLite the deliveries live in the inbox file (migration 0009), whose schema is kept by
-- src/store/inbox_file.rs (its version 2 adds these columns); this file's own tables do not
-- change. The migration is recorded so both backends' lists keep the same versions.
SELECT 1;
