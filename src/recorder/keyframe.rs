//! H.264 keyframes from network cameras turned into snapshot JPEGs, on trigger only.
//!
//! An RTSP H.264 camera's ring holds its keyframes (IDR access units with SPS and PPS before
//! them, Annex B), never the frames between. A snapshot decodes the one keyframe with Cisco's
//! OpenH264 (the `openh264` crate, built from its bundled source: no system library on the
//! Pi, nothing to match between Debian releases) into a fresh decoder, and encodes the
//! picture to JPEG with the same encoder YUYV frames use (`jpeg::encode_rgb`).
//!
//! H.265 keyframes take the same path through libde265 (`keyframe_h265`); this module owns
//! the error both share and the Annex B splitting.

use crate::recorder::jpeg;

/// The codec names errors and messages use.
pub const H264: &str = "H.264";
pub const H265: &str = "H.265";

/// Why a kept keyframe could not become a JPEG; the first field names the codec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyframeError {
    #[error("the {0} keyframe lacks {1}")]
    Incomplete(&'static str, &'static str),
    #[error("the {0} keyframe cannot be decoded ({1})")]
    Decode(&'static str, String),
    #[error("the decoded picture cannot be encoded to JPEG ({0})")]
    Encode(String),
}

/// The NAL units of an Annex B buffer (start codes 00 00 01 or 00 00 00 01), each without its
/// start code, header byte(s) first.
pub(crate) fn nal_bodies(annexb: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    openh264::nal_units(annexb).filter_map(|nal| {
        // `nal_units` yields each unit with its start code.
        nal.iter().position(|&b| b == 1).map(|i| &nal[i + 1..])
    })
}

/// H.264 NAL unit types (the low five bits of the header byte).
fn nal_types(annexb: &[u8]) -> impl Iterator<Item = u8> + '_ {
    nal_bodies(annexb).filter_map(|body| body.first().map(|h| h & 0x1f))
}

/// Check that `annexb` is a whole keyframe: SPS (7), PPS (8) and an IDR slice (5).
pub fn check_h264(annexb: &[u8]) -> Result<(), KeyframeError> {
    let (mut sps, mut pps, mut idr) = (false, false, false);
    for t in nal_types(annexb) {
        match t {
            7 => sps = true,
            8 => pps = true,
            5 => idr = true,
            _ => {}
        }
    }
    if !sps {
        return Err(KeyframeError::Incomplete(
            H264,
            "a sequence parameter set (SPS)",
        ));
    }
    if !pps {
        return Err(KeyframeError::Incomplete(
            H264,
            "a picture parameter set (PPS)",
        ));
    }
    if !idr {
        return Err(KeyframeError::Incomplete(H264, "an IDR slice"));
    }
    Ok(())
}

/// Decode one H.264 keyframe and encode it as a JPEG of `quality`; returns the JPEG and its
/// size.
pub fn h264_to_jpeg(annexb: &[u8], quality: u8) -> Result<(Vec<u8>, u32, u32), KeyframeError> {
    use openh264::formats::YUVSource;
    check_h264(annexb)?;
    let mut decoder = openh264::decoder::Decoder::new()
        .map_err(|e| KeyframeError::Decode(H264, e.to_string()))?;
    let decode_err = |e: openh264::Error| KeyframeError::Decode(H264, e.to_string());
    let (rgb, width, height) = {
        let take = |p: &openh264::decoder::DecodedYUV<'_>| {
            let (w, h) = p.dimensions();
            let mut rgb = vec![0u8; w * h * 3];
            p.write_rgb8(&mut rgb);
            (rgb, w as u32, h as u32)
        };
        match decoder.decode(annexb).map_err(decode_err)? {
            Some(p) => take(&p),
            None => {
                let rest = decoder.flush_remaining().map_err(decode_err)?;
                let p = rest
                    .last()
                    .ok_or_else(|| KeyframeError::Decode(H264, "no picture came out".into()))?;
                take(p)
            }
        }
    };
    let jpeg = jpeg::encode_rgb(&rgb, width, height, quality)
        .map_err(|e| KeyframeError::Encode(e.to_string()))?;
    Ok((jpeg, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_keyframes_are_named() {
        let sps = [0, 0, 0, 1, 0x67, 0x42, 0, 0x1e];
        let pps = [0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
        let p_slice = [0, 0, 0, 1, 0x41, 0x9a, 0x00];
        assert_eq!(
            check_h264(&p_slice),
            Err(KeyframeError::Incomplete(
                H264,
                "a sequence parameter set (SPS)"
            ))
        );
        let mut no_idr = sps.to_vec();
        no_idr.extend_from_slice(&pps);
        no_idr.extend_from_slice(&p_slice);
        assert_eq!(
            check_h264(&no_idr),
            Err(KeyframeError::Incomplete(H264, "an IDR slice"))
        );
        assert_eq!(
            h264_to_jpeg(b"not h264 at all", 80).unwrap_err(),
            KeyframeError::Incomplete(H264, "a sequence parameter set (SPS)")
        );
    }

    #[test]
    fn a_keyframe_from_openh264s_own_encoder_decodes_to_a_jpeg_of_its_colour() {
        use openh264::encoder::Encoder;
        use openh264::formats::{RgbSliceU8, YUVBuffer};
        let (w, h) = (64usize, 48usize);
        // Blue on the left half, red on the right.
        let mut rgb = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                if x < w / 2 {
                    rgb[i + 2] = 220;
                } else {
                    rgb[i] = 220;
                }
            }
        }
        let yuv = YUVBuffer::from_rgb8_source(RgbSliceU8::new(&rgb, (w, h)));
        let mut enc = Encoder::new().unwrap();
        let bits = enc.encode(&yuv).unwrap().to_vec();
        let (jpeg, jw, jh) = h264_to_jpeg(&bits, 85).unwrap();
        assert_eq!((jw, jh), (64, 48));
        let mut d = jpeg_decoder::Decoder::new(&jpeg[..]);
        let px = d.decode().unwrap();
        let at = |x: usize, y: usize| &px[(y * w + x) * 3..(y * w + x) * 3 + 3];
        let (left, right) = (at(8, 24), at(56, 24));
        assert!(left[2] > 150 && left[0] < 80, "left is blue: {left:?}");
        assert!(right[0] > 150 && right[2] < 80, "right is red: {right:?}");
    }
}
