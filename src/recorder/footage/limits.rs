//! The store's limits, kept at capture time: before a commit writes its files, room is made by
//! deleting the oldest unpinned snapshots older than the minimum age (each with its retention
//! `delete` entry), and if that is not enough the capture fails loudly — the quota is never
//! exceeded and no young snapshot is sacrificed. The periodic pass (`retention.rs`) applies the
//! same rules in the background. What counts toward `max_bytes`: snapshots, their previews and
//! the files in `quarantine/` ([`FootageStore::total_bytes`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::{files, FootageError, FootageStore};

/// Free space of the filesystem holding the footage, behind a trait for tests.
pub trait FreeSpace: Send + Sync {
    fn free_bytes(&self) -> std::io::Result<u64>;
}

/// `statvfs` on a directory.
pub struct StatvfsFreeSpace(pub PathBuf);

impl FreeSpace for StatvfsFreeSpace {
    fn free_bytes(&self) -> std::io::Result<u64> {
        files::free_bytes(&self.0)
    }
}

/// What a capture must respect.
#[derive(Clone)]
pub struct Limits {
    /// Total bytes of live snapshots (0 = no quota).
    pub max_bytes: u64,
    /// Free bytes to leave on the filesystem (0 = no floor).
    pub min_free_bytes: u64,
    /// Snapshots recorded (committed, by the device's clock) less than this long ago are never
    /// deleted to make room.
    pub min_age_ms: i64,
    pub space: Arc<dyn FreeSpace>,
}

/// Snapshots deleted per round while making room.
const ROUND: usize = 64;

/// Bytes of the files in `quarantine/` (unreadable entries count as nothing).
pub(super) fn quarantine_bytes(dir: &files::FootageDir) -> u64 {
    dir.quarantined()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

impl FootageStore {
    /// Bytes the footage takes, as `max_bytes` counts them: every live snapshot (each row:
    /// identical bytes shared by two rows are counted twice, so the quota errs on the safe
    /// side), every stored preview, and what start-up reconcile moved to `quarantine/` (never
    /// deleted by the store, so it takes room from snapshots; `verify` and `doctor` name it).
    pub fn total_bytes(&self) -> Result<i64, FootageError> {
        let rows: i64 = self.conn.query_row(
            "SELECT (SELECT coalesce(sum(bytes), 0) FROM snapshot) \
                  + (SELECT coalesce(sum(length(jpeg)), 0) FROM thumbnail)",
            [],
            |r| r.get(0),
        )?;
        Ok(rows.saturating_add(self.quarantine_bytes as i64))
    }

    /// Bytes in `quarantine/` as counted by [`FootageStore::total_bytes`].
    pub fn quarantine_bytes(&self) -> u64 {
        self.quarantine_bytes
    }

    /// Keep these limits from now on (the writer; [`FootageStore::open_writer`] has none).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = Some(limits);
    }

    /// Make room for `needed` more bytes: delete the oldest unpinned snapshots recorded
    /// (committed, device time; never the frame's own time) before `now_ms - min_age` until the quota and the free-space floor hold with `needed` added.
    /// If they cannot, nothing more is deleted and the capture must fail.
    pub(super) fn make_room(&mut self, needed: u64, now_ms: i64) -> Result<(), FootageError> {
        let Some(l) = self.limits.clone() else {
            return Ok(());
        };
        loop {
            let total = self.total_bytes()?.max(0) as u64;
            let free = l.space.free_bytes().unwrap_or(u64::MAX);
            let over = l.max_bytes > 0 && total + needed > l.max_bytes;
            let low = l.min_free_bytes > 0 && free < l.min_free_bytes.saturating_add(needed);
            if !over && !low {
                return Ok(());
            }
            let old_enough = now_ms - l.min_age_ms;
            let candidates = self.prunable_committed_by(ROUND, old_enough)?;
            let (mut t, mut f) = (total, free);
            let mut ids = Vec::new();
            for (id, _, bytes) in &candidates {
                let still_over = l.max_bytes > 0 && t + needed > l.max_bytes;
                let still_low = l.min_free_bytes > 0 && f < l.min_free_bytes.saturating_add(needed);
                if !still_over && !still_low {
                    break;
                }
                ids.push(*id);
                t = t.saturating_sub(*bytes as u64);
                f = f.saturating_add(*bytes as u64);
            }
            if ids.is_empty() {
                let what = if over {
                    let q = match self.quarantine_bytes {
                        0 => String::new(),
                        q => format!(", {q} B of it in quarantine/"),
                    };
                    format!(
                        "the footage quota (max_bytes = {}; {} B stored{q}, {} B to add)",
                        l.max_bytes, total, needed
                    )
                } else {
                    format!(
                        "the free-space floor (min_free_bytes = {}; {} B free, {} B to add)",
                        l.min_free_bytes, free, needed
                    )
                };
                return Err(FootageError::Full(format!(
                    "{what} cannot be kept: every other snapshot is pinned or younger than \
                     min_age_secs = {}",
                    l.min_age_ms / 1000
                )));
            }
            let rule = if over {
                "retention:max_bytes"
            } else {
                "retention:min_free"
            };
            self.delete_by_policy(&ids, rule, now_ms)?;
        }
    }
}
