//! Durable state in SQL (SQLite by default).
