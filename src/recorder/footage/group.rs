//! Group commit: captures that arrive together share one directory fsync per fan-out
//! directory and one SQLite transaction, instead of paying for both each.
//!
//! Each capture makes its preview on its own thread, then queues itself. Whoever finds no
//! commit under way becomes the leader: it takes everything queued (at most `max_batch`),
//! commits it with [`FootageStore::commit_batch`] under the store's lock — which gives each
//! snapshot its chain sequence, writes the self-describing files of the batch in parallel
//! (their bytes embed that sequence, so they cannot be written earlier), fsyncs them and their
//! directories, then commits the rows — hands every waiter its result and wakes them. Captures that arrive meanwhile form the next batch. There is no
//! timer: a lone capture is committed at once, so a batch never waits for company; batches
//! form only while a commit is already in flight. Nobody gets `Ok` before their file, its
//! directory entry and their row are durable. WAL checkpoints run on their own thread
//! (`checkpoint.rs`), not inside a capture's commit.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::checkpoint::{Checkpointer, POKE_EVERY, SAFETY_NET_PAGES};
use super::{FootageError, FootageStore, NewSnapshot, Snapshot};

/// A snapshot to store, owned so it can wait in the queue.
#[derive(Debug, Clone)]
pub struct OwnedSnapshot {
    pub jpeg: Arc<[u8]>,
    pub width: u32,
    pub height: u32,
    pub counter: u32,
    pub record_id: Option<String>,
    pub captured_at_ms: i64,
    pub reason: String,
    pub thumbnail: Option<(u32, u32, Vec<u8>)>,
    pub frame_age_ms: Option<i64>,
    pub camera_time_ms: Option<i64>,
}

impl OwnedSnapshot {
    fn borrow(&self) -> NewSnapshot<'_> {
        NewSnapshot {
            jpeg: &self.jpeg,
            width: self.width,
            height: self.height,
            counter: self.counter,
            record_id: self.record_id.as_deref(),
            captured_at_ms: self.captured_at_ms,
            reason: &self.reason,
            thumbnail: self.thumbnail.as_ref().map(|(w, h, j)| (*w, *h, &j[..])),
            frame_age_ms: self.frame_age_ms,
            camera_time_ms: self.camera_time_ms,
        }
    }
}

/// Most snapshots in one transaction.
pub const MAX_BATCH: usize = 32;

struct Queue {
    next_ticket: u64,
    /// Ticket and snapshot.
    waiting: VecDeque<(u64, OwnedSnapshot)>,
    done: HashMap<u64, Result<Snapshot, FootageError>>,
    committing: bool,
}

/// The group-commit front of a [`FootageStore`] shared with other users (retention, export).
pub struct GroupCommit {
    store: Arc<Mutex<FootageStore>>,
    queue: Mutex<Queue>,
    wake: Condvar,
    max_batch: usize,
    batches: AtomicU64,
    snapshots: AtomicU64,
    /// `None` if its thread or connection could not be started: SQLite then checkpoints
    /// inside commits, as by default.
    checkpointer: Option<Checkpointer>,
}

