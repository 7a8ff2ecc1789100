//! Doctor checks of the machine around motcua: cameras (names, device paths, formats when a
//! probe can tell), display (DRM cards, connectors, backlight) and the clock (kernel NTP state,
//! systemd-timesyncd's flag file, a plausible year).
//!
//! Reads sysfs and /dev under an injectable root; never opens a camera stream or the DRM master.

use std::path::Path;

use chrono::{DateTime, Datelike, Utc};

use super::Check;
use crate::config::Config;
use crate::device::backlight::Backlight;

/// One camera as found on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    pub device: String,
    pub name: String,
    /// Pixel formats; empty when the probe cannot tell.
    pub formats: Vec<String>,
    /// Stable `/dev/v4l/by-id/...` link pointing at it, if any.
    pub by_id: Option<String>,
}

/// Lists cameras. The recorder can supply one that also lists formats (via `v4l`).
pub trait CameraProbe {
    fn cameras(&self) -> Vec<CameraInfo>;
    /// Whether `formats` is filled in.
    fn knows_formats(&self) -> bool {
        false
    }
    /// A network camera's answer: what it streams, or why not. By default the camera is asked
    /// once (the CLI doctor); the daemon answers from its running recorder instead (a second
    /// session per camera would take up to 20 s each and compete with the live stream).
    fn network_camera(&self, c: &crate::recorder::config::CameraConfig) -> Result<String, String> {
        network_camera_answers(c)
    }
}

/// Cameras from sysfs (`/sys/class/video4linux/*/name`, capture nodes only: `index` 0) and
/// `/dev/v4l/by-id` links.
pub struct SysfsCameras<'a> {
    pub root: &'a Path,
}

