//! The outbox uploader: posts waiting ratings and heartbeats in order, each with its
//! idempotency key, deleting an item only after the server acknowledged it. Also queues a
//! heartbeat every `heartbeat_interval`.
//!
//! A failed upload keeps the item and every item after it (order is kept); the loop backs
//! off and retries. Nothing here decides what a rating is; the kiosk's request is stored as is.

use std::sync::Arc;

use serde::Serialize;

use super::clock::rfc3339;
use super::context::SyncContext;
use super::outbox::{self, OutboxKind};
use super::state::{self, Channel};
use super::SyncError;
use crate::daemon::shutdown::Shutdown;
use crate::recorder::anchor::{FootageHead, Receipt};

/// Items posted per round.
const BATCH: usize = 50;

/// What a heartbeat tells the server.
#[derive(Debug, Serialize)]
pub struct Heartbeat {
    pub device: String,
    pub at: String,
    pub catalog_version: Option<u64>,
    pub queue_seq: u64,
    pub outbox_depth: u64,
    pub version: &'static str,
    /// The device's latest health report (`device::health`), when the daemon has made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<crate::device::HealthReport>,
    /// The latest footage chain head signed by the device key (the hub anchors it and
    /// answers with a receipt; docs/storage.md, "Anchored heads").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footage_head: Option<FootageHead>,
    /// Slot, running version and update state (`update::machine::UpdateReport`), when the
    /// update task runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<serde_json::Value>,
}

/// A heartbeat's answer: the receipt for its `footage_head`, if it carried one.
#[derive(Debug, serde::Deserialize)]
struct HeartbeatAnswer {
    #[serde(default)]
    receipt: Option<Receipt>,
    /// Why the hub did not anchor the head this heartbeat carried (docs/hub.md).
    #[serde(default)]
    anchor_refused: Option<String>,
}

/// Queue a heartbeat (the previous unsent one is replaced).
pub fn enqueue_heartbeat(ctx: &SyncContext) -> Result<(), SyncError> {
    let now = ctx.clock.now();
    let catalog_version = ctx.catalog().info()?.map(|i| i.version);
    let db = ctx.db();
    let hb = Heartbeat {
        device: ctx.settings.device_name.clone(),
        at: rfc3339(now),
        catalog_version,
        queue_seq: crate::store::queue_store::last_seq(&db)?,
        outbox_depth: outbox::depth(&db)?,
        version: env!("CARGO_PKG_VERSION"),
        health: ctx
            .device_health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        footage_head: ctx.footage_anchor.head(),
        update: ctx
            .update_report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
    };
    let body = serde_json::to_string(&hb).map_err(|e| SyncError::Protocol(e.to_string()))?;
    outbox::enqueue(&db, OutboxKind::Heartbeat, &heartbeat_key(now), &body, now)
        .map_err(|e| SyncError::Protocol(e.to_string()))?;
    Ok(())
}

/// A heartbeat's idempotency key: visible ASCII, as the hub requires of every key. Keys are
/// scoped to the device by the hub, so the time alone is unique. (It used to carry the
/// device's name, and a name such as "Kiosk sảnh chính" made the hub refuse every heartbeat.)
pub fn heartbeat_key(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("hb-{}", now.timestamp_millis())
}

/// Upload what is waiting; returns how many items were acknowledged.
pub async fn upload_once(ctx: &Arc<SyncContext>) -> Result<usize, SyncError> {
    let mut sent = 0;
    let result = async {
        loop {
            let items = outbox::pending(&ctx.db(), BATCH)?;
            if items.is_empty() {
                return Ok(());
            }
            for item in items {
                let r = ctx
                    .client()?
                    .post_idempotent(item.kind.path(), &item.key, &item.body)
                    .await;
                match r {
                    Ok(answer) => {
                        if item.kind == OutboxKind::Heartbeat {
                            take_receipt(ctx, &answer);
                        }
                        outbox::mark_sent(&ctx.db(), item.id)?;
                        sent += 1;
                    }
                    Err(e) => {
                        outbox::mark_failed(&ctx.db(), item.id, &e.to_string())?;
                        return Err(e);
                    }
                }
            }
        }
    }
    .await;
    let now = ctx.clock.now();
    let db = ctx.db();
    match &result {
        Ok(()) if sent > 0 => state::record_success(&db, Channel::Outbox, now)?,
        Ok(()) => {}
        Err(e) => {
            state::record_failure(&db, Channel::Outbox, now, e)?;
        }
    }
    result.map(|()| sent)
}

/// Hand a heartbeat answer's receipt to the recorder (which verifies it before storing it).
/// An answer without one (a hub without anchoring, a heartbeat without a head) is fine.
fn take_receipt(ctx: &SyncContext, answer: &[u8]) {
    if answer.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match serde_json::from_slice::<HeartbeatAnswer>(answer) {
        Ok(HeartbeatAnswer {
            receipt: Some(r), ..
        }) => ctx.footage_anchor.deliver(r),
        Ok(HeartbeatAnswer {
            anchor_refused: Some(why),
            ..
        }) => tracing::warn!(%why, "the hub did not anchor this device's footage head"),
        Ok(_) => {}
        Err(e) => tracing::warn!(%e, "the heartbeat's answer has no readable receipt"),
    }
}

/// Upload until shutdown; wakes on new items, on the heartbeat timer, and after backoff.
pub async fn run(ctx: Arc<SyncContext>, mut shutdown: Shutdown) {
    let mut jitter = super::schedule::Jitter::default();
    let mut failures = 0u32;
    let mut heartbeat = tokio::time::interval(ctx.settings.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !shutdown.is_shutdown() {
        let step = ctx.beats.outbox.step();
        let outcome = upload_once(&ctx).await;
        drop(step);
        let delay = match outcome {
            Ok(_) => {
                failures = 0;
                ctx.settings.outbox.interval
            }
            Err(e) => {
                tracing::warn!("outbox upload: {e}");
                failures += 1;
                ctx.settings
                    .outbox
                    .next_delay(failures, e.is_permanent(), jitter.unit())
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.outbox_ready.notified(), if failures == 0 => {}
            _ = heartbeat.tick() => {
                if let Err(e) = enqueue_heartbeat(&ctx) {
                    tracing::warn!("heartbeat not queued: {e}");
                }
            }
            _ = shutdown.recv() => {}
        }
    }
}