impl GroupCommit {
    pub fn new(store: Arc<Mutex<FootageStore>>, max_batch: usize) -> GroupCommit {
        let checkpointer = {
            let st = lock(&store);
            let c = Checkpointer::spawn(st.db_path())
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    st.set_auto_checkpoint(SAFETY_NET_PAGES)
                        .map_err(|e| e.to_string())?;
                    Ok(c)
                });
            let c = c
                .map_err(|e| tracing::warn!(%e, "footage checkpoints stay in the commits"))
                .ok();
            c
        };
        GroupCommit {
            store,
            queue: Mutex::new(Queue {
                next_ticket: 0,
                waiting: VecDeque::new(),
                done: HashMap::new(),
                committing: false,
            }),
            wake: Condvar::new(),
            max_batch: max_batch.max(1),
            batches: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            checkpointer,
        }
    }

    pub fn store(&self) -> &Arc<Mutex<FootageStore>> {
        &self.store
    }

    /// `(transactions, snapshots)` committed so far, for the benchmark's mean batch size.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.snapshots.load(Ordering::Relaxed),
        )
    }

    /// Store `snap` durably, possibly in one transaction with concurrent captures. `now_ms`
    /// is read by the committing thread for the entries' `recorded_at_ms`. Returns when the
    /// snapshot survives a power cut (or with the error that stopped it).
    pub fn submit(
        &self,
        snap: OwnedSnapshot,
        now_ms: &dyn Fn() -> i64,
    ) -> Result<Snapshot, FootageError> {
        self.enqueue(snap, now_ms)
    }

    /// [`submit`](Self::submit) a snapshot whose preview is still to be made: `preview` runs on
    /// this thread first (CPU work no other capture waits for), then the snapshot queues.
    pub fn submit_with_preview(
        &self,
        mut snap: OwnedSnapshot,
        preview: impl FnOnce(&[u8]) -> Option<(u32, u32, Vec<u8>)>,
        now_ms: &dyn Fn() -> i64,
    ) -> Result<Snapshot, FootageError> {
        snap.thumbnail = preview(&snap.jpeg);
        self.enqueue(snap, now_ms)
    }

    /// Queue a snapshot and wait for its commit (leading it if no commit is under way).
    fn enqueue(
        &self,
        snap: OwnedSnapshot,
        now_ms: &dyn Fn() -> i64,
    ) -> Result<Snapshot, FootageError> {
        let mut q = lock(&self.queue);
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push_back((ticket, snap));
        loop {
            if let Some(r) = q.done.remove(&ticket) {
                return r;
            }
            if q.committing {
                q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            q.committing = true;
            let n = q.waiting.len().min(self.max_batch);
            let batch: Vec<_> = q.waiting.drain(..n).collect();
            drop(q);
            let mut leader = Leader {
                group: self,
                tickets: batch.iter().map(|b| b.0).collect(),
                results: None,
            };
            leader.results = Some(self.commit(&batch, now_ms()));
            drop(leader); // publishes the results and wakes everyone, even on panic
            q = lock(&self.queue);
        }
    }

    /// One transaction for the batch; if it fails, each snapshot alone, so one bad snapshot
    /// does not fail the others and each gets its own error.
    fn commit(
        &self,
        batch: &[(u64, OwnedSnapshot)],
        now_ms: i64,
    ) -> Vec<Result<Snapshot, FootageError>> {
        let mut store = lock(&self.store);
        self.batches.fetch_add(1, Ordering::Relaxed);
        let before = self
            .snapshots
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if (before + batch.len() as u64) / POKE_EVERY > before / POKE_EVERY {
            if let Some(c) = &self.checkpointer {
                c.poke();
            }
        }
        let items: Vec<NewSnapshot> = batch.iter().map(|(_, s)| s.borrow()).collect();
        match store.commit_batch(&items, now_ms) {
            Ok(snaps) => snaps.into_iter().map(Ok).collect(),
            Err(e) if items.len() == 1 => vec![Err(e)],
            Err(_) => items
                .iter()
                .map(|it| {
                    store
                        .commit_batch(std::slice::from_ref(it), now_ms)
                        .map(|mut v| v.remove(0))
                })
                .collect(),
        }
    }
}

/// Publishes a batch's results when dropped; if the commit panicked, its waiters get an error
/// instead of waiting forever.
struct Leader<'a> {
    group: &'a GroupCommit,
    tickets: Vec<u64>,
    results: Option<Vec<Result<Snapshot, FootageError>>>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut q = lock(&self.group.queue);
        match self.results.take() {
            Some(rs) => {
                for (t, r) in self.tickets.iter().zip(rs) {
                    q.done.insert(*t, r);
                }
            }
            None => {
                for t in &self.tickets {
                    q.done.insert(*t, Err(FootageError::CommitPanicked));
                }
            }
        }
        q.committing = false;
        drop(q);
        self.group.wake.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
