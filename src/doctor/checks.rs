//! Doctor checks of this process's own things: the config file, the stores (catalog.db and
//! footage.db integrity and schema version), the configured GPIO pins, and the health items
//! (disk, ext4 errors, power, temperature) judged as in `device::health`.
//!
//! Opens databases read-only and releases every pin it tried; never changes anything.

use std::path::Path;

use super::{Check, DoctorInputs};
use crate::config::{Config, GpioConfig};
use crate::device::gpio::{self as gpio_backend, Backend, Bias, Gpio, GpioError};
use crate::device::gpio_cdev::CdevGpio;
use crate::device::health::{self, HealthItem, HealthLevel};
use crate::recorder::footage::FootageStore;
use crate::store::{open_connection, Access, CatalogStore, CATALOG_DB, LATEST_VERSION};

/// File name of the recorder's database in the data directory.
pub const FOOTAGE_DB: &str = "footage.db";

pub(super) fn config(inp: &DoctorInputs<'_>) -> Check {
    let path = inp.config_path.display();
    match &inp.config {
        Ok(_) if !inp.config_file_exists => Check::warn(
            "config",
            format!("{path} not found; running on defaults"),
            "put the provisioning file on the boot partition, or write /etc/motcua/motcua.toml (docs/config.md)",
        ),
        Ok(c) => Check::ok("config", format!("{path} valid (device `{}`)", c.device.name)),
        Err(e) => Check::fail("config", e.to_string(), "fix the file and key named above (docs/config.md), then run the doctor again"),
    }
}

fn quick_check(conn: &rusqlite::Connection) -> Result<(i64, String), rusqlite::Error> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    Ok((version, check))
}

/// Snapshot files the doctor hashes without `--full` (the newest; the others are checked to be
/// there): a full card's every file took minutes on a Pi's SD card.
pub const HASH_NEWEST: usize = 200;

pub(super) fn stores(data_dir: &Path, full: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let path = data_dir.join(CATALOG_DB);
    out.push(if !path.exists() {
        Check::warn("catalog.db", format!("{} does not exist yet", path.display()),
            "start the daemon to sync a catalog, or import one with `motcua catalog import FILE`")
    } else {
        match open_connection(&path, Access::ReadOnly).and_then(|c| quick_check(&c).map_err(Into::into)) {
            Err(e) => Check::fail("catalog.db", format!("cannot read {}: {e}", path.display()),
                "restore catalog.db from a backup or delete it and let the daemon sync a new catalog"),
            Ok((_, check)) if check != "ok" => Check::fail("catalog.db", format!("integrity check failed: {check}"),
                "stop the services, move catalog.db aside and let the daemon sync a fresh catalog"),
            Ok((v, _)) if v > LATEST_VERSION => Check::fail("catalog.db", format!("schema version {v} is newer than this motcua ({LATEST_VERSION})"),
                "install the matching (newer) motcua package"),
            Ok((v, _)) => {
                let info = CatalogStore::open_read_only(&path).ok().and_then(|s| s.info().ok().flatten());
                let what = info.map(|i| format!("catalog version {}, {} procedures", i.version, i.procedures))
                    .unwrap_or_else(|| "no catalog applied yet".into());
                if v < LATEST_VERSION {
                    Check::warn("catalog.db", format!("schema version {v} (current {LATEST_VERSION}), {what}"),
                        "start the daemon once: it upgrades the schema")
                } else {
                    Check::ok("catalog.db", format!("integrity ok, schema {v}, {what}"))
                }
            }
        }
    });
    match crate::store::private::locate(data_dir, FOOTAGE_DB) {
        Ok(path) if path.exists() => out.push(footage(data_dir, &path, full)),
        Ok(_) => {}
        Err(e) => out.push(Check::fail(
            "footage.db",
            e.to_string(),
            "start the daemon once (it finishes the move), then run the doctor again",
        )),
    }
    out
}

