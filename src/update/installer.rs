//! The updater underneath: installing a bundle into the other slot, reading the slots,
//! marking the booted slot good or bad, and rebooting — behind two small traits, with the
//! real implementation (RAUC and systemd) and a fake (slots in a JSON file) side by side.
//!
//! The real [`Rauc`] runs `rauc install <bundle>`, `rauc status --output-format=json`,
//! `rauc status mark-good` and `rauc status mark-bad`; RAUC verifies the bundle's signature
//! against its keyring (`/etc/rauc/keyring.pem`) and writes the inactive slot. It needs a
//! system with RAUC and its `system.conf` (the image; its QEMU boot test exercises this
//! path): this host has none, so only the fake runs in `cargo test`. Never used to decide
//! *when* to install or reboot: that is `machine.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// One slot as RAUC reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// RAUC's slot name, e.g. `rootfs.0`.
    pub name: String,
    /// The bootloader's name for it, e.g. `A`.
    pub bootname: String,
    /// `booted`, `active` or `inactive`.
    pub state: String,
    /// `good` or `bad` (RAUC's boot status), when known.
    pub boot_status: Option<String>,
    /// The version of the bundle installed into it, when known.
    pub version: Option<String>,
}

/// All slots and which one runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slots {
    /// Bootname of the running slot.
    pub booted: String,
    /// Bootname the bootloader tries first next time.
    pub primary: Option<String>,
    pub slots: Vec<Slot>,
}

impl Slots {
    /// The running slot's version, when RAUC knows it.
    pub fn booted_version(&self) -> Option<&str> {
        self.slots
            .iter()
            .find(|s| s.bootname == self.booted)
            .and_then(|s| s.version.as_deref())
    }
}

/// Installs bundles and keeps the slots' boot status.
pub trait Installer: Send + Sync {
    fn status(&self) -> Result<Slots, String>;
    /// Install `bundle` into the inactive slot and make it the primary (RAUC does both).
    fn install(&self, bundle: &Path, version: &str) -> Result<(), InstallError>;
    fn mark_good(&self) -> Result<(), String>;
    /// Mark the running slot bad: the bootloader goes back to the other one.
    fn mark_bad(&self) -> Result<(), String>;
    /// Make the slot that is not running the one the bootloader tries first (a rollback by
    /// hand).
    fn mark_other_active(&self) -> Result<(), String>;
}

/// Why an install did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallError {
    /// RAUC refused the bundle (signature, compatibility) or could not write it: this bundle
    /// is not tried again.
    Refused(String),
    /// Cut off, not refused: the `rauc install` process was killed (the daemon restarted while
    /// it ran; RAUC's service may still finish the install on its own), or RAUC was busy with
    /// another request. The install is looked at again, not given up.
    Interrupted(String),
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallError::Refused(m) => write!(f, "{m}"),
            InstallError::Interrupted(m) => write!(f, "interrupted: {m}"),
        }
    }
}

/// Reboots the machine and tells one boot from the next.
pub trait Rebooter: Send + Sync {
    fn reboot(&self) -> Result<(), String>;
    /// Changes at every boot (`/proc/sys/kernel/random/boot_id`).
    fn boot_id(&self) -> Result<String, String>;
}

fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd
        .output()
        .map_err(|e| format!("{shown}: cannot run it ({e}); is RAUC installed?"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            err.trim().chars().take(500).collect::<String>()
        ));
    }
    Ok(out.stdout)
}

/// RAUC, through its command line.
#[derive(Debug, Clone)]
pub struct Rauc {
    pub program: PathBuf,
}

impl Default for Rauc {
    fn default() -> Self {
        Rauc {
            program: PathBuf::from("rauc"),
        }
    }
}

