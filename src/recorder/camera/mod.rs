//! Counter cameras: the [`FrameSource`] trait with its implementations side by side — the
//! real V4L2 camera (`v4l2.rs`, feature `v4l2`), a network camera's HTTP snapshot URL
//! (`http_snapshot.rs`) or RTSP MJPEG/H.264/H.265 stream (`rtsp.rs`), and the synthetic one
//! (`synthetic.rs`, for tests and the demo) — and the worker thread that keeps a camera
//! streaming into its ring,
//! degrading and retrying with backoff when it disappears (`worker.rs`).
//!
//! Never touches storage: a frame leaves here only through the ring.

pub mod http_snapshot;
pub mod rtsp;
pub mod synthetic;
#[cfg(feature = "v4l2")]
pub mod v4l2;
pub mod worker;

use std::sync::Arc;

/// Pixel formats we accept from a camera, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// Motion JPEG: each frame is a JPEG, stored as sent.
    Mjpeg,
    /// Packed YUV 4:2:2: encoded to JPEG once, at snapshot time.
    Yuyv,
    /// H.264 from a network camera: only keyframes are kept, decoded to JPEG at snapshot time.
    H264,
    /// H.265 from a network camera: kept and decoded the same way.
    H265,
}

/// The pixels of one frame.
#[derive(Debug, Clone)]
pub enum PixelData {
    /// A complete JPEG, already trimmed at its EOI marker.
    Jpeg(Arc<[u8]>),
    /// Raw YUYV with the negotiated line stride.
    Yuyv { data: Arc<[u8]>, stride: u32 },
    /// One H.264 keyframe, Annex B: SPS, PPS and the IDR access unit (`recorder::keyframe`).
    H264Keyframe(Arc<[u8]>),
    /// One H.265 keyframe, Annex B: VPS, SPS, PPS and the IRAP access unit
    /// (`recorder::keyframe_h265`).
    H265Keyframe(Arc<[u8]>),
}

/// One frame from a camera, stamped when it was dequeued.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in this camera's stream (restarts count on).
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    pub captured_at_ms: i64,
    pub captured_mono: std::time::Instant,
    pub data: PixelData,
    /// The camera's own clock for this frame (network cameras that tell), Unix ms. Kept beside
    /// `captured_at_ms`, never in its place.
    pub camera_time_ms: Option<i64>,
}

/// What a camera agreed to stream.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamInfo {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Driver and card, for status pages.
    pub description: String,
}

/// Why a camera cannot deliver frames. All are retried by the worker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error("camera {0} is not connected")]
    NotConnected(String),
    /// A network camera whose address takes no TCP connection (refused, unreachable, no
    /// answer): powered off, unplugged or a wrong address — not a camera that connects but
    /// does not answer. `address` is `host:port`, never with credentials.
    #[error("camera {device} is not connected ({address}: {reason})")]
    Unreachable {
        device: String,
        address: String,
        reason: String,
    },
    #[error("camera {device} offers neither MJPEG nor YUYV (it offers {offered})")]
    NoUsableFormat { device: String, offered: String },
    #[error("camera {device}: {message}")]
    Io { device: String, message: String },
    #[error("camera {device} sent a bad frame: {message}")]
    BadFrame { device: String, message: String },
}

/// Pixels with their size, as a source returns them (the worker stamps time and seq).
#[derive(Debug, Clone)]
pub struct RawFrame {
    pub width: u32,
    pub height: u32,
    pub data: PixelData,
    /// The camera's own clock for this frame, if it told (HTTP `Date`, RTCP sender report).
    pub camera_time_ms: Option<i64>,
    /// When the frame was asked for, if that was before `next_frame` returned it: an HTTP
    /// snapshot's request (the picture is taken between the request and the answer, so its
    /// age and freshness count from the request, never from the answer). None: now.
    pub began: Option<std::time::Instant>,
}

/// A camera that can be (re)started and read frame by frame.
pub trait FrameSource: Send {
    /// A short name for logs and status (the device path).
    fn name(&self) -> String;
    /// Open the device, negotiate format and size, start streaming.
    fn start(&mut self) -> Result<StreamInfo, CameraError>;
    /// Block until the next frame (bounded by a timeout inside the source).
    fn next_frame(&mut self) -> Result<RawFrame, CameraError>;
    /// Stop streaming and release the device; `start` may be called again.
    fn stop(&mut self);
}