/// footage.db: SQLite's quick_check, then the recorder's own `verify` (hash chain, rows, the
/// anchor, every file present; the newest [`HASH_NEWEST`] files hashed, or all with `full`, as
/// `motcua snapshots verify` does). Re-adopted snapshots lead the summary, with record IDs.
fn footage(data_dir: &Path, path: &Path, full: bool) -> Check {
    let v = match open_connection(path, Access::ReadOnly)
        .and_then(|c| quick_check(&c).map_err(Into::into))
    {
        Err(e) => {
            return Check::fail(
                "footage.db",
                format!("cannot read {}: {e}", path.display()),
                "run `motcua snapshots verify` and restore footage.db from a backup",
            )
        }
        Ok((_, check)) if check != "ok" => {
            return Check::fail(
                "footage.db",
                format!("integrity check failed: {check}"),
                "stop the daemon and run `motcua snapshots verify`; keep the card for evidence",
            )
        }
        Ok((v, _)) => v,
    };
    let verified = FootageStore::open_reader(data_dir).and_then(|s| {
        if full {
            s.verify(true)
        } else {
            s.verify_bounded(HASH_NEWEST)
        }
    });
    match verified {
        Err(e) => Check::fail("footage.db", format!("verify could not run: {e}"),
            "run `motcua snapshots verify` (over SSH; as root it runs as the daemon's user) and report its output"),
        Ok(r) if !r.ok() => Check::fail("footage.db",
            format!("verify found {} problem(s) in {} chain entries, {} snapshots", r.problems.len(), r.chain_entries, r.snapshots),
            "keep the card for evidence; run `motcua snapshots verify` for the full list and report it")
            .with_details(r.problems.iter().take(10).map(|p| p.to_string()).collect()),
        Ok(r) => {
            // Quarantined files are problems (above); re-adopted rows lead, the anchor is said.
            let mut lead = String::new();
            if r.recovered > 0 {
                lead = format!("{}; ", recovered_text(&r.recovered_snapshots));
            }
            let mut extra = String::new();
            if r.files_not_hashed > 0 {
                extra.push_str(&format!(
                    " (the newest {}; {} older files only checked present: `motcua doctor --full` or `motcua snapshots verify` hashes every file)",
                    r.files_checked, r.files_not_hashed
                ));
            }
            match &r.anchored {
                Some(a) => extra.push_str(&format!(
                    "; anchored at the hub up to seq {} (received {})",
                    a.seq, a.received_at
                )),
                None => extra.push_str("; not anchored at a hub yet"),
            }
            Check::ok("footage.db", format!(
                "{lead}integrity ok, schema {v}; verify ok: {} chain entries, {} snapshots, {} files hashed{extra}",
                r.chain_entries, r.snapshots, r.files_checked))
        }
    }
}

/// "RECOVERED 2 snapshot(s) after their rows were lost: #3 (record R, first stored as seq
/// 3), …" — the same words in `doctor` and `snapshots verify`.
pub fn recovered_text(list: &[crate::recorder::footage::RecoveredSnapshot]) -> String {
    let each: Vec<String> = list
        .iter()
        .map(|s| {
            format!(
                "#{} (record {}, first stored as seq {})",
                s.id,
                s.record_id.as_deref().unwrap_or("none"),
                s.recovered_from_seq
            )
        })
        .collect();
    format!(
        "RECOVERED {} snapshot(s) after their rows were lost: {}",
        list.len(),
        each.join(", ")
    )
}

/// One configured pin: BCM number, role in the config, whether it could be configured.
pub type PinResult = (u8, String, Result<(), String>);

/// Tries the configured pins.
pub trait GpioProbe {
    /// `Err` if GPIO cannot be opened at all; else the backend used and one result per pin.
    fn probe(&self, cfg: &GpioConfig) -> Result<(String, Vec<PinResult>), String>;
}

/// Probe any [`Gpio`]: configure each pin as the service would, then release it.
pub fn probe_with(gpio: &dyn Gpio, cfg: &GpioConfig) -> Vec<PinResult> {
    cfg.pins()
        .into_iter()
        .map(|(pin, role)| {
            let r = if Some(pin) == cfg.status_led_pin {
                gpio.output(pin).map(drop)
            } else {
                let (tx, _rx) = std::sync::mpsc::channel();
                gpio.watch(pin, Bias::Off, tx).map(drop)
            };
            (pin, role, r.map_err(|e: GpioError| e.to_string()))
        })
        .collect()
}

/// The real probe: the backend the daemon would use (`device::gpio::open`: the GPIO character
/// device, or rppal on a kernel with /dev/gpiomem), its name and chip in the first detail line.
#[derive(Debug, Default)]
pub struct RealGpioProbe;

impl GpioProbe for RealGpioProbe {
    fn probe(&self, cfg: &GpioConfig) -> Result<(String, Vec<PinResult>), String> {
        let (gpio, backend) = gpio_backend::open().map_err(|e| e.to_string())?;
        let chip = match backend {
            Backend::Cdev => CdevGpio::open().ok(),
            Backend::Rppal => None,
        };
        let name = match (&chip, backend) {
            (Some(c), _) => format!("GPIO character device {}", c.describe()),
            (None, Backend::Cdev) => "GPIO character device".into(),
            (None, Backend::Rppal) => "rppal (/dev/gpiomem)".into(),
        };
        let mut pins = probe_with(gpio.as_ref(), cfg);
        // A running daemon holds its pins: on the character device the kernel says who holds a
        // line, so a pin held by motcua itself is in use as configured, not a fault.
        if let Some(chip) = &chip {
            for (pin, role, r) in &mut pins {
                if r.is_err()
                    && chip.holder(*pin).as_deref() == Some(crate::device::gpio_cdev::CONSUMER)
                {
                    role.push_str(", held by the running motcua daemon");
                    *r = Ok(());
                }
            }
        }
        Ok((name, pins))
    }
}

