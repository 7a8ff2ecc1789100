//! The update state machine (docs/updates.md, "The flow"): idle → downloading → installing →
//! installed → rebooting → confirming → idle (confirmed), or → rolling back → idle (failed).
//!
//! Every phase is written to `<data dir>/update/state.json` (temp → fsync → rename) before
//! the step that follows it, so a power cut anywhere resumes: a download from its `.part`, an
//! install by installing again (RAUC rewrites the inactive slot), a reboot or confirmation by
//! looking at which slot booted (the boot id tells one boot from the next). The hub, RAUC
//! and the reboot are behind traits ([`Source`], `Installer`, `Rebooter`); what makes a
//! moment quiet or a boot confirmed is given in [`Signals`] by the daemon.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::UpdateConfig;
use super::installer::{InstallError, Installer, Rebooter};
use crate::sync::client::UpdateOffer;

/// Under the data directory: the state file, downloads and (for `fake`) the slots.
pub const UPDATE_DIR: &str = "update";
pub const STATE_FILE: &str = "state.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Downloading {
        offer: UpdateOffer,
    },
    Installing {
        offer: UpdateOffer,
        from_slot: String,
    },
    /// In the other slot, waiting for a quiet moment to reboot.
    Installed {
        offer: UpdateOffer,
        from_slot: String,
    },
    /// Reboot asked in boot `boot_id`.
    Rebooting {
        offer: UpdateOffer,
        from_slot: String,
        boot_id: String,
    },
    /// Running the new slot (boot `boot_id`), not yet marked good.
    Confirming {
        offer: UpdateOffer,
        from_slot: String,
        boot_id: String,
    },
    /// Marked bad in boot `boot_id`; reboot asked to go back to `from_slot`.
    RollingBack {
        offer: UpdateOffer,
        from_slot: String,
        boot_id: String,
        reason: String,
    },
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Downloading { .. } => "downloading",
            Phase::Installing { .. } => "installing",
            Phase::Installed { .. } => "installed",
            Phase::Rebooting { .. } => "rebooting",
            Phase::Confirming { .. } => "confirming",
            Phase::RollingBack { .. } => "rolling_back",
        }
    }

    pub fn offer(&self) -> Option<&UpdateOffer> {
        match self {
            Phase::Idle => None,
            Phase::Downloading { offer }
            | Phase::Installing { offer, .. }
            | Phase::Installed { offer, .. }
            | Phase::Rebooting { offer, .. }
            | Phase::Confirming { offer, .. }
            | Phase::RollingBack { offer, .. } => Some(offer),
        }
    }
}

/// How the last update ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Confirmed {
        version: String,
        at: String,
    },
    /// Not installed, or rolled back; this bundle is not tried again.
    Failed {
        version: String,
        sha256: String,
        reason: String,
        at: String,
    },
}

/// What `state.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    pub phase: Phase,
    #[serde(default)]
    pub last: Option<Outcome>,
    /// The slot last proven good here (an update confirmed on it, or `motcua update rollback`
    /// chose it); `None` until then, when the slot the device was flashed with is trusted.
    /// Only this slot is marked good outside an update (`agent::mark_if_settled`).
    #[serde(default)]
    pub good_slot: Option<String>,
}

/// What the daemon observed; see docs/updates.md, "Quiet moments" and "Confirming".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Local time is inside `[update] window`.
    pub in_window: bool,
    /// Nobody is using the kiosk (it is idle at home, or not running).
    pub kiosk_idle: bool,
    /// A counter is serving a ticket.
    pub serving: bool,
    /// The kiosk reported its first frame since the daemon started.
    pub kiosk_drawn: bool,
    /// The daemon's health is at fault.
    pub health_fault: bool,
    /// A sync with the hub succeeded since the daemon started.
    pub synced: bool,
}

/// The hub, as the machine sees it.
pub trait Source {
    fn offer(
        &self,
        channel: &str,
        current: &str,
        want: Option<&str>,
    ) -> impl Future<Output = Result<Option<UpdateOffer>, String>> + Send;
    /// Fetch and check the bundle into `dir`; `Err((message, permanent))`.
    fn fetch(
        &self,
        offer: &UpdateOffer,
        dir: &Path,
        max_bytes: u64,
    ) -> impl Future<Output = Result<PathBuf, (String, bool)>> + Send;
}

