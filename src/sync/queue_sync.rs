//! The queue follower: long-polls the server for events after the last applied sequence,
//! applies them with `store::queue_store::apply_events` (exactly once, in order) and then
//! publishes them on the broadcast channel (the recorder listens for record IDs).
//!
//! The sequence to ask from is always read back from the store, so a restart of either side
//! loses nothing and repeats nothing. Publishing happens only after the commit. The poll also
//! carries the installed catalog version; when the server answers that a newer one is out, the
//! catalog poller is woken (`SyncContext::catalog_due`), so a publication reaches the device in
//! seconds, with the catalog interval as the fallback.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::context::SyncContext;
use super::state::{self, Channel};
use super::SyncError;
use crate::daemon::shutdown::Shutdown;
use crate::store::queue_store;

/// One long-poll round: returns how many events were applied.
pub async fn follow_once(ctx: &Arc<SyncContext>) -> Result<usize, SyncError> {
    let result = follow_inner(ctx).await;
    let now = ctx.clock.now();
    ctx.link.observe(now, result.as_ref().map(|_| ()));
    let db = ctx.db();
    match &result {
        Ok(_) => state::record_success(&db, Channel::Queue, now)?,
        Err(e) => {
            tracing::warn!("queue sync: {e}");
            state::record_failure(&db, Channel::Queue, now, e)?;
        }
    }
    result
}

async fn follow_inner(ctx: &Arc<SyncContext>) -> Result<usize, SyncError> {
    let after = queue_store::last_seq(&ctx.db())?;
    // The newest catalog this device holds or was already told about: a catalog it cannot
    // install (expired, say) must not end every long-poll at once.
    let installed = ctx.catalog().info()?.map_or(0, |i| i.version);
    let held = installed.max(ctx.catalog_announced.load(Ordering::Relaxed));
    let batch = ctx.client()?.queue_events(after, Some(held)).await?;
    // The server has a newer catalog: poll for it now rather than at the next interval.
    if let Some(v) = batch.catalog.filter(|v| *v > held) {
        ctx.catalog_announced.fetch_max(v, Ordering::Relaxed);
        ctx.catalog_due.notify_one();
    }
    if batch.events.is_empty() {
        return Ok(0);
    }
    let applied = {
        let mut db = ctx.db();
        queue_store::apply_events(&mut db, &batch.events)?
    };
    for e in batch.events {
        // No receiver is fine: the recorder may not be running.
        let _ = ctx.events.send(e);
    }
    Ok(applied.applied)
}

/// Follow the queue until shutdown. Back-to-back long-polls while healthy; backoff on errors.
pub async fn run(ctx: Arc<SyncContext>, mut shutdown: Shutdown) {
    let mut jitter = super::schedule::Jitter::default();
    let mut failures = 0u32;
    while !shutdown.is_shutdown() {
        let step = ctx.beats.queue.step();
        let outcome = tokio::select! {
            r = follow_once(&ctx) => r,
            _ = shutdown.recv() => break,
        };
        drop(step);
        match outcome {
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                let delay =
                    ctx.settings
                        .queue
                        .next_delay(failures, e.is_permanent(), jitter.unit());
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.recv() => {}
                }
            }
        }
    }
}
