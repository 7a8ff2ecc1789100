//! Start-up reconcile of `footage.db` with the files on disk, run by the writer before it
//! accepts captures. The rule (docs/storage.md, "## Footage"):
//!
//! - everything in `tmp/` is an interrupted write: removed;
//! - a queued delete (`pending_delete`) is finished unless a live row uses the same bytes;
//! - a content file with no row is a capture whose row never committed — nobody was ever told
//!   it exists — so it is removed;
//! - a row whose file is absent is *flagged* (`missing_since_ms`), never deleted: that is
//!   evidence of a problem, and `verify` reports it.
//!
//! Never touches the chain.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use super::{FootageError, FootageStore};

/// What reconcile did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub tmp_removed: usize,
    pub pending_finished: usize,
    pub orphans_removed: Vec<String>,
    pub rows_missing_file: Vec<i64>,
    pub unexpected_files: Vec<PathBuf>,
}

impl ReconcileReport {
    pub fn is_clean(&self) -> bool {
        *self == ReconcileReport::default()
    }
}

impl FootageStore {
    pub(super) fn reconcile(&mut self, now_ms: i64) -> Result<ReconcileReport, FootageError> {
        let mut report = ReconcileReport::default();
        let root = self.dir.root().to_owned();
        report.tmp_removed = self
            .dir
            .clear_tmp()
            .map_err(FootageError::io("cannot clear", &root))?;

        let pending: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT sha256 FROM pending_delete")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for sha in &pending {
            self.finish_pending(sha)?;
        }
        report.pending_finished = pending.len();

        let rows: Vec<(i64, String, bool)> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, sha256, missing_since_ms IS NOT NULL FROM snapshot ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let live: HashSet<&str> = rows.iter().map(|(_, s, _)| s.as_str()).collect();
        let scan = self
            .dir
            .scan()
            .map_err(FootageError::io("cannot scan", &root))?;
        for sha in &scan.content {
            if !live.contains(sha.as_str()) {
                let p = self.dir.path_of(sha);
                self.dir
                    .remove(sha)
                    .map_err(FootageError::io("cannot remove", &p))?;
                report.orphans_removed.push(sha.clone());
            }
        }
        report.unexpected_files = scan.unexpected;

        let on_disk: HashSet<&str> = scan.content.iter().map(String::as_str).collect();
        let tx = self.conn.transaction()?;
        for (id, sha, flagged) in &rows {
            let present = on_disk.contains(sha.as_str());
            if !present && !flagged {
                tx.execute(
                    "UPDATE snapshot SET missing_since_ms = ?1 WHERE id = ?2",
                    [now_ms, *id],
                )?;
            } else if present && *flagged {
                tx.execute(
                    "UPDATE snapshot SET missing_since_ms = NULL WHERE id = ?1",
                    [*id],
                )?;
            }
            if !present {
                report.rows_missing_file.push(*id);
            }
        }
        tx.commit()?;
        if !report.is_clean() {
            tracing::warn!(?report, "footage reconcile changed or flagged something");
        }
        Ok(report)
    }
}
