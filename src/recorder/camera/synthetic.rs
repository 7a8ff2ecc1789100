//! The synthetic camera: real JPEG frames (pre-encoded colour-bar patterns that move, each
//! frame made unique by a comment segment carrying the camera name, frame number and time),
//! produced in memory at a set rate; optionally YUYV. It can be "unplugged" and "plugged back"
//! through a [`SyntheticControl`], to exercise the worker's loss handling.
//!
//! For tests and the demo only; it never pretends to be a device path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CameraError, FrameSource, PixelData, PixelFormat, RawFrame, StreamInfo};
use crate::recorder::jpeg;

/// Number of distinct pre-encoded patterns cycled through.
const PATTERNS: usize = 8;

/// Shared switch to simulate unplugging the camera.
#[derive(Debug, Clone)]
pub struct SyntheticControl {
    plugged: Arc<AtomicBool>,
    frames: Arc<AtomicU64>,
}

impl SyntheticControl {
    pub fn unplug(&self) {
        self.plugged.store(false, Ordering::SeqCst);
    }
    pub fn plug(&self) {
        self.plugged.store(true, Ordering::SeqCst);
    }
    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::SeqCst)
    }
}

pub struct SyntheticCamera {
    name: String,
    width: u32,
    height: u32,
    format: PixelFormat,
    interval: Duration,
    jpegs: Vec<Vec<u8>>,
    yuyv: Vec<Arc<[u8]>>,
    control: SyntheticControl,
    streaming: bool,
    next_due: Instant,
}

impl SyntheticCamera {
    /// A camera of `width`×`height` (even width) at `fps` frames per second.
    pub fn new(
        name: &str,
        width: u32,
        height: u32,
        fps: u32,
        format: PixelFormat,
    ) -> SyntheticCamera {
        let width = width.max(16) & !1;
        let height = height.max(16);
        let mut jpegs = Vec::new();
        let mut yuyv = Vec::new();
        for p in 0..PATTERNS {
            let rgb = pattern(width, height, p);
            match format {
                PixelFormat::Mjpeg => {
                    jpegs.push(jpeg::encode_rgb(&rgb, width, height, 85).expect("valid size"))
                }
                PixelFormat::Yuyv => yuyv.push(rgb_to_yuyv(&rgb, width, height).into()),
            }
        }
        SyntheticCamera {
            name: name.to_owned(),
            width,
            height,
            format,
            interval: Duration::from_micros(1_000_000 / fps.max(1) as u64),
            jpegs,
            yuyv,
            control: SyntheticControl {
                plugged: Arc::new(AtomicBool::new(true)),
                frames: Arc::new(AtomicU64::new(0)),
            },
            streaming: false,
            next_due: Instant::now(),
        }
    }

    pub fn control(&self) -> SyntheticControl {
        self.control.clone()
    }

    fn gone(&self) -> CameraError {
        CameraError::NotConnected(self.name.clone())
    }
}

impl FrameSource for SyntheticCamera {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn start(&mut self) -> Result<StreamInfo, CameraError> {
        if !self.control.plugged.load(Ordering::SeqCst) {
            return Err(self.gone());
        }
        self.streaming = true;
        self.next_due = Instant::now();
        Ok(StreamInfo {
            format: self.format,
            width: self.width,
            height: self.height,
            description: format!("synthetic {}", self.name),
        })
    }

    fn next_frame(&mut self) -> Result<RawFrame, CameraError> {
        if !self.streaming || !self.control.plugged.load(Ordering::SeqCst) {
            return Err(self.gone());
        }
        let now = Instant::now();
        if self.next_due > now {
            std::thread::sleep(self.next_due - now);
        }
        self.next_due = self.next_due.max(now) + self.interval;
        let n = self.control.frames.fetch_add(1, Ordering::SeqCst);
        let p = (n as usize) % PATTERNS;
        let data = match self.format {
            PixelFormat::Mjpeg => {
                let stamp = format!(
                    "motcua synthetic {} frame {n} t={:?}",
                    self.name,
                    std::time::SystemTime::now()
                );
                PixelData::Jpeg(jpeg::with_comment(&self.jpegs[p], &stamp).into())
            }
            PixelFormat::Yuyv => PixelData::Yuyv {
                data: self.yuyv[p].clone(),
                stride: self.width * 2,
            },
        };
        Ok(RawFrame {
            width: self.width,
            height: self.height,
            data,
        })
    }

    fn stop(&mut self) {
        self.streaming = false;
    }
}

/// Eight vertical colour bars shifted by `phase`, with a little texture so JPEG sizes are
/// realistic rather than tiny.
pub fn pattern(width: u32, height: u32, phase: usize) -> Vec<u8> {
    const BARS: [[u8; 3]; 8] = [
        [191, 191, 191],
        [191, 191, 0],
        [0, 191, 191],
        [0, 191, 0],
        [191, 0, 191],
        [191, 0, 0],
        [0, 0, 191],
        [16, 16, 16],
    ];
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    let shift = phase as u32 * width / 64;
    for y in 0..height {
        for x in 0..width {
            let bar = (((x + shift) % width) * 8 / width) as usize;
            let noise = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23) as u8;
            let c = BARS[bar];
            out.extend_from_slice(&[
                c[0].saturating_add(noise),
                c[1].saturating_add(noise),
                c[2].saturating_add(noise),
            ]);
        }
    }
    out
}

/// RGB8 to limited-range YUYV (BT.601), as a USB camera would send.
fn rgb_to_yuyv(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((width * height * 2) as usize);
    for px in rgb.chunks_exact(6) {
        let yuv = |r: i32, g: i32, b: i32| {
            let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
            let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
            let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
            (
                y.clamp(0, 255) as u8,
                u.clamp(0, 255) as u8,
                v.clamp(0, 255) as u8,
            )
        };
        let (y0, u, v) = yuv(px[0] as i32, px[1] as i32, px[2] as i32);
        let (y1, _, _) = yuv(px[3] as i32, px[4] as i32, px[5] as i32);
        out.extend_from_slice(&[y0, u, y1, v]);
    }
    let _ = height;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_unique_jpegs_and_unplug_is_an_error() {
        let mut cam = SyntheticCamera::new("/dev/test", 64, 48, 1000, PixelFormat::Mjpeg);
        let ctl = cam.control();
        cam.start().unwrap();
        let a = cam.next_frame().unwrap();
        let b = cam.next_frame().unwrap();
        let (PixelData::Jpeg(a), PixelData::Jpeg(b)) = (a.data, b.data) else {
            panic!()
        };
        assert_ne!(a, b);
        assert_eq!(jpeg::dimensions(&a).unwrap(), (64, 48));
        ctl.unplug();
        assert_eq!(
            cam.next_frame().unwrap_err(),
            CameraError::NotConnected("/dev/test".into())
        );
        assert!(cam.start().is_err());
        ctl.plug();
        cam.start().unwrap();
        assert!(cam.next_frame().is_ok());
        assert_eq!(ctl.frames(), 3);
    }

    #[test]
    fn yuyv_mode_gives_raw_frames() {
        let mut cam = SyntheticCamera::new("y", 32, 16, 1000, PixelFormat::Yuyv);
        assert_eq!(cam.start().unwrap().format, PixelFormat::Yuyv);
        let f = cam.next_frame().unwrap();
        let PixelData::Yuyv { data, stride } = f.data else {
            panic!()
        };
        assert_eq!((data.len(), stride), (32 * 16 * 2, 64));
    }
}
