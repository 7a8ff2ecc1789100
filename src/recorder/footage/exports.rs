//! The footage store's side of a case export: pins and the export row, taken in one
//! transaction before the zip is written, undone if it fails — also when the failure was a
//! crash or a power cut (the export is recorded as pending until its zip is in place, and the
//! next writer's start settles what a dead process left).
//!
//! Pins are per export (`export_pin`): a snapshot is unpinned only by the export that pinned
//! it, and only when no other export holds it, so undoing one export never releases the
//! evidence of another export of the same record.

use std::path::{Path, PathBuf};

use rusqlite::{params, TransactionBehavior};

use super::audit::{self, AuditAppend};
use super::{chain_head, ExportBegun, FootageError, FootageStore};

/// This boot's id (`/proc/sys/kernel/random/boot_id`): a pending export's process id means
/// something only within the boot that wrote it.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

impl FootageStore {
    /// Pin snapshots (exported cases) and record the export; returns the chain head proven.
    pub fn pin_for_export(
        &mut self,
        record_id: &str,
        ids: &[i64],
        now_ms: i64,
    ) -> Result<(i64, String), FootageError> {
        let audit = AuditAppend {
            record_id: Some(record_id),
            detail: r#"{"action":"pin_for_export"}"#,
            ..Default::default()
        };
        let b = self.begin_export(record_id, ids, &audit, now_ms, None)?;
        Ok((b.head_seq, b.head_hash))
    }

    /// Start an export in one transaction: append its audit entry, pin the snapshots, record
    /// the export with the chain head (which includes that audit entry). Returns what
    /// [`undo_export`](Self::undo_export) needs if the export then fails. With `out` (the zip
    /// about to be written, through `<out>.zip.part`; stored as an absolute path) the export is
    /// recorded as pending until [`finish_export`](Self::finish_export): one cut off by a crash
    /// is undone at the next writer's start ([`undo_cut_exports`](Self::undo_cut_exports)).
    pub fn begin_export(
        &mut self,
        record_id: &str,
        ids: &[i64],
        audit: &AuditAppend,
        now_ms: i64,
        out: Option<&Path>,
    ) -> Result<ExportBegun, FootageError> {
        let out = match out {
            Some(p) => Some(std::path::absolute(p).map_err(FootageError::io("cannot resolve", p))?),
            None => None,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        audit::append_in(&tx, audit, now_ms)?;
        let mut newly_pinned = Vec::new();
        for id in ids {
            if tx.execute(
                "UPDATE snapshot SET pinned = 1 WHERE id = ?1 AND pinned = 0",
                [id],
            )? == 1
            {
                newly_pinned.push(*id);
            }
        }
        let (head_seq, head_hash) = chain_head(&tx)?;
        let pending = out.map(|p| {
            (
                p.to_string_lossy().into_owned(),
                serde_json::to_string(&newly_pinned).unwrap_or_default(),
                format!("{} {}", boot_id(), std::process::id()),
            )
        });
        tx.execute(
            "INSERT INTO export (record_id, created_at_ms, snapshots, chain_head_seq, \
             chain_head_hash, pending_out, pending_pins, pending_owner) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record_id,
                now_ms,
                ids.len() as i64,
                head_seq,
                head_hash,
                pending.as_ref().map(|p| &p.0),
                pending.as_ref().map(|p| &p.1),
                pending.as_ref().map(|p| &p.2),
            ],
        )?;
        let export_id = tx.last_insert_rowid();
        for id in ids {
            tx.execute(
                "INSERT OR IGNORE INTO export_pin (export_id, snapshot_id) VALUES (?1, ?2)",
                [export_id, *id],
            )?;
        }
        tx.commit()?;
        Ok(ExportBegun {
            export_id,
            newly_pinned,
            head_seq,
            head_hash,
        })
    }

    /// Undo a failed export's pins and export row (its audit entry stays: the chain only grows,
    /// and the attempt happened). A snapshot is unpinned only if this export pinned it and no
    /// other export holds it.
    pub fn undo_export(&mut self, b: &ExportBegun) -> Result<(), FootageError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM export_pin WHERE export_id = ?1", [b.export_id])?;
        for id in &b.newly_pinned {
            tx.execute(
                "UPDATE snapshot SET pinned = 0 WHERE id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM export_pin WHERE snapshot_id = ?1)",
                [id],
            )?;
        }
        tx.execute("DELETE FROM export WHERE id = ?1", [b.export_id])?;
        tx.commit()?;
        Ok(())
    }

    /// The export's zip is in place: it is no longer pending.
    pub fn finish_export(&mut self, b: &ExportBegun) -> Result<(), FootageError> {
        self.conn.execute(
            "UPDATE export SET pending_out = NULL, pending_pins = NULL, pending_owner = NULL \
             WHERE id = ?1",
            [b.export_id],
        )?;
        Ok(())
    }

    /// At a writer's start: exports left pending by a process that is gone (a crash or a
    /// power cut while writing the zip). If the zip made it into place after the export began
    /// (the cut fell between the rename and [`finish_export`](Self::finish_export)) the export
    /// stands; otherwise its `.zip.part` is removed and its pins released, as a failed export's
    /// are. An export still being written by a live process of this boot (the review server, a
    /// CLI export) is left alone. Returns how many were undone.
    pub fn undo_cut_exports(&mut self) -> Result<usize, FootageError> {
        let pending: Vec<(i64, i64, String, String, String)> = self
            .conn
            .prepare(
                "SELECT id, created_at_ms, pending_out, pending_pins, pending_owner FROM export \
                 WHERE pending_out IS NOT NULL",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        let (boot, me) = (boot_id(), std::process::id().to_string());
        let mut undone = 0;
        for (id, created_at_ms, out, pins, owner) in pending {
            let (owner_boot, pid) = owner.split_once(' ').unwrap_or(("", owner.as_str()));
            let alive =
                owner_boot == boot && pid != me && Path::new(&format!("/proc/{pid}")).exists();
            if alive {
                continue;
            }
            let zip = PathBuf::from(out);
            let part = zip.with_extension("zip.part");
            let b = ExportBegun {
                export_id: id,
                newly_pinned: serde_json::from_str(&pins).unwrap_or_default(),
                head_seq: 0,
                head_hash: String::new(),
            };
            // the zip in place, written after this export began (not an older one at the path)
            let zip_is_ours = std::fs::metadata(&zip)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .is_some_and(|t| t.as_millis() as i64 + 2_000 >= created_at_ms);
            if zip_is_ours && !part.exists() {
                self.finish_export(&b)?;
                continue;
            }
            match std::fs::remove_file(&part) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(part = %part.display(), %e, "cannot remove a cut-off export's part file")
                }
            }
            self.undo_export(&b)?;
            tracing::warn!(
                export = id,
                part = %part.display(),
                pins = b.newly_pinned.len(),
                "an export cut off by a crash was undone: its part file removed, its pins released"
            );
            undone += 1;
        }
        Ok(undone)
    }
}