/// The state for heartbeats and the doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReport {
    pub state: String,
    /// The running slot's bootname.
    pub slot: Option<String>,
    /// The running version.
    pub version: String,
    /// The version being applied.
    pub target: Option<String>,
    pub last: Option<Outcome>,
    /// The latest error, until a step succeeds.
    pub error: Option<String>,
}

pub struct Machine<S, I, R> {
    dir: PathBuf,
    config: UpdateConfig,
    source: S,
    installer: I,
    reboot: R,
    state: UpdateState,
    /// When confirmation started in this process (not persisted: a new boot starts again).
    confirm_since: Option<Instant>,
    error: Option<String>,
    slot: Option<String>,
    /// The running version when RAUC does not know it (the binary's).
    fallback_version: String,
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Load `dir/state.json`; a missing file is idle, a damaged one is set aside (`.bad`) and
/// idle (the slots themselves are RAUC's, so nothing on them is lost).
pub fn load_state(dir: &Path) -> UpdateState {
    let path = dir.join(STATE_FILE);
    let idle = UpdateState {
        phase: Phase::Idle,
        last: None,
        good_slot: None,
    };
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
            tracing::error!(
                "{}: damaged ({e}); set aside as .bad, starting idle",
                path.display()
            );
            let _ = std::fs::rename(&path, path.with_extension("json.bad"));
            idle
        }),
        Err(_) => idle,
    }
}

pub fn save_state(dir: &Path, s: &UpdateState) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(STATE_FILE);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(s).unwrap_or_default())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| format!("{}: {e}", path.display()))
}

impl<S: Source, I: Installer, R: Rebooter> Machine<S, I, R> {
    pub fn open(
        dir: &Path,
        config: UpdateConfig,
        source: S,
        installer: I,
        reboot: R,
        fallback_version: &str,
    ) -> Machine<S, I, R> {
        Machine {
            state: load_state(dir),
            dir: dir.to_owned(),
            config,
            source,
            installer,
            reboot,
            confirm_since: None,
            error: None,
            slot: None,
            fallback_version: fallback_version.to_owned(),
        }
    }

    pub fn state(&self) -> &UpdateState {
        &self.state
    }

    pub fn installer(&self) -> &I {
        &self.installer
    }

    pub fn config(&self) -> &UpdateConfig {
        &self.config
    }

    pub fn report(&self) -> UpdateReport {
        let status = self.installer.status().ok();
        UpdateReport {
            state: self.state.phase.name().into(),
            slot: status
                .as_ref()
                .map(|s| s.booted.clone())
                .or(self.slot.clone()),
            version: status
                .as_ref()
                .and_then(|s| s.booted_version().map(|v| v.chars().take(64).collect()))
                .unwrap_or_else(|| self.fallback_version.clone()),
            target: self.state.phase.offer().map(|o| o.version.clone()),
            last: self.state.last.clone(),
            // bounded as the hub accepts it (docs/api/openapi.yaml, Heartbeat.update)
            error: self.error.as_ref().map(|e| e.chars().take(1000).collect()),
        }
    }

    fn set(&mut self, phase: Phase) -> Result<(), String> {
        tracing::info!("update: {} → {}", self.state.phase.name(), phase.name());
        let next = UpdateState {
            phase,
            last: self.state.last.clone(),
            good_slot: self.state.good_slot.clone(),
        };
        save_state(&self.dir, &next)?;
        self.state = next;
        Ok(())
    }

    fn fail(&mut self, offer: &UpdateOffer, reason: String) -> Result<(), String> {
        tracing::error!("update {}: {reason}", offer.version);
        let _ = std::fs::remove_file(super::download::paths(&self.dir, offer).1);
        let next = UpdateState {
            phase: Phase::Idle,
            last: Some(Outcome::Failed {
                version: offer.version.clone(),
                sha256: offer.sha256.clone(),
                reason,
                at: now_text(),
            }),
            good_slot: self.state.good_slot.clone(),
        };
        save_state(&self.dir, &next)?;
        self.state = next;
        Ok(())
    }

    /// The new slot is running (this boot): start confirming it from `now`.
    fn confirm_from_now(
        &mut self,
        offer: UpdateOffer,
        from_slot: String,
        now: Instant,
    ) -> Result<bool, String> {
        let boot_id = self.reboot.boot_id()?;
        self.set(Phase::Confirming {
            offer,
            from_slot,
            boot_id,
        })?;
        self.confirm_since = Some(now);
        Ok(true)
    }

