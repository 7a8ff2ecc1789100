//! One thread per camera: start the source, push every frame into the ring, and when the
//! camera fails or disappears mark it degraded, clear the ring and retry with exponential
//! backoff — so a camera plugged back in streams again without a restart.
//!
//! Never stores anything and never blocks a capture: captures only read the ring.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use super::{CameraError, Frame, FrameSource, StreamInfo};
use crate::recorder::clock::Clocks;
use crate::recorder::ring::FrameRing;

/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Bad frames in a row (not a JPEG, an H.264 keyframe without its parameter sets…) that are
/// rejected one by one while the camera stays up; one more and the camera is restarted as
/// degraded.
pub const MAX_BAD_IN_A_ROW: u32 = 10;

/// How a camera is doing, for status pages and the daemon's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CameraState {
    Starting,
    Streaming { info: StreamInfo },
    Degraded { error: String, retry_in_ms: u64 },
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct CameraStatus {
    pub name: String,
    pub state: CameraState,
    pub frames: u64,
    /// Times the stream was (re)started successfully.
    pub starts: u64,
    /// Frames rejected as bad (never put in the ring) while the camera stayed up.
    pub rejected: u64,
    /// Why the last one was rejected.
    pub last_rejected: Option<String>,
}

struct Shared {
    status: Mutex<CameraStatus>,
    stop: AtomicBool,
    wake: Condvar,
    wake_lock: Mutex<()>,
}

/// A running camera thread and its ring.
pub struct CameraWorker {
    pub ring: Arc<FrameRing>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl CameraWorker {
    pub fn spawn(
        mut source: Box<dyn FrameSource>,
        ring_frames: usize,
        clocks: Arc<dyn Clocks>,
    ) -> CameraWorker {
        let ring = Arc::new(FrameRing::new(ring_frames));
        let shared = Arc::new(Shared {
            status: Mutex::new(CameraStatus {
                name: source.name(),
                state: CameraState::Starting,
                frames: 0,
                starts: 0,
                rejected: 0,
                last_rejected: None,
            }),
            stop: AtomicBool::new(false),
            wake: Condvar::new(),
            wake_lock: Mutex::new(()),
        });
        let (r, s) = (ring.clone(), shared.clone());
        let thread = std::thread::Builder::new()
            .name(format!("camera {}", source.name()))
            .spawn(move || run(&mut *source, &r, &s, &*clocks))
            .expect("spawn camera thread");
        CameraWorker {
            ring,
            shared,
            thread: Some(thread),
        }
    }

    pub fn status(&self) -> CameraStatus {
        self.shared
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stop the thread and wait for it (at most one frame timeout).
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CameraWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_state(shared: &Shared, state: CameraState) {
    let mut st = shared.status.lock().unwrap_or_else(|p| p.into_inner());
    if matches!(state, CameraState::Streaming { .. }) {
        st.starts += 1;
    }
    st.state = state;
}

fn run(source: &mut dyn FrameSource, ring: &FrameRing, shared: &Shared, clocks: &dyn Clocks) {
    let mut backoff = FIRST_BACKOFF;
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        let error = match source.start() {
            Ok(info) => {
                tracing::info!(camera = %source.name(), ?info, "camera streaming");
                set_state(shared, CameraState::Streaming { info });
                backoff = FIRST_BACKOFF;
                let mut bad_in_a_row = 0u32;
                loop {
                    if shared.stop.load(Ordering::SeqCst) {
                        source.stop();
                        set_state(shared, CameraState::Stopped);
                        return;
                    }
                    match source.next_frame() {
                        Ok(raw) => {
                            seq += 1;
                            // a frame asked for earlier (an HTTP snapshot) is as old as its
                            // request: its freshness and age count from there
                            let age = raw.began.map(|b| b.elapsed()).unwrap_or_default();
                            let mono = clocks.monotonic();
                            ring.push(Frame {
                                seq,
                                width: raw.width,
                                height: raw.height,
                                captured_at_ms: clocks.now_ms() - age.as_millis() as i64,
                                captured_mono: mono.checked_sub(age).unwrap_or(mono),
                                data: raw.data,
                                camera_time_ms: raw.camera_time_ms,
                            });
                            shared
                                .status
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .frames += 1;
                            bad_in_a_row = 0;
                        }
                        // One bad frame is rejected and counted; the stream goes on.
                        Err(e @ CameraError::BadFrame { .. })
                            if bad_in_a_row < MAX_BAD_IN_A_ROW =>
                        {
                            bad_in_a_row += 1;
                            tracing::warn!(camera = %source.name(), error = %e, "frame rejected");
                            let mut st = shared.status.lock().unwrap_or_else(|p| p.into_inner());
                            st.rejected += 1;
                            st.last_rejected = Some(e.to_string());
                        }
                        Err(e) => break e,
                    }
                }
            }
            Err(e) => e,
        };
        source.stop();
        ring.clear();
        tracing::warn!(camera = %source.name(), %error, retry_in = ?backoff, "camera degraded");
        set_state(
            shared,
            CameraState::Degraded {
                error: error.to_string(),
                retry_in_ms: backoff.as_millis() as u64,
            },
        );
        let guard = shared.wake_lock.lock().unwrap_or_else(|p| p.into_inner());
        if !shared.stop.load(Ordering::SeqCst) {
            let _ = shared.wake.wait_timeout(guard, backoff);
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    set_state(shared, CameraState::Stopped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::camera::synthetic::SyntheticCamera;
    use crate::recorder::camera::PixelFormat;
    use crate::recorder::clock::RealClocks;
    use std::time::Instant;

    fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
        let t = Instant::now();
        while !cond() {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn unplugged_camera_degrades_and_comes_back_without_restart() {
        let cam = SyntheticCamera::new("/dev/v4l/by-id/usb-test", 64, 48, 200, PixelFormat::Mjpeg);
        let ctl = cam.control();
        let mut w = CameraWorker::spawn(Box::new(cam), 4, Arc::new(RealClocks));
        wait_for("streaming", || w.ring.len() == 4);
        ctl.unplug();
        wait_for("degraded", || {
            matches!(w.status().state, CameraState::Degraded { .. })
        });
        let CameraState::Degraded { error, .. } = w.status().state else {
            unreachable!()
        };
        assert_eq!(error, "camera /dev/v4l/by-id/usb-test is not connected");
        assert!(
            w.ring
                .latest(Duration::from_secs(1), Duration::ZERO)
                .is_none(),
            "stale frames dropped"
        );
        std::thread::sleep(Duration::from_millis(500)); // a few failed retries
        ctl.plug();
        wait_for("streaming again", || {
            w.status().starts == 2 && !w.ring.is_empty()
        });
        assert!(matches!(w.status().state, CameraState::Streaming { .. }));
        w.stop();
        assert_eq!(w.status().state, CameraState::Stopped);
    }
}
