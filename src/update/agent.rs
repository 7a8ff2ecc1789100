//! The update task of the daemon: builds the [`Machine`] on RAUC (`[update] installer =
//! "rauc"`) or the fake slots (`"fake"`, `<data dir>/update/fake-slots.json`), asks the hub
//! through the daemon's `HubClient`, and ticks every `poll_interval_secs` — every
//! [`BUSY_TICK`] while an update is in flight — with the [`Signals`] the daemon gathers. Its
//! report goes into heartbeats (`SyncContext::update_report`); a failure or a confirmation
//! queues a heartbeat at once, so the hub hears of a rollback on the first sync after it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::UpdateConfig;
use super::download;
use super::installer::{FakeSlots, Installer, Rauc, Rebooter, SystemReboot};
use super::machine::{Machine, Outcome, Phase, Signals, Source, UPDATE_DIR};
use crate::daemon::shutdown::Shutdown;
use crate::sync::client::UpdateOffer;
use crate::sync::SyncContext;

/// Tick period while an update is between download and confirmation.
pub const BUSY_TICK: Duration = Duration::from_secs(5);
/// One bundle request may take this long (a large bundle on a slow link); a cut resumes.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(3600);
/// The fake installer's slots file, under `<data dir>/update/`.
pub const FAKE_SLOTS: &str = "fake-slots.json";

/// The hub, through the daemon's client.
pub struct HubSource(pub Arc<SyncContext>);

impl Source for HubSource {
    async fn offer(
        &self,
        channel: &str,
        current: &str,
        want: Option<&str>,
    ) -> Result<Option<UpdateOffer>, String> {
        let client = self.0.client().map_err(|e| e.to_string())?;
        let r = client.update_offer(channel, current, want).await;
        self.0
            .link
            .observe(self.0.clock.now(), r.as_ref().map(|_| ()));
        r.map_err(|e| e.to_string())
    }

    async fn fetch(
        &self,
        offer: &UpdateOffer,
        dir: &Path,
        max_bytes: u64,
    ) -> Result<PathBuf, (String, bool)> {
        let client = self.0.client().map_err(|e| (e.to_string(), false))?;
        download::fetch(client, offer, dir, max_bytes, DOWNLOAD_TIMEOUT)
            .await
            .map_err(|e| (e.to_string(), e.is_permanent()))
    }
}

/// RAUC's system configuration: a system with it has A/B slots (the image).
pub const RAUC_SYSTEM_CONF: &str = "/etc/rauc/system.conf";
/// How often [`keep_running_slot_good`] looks again while an update is on probation.
const SETTLE_RETRY: Duration = Duration::from_secs(60);

/// Mark the running slot good when it is the known-good one: nothing is on probation (the
/// phase is not `rebooting`, `confirming` or `rolling_back`, where the booted slot may be the
/// new, unproven one and the [`Machine`] decides). Returns whether it marked.
///
/// U-Boot's boot script takes one try from the slot at every boot (`image/ab/boot.cmd`); a
/// slot never marked good would run out of tries after three boots and the other slot — empty
/// until the first update — would be tried. So this runs at every boot, whether or not updates
/// are enabled or a hub is configured.
pub fn mark_if_settled(dir: &Path, installer: &dyn Installer) -> Result<bool, String> {
    match super::machine::load_state(dir).phase {
        Phase::Rebooting { .. } | Phase::Confirming { .. } | Phase::RollingBack { .. } => Ok(false),
        _ => installer.mark_good().map(|()| true),
    }
}

/// [`mark_if_settled`] with RAUC, once per daemon start; while an update is on probation it
/// looks again every minute (a rollback ends in `idle` within the same boot).
pub async fn keep_running_slot_good(data_dir: PathBuf, mut shutdown: Shutdown) {
    let dir = update_dir(&data_dir);
    loop {
        let d = dir.clone();
        let r = tokio::task::spawn_blocking(move || mark_if_settled(&d, &Rauc::default())).await;
        match r {
            Ok(Ok(true)) => {
                tracing::info!("update: the running slot is marked good");
                return;
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("update: cannot mark the running slot good: {e}"),
            Err(e) => tracing::warn!("update: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SETTLE_RETRY) => {}
            _ = shutdown.recv() => return,
        }
    }
}

/// `<data dir>/update`.
pub fn update_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(UPDATE_DIR)
}

/// Run until shutdown. `signals` is asked before every tick.
pub async fn run(
    ctx: Arc<SyncContext>,
    config: UpdateConfig,
    data_dir: PathBuf,
    signals: Box<dyn Fn() -> Signals + Send + Sync>,
    shutdown: Shutdown,
) {
    let dir = update_dir(&data_dir);
    let version = env!("CARGO_PKG_VERSION");
    if config.installer == "fake" {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!("updates off: {}: {e}", dir.display());
            return;
        }
        match FakeSlots::open(&dir.join(FAKE_SLOTS), version) {
            Ok(f) => {
                let m = Machine::open(
                    &dir,
                    config,
                    HubSource(Arc::clone(&ctx)),
                    f.clone(),
                    f,
                    version,
                );
                drive(m, ctx, signals, shutdown).await
            }
            Err(e) => tracing::error!("updates off: fake slots: {e}"),
        }
    } else {
        let m = Machine::open(
            &dir,
            config,
            HubSource(Arc::clone(&ctx)),
            Rauc::default(),
            SystemReboot,
            version,
        );
        drive(m, ctx, signals, shutdown).await
    }
}

async fn drive<I: Installer, R: Rebooter>(
    mut m: Machine<HubSource, I, R>,
    ctx: Arc<SyncContext>,
    signals: Box<dyn Fn() -> Signals + Send + Sync>,
    mut shutdown: Shutdown,
) {
    let poll = Duration::from_secs(m.config().poll_interval_secs);
    loop {
        let before = m.state().last.clone();
        if let Err(e) = m.tick(&signals(), Instant::now()).await {
            tracing::warn!("update: {e}");
        }
        let report = m.report();
        *ctx.update_report.lock().unwrap_or_else(|e| e.into_inner()) =
            serde_json::to_value(&report).ok();
        if m.state().last != before {
            if let Some(Outcome::Failed {
                version, reason, ..
            }) = &m.state().last
            {
                tracing::error!("update {version} failed: {reason}");
            }
            if let Err(e) = crate::sync::uploader::enqueue_heartbeat(&ctx) {
                tracing::warn!("update: cannot queue a heartbeat: {e}");
            }
            ctx.outbox_ready.notify_one();
        }
        let next = if matches!(m.state().phase, Phase::Idle | Phase::Downloading { .. }) {
            poll
        } else {
            BUSY_TICK.min(poll)
        };
        tokio::select! {
            _ = tokio::time::sleep(next) => {}
            _ = shutdown.recv() => return,
        }
    }
}
