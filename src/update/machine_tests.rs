//! Each path of the update state machine, with the fake slots and a scripted hub.

use std::sync::Mutex;

use super::*;
use crate::update::installer::FakeSlots;

#[derive(Default)]
struct Hub {
    offer: Mutex<Option<UpdateOffer>>,
    /// Errors the next fetches return, in order: (message, permanent).
    fetch_errors: Mutex<Vec<(String, bool)>>,
    asked: Mutex<Vec<(String, Option<String>)>>,
}

impl Source for &Hub {
    async fn offer(
        &self,
        _channel: &str,
        current: &str,
        want: Option<&str>,
    ) -> Result<Option<UpdateOffer>, String> {
        self.asked
            .lock()
            .unwrap()
            .push((current.to_owned(), want.map(str::to_owned)));
        Ok(self.offer.lock().unwrap().clone())
    }

    async fn fetch(
        &self,
        offer: &UpdateOffer,
        dir: &Path,
        _max: u64,
    ) -> Result<PathBuf, (String, bool)> {
        let mut errs = self.fetch_errors.lock().unwrap();
        if !errs.is_empty() {
            return Err(errs.remove(0));
        }
        let path = crate::update::download::paths(dir, offer).1;
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&path, b"bundle").unwrap();
        Ok(path)
    }
}

/// The state a power cut leaves while RAUC installs `o` from slot A.
fn save_installing(dir: &Path, o: UpdateOffer) {
    let s = UpdateState {
        phase: Phase::Installing {
            offer: o,
            from_slot: "A".into(),
        },
        last: None,
        good_slot: None,
    };
    save_state(dir, &s).unwrap();
}

fn offer(version: &str) -> UpdateOffer {
    let sha = format!("{:0>64}", version.replace('.', ""));
    UpdateOffer {
        id: 1,
        channel: "stable".into(),
        version: version.into(),
        size: 6,
        url: format!("/v1/update/bundles/{sha}"),
        sha256: sha,
    }
}

const QUIET: Signals = Signals {
    in_window: true,
    kiosk_idle: true,
    serving: false,
    kiosk_drawn: false,
    health_fault: false,
    synced: false,
};
const CONFIRMED: Signals = Signals {
    kiosk_drawn: true,
    synced: true,
    ..QUIET
};

struct Rig {
    dir: tempfile::TempDir,
    slots: FakeSlots,
    hub: Hub,
}

impl Rig {
    fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let slots = FakeSlots::open(&dir.path().join("slots.json"), "1.0").unwrap();
        let hub = Hub::default();
        *hub.offer.lock().unwrap() = Some(offer("1.1"));
        Rig { dir, slots, hub }
    }

    /// The machine as a (re)started daemon opens it.
    fn machine(&self, config: UpdateConfig) -> Machine<&Hub, FakeSlots, FakeSlots> {
        Machine::open(
            &self.dir.path().join(UPDATE_DIR),
            config,
            &self.hub,
            self.slots.clone(),
            self.slots.clone(),
            "0.0",
        )
    }

    fn phase(&self) -> String {
        load_state(&self.dir.path().join(UPDATE_DIR))
            .phase
            .name()
            .into()
    }
}

#[tokio::test]
async fn a_good_update_waits_for_a_quiet_moment_and_is_confirmed() {
    let rig = Rig::new();
    let t = Instant::now();
    let mut m = rig.machine(UpdateConfig::default());
    let busy = Signals {
        serving: true,
        ..QUIET
    };
    m.tick(&busy, t).await.unwrap();
    assert_eq!(rig.phase(), "installed");
    assert_eq!(rig.slots.counts().unwrap(), (0, 1));
    for not_quiet in [
        busy,
        Signals {
            in_window: false,
            ..QUIET
        },
        Signals {
            kiosk_idle: false,
            ..QUIET
        },
    ] {
        m.tick(&not_quiet, t).await.unwrap();
        assert_eq!(rig.phase(), "installed");
    }
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "rebooting");
    assert_eq!(rig.slots.counts().unwrap(), (1, 1));
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "rebooting", "same boot: waits for the reboot");

    assert_eq!(rig.slots.boot().unwrap(), "B");
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "confirming");
    m.tick(&CONFIRMED, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert!(matches!(
        &m.state().last,
        Some(Outcome::Confirmed { version, .. }) if version == "1.1"
    ));
    let s = rig.slots.status().unwrap();
    assert_eq!(s.booted_version(), Some("1.1"));
    assert_eq!(s.slots[1].boot_status.as_deref(), Some("good"));
    // The hub still offers 1.1: it is what runs now, so nothing happens.
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert_eq!(rig.hub.asked.lock().unwrap().last().unwrap().0, "1.1");
    // Rolled back by hand (`motcua update rollback`): 1.1, confirmed once, is not installed
    // again by itself. (The slot A was flashed with has no recorded version: --force.)
    crate::update::agent::rollback(&rig.dir.path().join(UPDATE_DIR), &rig.slots, true).unwrap();
    assert_eq!(rig.slots.boot().unwrap(), "A");
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert_eq!(rig.slots.counts().unwrap().1, 1);
}

