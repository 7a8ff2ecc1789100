//! Versioned schemas: fresh creation from a full schema, upgrades through numbered migration
//! files, and the version kept in SQLite's `user_version`. `catalog.db` uses [`CATALOG`]
//! (`schema.sql` + `migrations/`); other databases (`footage.db`) pass their own [`Schema`].
//!
//! A database newer than this build is refused, never modified.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// The full current schema, for fresh databases.
pub const SCHEMA_SQL: &str = include_str!("schema.sql");

/// Upgrade steps: `MIGRATIONS[i]` takes version `i` to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_queue.sql"),
    include_str!("migrations/0003_sync.sql"),
    include_str!("migrations/0004_search_parts.sql"),
    include_str!("migrations/0005_tickets.sql"),
    include_str!("migrations/0006_ticket_keys.sql"),
];

pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// One database's schema: the full current SQL and the steps that reach it.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The full current schema, run on an empty database.
    pub fresh: &'static str,
    /// `migrations[i]` takes version `i` to version `i + 1`.
    pub migrations: &'static [&'static str],
}

impl Schema {
    pub const fn latest(&self) -> i64 {
        self.migrations.len() as i64
    }
}

/// `catalog.db`'s schema.
pub const CATALOG: Schema = Schema {
    fresh: SCHEMA_SQL,
    migrations: MIGRATIONS,
};

/// Bring `catalog.db` at `conn` to [`LATEST_VERSION`].
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_schema(conn, path, &CATALOG)
}

/// Bring the database at `conn` to `schema`'s latest version, each step in its own transaction.
pub fn migrate_schema(
    conn: &mut Connection,
    path: &Path,
    schema: &Schema,
) -> Result<(), StoreError> {
    let latest = schema.latest();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > latest {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            latest,
        });
    }
    if version == latest {
        return Ok(());
    }
    if version == 0 && is_empty(conn)? {
        let tx = conn.transaction()?;
        tx.execute_batch(schema.fresh)?;
        tx.pragma_update(None, "user_version", latest)?;
        tx.commit()?;
        return Ok(());
    }
    for (i, step) in schema.migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) = 0 FROM sqlite_schema", [], |r| r.get(0))
}

/// Apply only the numbered migrations from scratch (used by the schema tests).
#[cfg(test)]
pub(crate) fn migrate_stepwise(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_schema_stepwise(conn, &CATALOG)
}

/// Apply only `schema`'s numbered migrations from scratch.
#[cfg(test)]
pub(crate) fn migrate_schema_stepwise(
    conn: &mut Connection,
    schema: &Schema,
) -> rusqlite::Result<()> {
    for (i, step) in schema.migrations.iter().enumerate() {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Tables, indexes and their SQL, normalised for whitespace.
    pub(crate) fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| {
            let sql: String = r.get(2)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                sql.split_whitespace().collect::<Vec<_>>().join(" "),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn migrated_equals_fresh() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, Path::new(":memory:")).unwrap();
        let mut stepped = Connection::open_in_memory().unwrap();
        migrate_stepwise(&mut stepped).unwrap();
        assert_eq!(schema_of(&fresh), schema_of(&stepped));
        let v = |c: &Connection| -> i64 {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(v(&fresh), LATEST_VERSION);
        assert_eq!(v(&stepped), LATEST_VERSION);
        assert!(!schema_of(&fresh).is_empty());
    }

    #[test]
    fn newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found, .. } if found == LATEST_VERSION + 1));
        assert!(schema_of(&conn).is_empty());
    }
}
