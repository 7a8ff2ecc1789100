//! Counter snapshots: cameras streaming into RAM rings, captures linked to record IDs, stored
//! crash-safely and tamper-evidently in `footage.db` + `<data_dir>/footage/`.
//!
//! Map: `camera/` (V4L2 and synthetic sources, the streaming worker), `ring` (last N frames),
//! `jpeg` (EOI trim, YUYV encode), `thumbnail` (DCT-scaled previews; `quarter`, its 1/4-scale
//! decoder), `footage/` (store,
//! reconcile, verify), `chain` (hash chain), `retention`, `export` (case zip), `triggers`
//! (queue events, periodic), `clock`, `config`. Invariants: `docs/storage.md` ("## Footage").
//!
//! The [`Recorder`] is the one capture path: CLI, queue events, the periodic timer, and later
//! the local API and the GPIO button all call [`Recorder::capture`]. It never decodes a
//! camera's MJPEG except for the scaled thumbnail.

pub mod anchor;
pub mod anchoring;
pub mod background;
pub mod camera;
pub mod chain;
pub mod clock;
pub mod config;
pub mod export;
pub mod export_check;
pub mod footage;
pub mod jpeg;
pub mod keyframe;
pub mod keyframe_h265;
/// Public only for `benches/recorder.rs` (against libjpeg-turbo) and `fuzz/`.
#[doc(hidden)]
pub mod quarter;
pub mod retention;
pub mod ring;
pub mod thumbnail;
pub mod triggers;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::record::RecordId;
use camera::worker::{CameraStatus, CameraWorker};
use camera::{FrameSource, PixelData, PixelFormat};
use clock::Clocks;
use config::RecorderConfig;
use footage::{
    FootageError, FootageStore, GroupCommit, Limits, OwnedSnapshot, ReconcileReport, Snapshot,
};
use retention::{FreeSpace, RetentionWorker, StatvfsFreeSpace};

/// Camera sources by counter, as [`Recorder::start`] takes them.
pub type Sources = Vec<(u32, Box<dyn FrameSource>)>;

/// How long a capture waits for a frame taken after (or within one frame interval before) its
/// trigger: a camera just starting, or one that has stalled.
pub const FIRST_FRAME_WAIT: Duration = Duration::from_secs(3);
/// Longest capture reason, in bytes.
pub const MAX_REASON_LEN: usize = 200;

