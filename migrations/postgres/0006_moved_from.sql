-- council-sync: where a transferred concern issue came from (`owner/name#number`), shown in
-- its tracking comment ("moved from …"). Set when the store follows a GitHub transfer; the
-- address it moved from last (a second transfer replaces it). Same change as SQLite's 0006.
ALTER TABLE concerns ADD COLUMN moved_from TEXT;
