//! `footage.db` and the files under `<data_dir>/footage/`: the store, listing, pinning for
//! exports, and deleting through the pending-delete table. Storing a snapshot is `commit.rs`,
//! start-up reconcile `reconcile.rs`, the integrity check `verify.rs`, the on-disk layout
//! `files.rs`, self-describing files `meta.rs`, limits `limits.rs`, anchors `anchor_store.rs`.
//!
//! The invariants are in `docs/storage.md` ("## Footage"). Only the one writer (holding the
//! lock file) creates or removes files; readers never touch the directory. Never decodes images.

mod anchor_store;
mod audit;
pub mod checkpoint;
mod commit;
mod exports;
pub mod files;
pub mod group;
pub mod limits;
pub mod meta;
mod reconcile;
mod verify;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use commit::insert_row;
use serde::Serialize;

use crate::recorder::chain::{self, EntryFields, EntryKind, GENESIS};
use crate::recorder::clock::format_ms;
use crate::store::{self, Access, Schema, StoreError};

pub use anchor_store::{AnchoredHead, ReceiptError};
pub use audit::AuditAppend;
pub use files::FootageDir;
pub use group::{GroupCommit, OwnedSnapshot};
pub use limits::{FreeSpace, Limits, StatvfsFreeSpace};
pub use reconcile::ReconcileReport;
pub use verify::{Problem, RecoveredSnapshot, VerifyReport};

/// File name of the footage database inside the data directory.
pub const FOOTAGE_DB: &str = "footage.db";
/// Directory of snapshot files inside the data directory.
pub const FOOTAGE_DIR: &str = "footage";

/// `footage.db`'s schema and migrations.
pub const SCHEMA: Schema = Schema {
    fresh: include_str!("schema.sql"),
    migrations: &[
        include_str!("migrations/0001_initial.sql"),
        include_str!("migrations/0002_audit_kind.sql"),
        include_str!("migrations/0003_evidence.sql"),
        include_str!("migrations/0004_camera_clock.sql"),
        include_str!("migrations/0005_export_pending.sql"),
    ],
};

#[derive(Debug, thiserror::Error)]
pub enum FootageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("footage database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a group commit failed unexpectedly; the snapshot was not stored")]
    CommitPanicked,
    #[error("{0} is in use by another motcua process (the daemon?); stop it or use its API")]
    Locked(PathBuf),
    #[error("snapshot not stored: {0}")]
    Full(String),
    #[error("{0}")]
    Invalid(String),
}

impl FootageError {
    fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> FootageError + 'a {
        move |source| FootageError::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }
}

/// A stored snapshot, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub id: i64,
    pub sha256: String,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    pub counter: u32,
    pub record_id: Option<String>,
    pub captured_at_ms: i64,
    pub captured_at: String,
    pub reason: String,
    pub pinned: bool,
    /// Reconcile found the file absent.
    pub missing: bool,
    /// How long before the trigger the frame was taken, in ms (negative: after it), if known.
    pub frame_age_ms: Option<i64>,
    /// Re-adopted from its file after its row was lost: the sequence it was first stored as.
    pub recovered_from_seq: Option<i64>,
    /// A network camera's own clock for the frame (never the evidence time), if it told.
    pub camera_time_ms: Option<i64>,
}

/// What to store: a complete JPEG and what it is evidence of.
#[derive(Debug, Clone)]
pub struct NewSnapshot<'a> {
    pub jpeg: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub counter: u32,
    pub record_id: Option<&'a str>,
    pub captured_at_ms: i64,
    pub reason: &'a str,
    /// `(width, height, jpeg)` of the preview, stored beside the row.
    pub thumbnail: Option<(u32, u32, &'a [u8])>,
    /// How long before the trigger the frame was taken (ms; negative: after it), if known.
    pub frame_age_ms: Option<i64>,
    /// The camera's own clock for the frame, if it told (kept beside, never trusted).
    pub camera_time_ms: Option<i64>,
}