#[tokio::test]
async fn a_kiosk_that_never_draws_is_rolled_back_and_not_retried() {
    let rig = Rig::new();
    let t = Instant::now();
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    rig.slots.boot().unwrap();
    let mut m = rig.machine(UpdateConfig::default());
    let healthy_but_blank = Signals {
        synced: true,
        ..QUIET
    };
    m.tick(&healthy_but_blank, t).await.unwrap();
    m.tick(&healthy_but_blank, t + Duration::from_secs(599))
        .await
        .unwrap();
    assert_eq!(rig.phase(), "confirming");
    m.tick(&healthy_but_blank, t + Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(rig.phase(), "rolling_back");
    assert_eq!(rig.slots.counts().unwrap().0, 2, "a reboot was asked");
    assert_eq!(rig.slots.boot().unwrap(), "A");
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    let Some(Outcome::Failed {
        version, reason, ..
    }) = &m.state().last
    else {
        panic!("{:?}", m.state());
    };
    assert_eq!(version, "1.1");
    assert_eq!(
        reason,
        "not confirmed within 600 s (the kiosk never drew its first frame); marked bad, back to slot A"
    );
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "idle", "the failed bundle is not tried again");
    assert_eq!(rig.slots.counts().unwrap().1, 1);
    assert_eq!(m.report().version, "1.0");
}

#[tokio::test]
async fn a_new_slot_that_never_boots_is_reported_failed() {
    let rig = Rig::new();
    let t = Instant::now();
    rig.machine(UpdateConfig::default())
        .tick(&QUIET, t)
        .await
        .unwrap();
    assert_eq!(rig.slots.fall_back().unwrap(), "A");
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert!(matches!(
        &m.state().last,
        Some(Outcome::Failed { reason, .. })
            if reason == "the new slot did not boot; the bootloader went back to slot A"
    ));
}

#[tokio::test]
async fn power_cuts_resume_download_install_and_confirmation() {
    let rig = Rig::new();
    let t = Instant::now();
    rig.hub
        .fetch_errors
        .lock()
        .unwrap()
        .push(("cut after 3 bytes".into(), false));
    let mut m = rig.machine(UpdateConfig::default());
    assert_eq!(m.tick(&QUIET, t).await.unwrap_err(), "cut after 3 bytes");
    assert_eq!(m.report().error.as_deref(), Some("cut after 3 bytes"));
    assert_eq!(rig.phase(), "downloading");

    // Cut while installing: the state says installing, the bundle is there; install again.
    let dir = rig.dir.path().join(UPDATE_DIR);
    let o = offer("1.1");
    std::fs::write(crate::update::download::paths(&dir, &o).1, b"bundle").unwrap();
    save_installing(&dir, o);
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(
        &Signals {
            in_window: false,
            ..QUIET
        },
        t,
    )
    .await
    .unwrap();
    assert_eq!(rig.phase(), "installed");

    // Cut after the install, before the quiet reboot: RAUC made B primary, B boots.
    rig.slots.boot().unwrap();
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "confirming");

    // Cut while confirming, B comes up again: confirmation starts over in the new boot.
    rig.slots.boot().unwrap();
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "confirming");
    // Another cut and the bootloader has run out of tries for B: back on A, failed.
    rig.slots.fall_back().unwrap();
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert!(
        matches!(&m.state().last, Some(Outcome::Failed { reason, .. })
        if reason.starts_with("power was lost before the new version was confirmed"))
    );
}

