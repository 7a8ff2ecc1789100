//! Retention: which unpinned snapshots to delete (max age, byte quota, minimum free space),
//! and the background thread that applies it periodically and when space runs low.
//!
//! Deletions go through `FootageStore::delete_by_policy` in small batches, each holding the
//! store only briefly, so a capture never waits for a whole pass. Never deletes pinned rows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::background::Background;
use super::clock::Clocks;
use super::config::RetentionConfig;
use super::footage::{FootageError, FootageStore};

/// Snapshots deleted per transaction.
pub const BATCH: usize = 64;
const DAY_MS: i64 = 86_400_000;

/// The rule that deleted a snapshot; recorded as the `reason` of its chain entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    MaxAge,
    MaxBytes,
    MinFree,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MaxAge => "retention:max_age",
            Rule::MaxBytes => "retention:max_bytes",
            Rule::MinFree => "retention:min_free",
        }
    }
}

/// Where the store stands, for planning.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub now_ms: i64,
    pub total_bytes: i64,
    pub free_bytes: u64,
}

/// Pick deletions from `oldest_first` (`(id, recorded_at_ms, bytes)` of unpinned snapshots in
/// commit order, [`FootageStore::prunable`]): everything past the age limit, then the oldest
/// until the quota and the free-space floor are met — never one recorded less than
/// `min_age_secs` ago. Ages are the store's commit times, never a frame's own time. Pure, so
/// every rule is tested without a disk.
pub fn plan(
    oldest_first: &[(i64, i64, i64)],
    usage: Usage,
    policy: &RetentionConfig,
) -> Vec<(i64, Rule)> {
    let cutoff = usage.now_ms - policy.max_age_days as i64 * DAY_MS;
    let young = usage.now_ms - policy.min_age_secs as i64 * 1000;
    let mut total = usage.total_bytes;
    // unknown free space is u64::MAX: saturate, never wrap to -1 (which read as "no space")
    let mut free = i64::try_from(usage.free_bytes).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for &(id, at, bytes) in oldest_first {
        if at > young {
            // too young; in commit order a later one is normally younger still, but after a
            // device clock step back an earlier commit can carry the later time: look on
            continue;
        }
        let rule = if at < cutoff {
            Rule::MaxAge
        } else if policy.max_bytes > 0 && total > policy.max_bytes as i64 {
            Rule::MaxBytes
        } else if policy.min_free_bytes > 0 && free < policy.min_free_bytes as i64 {
            Rule::MinFree
        } else {
            break;
        };
        out.push((id, rule));
        total -= bytes;
        free = free.saturating_add(bytes);
    }
    out
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct PassReport {
    pub deleted: usize,
    pub by_age: usize,
    pub by_bytes: usize,
    pub by_free_space: usize,
}

pub use super::footage::limits::{FreeSpace, StatvfsFreeSpace};

/// Run one retention pass in batches.
pub fn run_pass(
    store: &Mutex<FootageStore>,
    policy: &RetentionConfig,
    clocks: &dyn Clocks,
    space: &dyn FreeSpace,
) -> Result<PassReport, FootageError> {
    let mut report = PassReport::default();
    loop {
        let (candidates, total) = {
            let st = store.lock().unwrap_or_else(|p| p.into_inner());
            (st.prunable(BATCH)?, st.total_bytes()?)
        };
        let usage = Usage {
            now_ms: clocks.now_ms(),
            total_bytes: total,
            free_bytes: space.free_bytes().unwrap_or(u64::MAX),
        };
        let chosen = plan(&candidates, usage, policy);
        if chosen.is_empty() {
            return Ok(report);
        }
        // One transaction per rule within the batch (the rule is the entries' reason).
        for rule in [Rule::MaxAge, Rule::MaxBytes, Rule::MinFree] {
            let ids: Vec<i64> = chosen
                .iter()
                .filter(|(_, r)| *r == rule)
                .map(|(id, _)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let n = {
                let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
                st.delete_by_policy(&ids, rule.as_str(), clocks.now_ms())?
                    .len()
            };
            report.deleted += n;
            match rule {
                Rule::MaxAge => report.by_age += n,
                Rule::MaxBytes => report.by_bytes += n,
                Rule::MinFree => report.by_free_space += n,
            }
        }
        if chosen.len() < candidates.len() || candidates.len() < BATCH {
            return Ok(report);
        }
    }
}

/// The retention thread: a pass every `check_interval_secs`, or at once when poked.
pub struct RetentionWorker(Background);

impl RetentionWorker {
    pub fn spawn(
        store: Arc<Mutex<FootageStore>>,
        policy: RetentionConfig,
        clocks: Arc<dyn Clocks>,
        space: Arc<dyn FreeSpace>,
    ) -> RetentionWorker {
        let interval = Duration::from_secs(policy.check_interval_secs as u64);
        let pass = move || match run_pass(&store, &policy, &*clocks, &*space) {
            Ok(r) if r.deleted > 0 => tracing::info!(?r, "retention pass"),
            Ok(_) => {}
            Err(e) => tracing::error!(%e, "retention pass failed"),
        };
        RetentionWorker(
            Background::spawn("retention", interval, pass).expect("spawn retention thread"),
        )
    }

    /// Ask for a pass soon (never blocks; a pending request is enough).
    pub fn poke(&self) {
        self.0.poke();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(days: u32, max_bytes: u64, min_free: u64) -> RetentionConfig {
        RetentionConfig {
            max_age_days: days,
            max_bytes,
            min_free_bytes: min_free,
            check_interval_secs: 600,
            min_age_secs: 0,
        }
    }

    #[test]
    fn plan_applies_age_then_quota_then_free_space() {
        let now = 100 * DAY_MS;
        let rows = [
            (1, 5 * DAY_MS, 10),
            (2, 95 * DAY_MS, 10),
            (3, 96 * DAY_MS, 10),
            (4, 99 * DAY_MS, 10),
        ];
        let u = |total, free| Usage {
            now_ms: now,
            total_bytes: total,
            free_bytes: free,
        };
        assert_eq!(
            plan(&rows, u(40, 1000), &policy(90, 0, 0)),
            vec![(1, Rule::MaxAge)]
        );
        assert_eq!(
            plan(&rows, u(40, 1000), &policy(90, 25, 0)),
            vec![(1, Rule::MaxAge), (2, Rule::MaxBytes)]
        );
        assert_eq!(
            plan(&rows, u(40, 5), &policy(90, 0, 30)),
            vec![(1, Rule::MaxAge), (2, Rule::MinFree), (3, Rule::MinFree)]
        );
        assert!(plan(&rows, u(40, 1000), &policy(3650, 0, 0)).is_empty());
        // free space unknown (statvfs failed: u64::MAX) is not "no free space"
        assert!(plan(&rows, u(40, u64::MAX), &policy(3650, 0, 0)).is_empty());
        // …and counting freed bytes onto it saturates instead of overflowing (it panicked in
        // debug builds when a pass deleted by age with free space unknown)
        assert_eq!(
            plan(&rows, u(40, u64::MAX), &policy(90, 0, 30)),
            vec![(1, Rule::MaxAge)]
        );
    }

    /// Issue 16: `min_free` pruned snapshots acknowledged seconds earlier. Nothing younger than
    /// `min_age_secs` goes, whatever the quota or the free space say.
    #[test]
    fn plan_never_deletes_a_young_snapshot() {
        let now = 100 * DAY_MS;
        let rows = [
            (1, now - 7_200_000, 10),
            (2, now - 30_000, 10),
            (3, now - 5_000, 10),
        ];
        let usage = Usage {
            now_ms: now,
            total_bytes: 30,
            free_bytes: 0,
        };
        let mut p = policy(90, 5, 1000);
        p.min_age_secs = 3600;
        assert_eq!(plan(&rows, usage, &p), vec![(1, Rule::MaxBytes)]);
        p.min_age_secs = 0;
        assert_eq!(plan(&rows, usage, &p).len(), 3);
        // After a device clock step back, commit order is not time order: a young entry
        // committed first does not shield an older one committed after it.
        let stepped = [(1, now - 5_000, 10), (2, now - 7_200_000, 10)];
        p.min_age_secs = 3600;
        assert_eq!(plan(&stepped, usage, &p), vec![(2, Rule::MaxBytes)]);
    }
}