/// Which snapshots `list` returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub record_id: Option<String>,
    pub counter: Option<u32>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// The footage database and directory. One writer per data directory (a lock file enforces
/// it); any number of readers.
pub struct FootageStore {
    conn: Connection,
    dir: FootageDir,
    db_path: PathBuf,
    _lock: Option<std::fs::File>,
    /// Kept at capture time ([`FootageStore::set_limits`]); none until set.
    limits: Option<Limits>,
    /// Bytes in `quarantine/` (filled only by the writer's start-up reconcile), counted in
    /// [`FootageStore::total_bytes`].
    quarantine_bytes: u64,
}

const SNAPSHOT_COLS: &str = "id, sha256, bytes, width, height, counter, record_id, \
     captured_at_ms, reason, pinned, missing_since_ms IS NOT NULL, frame_age_ms, \
     recovered_from_seq, camera_time_ms";

fn snapshot_from_row(r: &rusqlite::Row) -> rusqlite::Result<Snapshot> {
    let captured_at_ms: i64 = r.get(7)?;
    Ok(Snapshot {
        id: r.get(0)?,
        sha256: r.get(1)?,
        bytes: r.get(2)?,
        width: r.get(3)?,
        height: r.get(4)?,
        counter: r.get(5)?,
        record_id: r.get(6)?,
        captured_at_ms,
        captured_at: format_ms(captured_at_ms),
        reason: r.get(8)?,
        pinned: r.get(9)?,
        missing: r.get(10)?,
        frame_age_ms: r.get(11)?,
        recovered_from_seq: r.get(12)?,
        camera_time_ms: r.get(13)?,
    })
}

impl FootageStore {
    /// Open as the writer: create what is missing, take the lock, migrate, reconcile.
    pub fn open_writer(
        data_dir: &Path,
        now_ms: i64,
    ) -> Result<(FootageStore, ReconcileReport), FootageError> {
        let dir = FootageDir::new(data_dir.join(FOOTAGE_DIR));
        dir.create()
            .map_err(FootageError::io("cannot create", dir.root()))?;
        let lock = dir
            .lock_writer()
            .map_err(FootageError::io("cannot lock", dir.root()))?
            .ok_or_else(|| FootageError::Locked(dir.root().to_owned()))?;
        // private/ (0700) and 0600, moved there from the data directory by an upgrade
        let db_path = store::private::prepare(data_dir, FOOTAGE_DB).map_err(FootageError::io(
            "cannot prepare",
            &data_dir.join(FOOTAGE_DB),
        ))?;
        let mut conn = store::open_connection(&db_path, Access::ReadWrite)?;
        store::migrate_schema(&mut conn, &db_path, &SCHEMA)?;
        let mut store = FootageStore {
            conn,
            dir,
            db_path,
            _lock: Some(lock),
            limits: None,
            quarantine_bytes: 0,
        };
        let report = store.reconcile(now_ms)?;
        store.undo_cut_exports()?;
        store.quarantine_bytes = limits::quarantine_bytes(&store.dir);
        Ok((store, report))
    }