/// Read `rauc status --output-format=json`.
pub fn parse_rauc_status(json: &[u8]) -> Result<Slots, String> {
    let v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("rauc status: not JSON ({e})"))?;
    let booted = v
        .get("booted")
        .and_then(|b| b.as_str())
        .ok_or("rauc status: no \"booted\" slot in its answer")?
        .to_owned();
    let primary_name = v.get("boot_primary").and_then(|p| p.as_str());
    let mut slots = Vec::new();
    let mut primary = None;
    for entry in v
        .get("slots")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let Some(obj) = entry.as_object() else {
            continue;
        };
        for (name, s) in obj {
            let text = |k: &str| s.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            let Some(bootname) = text("bootname") else {
                continue; // not a bootable slot (e.g. a bootloader slot)
            };
            if Some(name.as_str()) == primary_name {
                primary = Some(bootname.clone());
            }
            slots.push(Slot {
                name: name.clone(),
                bootname,
                state: text("state").unwrap_or_default(),
                boot_status: text("boot_status"),
                version: s
                    .pointer("/slot_status/bundle/version")
                    .and_then(|x| x.as_str())
                    .map(str::to_owned),
            });
        }
    }
    Ok(Slots {
        booted,
        primary,
        slots,
    })
}

impl Installer for Rauc {
    fn status(&self) -> Result<Slots, String> {
        parse_rauc_status(&run(Command::new(&self.program).args([
            "status",
            "--detailed",
            "--output-format=json",
        ]))?)
    }

    fn install(&self, bundle: &Path, _version: &str) -> Result<(), InstallError> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("install").arg(bundle);
        let shown = format!("{cmd:?}").replace('"', "");
        let out = cmd.output().map_err(|e| {
            InstallError::Refused(format!("{shown}: cannot run it ({e}); is RAUC installed?"))
        })?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let m = format!(
            "{shown} failed ({}): {}",
            out.status,
            err.trim().chars().take(500).collect::<String>()
        );
        // Killed by a signal (no exit code), or RAUC's service busy with another request.
        if out.status.code().is_none() || err.contains("already processing") {
            Err(InstallError::Interrupted(m))
        } else {
            Err(InstallError::Refused(m))
        }
    }

    fn mark_good(&self) -> Result<(), String> {
        run(Command::new(&self.program).args(["status", "mark-good"])).map(|_| ())
    }

    fn mark_bad(&self) -> Result<(), String> {
        run(Command::new(&self.program).args(["status", "mark-bad"])).map(|_| ())
    }

    fn mark_other_active(&self) -> Result<(), String> {
        run(Command::new(&self.program).args(["status", "mark-active", "other"])).map(|_| ())
    }
}

/// `systemctl reboot`, and the kernel's boot id.
#[derive(Debug, Clone, Default)]
pub struct SystemReboot;

impl Rebooter for SystemReboot {
    fn reboot(&self) -> Result<(), String> {
        run(Command::new("systemctl").arg("reboot")).map(|_| ())
    }

    /// `MOTCUA_BOOT_ID` when set (the unit sets it to systemd's `%b`: its sandbox,
    /// `ProcSubset=pid`, hides `/proc/sys`), else the kernel's file.
    fn boot_id(&self) -> Result<String, String> {
        boot_id_from(
            std::env::var(BOOT_ID_ENV).ok().as_deref(),
            Path::new("/proc/sys/kernel/random/boot_id"),
        )
    }
}

/// Set by `motcua-daemon.service` to the boot id (`Environment=MOTCUA_BOOT_ID=%b`).
pub const BOOT_ID_ENV: &str = "MOTCUA_BOOT_ID";

/// The boot id from the environment's value when it looks like one (32 hex digits, dashes
/// allowed), else from `file`.
pub fn boot_id_from(env: Option<&str>, file: &Path) -> Result<String, String> {
    if let Some(v) = env.map(str::trim).filter(|v| {
        let hex = v.replace('-', "");
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    }) {
        return Ok(v.replace('-', "").to_ascii_lowercase());
    }
    std::fs::read_to_string(file)
        .map(|s| s.trim().replace('-', "").to_ascii_lowercase())
        .map_err(|e| {
            format!(
                "{}: {e} (and no {BOOT_ID_ENV} from the unit)",
                file.display()
            )
        })
}

