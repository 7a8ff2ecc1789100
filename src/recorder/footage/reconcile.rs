//! Start-up reconcile of `footage.db` with the files on disk, run by the writer before it
//! accepts captures. Nothing is ever deleted that the store cannot account for
//! (docs/storage.md, "## Footage"):
//!
//! - everything in `tmp/` is an interrupted write (never named, never acknowledged): removed;
//! - a queued delete (`pending_delete`) is finished unless a live row uses the same bytes;
//! - a content file with no row whose deletion the chain records (a retention `delete` entry
//!   for those bytes) is removed — the chain accounts for it;
//! - any other content file with no row is **re-adopted** from its self-description
//!   (`meta.rs`): a `recover` chain entry and a row with its record ID, counter, time and
//!   original sequence. This is what survives a lost WAL or a restored backup;
//! - a file that cannot be re-adopted (no or bad self-description, bytes not matching its
//!   name, a name that is not a content name) is moved to `quarantine/`, never deleted;
//!   `verify` (and the doctor) report it;
//! - a row whose file is absent is *flagged* (`missing_since_ms`), never deleted.
//!
//! Appends to the chain only `recover` entries; never edits one.

use std::collections::HashSet;
use std::path::PathBuf;

use rusqlite::OptionalExtension;
use serde::Serialize;

use super::meta::{self, SnapshotMeta};
use super::{chain_head, insert_entry, insert_row, FootageError, FootageStore};
use crate::record::RecordId;
use crate::recorder::chain::{self, EntryFields, EntryKind};
use crate::recorder::jpeg;

/// What reconcile did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub tmp_removed: usize,
    pub pending_finished: usize,
    /// Files with no row whose deletion by retention the chain records: removed.
    pub orphans_removed: Vec<String>,
    /// Files with no row re-adopted from their self-description: `(first seq, new id)`.
    pub recovered: Vec<(i64, i64)>,
    /// Files the store cannot account for, moved to `quarantine/` (their new paths).
    pub quarantined: Vec<PathBuf>,
    pub rows_missing_file: Vec<i64>,
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
        let mut adopt: Vec<(SnapshotMeta, String, i64, u32, u32)> = Vec::new();
        for sha in &scan.content {
            if live.contains(sha.as_str()) {
                continue;
            }
            let p = self.dir.path_of(sha);
            let deleted: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM chain WHERE kind = 'delete' AND sha256 = ?1)",
                [sha],
                |r| r.get(0),
            )?;
            if deleted {
                self.dir
                    .remove(sha)
                    .map_err(FootageError::io("cannot remove", &p))?;
                report.orphans_removed.push(sha.clone());
                continue;
            }
            let bytes = std::fs::read(&p).map_err(FootageError::io("cannot read", &p))?;
            let why = if chain::sha256_hex(&bytes) != *sha {
                Some("altered")
            } else {
                match meta::extract(&bytes) {
                    Ok(m)
                        if m.record_id
                            .as_deref()
                            .is_none_or(|r| RecordId::parse(r).is_ok()) =>
                    {
                        // The chain still holding an entry at the claimed seq must agree with
                        // the file (its row alone was lost); a file claiming a seq the chain
                        // gives to something else is a substitute, not a lost snapshot.
                        let at_seq: Option<(String, String, Option<String>)> = self
                            .conn
                            .query_row(
                                "SELECT kind, sha256, record_id FROM chain WHERE seq = ?1",
                                [m.seq],
                                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                            )
                            .optional()?;
                        match at_seq {
                            Some((kind, chain_sha, record))
                                if !(matches!(kind.as_str(), "capture" | "recover")
                                    && chain_sha == *sha
                                    && record == m.record_id) =>
                            {
                                Some("conflicts-with-chain")
                            }
                            _ => {
                                let (w, h) = jpeg::dimensions(&bytes).unwrap_or((0, 0));
                                adopt.push((m, sha.clone(), bytes.len() as i64, w, h));
                                None
                            }
                        }
                    }
                    Ok(_) => Some("bad-record-id"),
                    Err(meta::MetaError::Missing) => Some("no-metadata"),
                    Err(_) => Some("bad-metadata"),
                }
            };
            if let Some(why) = why {
                let q = self
                    .dir
                    .quarantine(&p, why, now_ms)
                    .map_err(FootageError::io("cannot quarantine", &p))?;
                report.quarantined.push(q);
            }
        }
        for path in &scan.unexpected {
            let q = self
                .dir
                .quarantine(path, "unexpected", now_ms)
                .map_err(FootageError::io("cannot quarantine", path))?;
            report.quarantined.push(q);
        }
        adopt.sort_by_key(|(m, ..)| (m.seq, m.captured_at_ms));
        if !adopt.is_empty() {
            let tx = self.conn.transaction()?;
            let (mut seq, mut prev) = chain_head(&tx)?;
            for (m, sha, bytes, w, h) in &adopt {
                seq += 1;
                let entry = EntryFields {
                    seq,
                    kind: EntryKind::Recover,
                    snapshot_id: seq,
                    sha256: sha.clone(),
                    bytes: *bytes,
                    counter: m.counter,
                    record_id: m.record_id.clone(),
                    captured_at_ms: m.captured_at_ms,
                    recorded_at_ms: now_ms,
                    reason: chain::recovered_reason(m.seq, &m.reason),
                };
                prev = insert_entry(&tx, &entry, &prev)?;
                insert_row(
                    &tx,
                    &entry,
                    *w,
                    *h,
                    (m.frame_age_ms, m.camera_time_ms),
                    Some(m.seq),
                )?;
                report.recovered.push((m.seq, seq));
            }
            tx.commit()?;
        }
        let adopted: HashSet<&str> = adopt.iter().map(|(_, s, ..)| s.as_str()).collect();

        let on_disk: HashSet<&str> = scan
            .content
            .iter()
            .map(String::as_str)
            .filter(|s| live.contains(s) || adopted.contains(s))
            .collect();
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
