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
            PixelFormat::H264 => {
                return Err(CameraError::BadFrame {
                    device: name,
                    message: "H.264 from a USB camera is not decoded".into(),
                })
            }
        };
        Ok(RawFrame {
            width: s.width,
            height: s.height,
            data,
            camera_time_ms: None,
            began: None,
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
}
