//! WAL checkpoints off the capture path. By default SQLite checkpoints inside the commit that
//! takes the WAL past 1000 pages, so every ~150th capture (each adds its row, chain entry and
//! a 10–20 KiB preview) would wait for ~4 MB of database writes and an fsync. Instead,
//! [`Checkpointer`] runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection and thread
//! when poked (group commit pokes it every `POKE_EVERY` snapshots) and once a minute; a
//! passive checkpoint never blocks the writer. The writer's own automatic checkpoint stays as
//! a safety net at `SAFETY_NET_PAGES`, in case this thread falls behind or is gone.
//!
//! Crash safety is SQLite's: a checkpoint interrupted by a power cut is redone from the WAL.

use std::path::Path;
use std::time::Duration;

use crate::recorder::background::Background;
use crate::store::{self, Access};

/// Snapshots committed between pokes.
pub const POKE_EVERY: u64 = 32;
/// The writer checkpoints by itself only past this many WAL pages (16 MiB of 4 KiB pages).
pub const SAFETY_NET_PAGES: u32 = 4000;
/// A checkpoint at least this often even when not poked.
const IDLE_INTERVAL: Duration = Duration::from_secs(60);

/// The checkpoint thread of one database file.
pub struct Checkpointer(Background);

impl Checkpointer {
    /// Start checkpointing `db_path` (a WAL database) on a thread with its own connection.
    pub fn spawn(db_path: &Path) -> std::io::Result<Checkpointer> {
        let conn =
            store::open_connection(db_path, Access::ReadWrite).map_err(std::io::Error::other)?;
        let pass = move || {
            let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            });
            match r {
                Ok((log, done)) => tracing::trace!(log, done, "footage checkpoint"),
                Err(e) => tracing::warn!(%e, "footage checkpoint failed"),
            }
        };
        Background::spawn("footage-checkpoint", IDLE_INTERVAL, pass).map(Checkpointer)
    }

    /// Ask for a checkpoint soon (never blocks).
    pub fn poke(&self) {
        self.0.poke();
    }
}
