//! Storing snapshots: the group commit's one transaction (room within the limits, chain
//! sequences, the self-describing files written in parallel and fsynced, then entries, rows
//! and previews), and the row and preview inserts re-adoption shares. Invariant 1 of
//! docs/storage.md ("## Footage") lives here.

use std::path::PathBuf;

use rusqlite::{params, Connection, TransactionBehavior};

use super::{chain_head, files, insert_entry, meta, FootageDir, FootageError, FootageStore};
use super::{NewSnapshot, Snapshot};
use crate::recorder::chain::{self, EntryFields, EntryKind};
use crate::recorder::clock::format_ms;

impl FootageStore {
    /// Store a batch of snapshots (group commit). First makes room within the limits
    /// ([`limits`]); then, holding SQLite's write lock, gives each snapshot its chain sequence,
    /// writes its self-describing file ([`meta`]: sequence, counter, record, time, reason and
    /// frame age in a JPEG comment; the files of a batch in parallel), fsyncs each file and
    /// once each directory, and only then appends the chain entries (in batch order), rows and
    /// thumbnails in ONE transaction. When this returns `Ok`, every snapshot of the batch
    /// survives a power cut. On `Err`, none was stored and the files it created are removed
    /// again (a crash instead leaves them for reconcile, which re-adopts them).
    pub fn commit_batch(
        &mut self,
        batch: &[NewSnapshot],
        now_ms: i64,
    ) -> Result<Vec<Snapshot>, FootageError> {
        let needed: u64 = batch
            .iter()
            .map(|s| (s.jpeg.len() + meta::MAX_OVERHEAD) as u64)
            .sum();
        self.make_room(needed, now_ms)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (head_seq, mut prev) = chain_head(&tx)?;
        let files: Vec<(i64, Vec<u8>, String)> = batch
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let seq = head_seq + 1 + i as i64;
                let bytes = meta::embed(
                    s.jpeg,
                    &meta::SnapshotMeta {
                        seq,
                        counter: s.counter,
                        record_id: s.record_id.map(str::to_owned),
                        captured_at_ms: s.captured_at_ms,
                        reason: s.reason.to_owned(),
                        frame_age_ms: s.frame_age_ms,
                        camera_time_ms: s.camera_time_ms,
                    },
                );
                let sha = chain::sha256_hex(&bytes);
                (seq, bytes, sha)
            })
            .collect();
        let dir = &self.dir;
        let mut created: Vec<String> = Vec::new();
        let result = (|| -> Result<Vec<Snapshot>, FootageError> {
            // every file this batch made is recorded before the first error is returned, so
            // that a failed batch removes all of them (not only those before the failure)
            let mut first_err = None;
            for (sha, made) in write_all(dir, &files) {
                match made {
                    Ok(true) => created.push(sha),
                    Ok(false) => {}
                    Err(e) if first_err.is_none() => {
                        first_err = Some(FootageError::io("cannot write", &dir.path_of(&sha))(e))
                    }
                    Err(_) => {}
                }
            }
            if let Some(e) = first_err {
                return Err(e);
            }
            let mut dirs: Vec<PathBuf> = Vec::new();
            for (_, _, sha) in &files {
                let parent = dir.path_of(sha).parent().unwrap_or(dir.root()).to_owned();
                if !dirs.contains(&parent) {
                    dirs.push(parent);
                }
            }
            for d in &dirs {
                files::sync_dir(d).map_err(FootageError::io("cannot fsync", d))?;
            }
            let mut out = Vec::with_capacity(batch.len());
            for (s, (seq, bytes, sha256)) in batch.iter().zip(&files) {
                let entry = EntryFields {
                    seq: *seq,
                    kind: EntryKind::Capture,
                    snapshot_id: *seq,
                    sha256: sha256.clone(),
                    bytes: bytes.len() as i64,
                    counter: s.counter,
                    record_id: s.record_id.map(str::to_owned),
                    captured_at_ms: s.captured_at_ms,
                    recorded_at_ms: now_ms,
                    reason: s.reason.to_owned(),
                };
                prev = insert_entry(&tx, &entry, &prev)?;
                insert_row(
                    &tx,
                    &entry,
                    s.width,
                    s.height,
                    (s.frame_age_ms, s.camera_time_ms),
                    None,
                )?;
                if let Some((w, h, jpeg)) = s.thumbnail {
                    insert_thumbnail(&tx, entry.seq, w, h, jpeg)?;
                }
                out.push(Snapshot {
                    id: entry.seq,
                    sha256: sha256.clone(),
                    bytes: entry.bytes,
                    width: s.width,
                    height: s.height,
                    counter: s.counter,
                    record_id: entry.record_id,
                    captured_at_ms: s.captured_at_ms,
                    captured_at: format_ms(s.captured_at_ms),
                    reason: entry.reason,
                    pinned: false,
                    missing: false,
                    frame_age_ms: s.frame_age_ms,
                    recovered_from_seq: None,
                    camera_time_ms: s.camera_time_ms,
                });
            }
            tx.commit()?;
            Ok(out)
        })();
        if result.is_err() {
            for sha in &created {
                if let Err(e) = dir.remove(sha) {
                    tracing::error!(%sha, %e, "cannot remove the file of a failed commit");
                }
            }
        }
        result
    }
}