    /// Open for reading (list, verify, export's reads). Touches no file in the directory.
    pub fn open_reader(data_dir: &Path) -> Result<FootageStore, FootageError> {
        let db_path =
            store::private::locate(data_dir, FOOTAGE_DB).map_err(|e| FootageError::Io {
                what: "cannot open the footage database in",
                path: data_dir.to_owned(),
                source: e,
            })?;
        if !db_path.exists() {
            return Err(FootageError::Io {
                what: "no footage database at",
                path: db_path,
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        // Read-write connection (WAL readers need the -shm), but no lock and no reconcile.
        let mut conn = store::open_connection(&db_path, Access::ReadWrite)?;
        store::migrate_schema(&mut conn, &db_path, &SCHEMA)?;
        let dir = FootageDir::new(data_dir.join(FOOTAGE_DIR));
        Ok(FootageStore {
            conn,
            quarantine_bytes: limits::quarantine_bytes(&dir),
            dir,
            db_path,
            _lock: None,
            limits: None,
        })
    }

    pub fn dir(&self) -> &FootageDir {
        &self.dir
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// WAL pages past which a commit checkpoints by itself (SQLite's `wal_autocheckpoint`;
    /// raised when [`checkpoint::Checkpointer`] does that work on its own thread).
    pub fn set_auto_checkpoint(&self, pages: u32) -> Result<(), FootageError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        Ok(())
    }

    /// Store a snapshot: durable file first, then the row, its chain entry and thumbnail in one
    /// transaction. When this returns `Ok`, the snapshot survives a power cut.
    pub fn ingest(&mut self, s: &NewSnapshot, now_ms: i64) -> Result<Snapshot, FootageError> {
        let mut out = self.commit_batch(std::slice::from_ref(s), now_ms)?;
        Ok(out.remove(0))
    }

    /// Delete snapshots by policy: a `delete` chain entry per snapshot, the rows gone and the
    /// files queued in one transaction; then the files are removed. Pinned rows are skipped.
    /// Returns the ids actually deleted.
    pub fn delete_by_policy(
        &mut self,
        ids: &[i64],
        rule: &str,
        now_ms: i64,
    ) -> Result<Vec<i64>, FootageError> {
        let tx = self.conn.transaction()?;
        let mut deleted = Vec::new();
        let mut shas = Vec::new();
        for &id in ids {
            let row = tx
                .query_row(
                    &format!("SELECT {SNAPSHOT_COLS} FROM snapshot WHERE id = ?1 AND pinned = 0"),
                    [id],
                    snapshot_from_row,
                )
                .optional()?;
            let Some(s) = row else { continue };
            let (seq, prev) = chain_head(&tx)?;
            let entry = EntryFields {
                seq: seq + 1,
                kind: EntryKind::Delete,
                snapshot_id: s.id,
                sha256: s.sha256.clone(),
                bytes: s.bytes,
                counter: s.counter,
                record_id: s.record_id.clone(),
                captured_at_ms: s.captured_at_ms,
                recorded_at_ms: now_ms,
                reason: rule.to_owned(),
            };
            insert_entry(&tx, &entry, &prev)?;
            tx.execute("DELETE FROM snapshot WHERE id = ?1", [id])?;
            tx.execute(
                "INSERT OR IGNORE INTO pending_delete (sha256, since_ms) VALUES (?1, ?2)",
                params![s.sha256, now_ms],
            )?;
            deleted.push(id);
            shas.push(s.sha256);
        }
        tx.commit()?;
        for sha in shas {
            self.finish_pending(&sha)?;
        }
        Ok(deleted)
    }

    /// Remove a queued file unless a live row still uses the same bytes; then drop the queue row.
    fn finish_pending(&mut self, sha256: &str) -> Result<(), FootageError> {
        let in_use: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM snapshot WHERE sha256 = ?1)",
            [sha256],
            |r| r.get(0),
        )?;
        if !in_use {
            let p = self.dir.path_of(sha256);
            self.dir
                .remove(sha256)
                .map_err(FootageError::io("cannot remove", &p))?;
        }
        self.conn
            .execute("DELETE FROM pending_delete WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// Snapshots matching `filter`, oldest first.
    pub fn list(&self, f: &Filter) -> Result<Vec<Snapshot>, FootageError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {SNAPSHOT_COLS} FROM snapshot WHERE (?1 IS NULL OR record_id = ?1) \
             AND (?2 IS NULL OR counter = ?2) AND (?3 IS NULL OR captured_at_ms >= ?3) \
             AND (?4 IS NULL OR captured_at_ms < ?4) ORDER BY captured_at_ms, id"
        ))?;
        let rows = stmt.query_map(
            params![f.record_id, f.counter, f.since_ms, f.until_ms],
            snapshot_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Unpinned snapshots, oldest first: `(id, recorded_at_ms, bytes)` for the retention plan.
    /// Age is the store's own: `recorded_at_ms` is the device's time when the capture (or
    /// recover) entry was committed, and the order is commit order (the id is that entry's
    /// seq). A frame's `captured_at_ms` comes from the camera side and is never trusted for
    /// which evidence may go.
    pub fn prunable(&self, limit: usize) -> Result<Vec<(i64, i64, i64)>, FootageError> {
        self.prunable_committed_by(limit, i64::MAX)
    }

    /// As [`prunable`](Self::prunable), only snapshots committed at or before `at_ms` (the
    /// age filter inside the query: after the clock stepped back, young rows first in seq
    /// order must not hide older deletable ones further on).
    pub fn prunable_committed_by(
        &self,
        limit: usize,
        at_ms: i64,
    ) -> Result<Vec<(i64, i64, i64)>, FootageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, c.recorded_at_ms, s.bytes FROM snapshot s \
             JOIN chain c ON c.seq = s.id WHERE s.pinned = 0 AND c.recorded_at_ms <= ?2 \
             ORDER BY s.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64, at_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The stored preview of a snapshot.
    pub fn thumbnail(&self, id: i64) -> Result<Option<(u32, u32, Vec<u8>)>, FootageError> {
        Ok(self
            .conn
            .query_row(
                "SELECT width, height, jpeg FROM thumbnail WHERE snapshot_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Chain entries with `seq` in `from..=to`, with their stored prev/hash.
    pub fn chain_entries(&self, from: i64, to: i64) -> Result<Vec<StoredEntry>, FootageError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, kind, snapshot_id, sha256, bytes, counter, record_id, captured_at_ms, \
             recorded_at_ms, reason, prev_hash, hash FROM chain WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map([from, to], stored_entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `(seq, hash)` of the last chain entry (`(0, GENESIS)` when empty).
    pub fn head(&self) -> Result<(i64, String), FootageError> {
        Ok(chain_head(&self.conn)?)
    }

    /// Direct access for tests that tamper on purpose.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// An export under way: what [`FootageStore::undo_export`] reverts if it fails.
#[derive(Debug, Clone)]
pub struct ExportBegun {
    pub export_id: i64,
    pub newly_pinned: Vec<i64>,
    pub head_seq: i64,
    pub head_hash: String,
}

/// A chain entry as stored. `kind` is kept as text so a tampered value is reported, not lost.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub kind_text: String,
    pub fields: EntryFields,
    pub prev_hash: String,
    pub hash: String,
}

fn stored_entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<StoredEntry> {
    let kind_text: String = r.get(1)?;
    Ok(StoredEntry {
        fields: EntryFields {
            seq: r.get(0)?,
            kind: EntryKind::parse(&kind_text).unwrap_or(EntryKind::Capture),
            snapshot_id: r.get(2)?,
            sha256: r.get(3)?,
            bytes: r.get(4)?,
            counter: r.get(5)?,
            record_id: r.get(6)?,
            captured_at_ms: r.get(7)?,
            recorded_at_ms: r.get(8)?,
            reason: r.get(9)?,
        },
        kind_text,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
    })
}

fn chain_head(conn: &Connection) -> rusqlite::Result<(i64, String)> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_owned())))
}

/// Append `e` after `prev`; returns its hash.
fn insert_entry(conn: &Connection, e: &EntryFields, prev: &str) -> rusqlite::Result<String> {
    let hash = chain::link(prev, &e.body_hash());
    conn.prepare_cached(
        "INSERT INTO chain (seq, kind, snapshot_id, sha256, bytes, counter, record_id, \
         captured_at_ms, recorded_at_ms, reason, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        e.seq,
        e.kind.as_str(),
        e.snapshot_id,
        e.sha256,
        e.bytes,
        e.counter,
        e.record_id,
        e.captured_at_ms,
        e.recorded_at_ms,
        e.reason,
        prev,
        hash
    ])?;
    Ok(hash)
}

#[cfg(test)]
mod tests;
