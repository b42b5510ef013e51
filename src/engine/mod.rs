//! The sync loop: inbox → decide (council) → outbox → GitHub and trackers.