#[tokio::test]
async fn refused_bundles_fail_and_keep_the_running_slot() {
    let rig = Rig::new();
    rig.hub
        .fetch_errors
        .lock()
        .unwrap()
        .push(("over max_bundle_bytes".into(), true));
    let mut m = rig.machine(UpdateConfig::default());
    assert!(m.tick(&QUIET, Instant::now()).await.is_err());
    assert_eq!(rig.phase(), "idle");
    assert!(
        matches!(&m.state().last, Some(Outcome::Failed { reason, .. }) if reason == "over max_bundle_bytes")
    );
    assert_eq!(rig.slots.counts().unwrap(), (0, 0));
    assert_eq!(rig.slots.status().unwrap().booted, "A");
}

#[tokio::test]
async fn a_pinned_device_asks_for_its_version() {
    let rig = Rig::new();
    *rig.hub.offer.lock().unwrap() = None;
    let config = UpdateConfig {
        pinned_version: Some("1.0".into()),
        ..UpdateConfig::default()
    };
    rig.machine(config)
        .tick(&QUIET, Instant::now())
        .await
        .unwrap();
    assert_eq!(
        rig.hub.asked.lock().unwrap()[0],
        ("1.0".to_owned(), Some("1.0".to_owned()))
    );
    assert_eq!(rig.phase(), "idle");
}

#[test]
fn a_damaged_state_file_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
    assert_eq!(load_state(dir.path()).phase, Phase::Idle);
    assert!(dir.path().join("state.json.bad").exists());
}

#[tokio::test]
async fn only_the_proven_slot_is_marked_good_at_boot() {
    use crate::update::agent::{mark_if_settled, Settle};
    let rig = Rig::new();
    let dir = rig.dir.path().join(UPDATE_DIR);
    let status = |name: &str| {
        rig.slots
            .status()
            .unwrap()
            .slots
            .into_iter()
            .find(|s| s.bootname == name)
            .and_then(|s| s.boot_status)
    };
    let marked = |r: Settle| matches!(r, Settle::Marked(_));
    // A new card, no update yet: the slot it was flashed with is trusted.
    assert!(marked(mark_if_settled(&dir, &rig.slots).unwrap()));
    // Installed into B and rebooted into it: B is on probation and stays unmarked.
    let t = Instant::now();
    rig.machine(UpdateConfig::default())
        .tick(&QUIET, t)
        .await
        .unwrap();
    assert_eq!(rig.phase(), "rebooting");
    rig.slots.boot().unwrap();
    rig.slots.mark_bad().unwrap(); // so that a wrong mark would show
    assert_eq!(
        mark_if_settled(&dir, &rig.slots).unwrap(),
        Settle::Left(
            "slot B is running but slot A is the proven one (phase rebooting); not marked good"
                .into()
        )
    );
    assert_eq!(status("B").as_deref(), Some("bad"));
    // The kiosk draws: the machine confirms B, which becomes the proven slot.
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&CONFIRMED, t).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert_eq!(m.state().good_slot.as_deref(), Some("B"));
    assert!(marked(mark_if_settled(&dir, &rig.slots).unwrap()));
    assert_eq!(status("B").as_deref(), Some("good"));
    // The bootloader's state lost (a torn write means "A first"): A runs but is not proven;
    // it is not marked (its tries run out and B comes back), and no update is taken meanwhile.
    rig.slots.mark_other_active().unwrap();
    rig.slots.boot().unwrap();
    assert!(!marked(mark_if_settled(&dir, &rig.slots).unwrap()));
    let mut m = rig.machine(UpdateConfig::default());
    let e = m.tick(&QUIET, t).await.unwrap_err();
    assert!(
        e.starts_with("running slot A, but slot B is the one proven good"),
        "{e}"
    );
    assert_eq!(rig.phase(), "idle");
}

#[tokio::test]
async fn an_install_cut_after_rauc_finished_confirms_instead_of_overwriting_the_old_slot() {
    let rig = Rig::new();
    let dir = rig.dir.path().join(UPDATE_DIR);
    let o = offer("1.1");
    // RAUC wrote B and made it primary; the power went before `installed` was saved.
    std::fs::write(crate::update::download::paths(&dir, &o).1, b"bundle").ok();
    rig.slots
        .install(&rig.dir.path().join("slots.json"), "1.1")
        .unwrap();
    save_installing(&dir, o);
    assert_eq!(rig.slots.boot().unwrap(), "B");
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&CONFIRMED, Instant::now()).await.unwrap();
    assert_eq!(rig.phase(), "idle");
    assert!(
        matches!(&m.state().last, Some(Outcome::Confirmed { version, .. }) if version == "1.1")
    );
    assert_eq!(
        rig.slots.counts().unwrap().1,
        1,
        "not installed again over slot A"
    );
}