/// Two slots `A` and `B` in a JSON file, for the demo and tests. `install` writes the other
/// slot and makes it primary, as RAUC does; [`FakeSlots::boot`] is the bootloader: it boots
/// the primary unless that slot is marked bad, then the other.
#[derive(Debug, Clone)]
pub struct FakeSlots {
    path: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FakeState {
    booted: String,
    primary: String,
    /// bootname → (version, good)
    versions: std::collections::BTreeMap<String, (Option<String>, Option<bool>)>,
    boot: u64,
    reboots_asked: u64,
    installs: u64,
    /// The next install completes but reports being cut off (tests).
    #[serde(default)]
    interrupt_next_install: bool,
}

impl FakeSlots {
    /// Slots in `path`; a new file starts on slot A running `version`.
    pub fn open(path: &Path, version: &str) -> Result<FakeSlots, String> {
        let f = FakeSlots {
            path: path.to_owned(),
        };
        if !path.exists() {
            let mut versions = std::collections::BTreeMap::new();
            versions.insert("A".into(), (Some(version.to_owned()), Some(true)));
            versions.insert("B".into(), (None, None));
            f.save(&FakeState {
                booted: "A".into(),
                primary: "A".into(),
                versions,
                boot: 1,
                reboots_asked: 0,
                installs: 0,
                interrupt_next_install: false,
            })?;
        }
        Ok(f)
    }

    fn load(&self) -> Result<FakeState, String> {
        let bytes =
            std::fs::read(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", self.path.display()))
    }

    fn save(&self, s: &FakeState) -> Result<(), String> {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(s).unwrap_or_default())
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    fn other(slot: &str) -> String {
        if slot == "A" { "B" } else { "A" }.into()
    }

    /// Power on: the bootloader picks a slot. Returns the booted slot.
    pub fn boot(&self) -> Result<String, String> {
        let mut s = self.load()?;
        let bad = |slot: &str| s.versions.get(slot).is_some_and(|v| v.1 == Some(false));
        s.booted = if bad(&s.primary) {
            Self::other(&s.primary)
        } else {
            s.primary.clone()
        };
        s.primary = s.booted.clone();
        s.boot += 1;
        let booted = s.booted.clone();
        self.save(&s)?;
        Ok(booted)
    }

    /// Power on after the bootloader used up the primary slot's tries: it boots the other
    /// one (what U-Boot's boot script does when the new slot never comes up).
    pub fn fall_back(&self) -> Result<String, String> {
        let mut s = self.load()?;
        let other = Self::other(&s.primary);
        if let Some(v) = s.versions.get_mut(&s.primary) {
            v.1 = Some(false);
        }
        s.primary = other.clone();
        s.booted = other.clone();
        s.boot += 1;
        self.save(&s)?;
        Ok(other)
    }

    /// Make the next install finish but report it was cut off (the daemon restarted while
    /// `rauc install` ran and RAUC's service went on).
    pub fn interrupt_next_install(&self) -> Result<(), String> {
        let mut s = self.load()?;
        s.interrupt_next_install = true;
        self.save(&s)
    }

    /// How many reboots were asked for, and installs done.
    pub fn counts(&self) -> Result<(u64, u64), String> {
        let s = self.load()?;
        Ok((s.reboots_asked, s.installs))
    }
}

impl Installer for FakeSlots {
    fn status(&self) -> Result<Slots, String> {
        let s = self.load()?;
        Ok(Slots {
            booted: s.booted.clone(),
            primary: Some(s.primary.clone()),
            slots: s
                .versions
                .iter()
                .enumerate()
                .map(|(i, (name, (version, good)))| Slot {
                    name: format!("rootfs.{i}"),
                    bootname: name.clone(),
                    state: if *name == s.booted {
                        "booted"
                    } else {
                        "inactive"
                    }
                    .into(),
                    boot_status: good.map(|g| if g { "good" } else { "bad" }.to_owned()),
                    version: version.clone(),
                })
                .collect(),
        })
    }

    fn install(&self, bundle: &Path, version: &str) -> Result<(), InstallError> {
        std::fs::metadata(bundle)
            .map_err(|e| InstallError::Refused(format!("{}: {e}", bundle.display())))?;
        let mut s = self.load().map_err(InstallError::Refused)?;
        let other = Self::other(&s.booted);
        s.versions
            .insert(other.clone(), (Some(version.to_owned()), Some(true)));
        s.primary = other;
        s.installs += 1;
        let interrupted = std::mem::take(&mut s.interrupt_next_install);
        self.save(&s).map_err(InstallError::Refused)?;
        if interrupted {
            // As when the daemon restarts during `rauc install`: RAUC's service finished the
            // install, but its caller only saw the process killed.
            return Err(InstallError::Interrupted(
                "rauc install: killed by signal 15".into(),
            ));
        }
        Ok(())
    }

