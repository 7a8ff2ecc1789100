//! H.265 keyframes from network cameras turned into snapshot JPEGs, on trigger only: the H.265
//! half of `keyframe` (which owns the error both codecs share and the Annex B splitting).
//!
//! An RTSP H.265 camera's ring holds its IRAP access units (IDR, CRA or BLA pictures, NAL types
//! 16..=21) with VPS, SPS and PPS before them, Annex B, never the pictures between. A snapshot
//! decodes the one keyframe with libde265 (LGPL-3.0, through the `libde265-rs` wrapper; its
//! C++ is compiled from the sys crate's embedded source and linked statically, as OpenH264 is
//! for H.264) in a fresh single-threaded decoder, converts the picture from YCbCr to RGB and
//! encodes it with the encoder H.264 keyframes use (`jpeg::encode_rgb`).
//!
//! A damaged keyframe is an error, never a picture: libde265 is told to drop pictures it
//! decoded with errors, and the error carries its first warning.

use libde265_rs::{new_decoder, Channel, ChromaFormat, DeError, DecodeResult, Image, ParamBool};

use crate::recorder::jpeg;
use crate::recorder::keyframe::{nal_bodies, KeyframeError, H265};

const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
/// Intra random access point pictures: BLA_W_LP .. CRA_NUT (IDR_W_RADL 19, IDR_N_LP 20).
const IRAP: std::ops::RangeInclusive<u8> = 16..=21;
/// Decoding one access unit takes a few steps; a decoder still asking after this many is stuck.
const MAX_STEPS: usize = 1000;

/// The NAL unit type of an H.265 NAL unit: bits 1..=6 of its two-byte header.
fn nal_type(body: &[u8]) -> Option<u8> {
    body.first().map(|h| (h >> 1) & 0x3f)
}

/// The NAL unit type of the first picture slice (VCL unit, type below 32) in an Annex B access
/// unit. Reads only up to that slice's header, so a long picture costs no more than a short one.
pub fn first_slice_type(annexb: &[u8]) -> Option<u8> {
    let mut rest = annexb;
    while let Some(at) = rest.windows(3).position(|w| w == [0, 0, 1]) {
        rest = &rest[at + 3..];
        match nal_type(rest) {
            Some(t) if t < 32 => return Some(t),
            Some(_) => continue,
            None => return None,
        }
    }
    None
}

/// Whether the first picture slice in an Annex B access unit is an IRAP (IDR, CRA or BLA).
pub fn starts_irap(annexb: &[u8]) -> bool {
    first_slice_type(annexb).is_some_and(|t| IRAP.contains(&t))
}

/// NAL units (without start codes) as Annex B, each after a four-byte start code.
pub fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

/// Check that `annexb` is a whole keyframe: VPS (32), SPS (33), PPS (34) and an IRAP slice.
pub fn check_h265(annexb: &[u8]) -> Result<(), KeyframeError> {
    let (mut vps, mut sps, mut pps, mut irap) = (false, false, false, false);
    for t in nal_bodies(annexb).filter_map(nal_type) {
        match t {
            VPS => vps = true,
            SPS => sps = true,
            PPS => pps = true,
            t if IRAP.contains(&t) => irap = true,
            _ => {}
        }
    }
    let lacks = |what| Err(KeyframeError::Incomplete(H265, what));
    if !vps {
        return lacks("a video parameter set (VPS)");
    }
    if !sps {
        return lacks("a sequence parameter set (SPS)");
    }
    if !pps {
        return lacks("a picture parameter set (PPS)");
    }
    if !irap {
        return lacks("an IRAP slice (IDR, CRA or BLA)");
    }
    Ok(())
}

/// Decode one H.265 keyframe and encode it as a JPEG of `quality`; returns the JPEG and its
/// size.
pub fn h265_to_jpeg(annexb: &[u8], quality: u8) -> Result<(Vec<u8>, u32, u32), KeyframeError> {
    check_h265(annexb)?;
    let (rgb, width, height) = decode_rgb(annexb)?;
    let jpeg = jpeg::encode_rgb(&rgb, width, height, quality)
        .map_err(|e| KeyframeError::Encode(e.to_string()))?;
    Ok((jpeg, width, height))
}

