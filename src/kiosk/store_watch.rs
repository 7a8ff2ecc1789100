//! The kiosk's view of `catalog.db` changing under it: a thread polls `PRAGMA data_version`
//! (which moves only when another connection commits) and, after each change, reads the queue
//! board and checks whether a different catalog was applied (an import or a sync: its SHA-256
//! or applied time differs from the one on screen), loading it whole when so.
//!
//! Never runs on the UI thread and only reads the store; the wiring hands what it finds to the
//! event loop. A catalog that cannot be loaded is logged and the one on screen stays.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::current::{CatalogOrigin, CurrentCatalog};
use crate::queue::CounterState;
use crate::store::{open_connection, queue_store, Access, CatalogStore};

/// What identifies an applied catalog (None: nothing installed, the embedded demo).
pub fn catalog_key(origin: &CatalogOrigin) -> Option<(String, String)> {
    match origin {
        CatalogOrigin::EmbeddedDemo => None,
        CatalogOrigin::Installed(i) => Some((i.sha256.clone(), i.applied_at.clone())),
    }
}

/// What the thread reports.
pub enum StoreChange {
    Board(Vec<CounterState>),
    Catalog(Box<CurrentCatalog>),
}

/// The polling thread; stops when dropped.
pub struct StoreWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWatcher {
    /// Poll `db` every `interval`. `on_change` gets the whole board at start and after every
    /// commit by another connection, and a newly applied catalog when its key differs from
    /// `shown` (the key of the catalog on screen).
    pub fn spawn(
        db: PathBuf,
        interval: Duration,
        shown: Option<(String, String)>,
        on_change: impl Fn(StoreChange) + Send + 'static,
    ) -> StoreWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("store-watcher".into())
            .spawn(move || {
                let mut conn = None;
                let mut seen: Option<i64> = None;
                let mut shown = shown;
                while !flag.load(Ordering::Relaxed) {
                    if conn.is_none() && db.exists() {
                        conn = open_connection(&db, Access::ReadOnly).ok();
                    }
                    if let Some(c) = &conn {
                        match queue_store::data_version(c) {
                            Ok(v) if seen != Some(v) => {
                                if let Ok(board) = queue_store::board(c) {
                                    seen = Some(v);
                                    on_change(StoreChange::Board(board));
                                }
                                if let Some(new) = new_catalog(&db, &shown) {
                                    shown = catalog_key(&new.origin);
                                    on_change(StoreChange::Catalog(Box::new(new)));
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!("store watcher: {e}; reopening");
                                conn = None;
                            }
                        }
                    }
                    std::thread::sleep(interval);
                }
            })
            .expect("spawn the store watcher thread");
        StoreWatcher {
            stop,
            thread: Some(thread),
        }
    }
}

/// The installed catalog if it is not the one shown (None when unchanged or unreadable).
fn new_catalog(db: &std::path::Path, shown: &Option<(String, String)>) -> Option<CurrentCatalog> {
    let read = || -> Result<Option<CurrentCatalog>, crate::store::StoreError> {
        let store = CatalogStore::open_read_only(db)?;
        let Some(info) = store.info()? else {
            return Ok(None);
        };
        if Some((info.sha256.clone(), info.applied_at.clone())) == *shown {
            return Ok(None);
        }
        Ok(store.load()?.map(|bundle| CurrentCatalog {
            bundle,
            origin: CatalogOrigin::Installed(info),
        }))
    };
    read().unwrap_or_else(|e| {
        tracing::warn!("a new catalog in {} cannot be read: {e}", db.display());
        None
    })
}

impl Drop for StoreWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::demo_bundle;
    use crate::queue::{QueueEvent, QueueEventKind};

    fn next(rx: &std::sync::mpsc::Receiver<StoreChange>) -> StoreChange {
        rx.recv_timeout(Duration::from_secs(5)).expect("a change")
    }

    #[test]
    fn sees_queue_events_and_new_catalogs_committed_by_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.db");
        let mut bundle = demo_bundle();
        CatalogStore::open(&db)
            .unwrap()
            .apply(&bundle, "test v1", false)
            .unwrap();
        let shown = catalog_key(&CurrentCatalog::load(dir.path()).unwrap().origin);
        assert!(shown.is_some());
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = StoreWatcher::spawn(db.clone(), Duration::from_millis(10), shown, move |c| {
            let _ = tx.send(c);
        });
        assert!(
            matches!(next(&rx), StoreChange::Board(b) if b.is_empty()),
            "the board at start, and no catalog: v1 is on screen"
        );

        let mut w = open_connection(&db, Access::ReadWrite).unwrap();
        let ev = QueueEvent {
            seq: 1,
            counter: 2,
            kind: QueueEventKind::Called,
            ticket: Some("2001".into()),
            record_id: None,
            waiting: Some(3),
            at: "2026-11-20T08:00:00+07:00".into(),
        };
        queue_store::apply_events(&mut w, &[ev]).unwrap();
        match next(&rx) {
            StoreChange::Board(b) => assert_eq!(b[0].ticket.as_deref(), Some("2001")),
            StoreChange::Catalog(_) => panic!("a queue event is not a new catalog"),
        }

        bundle.version += 1;
        bundle.procedures.truncate(5);
        CatalogStore::open(&db)
            .unwrap()
            .apply(&bundle, "test v2", false)
            .unwrap();
        let mut got = None;
        for _ in 0..2 {
            if let StoreChange::Catalog(c) = next(&rx) {
                got = Some(c);
                break;
            }
        }
        let c = got.expect("the new catalog");
        assert_eq!(
            (c.bundle.version, c.bundle.procedures.len()),
            (bundle.version, 5)
        );
    }
}
