//! One [`HealthReport`] of the appliance: free space, ext4 error counters, Pi under-voltage and
//! throttling, CPU temperature, cameras and the last successful sync, each judged ok / degraded
//! / fault with a sentence for a technician. Serde, so the kiosk's technician screen, the review
//! UI's health page and heartbeats all show the same thing.
//!
//! Reads sysfs under an injectable root (tests use a fake tree) and validates every value; a
//! value it cannot read is reported as such, never guessed. Never changes anything.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How well the appliance is: drives the status LED and heartbeats. Ordered: worst is max.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthLevel {
    Ok,
    Degraded,
    Fault,
}

/// One judged aspect, with what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthItem {
    pub name: String,
    pub level: HealthLevel,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskSpace {
    pub free_bytes: u64,
    pub total_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ext4Errors {
    /// Block device name as in `/sys/fs/ext4/<device>`.
    pub device: String,
    pub errors_count: u64,
}

/// The Pi firmware's power and thermal flags (`vcgencmd get_throttled` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiPower {
    pub under_voltage_now: bool,
    pub freq_capped_now: bool,
    pub throttled_now: bool,
    pub soft_temp_limit_now: bool,
    pub under_voltage_since_boot: bool,
    pub throttled_since_boot: bool,
    /// `get_throttled` raw bits; `None` when only the hwmon under-voltage alarm was available.
    pub raw: Option<u32>,
}