fn decode_rgb(annexb: &[u8]) -> Result<(Vec<u8>, u32, u32), KeyframeError> {
    let fail = |m: String| KeyframeError::Decode(H265, m);
    let (mut input, mut output) = new_decoder().map_err(|e| fail(e.to_string()))?;
    input.set_parameter_bool(ParamBool::SuppressFaultyPictures, true);
    input
        .push_data(annexb, 0, 0)
        .map_err(|e| fail(e.to_string()))?;
    // End of stream: everything pushed is decoded and the picture comes out.
    input.flush_data().map_err(|e| fail(e.to_string()))?;
    let mut picture = None;
    for _ in 0..MAX_STEPS {
        let step = input.decode();
        if picture.is_none() {
            picture = output.next_picture().map(|p| to_rgb(&p)).transpose()?;
        }
        match step {
            Ok(DecodeResult::CallAgain) | Err(DeError::ErrorImageBufferFull) => continue,
            Ok(DecodeResult::Done) | Err(DeError::ErrorWaitingForInputData) => break,
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    if picture.is_none() {
        picture = output.next_picture().map(|p| to_rgb(&p)).transpose()?;
    }
    picture.ok_or_else(|| match input.get_warning() {
        Err(w) => fail(format!("no picture came out: {w}")),
        Ok(()) => fail("no picture came out".into()),
    })
}

/// One plane's samples, 8 bits or deeper (two bytes each, little-endian, scaled to 8 bits).
struct Plane<'a> {
    data: &'a [u8],
    stride: usize,
    shift: u32,
    wide: bool,
}

impl<'a> Plane<'a> {
    fn of(img: &'a Image<'_>, c: Channel) -> Plane<'a> {
        let (data, stride) = img.plane(c);
        let bits = img.bits_per_pixel(c).max(8);
        Plane {
            data,
            stride,
            shift: bits - 8,
            wide: bits > 8,
        }
    }

    fn at(&self, x: usize, y: usize) -> i32 {
        if self.wide {
            let i = y * self.stride + x * 2;
            let v = u16::from_le_bytes([self.data[i], self.data[i + 1]]);
            i32::from(v >> self.shift)
        } else {
            i32::from(self.data[y * self.stride + x])
        }
    }

    /// Whether `w` × `h` samples fit.
    fn holds(&self, w: usize, h: usize) -> bool {
        let per = if self.wide { 2 } else { 1 };
        w > 0
            && h > 0
            && self.stride >= w * per
            && self.data.len() >= (h - 1) * self.stride + w * per
    }
}

/// The decoded picture (cropped to its conformance window by libde265) as RGB8. BT.709
/// when the stream says so, else BT.601; limited range unless the stream says full.
/// The largest keyframe decoded (4096×2176, DCI 4K): cameras send 1080p or 4K; more is a
/// broken or hostile stream, refused before a decoder allocates for it.
pub const MAX_PIXELS: u64 = 4096 * 2176;

