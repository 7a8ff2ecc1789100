//! The daemon's periodic health report (`device::health::collect`, every minute): inputs from
//! the recorder's cameras and the sync state, the result kept in `SyncContext::device_health`
//! (sent with heartbeats), shown on the status LED, and on the review UI's health page through
//! [`DaemonHealth`] (`review::HealthSource`).
//!
//! Reads only; the collection runs in `spawn_blocking` (it reads sysfs and statvfs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::shutdown::Shutdown;
use crate::device::health::{self, CameraHealth, HealthInputs, SyncHealth};
use crate::device::service::DeviceService;
use crate::device::{HealthLevel, HealthReport};
use crate::recorder::camera::worker::CameraState;
use crate::recorder::Recorder;
use crate::review::{HealthSource, RecorderHealth};
use crate::sync::state::read_status;
use crate::sync::SyncContext;

/// What the health task reads from.
#[derive(Clone)]
pub struct HealthParts {
    pub ctx: Arc<SyncContext>,
    pub recorder: Option<Arc<Recorder>>,
    pub device: Option<Arc<DeviceService>>,
    /// Why the configured GPIO pins could not be used (the daemon runs on without them).
    pub gpio_error: Option<String>,
    /// `/` on a device; a fake tree in tests.
    pub root: PathBuf,
    pub data_dir: PathBuf,
    /// The ticket printer (`[printer]`), when one is configured.
    pub printer: Option<crate::printer::PrinterConfig>,
}

/// The printer's line in the health report: ready (or no status to read) is ok; paper low,
/// paper out, cover open, offline, absent or not permitted is degraded — tickets are still issued, and the
/// kiosk asks citizens to photograph the number.
pub fn printer_item(cfg: &crate::printer::PrinterConfig) -> crate::device::health::HealthItem {
    use crate::printer::status::PrinterState as P;
    let state = crate::printer::device::UsbPrinter::new(&cfg.device).status();
    let level = match state {
        P::Ready | P::NoStatus => HealthLevel::Ok,
        P::PaperLow | P::PaperOut | P::CoverOpen | P::Offline | P::Absent | P::NoPermission => {
            HealthLevel::Degraded
        }
    };
    crate::device::health::HealthItem {
        name: "printer".into(),
        level,
        message: format!("{}: {}", cfg.device.display(), state.describe()),
    }
}

/// The sync input: not configured, never, or the last success on any channel.
pub fn sync_health(ctx: &SyncContext) -> SyncHealth {
    if !ctx.is_configured() {
        return SyncHealth::NotConfigured;
    }
    let last = read_status(&ctx.db(), ctx.clock.now())
        .ok()
        .and_then(|s| s.last_success_at)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
    match last {
        Some(at) => SyncHealth::LastSuccess {
            at: at.with_timezone(&chrono::Utc),
        },
        None => SyncHealth::Never,
    }
}

fn cameras(recorder: &Option<Arc<Recorder>>) -> Vec<CameraHealth> {
    let Some(r) = recorder else { return Vec::new() };
    r.cameras()
        .into_iter()
        .map(|(counter, s)| {
            let (ok, detail) = match &s.state {
                CameraState::Streaming { .. } => match (&s.last_rejected, s.rejected) {
                    (Some(why), n) => (
                        true,
                        format!("streaming ({n} bad frame(s) rejected, the last: {why})"),
                    ),
                    (None, _) => (true, "streaming".to_owned()),
                },
                CameraState::Starting => (false, "starting".to_owned()),
                CameraState::Degraded { error, .. } => (false, format!("degraded: {error}")),
                CameraState::Stopped => (false, "stopped".to_owned()),
            };
            CameraHealth {
                counter: Some(counter),
                name: s.name,
                ok,
                detail,
            }
        })
        .collect()
}

/// Collect one report now, keep it and show it on the LED.
pub async fn collect_once(p: &HealthParts) -> HealthReport {
    let parts = p.clone();
    let report = tokio::task::spawn_blocking(move || {
        let mut r = health::collect(HealthInputs {
            root: &parts.root,
            data_dir: &parts.data_dir,
            cameras: cameras(&parts.recorder),
            sync: sync_health(&parts.ctx),
            now: chrono::Utc::now(),
        });
        if let Some(cfg) = &parts.printer {
            let item = printer_item(cfg);
            if item.level == HealthLevel::Degraded && r.level == HealthLevel::Ok {
                r.level = HealthLevel::Degraded;
            }
            r.items.push(item);
        }
        r
    })
    .await
    .expect("health collection does not panic");
    let mut report = report;
    if let Some(e) = &p.gpio_error {
        report.items.push(crate::device::health::HealthItem {
            name: "gpio".into(),
            level: HealthLevel::Fault,
            message: format!(
                "the [gpio] pins cannot be used ({e}): no motion sensor, capture buttons or status LED; fix [gpio] in the config (`motcua doctor`)"
            ),
        });
        report.level = HealthLevel::Fault;
    }
    if let Some(d) = &p.device {
        d.set_health(report.level);
    }
    *p.ctx
        .device_health
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(report.clone());
    report
}

/// Every `every` until shutdown (the first report at once).
pub async fn run(p: HealthParts, every: Duration, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.recv() => return,
        }
        let r = collect_once(&p).await;
        tracing::debug!(level = ?r.level, "health collected");
    }
}

/// The review UI's health page, fed by the daemon.
pub struct DaemonHealth {
    pub ctx: Arc<SyncContext>,
    pub recorder: Option<Arc<Recorder>>,
}

impl HealthSource for DaemonHealth {
    fn cameras(&self) -> Option<Vec<crate::review::CameraHealth>> {
        self.recorder
            .as_ref()
            .and_then(|r| RecorderHealth(Arc::clone(r)).cameras())
    }

    fn sync(&self) -> Option<Vec<(String, String)>> {
        if !self.ctx.is_configured() {
            return Some(vec![(
                "server".into(),
                "not configured: running offline-only; ratings wait in the outbox".into(),
            )]);
        }
        let s = read_status(&self.ctx.db(), self.ctx.clock.now()).ok()?;
        let never = |v: Option<String>| v.unwrap_or_else(|| "never".into());
        let mut v = vec![
            (
                "catalog".into(),
                s.catalog_version
                    .map_or("none installed".into(), |v| format!("version {v}")),
            ),
            ("queue seq".into(), s.queue_seq.to_string()),
            ("outbox".into(), format!("{} waiting", s.outbox_depth)),
            ("last success".into(), never(s.last_success_at)),
            (
                "last error".into(),
                s.last_error.unwrap_or_else(|| "none".into()),
            ),
        ];
        if let Some(w) = s.catalog_warning {
            v.push(("warning".into(), w));
        }
        Some(v)
    }

    fn device(&self) -> Option<Vec<(String, String)>> {
        let r = self
            .ctx
            .device_health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        let word = |l: HealthLevel| format!("{l:?}").to_lowercase();
        let mut v = vec![("level".to_owned(), word(r.level))];
        v.extend(
            r.items
                .into_iter()
                .map(|i| (i.name, format!("{}: {}", word(i.level), i.message))),
        );
        Some(v)
    }
}
