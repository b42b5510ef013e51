//! The schema migrations, compiled into the binary so a deployment needs no files beside it.
//!
//! Built with `include_str!` rather than `sqlx::migrate!`: that macro needs sqlx's `macros`
//! feature, which compiles the whole compile-time-query machinery (drivers included) as a
//! proc macro for one list of files. The migrator and its `_sqlx_migrations` table are
//! sqlx's own, so `sqlx migrate info` still reads the state. A new migration is a new file
//! in `migrations/sqlite/` and a new line below.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)` of every SQLite migration, oldest first.
const SQLITE: &[(i64, &str, &str)] = &[(
    1,
    "init",
    include_str!("../../migrations/sqlite/0001_init.sql"),
)];

/// The migrator for a SQLite store.
pub(crate) fn sqlite() -> Migrator {
    Migrator::with_migrations(
        SQLITE
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