/// Why a snapshot was taken, e.g. `started`, `finished`, `interval`, `manual: complaint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(s: &str) -> Result<Reason, RecorderError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(RecorderError::BadReason(
                "a reason must not be empty".into(),
            ));
        }
        if t.len() > MAX_REASON_LEN {
            return Err(RecorderError::BadReason(format!(
                "a reason is at most {MAX_REASON_LEN} bytes"
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(RecorderError::BadReason(
                "a reason must not contain control characters".into(),
            ));
        }
        Ok(Reason(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("no camera is configured for counter {0}; add one under [[recorder.cameras]]")]
    UnknownCounter(u32),
    #[error("the camera of counter {counter} has no current frame ({state}); check its cable")]
    NoFrame { counter: u32, state: String },
    #[error("invalid reason: {0}")]
    BadReason(String),
    #[error("the camera of counter {counter}: {error}")]
    Keyframe {
        counter: u32,
        error: keyframe::KeyframeError,
    },
    #[error(transparent)]
    Jpeg(#[from] jpeg::JpegError),
    #[error(transparent)]
    Footage(#[from] FootageError),
}

/// Cameras, rings and the footage store, shared by every trigger.
pub struct Recorder {
    store: Arc<Mutex<FootageStore>>,
    /// Concurrent captures share fsyncs and one transaction (see `footage/group.rs`).
    commits: GroupCommit,
    cameras: HashMap<u32, CameraWorker>,
    clocks: Arc<dyn Clocks>,
    space: Arc<dyn FreeSpace>,
    retention: Option<RetentionWorker>,
    min_free_bytes: u64,
    yuyv_quality: u8,
    /// The record being served at each counter (from queue events), for periodic snapshots.
    serving: Mutex<HashMap<u32, RecordId>>,
}

impl Recorder {
    /// Open the store (reconciling it), start a worker per camera source, and the retention
    /// thread if `run_retention`.
    pub fn start(
        data_dir: &Path,
        cfg: &RecorderConfig,
        sources: Sources,
        clocks: Arc<dyn Clocks>,
        run_retention: bool,
    ) -> Result<(Recorder, ReconcileReport), RecorderError> {
        let (mut store, report) = FootageStore::open_writer(data_dir, clocks.now_ms())?;
        let space: Arc<dyn FreeSpace> = Arc::new(StatvfsFreeSpace(store.dir().root().to_owned()));
        store.set_limits(Limits {
            max_bytes: cfg.retention.max_bytes,
            min_free_bytes: cfg.retention.min_free_bytes,
            min_age_ms: i64::from(cfg.retention.min_age_secs) * 1000,
            space: space.clone(),
        });
        let store = Arc::new(Mutex::new(store));
        let cameras = sources
            .into_iter()
            .map(|(counter, src)| {
                (
                    counter,
                    CameraWorker::spawn(src, cfg.ring_frames, clocks.clone()),
                )
            })
            .collect();
        let retention = run_retention.then(|| {
            RetentionWorker::spawn(
                store.clone(),
                cfg.retention.clone(),
                clocks.clone(),
                space.clone(),
            )
        });
        Ok((
            Recorder {
                commits: GroupCommit::new(store.clone(), footage::group::MAX_BATCH),
                store,
                cameras,
                clocks,
                space,
                retention,
                min_free_bytes: cfg.retention.min_free_bytes,
                yuyv_quality: cfg.yuyv_quality,
                serving: Mutex::new(HashMap::new()),
            },
            report,
        ))
    }

    /// Take a snapshot at `counter` as evidence for `record`.
    pub fn capture(
        &self,
        counter: u32,
        record: &RecordId,
        reason: &Reason,
    ) -> Result<Snapshot, RecorderError> {
        self.capture_for(counter, Some(record), reason)
    }

    /// Take a snapshot, linked to a record if one is given (periodic snapshots may have none).
    pub fn capture_for(
        &self,
        counter: u32,
        record: Option<&RecordId>,
        reason: &Reason,
    ) -> Result<Snapshot, RecorderError> {
        let cam = self
            .cameras
            .get(&counter)
            .ok_or(RecorderError::UnknownCounter(counter))?;
        // Freshness: a frame taken after the trigger or within one frame interval before it;
        // its age (trigger minus frame time, negative if after) is stored with the snapshot.
        let trigger = Instant::now();
        let (frame, _) = cam
            .ring
            .fresh_for(trigger, FIRST_FRAME_WAIT)
            .ok_or_else(|| RecorderError::NoFrame {
                counter,
                state: describe(&cam.status()),
            })?;
        let frame_age_ms = match trigger.checked_duration_since(frame.captured_mono) {
            Some(d) => d.as_millis() as i64,
            None => -(frame.captured_mono.duration_since(trigger).as_millis() as i64),
        };
        let jpeg: Arc<[u8]> = match &frame.data {
            PixelData::Jpeg(j) => j.clone(),
            PixelData::Yuyv { data, stride } => {
                jpeg::encode_yuyv(data, frame.width, frame.height, *stride, self.yuyv_quality)?
                    .into()
            }
            PixelData::H264Keyframe(annexb) => keyframe::h264_to_jpeg(annexb, self.yuyv_quality)
                .map_err(|error| RecorderError::Keyframe { counter, error })?
                .0
                .into(),
            PixelData::H265Keyframe(annexb) => {
                keyframe_h265::h265_to_jpeg(annexb, self.yuyv_quality)
                    .map_err(|error| RecorderError::Keyframe { counter, error })?
                    .0
                    .into()
            }
        };
        let (width, height) = jpeg::dimensions(&jpeg).unwrap_or((frame.width, frame.height));
        let new = OwnedSnapshot {
            jpeg,
            width,
            height,
            counter,
            record_id: record.map(|r| r.as_str().to_owned()),
            captured_at_ms: frame.captured_at_ms,
            reason: reason.as_str().to_owned(),
            thumbnail: None,
            frame_age_ms: Some(frame_age_ms),
            camera_time_ms: frame.camera_time_ms,
        };
        // The preview is made while the file goes to disk. It is a convenience: a frame it
        // cannot decode is still stored as evidence.
        let preview = |jpeg: &[u8]| {
            thumbnail::make(jpeg)
                .map_err(|e| tracing::warn!(counter, %e, "no thumbnail"))
                .ok()
                .map(|t| (t.width, t.height, t.jpeg))
        };
        let snap = self
            .commits
            .submit_with_preview(new, preview, &|| self.clocks.now_ms())
            .inspect_err(|e| {
                if matches!(e, FootageError::Full(_)) {
                    tracing::error!(counter, %e, "snapshot refused: the footage store is full");
                }
            })?;
        if let (Some(r), Ok(free)) = (&self.retention, self.space.free_bytes()) {
            if free < self.min_free_bytes {
                r.poke();
            }
        }
        Ok(snap)
    }

    /// Status of every camera, by counter.
    pub fn cameras(&self) -> Vec<(u32, CameraStatus)> {
        let mut v: Vec<_> = self.cameras.iter().map(|(c, w)| (*c, w.status())).collect();
        v.sort_by_key(|(c, _)| *c);
        v
    }

    pub fn store(&self) -> &Arc<Mutex<FootageStore>> {
        &self.store
    }

    pub fn clocks(&self) -> &Arc<dyn Clocks> {
        &self.clocks
    }

    pub(crate) fn serving(&self) -> &Mutex<HashMap<u32, RecordId>> {
        &self.serving
    }
}

fn describe(s: &CameraStatus) -> String {
    match &s.state {
        camera::worker::CameraState::Starting => "starting".into(),
        camera::worker::CameraState::Streaming { info }
            if matches!(info.format, PixelFormat::H264 | PixelFormat::H265) =>
        {
            let codec = if info.format == PixelFormat::H264 {
                keyframe::H264
            } else {
                keyframe::H265
            };
            format!(
                "streaming {codec}, but no keyframe within {} s: set the camera's I-frame \
                 (keyframe) interval to 1–2 s",
                FIRST_FRAME_WAIT.as_secs()
            )
        }
        camera::worker::CameraState::Streaming { .. } => "streaming, but no recent frame".into(),
        camera::worker::CameraState::Degraded { error, .. } => format!("degraded: {error}"),
        camera::worker::CameraState::Stopped => "stopped".into(),
    }
}

/// Build the frame sources named in the config: V4L2 devices (feature `v4l2`), network
/// cameras' HTTP snapshot URLs or RTSP streams, or the synthetic camera for `device = "synthetic"`.
pub fn sources_from_config(cfg: &RecorderConfig) -> Result<Sources, String> {
    let mut out: Sources = Vec::new();
    for c in &cfg.cameras {
        if c.is_synthetic() {
            let name = format!("synthetic-counter-{}", c.counter);
            let fmt = *c.format.order().first().unwrap_or(&PixelFormat::Mjpeg);
            out.push((
                c.counter,
                Box::new(camera::synthetic::SyntheticCamera::new(
                    &name, c.width, c.height, 15, fmt,
                )),
            ));
            continue;
        }
        if let Some(url) = c.url().filter(|u| u.starts_with("rtsp://")) {
            let cam = camera::rtsp::RtspCamera::new(url, c.credentials_file.clone())
                .map_err(|why| format!("counter {}: camera {why}", c.counter))?;
            out.push((c.counter, Box::new(cam)));
            continue;
        }
        if let Some(url) = c.url() {
            let cam = camera::http_snapshot::HttpSnapshotCamera::new(
                url,
                c.credentials_file.clone(),
                std::time::Duration::from_millis(c.fetch_interval_ms.into()),
            )
            .map_err(|why| format!("counter {}: camera {why}", c.counter))?;
            out.push((c.counter, Box::new(cam)));
            continue;
        }
        #[cfg(feature = "v4l2")]
        out.push((
            c.counter,
            Box::new(camera::v4l2::V4l2Camera::new(
                c.device.clone(),
                c.width,
                c.height,
                c.format.order(),
            )),
        ));
        #[cfg(not(feature = "v4l2"))]
        return Err(format!(
            "counter {}: this motcua was built without V4L2 support (feature `v4l2`)",
            c.counter
        ));
    }
    Ok(out)
}
