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

/// What [`mark_if_settled`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// The running slot was marked good (its tries are back to the full count).
    Marked(String),
    /// Left unmarked, and why: a new slot on probation, or not the slot proven good.
    Left(String),
}

/// Mark the running slot good when it is the proven one; run at every boot by
/// `motcua update settle` (a root service on the image, `motcua-slot-settle.service`, which
/// needs neither the configuration nor the daemon).
///
/// U-Boot's boot script takes one try from the slot at every boot (`image/ab/boot.cmd`); a
/// slot never marked good runs out of tries after three boots and the other one is tried. So
/// the proven slot is marked at every boot, and only it:
/// * no update in flight (`idle`, `downloading`): the slot in `good_slot`, or, before any
///   update was confirmed, whichever runs (the card as flashed);
/// * an update in flight: the slot it started from, when that is the one running (the old
///   slot came back). The new slot, on probation, is the [`Machine`]'s to confirm.
pub fn mark_if_settled(dir: &Path, installer: &dyn Installer) -> Result<Settle, String> {
    let state = super::machine::load_state(dir);
    let booted = installer.status()?.booted;
    let proven = match &state.phase {
        Phase::Idle | Phase::Downloading { .. } => state.good_slot.clone(),
        Phase::Installing { from_slot, .. }
        | Phase::Installed { from_slot, .. }
        | Phase::Rebooting { from_slot, .. }
        | Phase::Confirming { from_slot, .. }
        | Phase::RollingBack { from_slot, .. } => Some(from_slot.clone()),
    };
    match proven {
        Some(p) if p != booted => Ok(Settle::Left(format!(
            "slot {booted} is running but slot {p} is the proven one (phase {}); not marked good",
            state.phase.name()
        ))),
        _ => installer
            .mark_good()
            .map(|()| Settle::Marked(format!("slot {booted} marked good"))),
    }
}

/// Roll back by hand: make the other slot the one the bootloader tries first and record it as
/// the proven slot (so it is kept). Refused while an update is in flight, and for a slot no
/// update ever wrote (slot B of a new card is empty) unless `force` (the slot the card was
/// flashed with has no recorded version either). Returns the slot chosen.
pub fn rollback(dir: &Path, installer: &dyn Installer, force: bool) -> Result<String, String> {
    let mut state = super::machine::load_state(dir);
    if state.phase != Phase::Idle {
        return Err(format!(
            "an update is in progress (phase {}); wait for it to end",
            state.phase.name()
        ));
    }
    let status = installer.status()?;
    let other = status
        .slots
        .iter()
        .find(|s| s.bootname != status.booted)
        .ok_or("RAUC knows no other slot")?;
    if other.version.is_none() && !force {
        return Err(format!(
            "slot {} was never written by an update (on a new card it is empty); if it holds \
             the system the card was flashed with, add --force",
            other.bootname
        ));
    }
    let chosen = other.bootname.clone();
    // The proven slot is recorded first: the switch without it would be undone (the slot
    // deadline reboots a slot that is not the proven one until the bootloader gives it up).
    // If the switch then fails, the previous record is put back.
    let before = state.good_slot.replace(chosen.clone());
    super::machine::save_state(dir, &state)?;
    if let Err(e) = installer.mark_other_active() {
        state.good_slot = before;
        if let Err(undo) = super::machine::save_state(dir, &state) {
            return Err(format!(
                "{e}; and the proven slot could not be restored: {undo}"
            ));
        }
        return Err(e);
    }
    Ok(chosen)
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
    let version = super::release::running_version();
    if config.installer == "fake" {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!("updates off: {}: {e}", dir.display());
            return;
        }
        match FakeSlots::open(&dir.join(FAKE_SLOTS), &version) {
            Ok(f) => {
                let m = Machine::open(
                    &dir,
                    config,
                    HubSource(Arc::clone(&ctx)),
                    f.clone(),
                    f,
                    &version,
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
            &version,
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