impl CameraProbe for SysfsCameras<'_> {
    fn cameras(&self) -> Vec<CameraInfo> {
        let read = |p: &Path| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
        let mut by_id = Vec::new();
        if let Ok(rd) = std::fs::read_dir(self.root.join("dev/v4l/by-id")) {
            for e in rd.filter_map(|e| e.ok()) {
                if let Ok(t) = std::fs::read_link(e.path()) {
                    let node = t
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    by_id.push((
                        node,
                        format!("/dev/v4l/by-id/{}", e.file_name().to_string_lossy()),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.root.join("sys/class/video4linux")) else {
            return out;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let node = e.file_name().to_string_lossy().into_owned();
            if !node.starts_with("video") || read(&e.path().join("index")).is_some_and(|i| i != "0")
            {
                continue;
            }
            let name = read(&e.path().join("name")).unwrap_or_else(|| "(no name)".into());
            let name: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            out.push(CameraInfo {
                by_id: by_id
                    .iter()
                    .find(|(n, _)| *n == node)
                    .map(|(_, l)| l.clone()),
                device: format!("/dev/{node}"),
                name,
                formats: Vec::new(),
            });
        }
        out.sort_by(|a, b| a.device.cmp(&b.device));
        out
    }
}

/// Cameras found, checked against `[[recorder.cameras]]`: every configured device (a
/// `/dev/v4l/by-id`, `by-path` or `/dev/videoN` path under `root`) must be present; `synthetic`
/// needs nothing.
/// Start a network camera's source once and stop it: what it streams, or why not.
fn network_camera_answers(c: &crate::recorder::config::CameraConfig) -> Result<String, String> {
    let mut sources =
        crate::recorder::sources_from_config(&crate::recorder::config::RecorderConfig {
            cameras: vec![c.clone()],
            ..Default::default()
        })?;
    let (_, source) = sources.pop().ok_or("no source was built")?;
    let mut source = source;
    let r = source.start();
    source.stop();
    r.map(|info| format!("{} {}x{}", info.description, info.width, info.height))
        .map_err(|e| e.to_string())
}

pub(super) fn cameras(root: &Path, config: &Config, probe: &dyn CameraProbe) -> Check {
    let cams = probe.cameras();
    let mut details: Vec<String> = cams
        .iter()
        .map(|c| {
            let formats = if probe.knows_formats() {
                c.formats.join(", ")
            } else {
                "formats not probed".into()
            };
            let link = c
                .by_id
                .as_deref()
                .map(|l| format!(" = {l}"))
                .unwrap_or_default();
            format!("{}{link}: {} [{formats}]", c.device, c.name)
        })
        .collect();
    let configured = &config.recorder.cameras;
    let mut missing = Vec::new();
    for c in configured {
        let dev = c.device.to_string_lossy();
        if c.is_synthetic() {
            details.push(format!(
                "counter {}: synthetic test pattern (no device)",
                c.counter
            ));
            continue;
        }
        if c.url().is_some() {
            // A network camera: ask it for a frame, as the recorder will (credentials from its
            // file; the error names the camera without them).
            match probe.network_camera(c) {
                Ok(what) => details.push(format!("counter {}: {what}", c.counter)),
                Err(why) => missing.push(format!("counter {} ({why})", c.counter)),
            }
            continue;
        }
        let found = cams
            .iter()
            .any(|f| f.device == dev || f.by_id.as_deref() == Some(&*dev))
            || root
                .join(c.device.strip_prefix("/").unwrap_or(&c.device))
                .exists();
        if found {
            details.push(format!("counter {}: {dev} present", c.counter));
        } else {
            missing.push(format!("counter {} ({dev})", c.counter));
        }
    }
    if !missing.is_empty() {
        return Check::fail(
            "cameras",
            format!(
                "{} of {} configured camera(s) missing: {}",
                missing.len(),
                configured.len(),
                missing.join(", ")
            ),
            "plug the named camera in (same USB port for by-path names) and check `dmesg`; or correct [[recorder.cameras]] device",
        )
        .with_details(details);
    }
    if configured.is_empty() && cams.is_empty() {
        return Check::warn(
            "cameras",
            "no camera found",
            "plug the counter cameras in (USB) and check `dmesg` for errors",
        );
    }
    let summary = if configured.is_empty() {
        format!("{} camera(s) found, none configured", cams.len())
    } else {
        format!(
            "{} configured camera(s) present ({} found)",
            configured.len(),
            cams.len()
        )
    };
    Check::ok("cameras", summary).with_details(details)
}

pub(super) fn display(root: &Path, config: &Config) -> Check {
    let cards = std::fs::read_dir(root.join("dev/dri"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("card"))
                .count()
        })
        .unwrap_or(0);
    if cards == 0 {
        return Check::fail(
            "display",
            "no /dev/dri/card* (no display driver)",
            "check the display cable and that the vc4 driver loads (`dmesg | grep -i drm`)",
        );
    }
    let mut details = Vec::new();
    let mut connected = 0;
    if let Ok(rd) = std::fs::read_dir(root.join("sys/class/drm")) {
        let mut conns: Vec<_> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("status").exists())
            .collect();
        conns.sort_by_key(|e| e.file_name());
        for e in conns {
            let status = std::fs::read_to_string(e.path().join("status"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let dpms = std::fs::read_to_string(e.path().join("dpms"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            connected += (status == "connected") as usize;
            details.push(format!(
                "{}: {status}{}",
                e.file_name().to_string_lossy(),
                if dpms.is_empty() {
                    String::new()
                } else {
                    format!(", DPMS {dpms}")
                }
            ));
        }
    }
    match Backlight::find(root, config.display.backlight.as_deref()) {
        Ok(Some(bl)) => details.push(format!(
            "backlight {}: brightness {}/{}{}",
            bl.name(),
            bl.brightness()
                .map(|b| b.to_string())
                .unwrap_or_else(|e| e.to_string()),
            bl.max(),
            if bl.is_powered().unwrap_or(true) {
                ""
            } else {
                ", off"
            }
        )),
        Ok(None) => {
            details.push("no backlight device (HDMI screen: dimming is not available)".into())
        }
        Err(e) => {
            return Check::fail(
                "display",
                e.to_string(),
                "fix display.backlight in the config",
            )
            .with_details(details)
        }
    }
    if connected == 0 {
        return Check::warn(
            "display",
            format!("{cards} DRM card(s), no connected screen"),
            "check the screen's cable and power",
        )
        .with_details(details);
    }
    Check::ok("display", format!("{connected} screen(s) connected")).with_details(details)
}

/// The kernel's view (adjtimex): `Some(true)` when NTP synchronised it.
pub fn kernel_clock_synced() -> Option<bool> {
    // SAFETY: modes = 0 only reads the kernel's time state into a zeroed struct.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return None;
    }
    Some(state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0)
}

pub(super) fn clock(root: &Path, kernel: Option<bool>, now: DateTime<Utc>) -> Check {
    if now.year() < 2025 {
        return Check::fail("clock", format!("system time is {}", now.format("%Y-%m-%d %H:%M UTC")),
            "the clock was never set: connect the network so NTP can set it (snapshots taken now carry wrong times)");
    }
    let timesyncd = root.join("run/systemd/timesync/synchronized").exists();
    match (kernel, timesyncd) {
        (Some(true), _) | (_, true) => Check::ok(
            "clock",
            format!("synchronised ({})", now.format("%Y-%m-%d %H:%M UTC")),
        ),
        _ => Check::warn(
            "clock",
            "not synchronised with NTP",
            "check the network and that systemd-timesyncd runs; times may drift until it syncs",
        ),
    }
}