impl GpioProbe for crate::device::gpio::FakeGpio {
    fn probe(&self, cfg: &GpioConfig) -> Result<(String, Vec<PinResult>), String> {
        Ok(("fake GPIO".into(), probe_with(self, cfg)))
    }
}

pub(super) fn gpio(config: &Config, probe: &dyn GpioProbe) -> Check {
    let cfg = &config.gpio;
    if cfg.is_empty() {
        return Check::ok("gpio", "no pins configured (no sensor, buttons or LED)");
    }
    match probe.probe(cfg) {
        Err(e) => Check::fail(
            "gpio",
            e,
            "check the `gpio` group membership of the service user (the udev rule gives it /dev/gpiochip*); on a machine without the Pi's GPIO, remove the [gpio] pins",
        ),
        Ok((backend, pins)) => {
            let details: Vec<String> = pins
                .iter()
                .map(|(pin, role, r)| match r {
                    Ok(()) => format!("BCM {pin} ({role}): usable"),
                    Err(e) => format!("BCM {pin} ({role}): {e}"),
                })
                .collect();
            let bad = pins.iter().filter(|p| p.2.is_err()).count();
            if bad == 0 {
                Check::ok("gpio", format!("{} pin(s) usable through {backend}", pins.len())).with_details(details)
            } else {
                Check::fail("gpio", format!("{bad} of {} pin(s) unusable", pins.len()),
                    "a running motcua daemon holds its input pins: stop it (systemctl stop motcua-daemon) and run the doctor again; otherwise check the wiring and config pins")
                    .with_details(details)
            }
        }
    }
}

fn from_health(name: &'static str, h: HealthItem) -> Check {
    let (summary, next) = match h.message.split_once("; ") {
        Some((s, n)) => (s.to_owned(), n.to_owned()),
        None => (h.message.clone(), String::new()),
    };
    match h.level {
        HealthLevel::Ok => Check::ok(name, h.message),
        HealthLevel::Degraded => Check::warn(name, summary, next),
        HealthLevel::Fault => Check::fail(name, summary, next),
    }
}

pub(super) fn health(root: &Path, data_dir: &Path) -> Vec<Check> {
    let mut out = Vec::new();
    let existing = data_dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    out.push(match health::disk_space(existing) {
        Ok(d) => from_health("disk", health::judge_disk(&d)),
        Err(e) => Check::fail("disk", e, "check that the data partition is mounted"),
    });
    out.push(match health::ext4_errors(root) {
        Ok(list) => {
            let bad: Vec<String> = list.iter().filter(|e| e.errors_count > 0)
                .map(|e| format!("{}: {} error(s)", e.device, e.errors_count)).collect();
            if bad.is_empty() {
                Check::ok("filesystems", format!("{} ext4 filesystem(s), no errors recorded", list.len()))
            } else {
                Check::warn("filesystems", bad.join(", "),
                    "back up the data, run fsck at the next visit and consider replacing the SD card")
            }
        }
        Err(e) => Check::warn("filesystems", e, "report this to the developers"),
    });
    out.push(match health::pi_power(root) {
        Ok(Some(p)) => from_health("power", health::judge_power(&p)),
        Ok(None) => Check::ok("power", "no Raspberry Pi firmware flags (not a Pi)"),
        Err(e) => Check::warn("power", e, "report this to the developers"),
    });
    out.push(match health::cpu_temp(root) {
        Ok(Some(t)) => from_health("temperature", health::judge_temp(t)),
        Ok(None) => Check::ok("temperature", "no thermal sensor"),
        Err(e) => Check::warn("temperature", e, "report this to the developers"),
    });
    out
}

/// The ticket printer, when `[printer]` names one: its status bytes in plain words.
pub(super) fn printer(config: &Config) -> Option<Check> {
    use crate::printer::status::PrinterState as P;
    let cfg = config.printer.as_ref()?;
    let state = crate::printer::device::UsbPrinter::new(&cfg.device).status();
    let summary = format!("{}: {}", cfg.device.display(), state.describe());
    Some(match state {
        P::Ready => Check::ok("printer", summary),
        P::NoStatus => Check::ok("printer", summary),
        P::PaperLow => Check::warn("printer", summary, "change the roll soon"),
        P::PaperOut => Check::fail("printer", summary, "load a new roll of thermal paper"),
        P::CoverOpen => Check::fail("printer", summary, "close the printer's cover until it clicks"),
        P::Offline => Check::fail("printer", summary, "look at the printer's error light; switch it off and on"),
        P::NoPermission => Check::fail("printer", summary,
            "add the services' users to group lp (`usermod -aG lp motcua`, `usermod -aG lp motcua-kiosk`; \
             the packaged units list lp in SupplementaryGroups), then restart them; `ls -l` the device: it should be group lp, mode 0660"),
        P::Absent => Check::fail("printer", summary,
            "check the USB cable and the printer's power; `ls /dev/usb/` should list the device in [printer] device"),
    })
}
