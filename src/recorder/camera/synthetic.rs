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
                PixelFormat::H264 | PixelFormat::H265 => {
                    panic!("the synthetic camera makes MJPEG or YUYV")
                }
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
            PixelFormat::H264 | PixelFormat::H265 => {
                unreachable!("refused in SyntheticCamera::new")
            }
        };
        Ok(RawFrame {
            width: self.width,
            height: self.height,
            data,
            camera_time_ms: None,
            began: None,
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

/// A natural-image-like scene, closer to what a camera at a counter sends than the dense
/// [`pattern`]: a smooth vertical gradient (wall / sky), a counter and a window with soft
/// shading and hard edges, two round objects, a notice board of text-like glyph rows, a tiled
/// floor with gentle texture, and mild sensor noise (about ±2 levels). `phase` moves the
/// objects and changes the noise. Everything scales with `width`, so 720p and 1080p look alike.
pub fn scene(width: u32, height: u32, phase: usize) -> Vec<u8> {
    let (w, h) = (width as f32, height as f32);
    let hash = |x: u32, y: u32, s: u32| -> u32 {
        let mut v = x
            .wrapping_mul(0x9E37_79B1)
            .wrapping_add(y.wrapping_mul(0x85EB_CA77))
            .wrapping_add(s.wrapping_mul(0xC2B2_AE3D));
        v ^= v >> 15;
        v = v.wrapping_mul(0x2C1B_3C6D);
        v ^= v >> 12;
        v
    };
    // Glyphs: 5×7 cells, each glyph one of 16 pseudo-random bitmaps.
    let cell = (width / 240).max(2); // stroke width in pixels
    let board = (w * 0.58, h * 0.12, w * 0.93, h * 0.45);
    let shift = phase as f32 * w / 97.0;
    let balls = [
        (w * 0.30 + shift, h * 0.52, h * 0.07, [200.0, 60.0, 40.0]),
        (
            w * 0.42 - shift * 0.5,
            h * 0.55,
            h * 0.045,
            [40.0, 110.0, 190.0],
        ),
    ];
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        let fy = y as f32;
        for x in 0..width {
            let fx = x as f32;
            // Wall: smooth gradient, light from the top left.
            let t = fy / h;
            let mut c = [
                170.0 - 40.0 * t + 15.0 * (fx / w),
                180.0 - 35.0 * t + 10.0 * (fx / w),
                195.0 - 30.0 * t,
            ];
            // Window at the top left: bright, with a frame.
            if fx > w * 0.06 && fx < w * 0.34 && fy > h * 0.08 && fy < h * 0.38 {
                let frame = (fx - w * 0.20).abs() < w * 0.006 || (fy - h * 0.23).abs() < h * 0.008;
                c = if frame {
                    [90.0, 80.0, 70.0]
                } else {
                    let s = 1.0 - (fy - h * 0.08) / (h * 0.30) * 0.3;
                    [200.0 * s + 30.0, 220.0 * s + 25.0, 245.0 * s]
                };
            }
            // Notice board with rows of glyphs.
            if fx >= board.0 && fx < board.2 && fy >= board.1 && fy < board.3 {
                c = [235.0, 232.0, 220.0];
                let (gx, gy) = ((fx - board.0) as u32 / cell, (fy - board.1) as u32 / cell);
                let (col, row) = (gx / 6, gy / 10);
                let (cx, cy) = (gx % 6, gy % 10);
                let line_len = 8 + hash(row, 0, 7) % 20;
                if cx < 5 && cy < 7 && gy > 2 && col < line_len && hash(col, row, 3) % 9 != 0 {
                    let glyph = hash(col, row, 11) % 16;
                    if hash(glyph, cy * 5 + cx, 5) % 5 < 2 {
                        c = [30.0, 30.0, 40.0];
                    }
                }
            }
            // Counter: a dark wooden slab with a highlight along its edge and soft grain.
            if fy > h * 0.62 {
                let grain = (fx / w * 40.0 + (fy / h * 7.0).sin() * 3.0).sin() * 6.0;
                let edge = if fy < h * 0.635 { 45.0 } else { 0.0 };
                c = [120.0 + grain + edge, 80.0 + grain * 0.7 + edge, 50.0 + edge];
            }
            // Floor tiles below the counter's front.
            if fy > h * 0.85 {
                let tile = (w / 12.0).max(8.0);
                let (tx, ty) = ((fx / tile) as u32, ((fy - h * 0.85) / tile) as u32);
                let grout = fx % tile < 2.0 || (fy - h * 0.85) % tile < 2.0;
                let shade = (hash(tx, ty, 13) % 20) as f32;
                c = if grout {
                    [70.0, 70.0, 70.0]
                } else {
                    [150.0 + shade, 145.0 + shade, 135.0 + shade]
                };
            }
            // Round objects with shading (sharp outline, smooth inside).
            for &(bx, by, r, col) in &balls {
                let d2 = (fx - bx).powi(2) + (fy - by).powi(2);
                if d2 < r * r {
                    let l = 1.0 - d2 / (r * r) * 0.6 + ((fx - bx) + (fy - by)) / r * -0.15;
                    c = [col[0] * l, col[1] * l, col[2] * l];
                }
            }
            // Mild sensor noise: triangular, about ±2 levels.
            let n = hash(x, y, phase as u32 + 1);
            let noise = ((n & 3) + ((n >> 8) & 3)) as f32 - 3.0;
            out.extend(c.map(|v| (v + noise).clamp(0.0, 255.0) as u8));
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