fn to_rgb(img: &Image<'_>) -> Result<(Vec<u8>, u32, u32), KeyframeError> {
    let (w, h) = (img.width(Channel::Y), img.height(Channel::Y));
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(KeyframeError::Decode(
            H265,
            format!("a {w}×{h} picture is larger than {MAX_PIXELS} pixels"),
        ));
    }
    let (wu, hu) = (w as usize, h as usize);
    let (sx, sy) = match img.chroma_format() {
        ChromaFormat::C420 => (2, 2),
        ChromaFormat::C422 => (2, 1),
        ChromaFormat::C444 | ChromaFormat::Mono => (1, 1),
    };
    let mono = img.chroma_format() == ChromaFormat::Mono;
    let y = Plane::of(img, Channel::Y);
    let (cb, cr) = (Plane::of(img, Channel::Cb), Plane::of(img, Channel::Cr));
    let (cw, ch) = (wu.div_ceil(sx), hu.div_ceil(sy));
    let chroma_fits = mono || (cb.holds(cw, ch) && cr.holds(cw, ch));
    if !y.holds(wu, hu) || !chroma_fits {
        return Err(KeyframeError::Decode(
            H265,
            format!("the decoder gave a {w}×{h} picture with short planes"),
        ));
    }
    // 8.8 fixed point: (luma gain, Cr→R, Cb→G, Cr→G, Cb→B).
    let full = img.full_range();
    let k = match (img.matrix_coefficients() == 1, full) {
        (true, false) => (298, 459, 55, 136, 541),
        (true, true) => (256, 403, 48, 120, 475),
        (false, false) => (298, 409, 100, 208, 516),
        (false, true) => (256, 359, 88, 183, 454),
    };
    let black = if full { 0 } else { 16 };
    let clamp = |v: i32| ((v + 128) >> 8).clamp(0, 255) as u8;
    let mut rgb = Vec::with_capacity(wu * hu * 3);
    for row in 0..hu {
        for col in 0..wu {
            let l = k.0 * (y.at(col, row) - black);
            let (d, e) = if mono {
                (0, 0)
            } else {
                (
                    cb.at(col / sx, row / sy) - 128,
                    cr.at(col / sx, row / sy) - 128,
                )
            };
            rgb.extend_from_slice(&[
                clamp(l + k.1 * e),
                clamp(l - k.2 * d - k.3 * e),
                clamp(l + k.4 * d),
            ]);
        }
    }
    Ok((rgb, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 64×48 keyframe, blue on the left half and red on the right (VPS, SPS, PPS,
    /// IDR_N_LP), made with ffmpeg's libx265: see tests/fixtures/h265/README.md.
    const BLUE_RED: &[u8] = include_bytes!("../../tests/fixtures/h265/blue-red-64x48.h265");

    fn types(annexb: &[u8]) -> Vec<u8> {
        nal_bodies(annexb).filter_map(nal_type).collect()
    }

    #[test]
    fn incomplete_keyframes_are_named() {
        assert_eq!(types(BLUE_RED), vec![VPS, SPS, PPS, 20]);
        check_h265(BLUE_RED).unwrap();
        // Drop one NAL unit at a time: each absence is named.
        let nals: Vec<&[u8]> = nal_bodies(BLUE_RED).collect();
        let without = |skip: usize| -> Vec<u8> {
            let kept: Vec<&[u8]> = (0..nals.len())
                .filter(|i| *i != skip)
                .map(|i| nals[i])
                .collect();
            annexb(&kept)
        };
        let lacks = |what| Err(KeyframeError::Incomplete(H265, what));
        assert_eq!(
            check_h265(&without(0)),
            lacks("a video parameter set (VPS)")
        );
        assert_eq!(
            check_h265(&without(1)),
            lacks("a sequence parameter set (SPS)")
        );
        assert_eq!(
            check_h265(&without(2)),
            lacks("a picture parameter set (PPS)")
        );
        assert_eq!(
            check_h265(&without(3)),
            lacks("an IRAP slice (IDR, CRA or BLA)")
        );
        // A trailing (non-IRAP) picture after the parameter sets is not a keyframe either.
        let mut trail = without(3);
        trail.extend_from_slice(&[0, 0, 1, 0x02, 0x01, 0xd0, 0x00]);
        assert_eq!(check_h265(&trail), lacks("an IRAP slice (IDR, CRA or BLA)"));
        // The first slice decides whether an access unit is a keyframe: IDR yes, trailing no,
        // CRA (21, header byte 0x2a) yes, with or without parameter sets before it.
        assert!(starts_irap(BLUE_RED));
        assert!(!starts_irap(&trail));
        assert!(starts_irap(&[0, 0, 0, 1, 0x2a, 0x01, 0xaf]));
        assert!(!starts_irap(&[0, 0, 0, 1, 0x02, 0x01, 0xd0]));
        assert!(!starts_irap(b"garbage"));
        assert_eq!(
            h265_to_jpeg(b"not h265 at all", 80)
                .unwrap_err()
                .to_string(),
            "the H.265 keyframe lacks a video parameter set (VPS)"
        );
    }

    #[test]
    fn a_keyframe_from_x265_decodes_to_a_jpeg_of_its_colour() {
        let (jpeg, w, h) = h265_to_jpeg(BLUE_RED, 85).unwrap();
        assert_eq!((w, h), (64, 48));
        let mut d = jpeg_decoder::Decoder::new(&jpeg[..]);
        let px = d.decode().unwrap();
        let info = d.info().unwrap();
        assert_eq!((info.width, info.height), (64, 48));
        let at = |x: usize, y: usize| &px[(y * 64 + x) * 3..(y * 64 + x) * 3 + 3];
        let (left, right) = (at(8, 24), at(56, 24));
        assert!(left[2] > 150 && left[0] < 80, "left is blue: {left:?}");
        assert!(right[0] > 150 && right[2] < 80, "right is red: {right:?}");
    }

    #[test]
    fn a_damaged_keyframe_is_an_error_not_a_picture() {
        // The parameter sets intact, the slice's data after its header overwritten.
        let mut damaged = BLUE_RED.to_vec();
        let slice_at = BLUE_RED.len() - nal_bodies(BLUE_RED).last().unwrap().len();
        for (i, b) in damaged[slice_at + 6..].iter_mut().enumerate() {
            *b = 0xff ^ (i as u8);
        }
        check_h265(&damaged).unwrap();
        let err = h265_to_jpeg(&damaged, 85).unwrap_err();
        assert!(
            matches!(&err, KeyframeError::Decode(H265, m) if m.starts_with("no picture came out")),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("the H.265 keyframe cannot be decoded (no picture"));
        // The slice cut short: the same.
        let cut = &BLUE_RED[..slice_at + 8];
        assert!(matches!(
            h265_to_jpeg(cut, 85),
            Err(KeyframeError::Decode(H265, _))
        ));
    }

    /// A camera that sends H.265 keyframes, damaged until told otherwise.
    struct Camera(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl crate::recorder::camera::FrameSource for Camera {
        fn name(&self) -> String {
            "test-h265".into()
        }
        fn start(
            &mut self,
        ) -> Result<crate::recorder::camera::StreamInfo, crate::recorder::camera::CameraError>
        {
            Ok(crate::recorder::camera::StreamInfo {
                format: crate::recorder::camera::PixelFormat::H265,
                width: 64,
                height: 48,
                description: "test H.265".into(),
            })
        }
        fn next_frame(
            &mut self,
        ) -> Result<crate::recorder::camera::RawFrame, crate::recorder::camera::CameraError>
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let mut k = BLUE_RED.to_vec();
            if !self.0.load(std::sync::atomic::Ordering::SeqCst) {
                let n = k.len();
                k[n - 20..].fill(0xff);
            }
            Ok(crate::recorder::camera::RawFrame {
                width: 64,
                height: 48,
                data: crate::recorder::camera::PixelData::H265Keyframe(k.into()),
                camera_time_ms: None,
                began: None,
            })
        }
        fn stop(&mut self) {}
    }

    #[test]
    fn a_snapshot_of_a_damaged_keyframe_stores_nothing_and_the_camera_stays_up() {
        use crate::recorder::camera::worker::CameraState;
        use crate::recorder::footage::Filter;
        use crate::recorder::{Reason, Recorder, RecorderError};
        let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let data = tempfile::tempdir().unwrap();
        let (rec, _) = Recorder::start(
            data.path(),
            &crate::recorder::config::RecorderConfig::default(),
            vec![(1, Box::new(Camera(healthy.clone())))],
            std::sync::Arc::new(crate::recorder::clock::RealClocks),
            false,
        )
        .unwrap();
        let reason = Reason::parse("started").unwrap();
        let err = rec.capture_for(1, None, &reason).unwrap_err();
        assert!(
            matches!(
                &err,
                RecorderError::Keyframe {
                    counter: 1,
                    error: KeyframeError::Decode(H265, _)
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("the camera of counter 1: the H.265 keyframe cannot be decoded"),
            "{err}"
        );
        let stored = |rec: &Recorder| rec.store().lock().unwrap().list(&Filter::default());
        assert!(stored(&rec).unwrap().is_empty());
        assert!(matches!(
            rec.cameras()[0].1.state,
            CameraState::Streaming { .. }
        ));
        // The camera's next good keyframe makes a snapshot as usual.
        healthy.store(true, std::sync::atomic::Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let snap = rec.capture_for(1, None, &reason).unwrap();
        assert_eq!((snap.width, snap.height), (64, 48));
        assert_eq!(stored(&rec).unwrap().len(), 1);
    }
}