    fn mark_good(&self) -> Result<(), String> {
        let mut s = self.load()?;
        let booted = s.booted.clone();
        if let Some(v) = s.versions.get_mut(&booted) {
            v.1 = Some(true);
        }
        self.save(&s)
    }

    fn mark_bad(&self) -> Result<(), String> {
        let mut s = self.load()?;
        let booted = s.booted.clone();
        if let Some(v) = s.versions.get_mut(&booted) {
            v.1 = Some(false);
        }
        s.primary = Self::other(&booted);
        self.save(&s)
    }

    fn mark_other_active(&self) -> Result<(), String> {
        let mut s = self.load()?;
        s.primary = Self::other(&s.booted);
        self.save(&s)
    }
}

impl Rebooter for FakeSlots {
    /// Notes the request; the test (or demo) calls [`FakeSlots::boot`] as the power-on.
    fn reboot(&self) -> Result<(), String> {
        let mut s = self.load()?;
        s.reboots_asked += 1;
        self.save(&s)
    }

    fn boot_id(&self) -> Result<String, String> {
        Ok(format!("fake-boot-{}", self.load()?.boot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rauc_status_json() {
        let json =
            br#"{"compatible":"motcua-pi","variant":"","booted":"B","boot_primary":"rootfs.1",
          "slots":[{"rootfs.0":{"class":"rootfs","device":"/dev/mmcblk0p2","type":"ext4",
             "bootname":"A","state":"inactive","boot_status":"good",
             "slot_status":{"bundle":{"compatible":"motcua-pi","version":"1.0.0"}}}},
           {"rootfs.1":{"class":"rootfs","device":"/dev/mmcblk0p3","type":"ext4",
             "bootname":"B","state":"booted","boot_status":"good",
             "slot_status":{"bundle":{"compatible":"motcua-pi","version":"1.1.0"}}}}]}"#;
        let s = parse_rauc_status(json).unwrap();
        assert_eq!(s.booted, "B");
        assert_eq!(s.primary.as_deref(), Some("B"));
        assert_eq!(s.booted_version(), Some("1.1.0"));
        assert_eq!(s.slots.len(), 2);
        assert_eq!(s.slots[0].bootname, "A");
        assert_eq!(
            parse_rauc_status(b"{}").unwrap_err(),
            "rauc status: no \"booted\" slot in its answer"
        );
    }

    #[test]
    fn the_fake_boots_the_primary_unless_it_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("b.raucb");
        std::fs::write(&bundle, b"x").unwrap();
        let f = FakeSlots::open(&dir.path().join("slots.json"), "1.0").unwrap();
        assert_eq!(f.status().unwrap().booted_version(), Some("1.0"));
        f.install(&bundle, "1.1").unwrap();
        assert_eq!(f.boot().unwrap(), "B");
        assert_eq!(f.status().unwrap().booted_version(), Some("1.1"));
        f.mark_bad().unwrap();
        assert_eq!(f.boot().unwrap(), "A");
        assert_eq!(f.boot().unwrap(), "A");
    }

    #[test]
    fn the_boot_id_comes_from_the_unit_or_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("boot_id");
        std::fs::write(&file, "bd92cf8e-928e-43a2-9150-c121ff3348a1\n").unwrap();
        // The unit's %b (32 hex digits) and the kernel's file (dashed) name the same boot.
        assert_eq!(
            boot_id_from(Some("bd92cf8e928e43a29150c121ff3348a1"), &file).unwrap(),
            boot_id_from(None, &file).unwrap()
        );
        // A value that is not a boot id is ignored; without the file, the error says both.
        assert_eq!(
            boot_id_from(Some("%b"), &file).unwrap(),
            "bd92cf8e928e43a29150c121ff3348a1"
        );
        let gone = dir.path().join("none");
        assert!(boot_id_from(None, &gone)
            .unwrap_err()
            .ends_with("(and no MOTCUA_BOOT_ID from the unit)"));
    }
}
