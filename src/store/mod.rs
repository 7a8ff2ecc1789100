//! SQLite storage: opening connections with the project's pragmas, and schema versions.
//!
//! Every connection to `catalog.db` is opened here, so the pragmas (WAL, foreign keys, busy
//! timeout, full sync) are set in exactly one place. Writers go through one connection owned
//! by a [`CatalogStore`]; readers (the kiosk) open read-only. See `docs/storage.md`.

mod catalog_store;
pub(crate) mod migrate;
pub mod private;
pub mod queue_store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use catalog_store::{CatalogInfo, CatalogStore};
pub use migrate::{migrate_schema, Schema, LATEST_VERSION, SCHEMA_SQL};

/// File name of the catalog database inside the data directory.
pub const CATALOG_DB: &str = "catalog.db";

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path} has schema version {found}, newer than this motcua understands ({latest}); \
         install the newer motcua or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        latest: i64,
    },
    #[error("{path} has no catalog yet; import one with `motcua catalog import FILE`")]
    NoCatalog { path: PathBuf },
    #[error("catalog version {new} is older than the installed version {installed}; refusing the rollback (use --allow-older to force)")]
    Rollback { installed: u64, new: u64 },
    #[error("catalog database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored catalog is damaged: {0}")]
    Corrupt(String),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How a connection may use the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    ReadOnly,
}

/// Open a connection with the project's pragmas. Creates the file for `ReadWrite`.
pub fn open_connection(path: &Path, access: Access) -> Result<Connection, StoreError> {
    let flags = match access {
        Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(open_err)?;
    if access == Access::ReadWrite {
        // WAL: readers (the kiosk) never block the writer (the daemon) and vice versa.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        // FULL: a committed transaction survives a power cut (catalog writes are rare).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
    }
    Ok(conn)
}

/// Create the data directory if needed and return the catalog database path in it.
pub fn catalog_path(data_dir: &Path) -> Result<PathBuf, StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    Ok(data_dir.join(CATALOG_DB))
}