/// A camera as the recorder sees it (an input to the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraHealth {
    pub counter: Option<u32>,
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Sync as the sync daemon sees it (an input to the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncHealth {
    NotConfigured,
    Never,
    LastSuccess { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// The worst item's level.
    pub level: HealthLevel,
    pub checked_at: DateTime<Utc>,
    pub disk: Option<DiskSpace>,
    pub ext4: Vec<Ext4Errors>,
    pub power: Option<PiPower>,
    pub cpu_temp_celsius: Option<f32>,
    pub cameras: Vec<CameraHealth>,
    pub sync: SyncHealth,
    pub items: Vec<HealthItem>,
}

/// What the report is computed from.
pub struct HealthInputs<'a> {
    /// `/` on the appliance; a fake tree in tests.
    pub root: &'a Path,
    /// The data directory (free space is measured there; a real path, not under `root`).
    pub data_dir: &'a Path,
    pub cameras: Vec<CameraHealth>,
    pub sync: SyncHealth,
    pub now: DateTime<Utc>,
}

pub const GET_THROTTLED: &str = "sys/devices/platform/soc/soc:firmware/get_throttled";
const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn item(name: &str, level: HealthLevel, message: impl Into<String>) -> HealthItem {
    HealthItem {
        name: name.to_owned(),
        level,
        message: message.into(),
    }
}

/// Gather and judge everything.
pub fn collect(inp: HealthInputs<'_>) -> HealthReport {
    use HealthLevel::{Degraded, Fault};
    let mut items = Vec::new();
    let disk = match disk_space(inp.data_dir) {
        Ok(d) => {
            items.push(judge_disk(&d));
            Some(d)
        }
        Err(e) => {
            items.push(item(
                "disk",
                Fault,
                format!("cannot measure free space: {e}"),
            ));
            None
        }
    };
    let ext4 = ext4_errors(inp.root);
    match ext4 {
        Ok(ref list) => {
            for e in list.iter().filter(|e| e.errors_count > 0) {
                items.push(item("ext4", Degraded, format!(
                    "{} has recorded {} filesystem error(s); back up the data, run fsck at the next visit and consider replacing the card", e.device, e.errors_count)));
            }
        }
        Err(ref e) => items.push(item("ext4", Degraded, e.clone())),
    }
    let power = match pi_power(inp.root) {
        Ok(p) => {
            if let Some(p) = p {
                items.push(judge_power(&p));
            }
            p
        }
        Err(e) => {
            items.push(item("power", Degraded, e));
            None
        }
    };
    let temp = match cpu_temp(inp.root) {
        Ok(t) => {
            if let Some(t) = t {
                items.push(judge_temp(t));
            }
            t
        }
        Err(e) => {
            items.push(item("temperature", Degraded, e));
            None
        }
    };
    for c in inp.cameras.iter().filter(|c| !c.ok) {
        let at = c
            .counter
            .map(|n| format!(" (counter {n})"))
            .unwrap_or_default();
        let next = if c.name.contains("://") {
            "check the camera's power and network cable, its address and credentials_file \
             (`motcua doctor`)"
        } else {
            "check its USB cable, or unplug and plug it back"
        };
        items.push(item(
            "camera",
            Degraded,
            format!("camera {}{at}: {}; {next}", c.name, c.detail),
        ));
    }
    items.extend(judge_sync(inp.sync, inp.now));
    HealthReport {
        level: items
            .iter()
            .map(|i| i.level)
            .max()
            .unwrap_or(HealthLevel::Ok),
        checked_at: inp.now,
        disk,
        ext4: ext4.unwrap_or_default(),
        power,
        cpu_temp_celsius: temp,
        cameras: inp.cameras,
        sync: inp.sync,
        items,
    }
}

/// Free and total bytes of the filesystem holding `dir` (statvfs).
pub fn disk_space(dir: &Path) -> Result<DiskSpace, String> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(format!(
            "{}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    let frsize = st.f_frsize as u64;
    Ok(DiskSpace {
        free_bytes: st.f_bavail as u64 * frsize,
        total_bytes: st.f_blocks as u64 * frsize,
    })
}

pub fn judge_disk(d: &DiskSpace) -> HealthItem {
    let pct = if d.total_bytes == 0 {
        0.0
    } else {
        d.free_bytes as f64 * 100.0 / d.total_bytes as f64
    };
    let what = format!("{} MiB free ({pct:.1} %)", d.free_bytes / MIB);
    // The absolute floors matter only once the disk is mostly used: a small partition that is
    // nearly empty (a fresh card before the grow, a test machine) is fine.
    let mostly_used = pct < 50.0;
    let level = if pct < 2.0 || (mostly_used && d.free_bytes < 256 * MIB) {
        HealthLevel::Fault
    } else if pct < 10.0 || (mostly_used && d.free_bytes < GIB) {
        HealthLevel::Degraded
    } else {
        return item("disk", HealthLevel::Ok, what);
    };
    item(
        "disk",
        level,
        format!("{what}; export and unpin old cases or lower the footage quota"),
    )
}

fn read_trimmed(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim_end_matches('\n').to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn bad(path: &Path, found: &str, expected: &str) -> String {
    let found: String = found.chars().take(40).collect();
    format!("{} holds {found:?}, expected {expected}", path.display())
}

/// `errors_count` of every ext4 filesystem the kernel knows (`/sys/fs/ext4/<dev>/`).
pub fn ext4_errors(root: &Path) -> Result<Vec<Ext4Errors>, String> {
    let dir = root.join("sys/fs/ext4");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd.filter_map(|e| e.ok()) {
        let path = e.path().join("errors_count");
        let Some(text) = read_trimmed(&path)? else {
            continue;
        }; // e.g. `features/`
        let n = (!text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| bad(&path, &text, "an unsigned decimal integer"))?;
        out.push(Ext4Errors {
            device: e.file_name().to_string_lossy().into_owned(),
            errors_count: n,
        });
    }
    out.sort_by(|a, b| a.device.cmp(&b.device));
    Ok(out)
}

/// Decode `get_throttled` bits.
pub fn decode_throttled(raw: u32) -> PiPower {
    let bit = |n: u32| raw & (1 << n) != 0;
    PiPower {
        under_voltage_now: bit(0),
        freq_capped_now: bit(1),
        throttled_now: bit(2),
        soft_temp_limit_now: bit(3),
        under_voltage_since_boot: bit(16),
        throttled_since_boot: bit(18),
        raw: Some(raw),
    }
}

/// The Pi's power flags: the Raspberry Pi kernel's `get_throttled` (hex), else the mainline
/// `raspberrypi-hwmon` under-voltage alarm (`name` = `rpi_volt`, `in0_lcrit_alarm`). `None` off
/// a Pi.
pub fn pi_power(root: &Path) -> Result<Option<PiPower>, String> {
    let path = root.join(GET_THROTTLED);
    if let Some(text) = read_trimmed(&path)? {
        let hex = text.strip_prefix("0x").unwrap_or(&text);
        let ok = !hex.is_empty() && hex.len() <= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        let raw = ok
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten()
            .ok_or_else(|| bad(&path, &text, "hexadecimal flags like 50005"))?;
        return Ok(Some(decode_throttled(raw)));
    }
    let Ok(rd) = std::fs::read_dir(root.join("sys/class/hwmon")) else {
        return Ok(None);
    };
    for e in rd.filter_map(|e| e.ok()) {
        if read_trimmed(&e.path().join("name"))?.as_deref() != Some("rpi_volt") {
            continue;
        }
        let path = e.path().join("in0_lcrit_alarm");
        let now = match read_trimmed(&path)?.as_deref() {
            Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(bad(&path, other, "0 or 1")),
            None => continue,
        };
        return Ok(Some(PiPower {
            under_voltage_now: now,
            freq_capped_now: false,
            throttled_now: false,
            soft_temp_limit_now: false,
            under_voltage_since_boot: now,
            throttled_since_boot: false,
            raw: None,
        }));
    }
    Ok(None)
}

pub fn judge_power(p: &PiPower) -> HealthItem {
    const PSU: &str = "use the official 5.1 V power supply and a short, thick cable";
    if p.under_voltage_now {
        item(
            "power",
            HealthLevel::Fault,
            format!("under-voltage now; {PSU}"),
        )
    } else if p.throttled_now || p.freq_capped_now || p.soft_temp_limit_now {
        item(
            "power",
            HealthLevel::Degraded,
            "the CPU is throttled now (heat or power); check ventilation and the power supply",
        )
    } else if p.under_voltage_since_boot || p.throttled_since_boot {
        item(
            "power",
            HealthLevel::Degraded,
            format!("under-voltage or throttling happened since boot; {PSU}"),
        )
    } else {
        item("power", HealthLevel::Ok, "no under-voltage or throttling")
    }
}

/// CPU temperature in °C: the thermal zone of type `cpu-thermal`, else the first one.
pub fn cpu_temp(root: &Path) -> Result<Option<f32>, String> {
    let Ok(rd) = std::fs::read_dir(root.join("sys/class/thermal")) else {
        return Ok(None);
    };
    let mut zones: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("thermal_zone"))
        })
        .collect();
    zones.sort();
    let mut chosen = None;
    for z in &zones {
        if read_trimmed(&z.join("type"))?.as_deref() == Some("cpu-thermal") {
            chosen = Some(z);
            break;
        }
    }
    let Some(zone) = chosen.or(zones.first()) else {
        return Ok(None);
    };
    let path = zone.join("temp");
    let Some(text) = read_trimmed(&path)? else {
        return Ok(None);
    };
    let milli: i64 = text
        .parse()
        .ok()
        .filter(|m| (-40_000..=150_000).contains(m))
        .ok_or_else(|| {
            bad(
                &path,
                &text,
                "millidegrees Celsius between -40000 and 150000",
            )
        })?;
    Ok(Some(milli as f32 / 1000.0))
}

pub fn judge_temp(c: f32) -> HealthItem {
    let level = if c >= 85.0 {
        HealthLevel::Fault
    } else if c >= 80.0 {
        HealthLevel::Degraded
    } else {
        HealthLevel::Ok
    };
    let tail = if level == HealthLevel::Ok {
        ""
    } else {
        "; give the case air, or add a heatsink or fan"
    };
    item("temperature", level, format!("CPU {c:.1} °C{tail}"))
}

pub fn judge_sync(s: SyncHealth, now: DateTime<Utc>) -> Option<HealthItem> {
    match s {
        SyncHealth::NotConfigured => None,
        SyncHealth::Never => Some(item(
            "sync",
            HealthLevel::Degraded,
            "never synchronised with the server; run `motcua doctor` to check the link and token",
        )),
        SyncHealth::LastSuccess { at } => {
            let mins = (now - at).num_minutes();
            Some(if mins > 60 {
                item(
                    "sync",
                    HealthLevel::Degraded,
                    format!(
                        "last successful sync {} h {} min ago; check the network link",
                        mins / 60,
                        mins % 60
                    ),
                )
            } else {
                item(
                    "sync",
                    HealthLevel::Ok,
                    format!("last successful sync {mins} min ago"),
                )
            })
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