    /// Take every step that can be taken now; the error of a failed step is kept for the
    /// report and returned (the next tick tries again from the persisted phase).
    pub async fn tick(&mut self, signals: &Signals, now: Instant) -> Result<(), String> {
        let r = self.steps(signals, now).await;
        self.error = r.as_ref().err().cloned();
        r
    }

    async fn steps(&mut self, signals: &Signals, now: Instant) -> Result<(), String> {
        // At most one pass through every phase per tick.
        for _ in 0..8 {
            let progressed = self.step(signals, now).await?;
            if !progressed {
                return Ok(());
            }
        }
        Ok(())
    }

    /// One step; true when the phase moved on and the next one may go at once.
    async fn step(&mut self, signals: &Signals, now: Instant) -> Result<bool, String> {
        match self.state.phase.clone() {
            Phase::Idle => {
                let slots = self.installer.status()?;
                self.slot = Some(slots.booted.clone());
                if let Some(good) = self
                    .state
                    .good_slot
                    .as_ref()
                    .filter(|g| **g != slots.booted)
                {
                    // Not chosen by an update nor by `motcua update rollback`: the bootloader's
                    // state was lost (a torn write means "slot A first"). This slot is not
                    // marked good, so the slot deadline reboots it and, after its tries, the
                    // bootloader goes back to the proven one. No update meanwhile.
                    return Err(format!(
                        "running slot {}, but slot {good} is the one proven good; not marked \
                         good, so the device goes back to {good} after this slot's tries",
                        slots.booted
                    ));
                }
                let current = slots
                    .booted_version()
                    .unwrap_or(&self.fallback_version)
                    .to_owned();
                let want = self.config.pinned_version.clone();
                let Some(offer) = self
                    .source
                    .offer(&self.config.channel, &current, want.as_deref())
                    .await?
                else {
                    return Ok(false);
                };
                if offer.version == current {
                    return Ok(false);
                }
                match &self.state.last {
                    Some(Outcome::Failed { sha256, .. }) if *sha256 == offer.sha256 => {
                        tracing::debug!(
                            "update {}: failed before; not trying it again",
                            offer.version
                        );
                        return Ok(false);
                    }
                    // Installed and confirmed already: RAUC may name the version otherwise (the
                    // bundle manifest's), or the slot was rolled back by hand; never loop.
                    Some(Outcome::Confirmed { version, .. }) if *version == offer.version => {
                        return Ok(false);
                    }
                    _ => {}
                }
                self.set(Phase::Downloading { offer })?;
                Ok(true)
            }
            Phase::Downloading { offer } => {
                let max = self.config.max_bundle_bytes;
                match self.source.fetch(&offer, &self.dir, max).await {
                    Ok(_) => {}
                    Err((m, true)) => {
                        self.fail(&offer, m.clone())?;
                        return Err(m);
                    }
                    Err((m, false)) => return Err(m),
                }
                let from_slot = self.installer.status()?.booted;
                self.set(Phase::Installing { offer, from_slot })?;
                Ok(true)
            }
            Phase::Installing { offer, from_slot } => {
                let status = self.installer.status()?;
                let bundle = super::download::paths(&self.dir, &offer).1;
                if status.booted != from_slot {
                    // Power was cut after RAUC finished (and made the new slot primary) but
                    // before `installed` was written: the new slot is running. Confirm it;
                    // installing again would overwrite the old slot, the only way back.
                    return self.confirm_from_now(offer, from_slot, now);
                }
                if status.primary.as_ref().is_some_and(|p| *p != from_slot) {
                    // RAUC finished an install whose end this process did not see (the daemon
                    // restarted while `rauc install` ran): the other slot is written and
                    // primary. RAUC switches the order only after a complete write.
                    let _ = std::fs::remove_file(&bundle);
                    self.set(Phase::Installed { offer, from_slot })?;
                    return Ok(true);
                }
                match self.installer.install(&bundle, &offer.version) {
                    Ok(()) => {}
                    Err(InstallError::Interrupted(e)) => {
                        // Looked at again on the next tick (above), not given up.
                        return Err(format!("install interrupted: {e}"));
                    }
                    Err(InstallError::Refused(e)) => {
                        // RAUC refused it (signature, compatibility) or could not write it.
                        let m = format!("install failed: {e}");
                        self.fail(&offer, m.clone())?;
                        return Err(m);
                    }
                }
                let _ = std::fs::remove_file(&bundle);
                self.set(Phase::Installed { offer, from_slot })?;
                Ok(true)
            }
            Phase::Installed { offer, from_slot } => {
                if self.installer.status()?.booted != from_slot {
                    // Power was cut after the install: the bootloader already took the new slot.
                    return self.confirm_from_now(offer, from_slot, now);
                }
                let boot_id = self.reboot.boot_id()?;
                if !(signals.in_window && signals.kiosk_idle && !signals.serving) {
                    return Ok(false);
                }
                self.set(Phase::Rebooting {
                    offer: offer.clone(),
                    from_slot: from_slot.clone(),
                    boot_id,
                })?;
                if let Err(e) = self.reboot.reboot() {
                    self.set(Phase::Installed { offer, from_slot })?;
                    return Err(format!("reboot: {e}"));
                }
                Ok(false)
            }
            Phase::Rebooting {
                offer,
                from_slot,
                boot_id,
            } => {
                let current = self.reboot.boot_id()?;
                if current == boot_id {
                    return Ok(false); // the reboot is under way
                }
                if self.installer.status()?.booted == from_slot {
                    self.fail(
                        &offer,
                        format!("the new slot did not boot; the bootloader went back to slot {from_slot}"),
                    )?;
                    return Ok(false);
                }
                self.set(Phase::Confirming {
                    offer,
                    from_slot,
                    boot_id: current,
                })?;
                self.confirm_since = Some(now);
                Ok(true)
            }
            Phase::Confirming {
                offer,
                from_slot,
                boot_id,
            } => {
                let current = self.reboot.boot_id()?;
                if current != boot_id {
                    // Power cut or reboot while confirming: which slot came up?
                    if self.installer.status()?.booted == from_slot {
                        self.fail(&offer, format!("power was lost before the new version was confirmed; the bootloader went back to slot {from_slot}"))?;
                        return Ok(false);
                    }
                    self.set(Phase::Confirming {
                        offer,
                        from_slot,
                        boot_id: current,
                    })?;
                    self.confirm_since = Some(now);
                    return Ok(true);
                }
                let since = *self.confirm_since.get_or_insert(now);
                if signals.kiosk_drawn && !signals.health_fault && signals.synced {
                    let booted = self.installer.status()?.booted;
                    self.installer.mark_good()?;
                    let next = UpdateState {
                        phase: Phase::Idle,
                        last: Some(Outcome::Confirmed {
                            version: offer.version.clone(),
                            at: now_text(),
                        }),
                        good_slot: Some(booted),
                    };
                    save_state(&self.dir, &next)?;
                    tracing::info!("update {}: confirmed, slot marked good", offer.version);
                    self.state = next;
                    return Ok(false);
                }
                let limit = Duration::from_secs(self.config.confirm_timeout_secs);
                if now.duration_since(since) < limit {
                    return Ok(false);
                }
                let mut missing = Vec::new();
                if !signals.kiosk_drawn {
                    missing.push("the kiosk never drew its first frame");
                }
                if signals.health_fault {
                    missing.push("the daemon's health is at fault");
                }
                if !signals.synced {
                    missing.push("no sync with the hub succeeded");
                }
                let reason = format!(
                    "not confirmed within {} s ({}); marked bad, back to slot {from_slot}",
                    limit.as_secs(),
                    missing.join(", ")
                );
                self.installer.mark_bad()?;
                self.set(Phase::RollingBack {
                    offer,
                    from_slot,
                    boot_id,
                    reason,
                })?;
                self.reboot.reboot().map_err(|e| format!("reboot: {e}"))?;
                Ok(false)
            }
            Phase::RollingBack {
                offer,
                boot_id,
                reason,
                ..
            } => {
                if self.reboot.boot_id()? == boot_id {
                    // Still this boot: the reboot failed or is under way; ask again.
                    self.reboot.reboot().map_err(|e| format!("reboot: {e}"))?;
                    return Ok(false);
                }
                self.fail(&offer, reason)?;
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
