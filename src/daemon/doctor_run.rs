//! The daemon's answer to a `doctor` request (the kiosk's technician screen): the same checks
//! as `motcua doctor`, run as the daemon's user (which may read footage and ask cameras), with
//! GPIO reported as the daemon holds it (probing pins the daemon has claimed would fail), the
//! daemon's recent log lines and the units' state from systemd.

use std::path::PathBuf;
use std::sync::Arc;

use super::log_ring;
use crate::config::{Config, GpioConfig};
use crate::doctor::server::SyncServerCheck;
use crate::doctor::view::{service_status, DoctorView};
use crate::doctor::{
    self, CameraInfo, CameraProbe, DoctorInputs, GpioProbe, PinResult, SysfsCameras,
};
use crate::recorder::camera::worker::{CameraState, CameraStatus};
use crate::recorder::config::CameraConfig;
use crate::recorder::Recorder;

/// The units whose state the view shows.
pub const UNITS: [&str; 3] = [
    "motcua-daemon.service",
    "motcua-kiosk.service",
    "motcua-firstboot.service",
];

/// GPIO as the running daemon has it: the error it started without GPIO, else every configured
/// pin held by the daemon.
struct HeldByDaemon(Option<String>);

impl GpioProbe for HeldByDaemon {
    fn probe(&self, cfg: &GpioConfig) -> Result<(String, Vec<PinResult>), String> {
        match &self.0 {
            Some(e) => Err(e.clone()),
            None => Ok((
                "in use by the daemon".into(),
                cfg.pins()
                    .into_iter()
                    .map(|(pin, role)| (pin, role, Ok(())))
                    .collect(),
            )),
        }
    }
}

/// Cameras as the running daemon has them: devices from sysfs, network cameras from the
/// recorder's live state (never a second session to the camera).
struct LiveCameras<'a> {
    sysfs: SysfsCameras<'a>,
    /// The recorder's cameras; None: the daemon runs without a recorder.
    live: Option<Vec<(u32, CameraStatus)>>,
}

impl CameraProbe for LiveCameras<'_> {
    fn cameras(&self) -> Vec<CameraInfo> {
        self.sysfs.cameras()
    }

    fn network_camera(&self, c: &CameraConfig) -> Result<String, String> {
        let Some(live) = &self.live else {
            return Err("the daemon runs without a recorder".into());
        };
        match live.iter().find(|(counter, _)| *counter == c.counter) {
            None => Err("not running in the daemon".into()),
            Some((_, s)) => match &s.state {
                CameraState::Streaming { info } => Ok(format!(
                    "{} {}x{} ({} frames)",
                    info.description, info.width, info.height, s.frames
                )),
                CameraState::Degraded { error, retry_in_ms } => Err(format!(
                    "offline: {error}; next try in {} s",
                    retry_in_ms.div_ceil(1000)
                )),
                CameraState::Starting => Err("starting".into()),
                CameraState::Stopped => Err("stopped".into()),
            },
        }
    }
}

/// What the daemon knows to run the checks.
pub struct DoctorSetup {
    pub config: Config,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub root: PathBuf,
    /// Why the daemon runs without GPIO, if it does.
    pub gpio_error: Option<String>,
    /// Ask systemd for the units' state (off in tests that must not depend on the host).
    pub ask_systemd: bool,
    /// The running recorder (network cameras are reported from its state).
    pub recorder: Option<Arc<Recorder>>,
}

/// The closure the socket calls (blocking; the socket runs it on its own thread).
pub fn doctor_fn(s: DoctorSetup) -> Arc<dyn Fn() -> DoctorView + Send + Sync> {
    Arc::new(move || {
        let server = SyncServerCheck {
            config: Some(s.config.clone()),
            data_dir: s.data_dir.clone(),
        };
        let gpio = HeldByDaemon(s.gpio_error.clone());
        let real_root = s.root == std::path::Path::new("/");
        let inputs = DoctorInputs {
            full: false,
            root: &s.root,
            config_path: s.config_path.clone(),
            config: Ok(s.config.clone()),
            config_file_exists: s.config_path.exists(),
            data_dir: s.data_dir.clone(),
            gpio: &gpio,
            cameras: &LiveCameras {
                sysfs: SysfsCameras { root: &s.root },
                live: s.recorder.as_ref().map(|r| r.cameras()),
            },
            server: &server,
            kernel_clock_synced: if real_root {
                doctor::kernel_clock_synced()
            } else {
                None
            },
            now: chrono::Utc::now(),
        };
        let report = doctor::run(&inputs);
        let services = if s.ask_systemd {
            service_status(&UNITS)
        } else {
            vec!["systemd not asked (test)".into()]
        };
        DoctorView::new(&report, log_ring::recent(), services)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::camera::{PixelFormat, StreamInfo};

    fn camera(counter: u32) -> CameraConfig {
        let text = format!(
            "counter = {counter}\ndevice = \"rtsp://192.0.2.{counter}/stream\"\n\
             credentials_file = \"/etc/motcua/secrets/camera-{counter}\"\n"
        );
        toml::from_str(&text).unwrap()
    }

    fn status(state: CameraState, frames: u64) -> CameraStatus {
        CameraStatus {
            name: "rtsp://192.0.2.x/stream".into(),
            state,
            frames,
            starts: 1,
            rejected: 0,
            last_rejected: None,
        }
    }

    /// Review finding (issue 17): the daemon's doctor opened a second session to every network
    /// camera (up to 20 s each), so the technician screen timed out with two silent cameras.
    /// It answers from the recorder's live state instead, at once.
    #[test]
    fn network_cameras_are_reported_from_the_recorders_live_state() {
        let t = tempfile::tempdir().unwrap();
        let live = LiveCameras {
            sysfs: SysfsCameras { root: t.path() },
            live: Some(vec![
                (
                    1,
                    status(
                        CameraState::Streaming {
                            info: StreamInfo {
                                format: PixelFormat::Mjpeg,
                                width: 1280,
                                height: 720,
                                description: "RTSP MJPEG".into(),
                            },
                        },
                        42,
                    ),
                ),
                (
                    2,
                    status(
                        CameraState::Degraded {
                            error: "did not answer within 10 s".into(),
                            retry_in_ms: 6400,
                        },
                        0,
                    ),
                ),
            ]),
        };
        let started = std::time::Instant::now();
        assert_eq!(
            live.network_camera(&camera(1)),
            Ok("RTSP MJPEG 1280x720 (42 frames)".into())
        );
        assert_eq!(
            live.network_camera(&camera(2)),
            Err("offline: did not answer within 10 s; next try in 7 s".into())
        );
        assert_eq!(
            live.network_camera(&camera(3)),
            Err("not running in the daemon".into())
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let none = LiveCameras {
            sysfs: SysfsCameras { root: t.path() },
            live: None,
        };
        assert_eq!(
            none.network_camera(&camera(1)),
            Err("the daemon runs without a recorder".into())
        );
    }
}