/// Write each `(seq, bytes, sha)` under its content name (temp, fdatasync, rename; the
/// directory is not synced here), in parallel when there are several. Returns, per file,
/// whether it was created (false: the same bytes were already there).
fn write_all(
    dir: &FootageDir,
    files: &[(i64, Vec<u8>, String)],
) -> Vec<(String, std::io::Result<bool>)> {
    if files.len() == 1 {
        let (_, bytes, sha) = &files[0];
        return vec![(sha.clone(), dir.write_new(sha, bytes))];
    }
    std::thread::scope(|sc| {
        let handles: Vec<_> = files
            .iter()
            .map(|(_, bytes, sha)| {
                let h = std::thread::Builder::new()
                    .name("footage-write".into())
                    .spawn_scoped(sc, move || dir.write_new(sha, bytes));
                (sha, h)
            })
            .collect();
        handles
            .into_iter()
            .map(|(sha, h)| {
                let r = match h {
                    Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    Err(_) => {
                        let (_, bytes, _) = files.iter().find(|f| &f.2 == sha).expect("listed");
                        dir.write_new(sha, bytes)
                    }
                };
                (sha.clone(), r)
            })
            .collect()
    })
}

/// Insert a snapshot row for the capture or recover entry `e`.
pub(super) fn insert_row(
    conn: &Connection,
    e: &EntryFields,
    width: u32,
    height: u32,
    (frame_age_ms, camera_time_ms): (Option<i64>, Option<i64>),
    recovered_from_seq: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO snapshot (id, sha256, bytes, width, height, counter, record_id, \
         captured_at_ms, reason, frame_age_ms, recovered_from_seq, camera_time_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        e.snapshot_id,
        e.sha256,
        e.bytes,
        width,
        height,
        e.counter,
        e.record_id,
        e.captured_at_ms,
        e.reason,
        frame_age_ms,
        recovered_from_seq,
        camera_time_ms
    ])?;
    // The same bytes may have been queued for deletion by an earlier row: keep them.
    conn.prepare_cached("DELETE FROM pending_delete WHERE sha256 = ?1")?
        .execute([&e.sha256])?;
    Ok(())
}

/// Store a preview. A leftover preview under the same id (a row removed outside motcua, a
/// restored backup) is replaced, never a reason to refuse the capture; `verify` reports
/// previews with no row.
fn insert_thumbnail(
    conn: &Connection,
    id: i64,
    w: u32,
    h: u32,
    jpeg: &[u8],
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO thumbnail (snapshot_id, width, height, jpeg) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, w, h, jpeg])?;
    Ok(())
}