#[test]
fn a_rollback_by_hand_makes_the_other_slot_the_proven_one() {
    use crate::update::agent::rollback;
    let rig = Rig::new();
    let dir = rig.dir.path().join(UPDATE_DIR);
    // B was never written: refused unless forced.
    assert_eq!(
        rollback(&dir, &rig.slots, false).unwrap_err(),
        "slot B was never written by an update (on a new card it is empty); if it holds the \
         system the card was flashed with, add --force"
    );
    rig.slots
        .install(&rig.dir.path().join("slots.json"), "1.1")
        .unwrap();
    rig.slots.boot().unwrap(); // running B (1.1)
    assert_eq!(rollback(&dir, &rig.slots, false).unwrap(), "A");
    assert_eq!(load_state(&dir).good_slot.as_deref(), Some("A"));
    assert_eq!(rig.slots.boot().unwrap(), "A");
    assert!(matches!(
        crate::update::agent::mark_if_settled(&dir, &rig.slots).unwrap(),
        crate::update::agent::Settle::Marked(_)
    ));
}

/// The fake slots, except that the switch to the other slot fails (RAUC refusing).
struct SwitchFails<'a>(&'a FakeSlots);

impl Installer for SwitchFails<'_> {
    fn status(&self) -> Result<crate::update::installer::Slots, String> {
        self.0.status()
    }
    fn install(&self, bundle: &Path, version: &str) -> Result<(), InstallError> {
        self.0.install(bundle, version)
    }
    fn mark_good(&self) -> Result<(), String> {
        self.0.mark_good()
    }
    fn mark_bad(&self) -> Result<(), String> {
        self.0.mark_bad()
    }
    fn mark_other_active(&self) -> Result<(), String> {
        Err("rauc: not authorized".into())
    }
}

#[test]
fn a_rollback_whose_switch_fails_leaves_the_proven_slot_as_it_was() {
    use crate::update::agent::rollback;
    let rig = Rig::new();
    let dir = rig.dir.path().join(UPDATE_DIR);
    rig.slots
        .install(&rig.dir.path().join("slots.json"), "1.1")
        .unwrap();
    rig.slots.boot().unwrap(); // running B (1.1), proven
    let mut state = load_state(&dir);
    state.good_slot = Some("B".into());
    crate::update::machine::save_state(&dir, &state).unwrap();
    assert_eq!(
        rollback(&dir, &SwitchFails(&rig.slots), false).unwrap_err(),
        "rauc: not authorized"
    );
    assert_eq!(load_state(&dir).good_slot.as_deref(), Some("B"));
    assert_eq!(rig.slots.boot().unwrap(), "B", "no switch");
    // A state that cannot be written stops it before the switch (a root-owned directory).
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    assert!(rollback(&dir, &rig.slots, false).is_err());
    assert_eq!(
        rig.slots.boot().unwrap(),
        "B",
        "no switch without the record"
    );
}

#[tokio::test]
async fn a_daemon_restart_during_the_install_neither_fails_nor_installs_twice() {
    let rig = Rig::new();
    let t = Instant::now();
    rig.slots.interrupt_next_install().unwrap();
    let busy = Signals {
        kiosk_idle: false,
        ..QUIET
    };
    // `rauc install` killed: the update is not given up...
    let mut m = rig.machine(UpdateConfig::default());
    let e = m.tick(&busy, t).await.unwrap_err();
    assert!(e.starts_with("install interrupted:"), "{e}");
    assert_eq!(rig.phase(), "installing");
    assert_eq!(m.state().last, None);
    // ...and the restarted daemon sees RAUC finished it (B primary): installed, once.
    let mut m = rig.machine(UpdateConfig::default());
    m.tick(&busy, t).await.unwrap();
    assert_eq!(rig.phase(), "installed");
    assert_eq!(rig.slots.counts().unwrap().1, 1);
    m.tick(&QUIET, t).await.unwrap();
    assert_eq!(rig.phase(), "rebooting");
}
