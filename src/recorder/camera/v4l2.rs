//! A real camera through V4L2 (the `v4l` crate): opened by its stable path
//! (`/dev/v4l/by-id/...`), MJPEG preferred then YUYV, memory-mapped streaming.
//!
//! MJPEG frames leave here exactly as the camera sent them, trimmed at the EOI marker (drivers
//! such as v4l2loopback report the whole buffer in `bytesused`). Never encodes or decodes.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use v4l::buffer::Type;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

use super::{CameraError, FrameSource, PixelData, PixelFormat, RawFrame, StreamInfo};
use crate::recorder::jpeg;

/// When the driver says the frame was taken, as an `Instant`: its buffer timestamp when that
/// is `CLOCK_MONOTONIC` (the clock `Instant` uses on Linux; UVC stamps the start of the
/// frame), so a frame that waited in the queue counts as old as it is. None: the driver's
/// timestamp is of another clock, or not sane (in the future, or more than 10 s old).
// `time_t` is i32 on 32-bit targets: the casts are needed there
#[allow(clippy::unnecessary_cast)]
fn taken_at(flags: v4l::buffer::Flags, sec: i64, usec: i64) -> Option<std::time::Instant> {
    use v4l::buffer::Flags;
    if flags & Flags::TIMESTAMP_MASK != Flags::TIMESTAMP_MONOTONIC {
        return None;
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given; CLOCK_MONOTONIC always exists.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return None;
    }
    let now_us = now.tv_sec as i64 * 1_000_000 + now.tv_nsec as i64 / 1000;
    let age_us = now_us - (sec * 1_000_000 + usec);
    if !(0..=10_000_000).contains(&age_us) {
        return None;
    }
    std::time::Instant::now().checked_sub(Duration::from_micros(age_us as u64))
}

/// How long `next_frame` waits for the driver before calling the camera stalled.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

struct Streaming {
    // The stream is declared first so it is dropped (buffers unmapped) before the device.
    stream: Stream<'static>,
    _dev: Device,
    format: PixelFormat,
    width: u32,
    height: u32,
    stride: u32,
}

pub struct V4l2Camera {
    path: PathBuf,
    width: u32,
    height: u32,
    preference: Vec<PixelFormat>,
    streaming: Option<Streaming>,
}

impl V4l2Camera {
    /// A camera at `path`, asking for `width`×`height`, trying formats in `preference` order.
    pub fn new(path: PathBuf, width: u32, height: u32, preference: Vec<PixelFormat>) -> V4l2Camera {
        V4l2Camera {
            path,
            width,
            height,
            preference,
            streaming: None,
        }
    }

    fn err(&self, e: io::Error) -> CameraError {
        let device = self.path.display().to_string();
        match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ENODEV) | Some(libc::ENXIO) => {
                CameraError::NotConnected(device)
            }
            _ => CameraError::Io {
                device,
                message: e.to_string(),
            },
        }
    }
}

fn fourcc_of(f: PixelFormat) -> FourCC {
    match f {
        PixelFormat::Mjpeg => FourCC::new(b"MJPG"),
        PixelFormat::Yuyv => FourCC::new(b"YUYV"),
        PixelFormat::H264 => FourCC::new(b"H264"),
        PixelFormat::H265 => FourCC::new(b"HEVC"),
    }
}

/// `FourCC::str()` fails on big-endian formats (bit 31 set): convert lossily.
fn fourcc_text(f: &FourCC) -> String {
    String::from_utf8_lossy(&f.repr).into_owned()
}

impl FrameSource for V4l2Camera {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn start(&mut self) -> Result<StreamInfo, CameraError> {
        self.stop();
        let dev = Device::with_path(&self.path).map_err(|e| self.err(e))?;
        let caps = dev.query_caps().map_err(|e| self.err(e))?;
        let offered: Vec<FourCC> = dev
            .enum_formats()
            .map_err(|e| self.err(e))?
            .into_iter()
            .map(|d| d.fourcc)
            .collect();
        let Some(format) = self
            .preference
            .iter()
            .copied()
            .find(|p| offered.contains(&fourcc_of(*p)))
        else {
            return Err(CameraError::NoUsableFormat {
                device: self.name(),
                offered: offered
                    .iter()
                    .map(fourcc_text)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let want = Format::new(self.width, self.height, fourcc_of(format));
        let got = dev.set_format(&want).map_err(|e| self.err(e))?;
        if got.fourcc != want.fourcc {
            return Err(CameraError::Io {
                device: self.name(),
                message: format!(
                    "asked for {} but the driver chose {}",
                    fourcc_text(&want.fourcc),
                    fourcc_text(&got.fourcc)
                ),
            });
        }
        let mut stream =
            Stream::with_buffers(&dev, Type::VideoCapture, 4).map_err(|e| self.err(e))?;
        stream.set_timeout(FRAME_TIMEOUT);
        let info = StreamInfo {
            format,
            width: got.width,
            height: got.height,
            description: format!("{} ({}) {}", caps.card, caps.driver, caps.bus),
        };
        self.streaming = Some(Streaming {
            stream,
            _dev: dev,
            format,
            width: got.width,
            height: got.height,
            stride: got.stride,
        });
        Ok(info)
    }

    fn next_frame(&mut self) -> Result<RawFrame, CameraError> {
        let name = self.name();
        let Some(s) = self.streaming.as_mut() else {
            return Err(CameraError::NotConnected(name));
        };
        let (buf, meta) = match s.stream.next() {
            Ok(x) => x,
            Err(e) => return Err(self.err(e)),
        };
        let used = (meta.bytesused as usize).min(buf.len());
        let data = match s.format {
            PixelFormat::Mjpeg => {
                let trimmed =
                    jpeg::trim_to_eoi(&buf[..used]).map_err(|e| CameraError::BadFrame {
                        device: name,
                        message: e.to_string(),
                    })?;
                PixelData::Jpeg(trimmed.into())
            }
            PixelFormat::Yuyv => {
                let need = (s.stride * s.height) as usize;
                if buf.len() < need {
                    return Err(CameraError::BadFrame {
                        device: name,
                        message: format!("YUYV frame of {} bytes, expected {need}", buf.len()),
                    });
                }
                PixelData::Yuyv {
                    data: buf[..need].into(),
                    stride: s.stride,
                }
            }
            // Never asked of a USB camera (the config offers MJPEG and YUYV only).
            PixelFormat::H264 | PixelFormat::H265 => {
                return Err(CameraError::BadFrame {
                    device: name,
                    message: "H.264 or H.265 from a USB camera is not decoded".into(),
                })
            }
        };
        Ok(RawFrame {
            width: s.width,
            height: s.height,
            data,
            camera_time_ms: None,
            began: taken_at(
                meta.flags,
                meta.timestamp.sec as _,
                meta.timestamp.usec as _,
            ),
        })
    }

    fn stop(&mut self) {
        self.streaming = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_device_is_not_connected() {
        let mut cam = V4l2Camera::new(
            "/dev/v4l/by-id/no-such-camera".into(),
            640,
            480,
            vec![PixelFormat::Mjpeg],
        );
        assert_eq!(
            cam.start().unwrap_err(),
            CameraError::NotConnected("/dev/v4l/by-id/no-such-camera".into())
        );
        assert!(cam.next_frame().is_err());
    }

    /// Issue 16 review: a frame's age counts from when the driver stamped it (a frame that
    /// waited in the queue is older than its dequeue), when that stamp is CLOCK_MONOTONIC.
    #[test]
    fn the_drivers_monotonic_timestamp_dates_the_frame() {
        use v4l::buffer::Flags;
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        #[allow(clippy::unnecessary_cast)]
        let (sec, usec) = (now.tv_sec as i64, now.tv_nsec as i64 / 1000);
        // stamped 300 ms ago
        let (s300, u300) = if usec >= 300_000 {
            (sec, usec - 300_000)
        } else {
            (sec - 1, usec + 700_000)
        };
        let at = taken_at(Flags::TIMESTAMP_MONOTONIC, s300, u300).unwrap();
        let age = at.elapsed();
        assert!(
            age >= Duration::from_millis(300) && age < Duration::from_millis(1300),
            "{age:?}"
        );
        // another clock, the future, or absurdly old: not trusted
        assert!(taken_at(Flags::TIMESTAMP_COPY, s300, u300).is_none());
        assert!(taken_at(Flags::TIMESTAMP_MONOTONIC, sec + 5, usec).is_none());
        assert!(taken_at(Flags::TIMESTAMP_MONOTONIC, sec - 60, usec).is_none());
    }
}
