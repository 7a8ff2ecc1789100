//! JPEG byte-level handling for camera frames: finding the real end of an MJPEG frame (drivers
//! pad `bytesused`), reading dimensions from the frame header, adding a comment segment, and
//! encoding a YUYV frame to JPEG once.
//!
//! Never decodes pixels of an MJPEG frame (that is `thumbnail.rs`'s job, and only scaled).

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Why bytes from a camera are not a usable JPEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    #[error("not a JPEG: the frame does not start with the SOI marker")]
    NoSoi,
    #[error("truncated JPEG: no end-of-image marker before byte {0}")]
    NoEoi(usize),
    #[error("malformed JPEG segment at byte {0}")]
    BadSegment(usize),
    #[error("JPEG has no frame header (SOF) with its dimensions")]
    NoFrameHeader,
    #[error("cannot encode a {width}x{height} frame: {message}")]
    Encode {
        width: u32,
        height: u32,
        message: String,
    },
}

/// Width and height from the first SOF segment, without decoding.
pub fn dimensions(jpeg: &[u8]) -> Result<(u32, u32), JpegError> {
    let mut found = None;
    walk(jpeg, |marker, seg| {
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && found.is_none() && seg.len() >= 5 {
            let h = u16::from_be_bytes([seg[1], seg[2]]) as u32;
            let w = u16::from_be_bytes([seg[3], seg[4]]) as u32;
            found = Some((w, h));
        }
    })?;
    found.ok_or(JpegError::NoFrameHeader)
}

/// The frame up to and including its EOI marker. Bytes after it (driver padding) are dropped.
pub fn trim_to_eoi(buf: &[u8]) -> Result<&[u8], JpegError> {
    let end = walk(buf, |_, _| {})?;
    Ok(&buf[..end])
}

/// Walk the marker segments of `buf`, calling `seen(marker, payload)` for each segment with a
/// length, skipping entropy-coded data. Returns the offset just past EOI.
fn walk<'a>(buf: &'a [u8], mut seen: impl FnMut(u8, &'a [u8])) -> Result<usize, JpegError> {
    if buf.len() < 4 || buf[0] != 0xFF || buf[1] != 0xD8 {
        return Err(JpegError::NoSoi);
    }
    let mut i = 2;
    loop {
        // Find the next marker: 0xFF, optional fill 0xFFs, then a code.
        if i >= buf.len() {
            return Err(JpegError::NoEoi(buf.len()));
        }
        if buf[i] != 0xFF {
            return Err(JpegError::BadSegment(i));
        }
        while i < buf.len() && buf[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = buf.get(i) else {
            return Err(JpegError::NoEoi(buf.len()));
        };
        i += 1;
        match marker {
            0xD9 => return Ok(i),
            0x01 | 0xD0..=0xD7 => continue, // stand-alone markers
            _ => {}
        }
        let len = match buf.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err(JpegError::NoEoi(buf.len())),
        };
        if len < 2 {
            return Err(JpegError::BadSegment(i));
        }
        let Some(seg) = buf.get(i + 2..i + len) else {
            return Err(JpegError::NoEoi(buf.len()));
        };
        seen(marker, seg);
        i += len;
        if marker == 0xDA {
            i = skip_entropy_data(buf, i)?;
        }
    }
}

/// From the start of entropy-coded data, the offset of the next real marker (not a stuffed
/// `FF 00` and not a restart marker).
fn skip_entropy_data(buf: &[u8], mut i: usize) -> Result<usize, JpegError> {
    while i + 1 < buf.len() {
        if buf[i] == 0xFF {
            match buf[i + 1] {
                0x00 | 0xD0..=0xD7 | 0xFF => i += if buf[i + 1] == 0xFF { 1 } else { 2 },
                _ => return Ok(i),
            }
        } else {
            i += 1;
        }
    }
    Err(JpegError::NoEoi(buf.len()))
}

/// The payloads of every COM (comment) segment, in order. The whole frame is walked, so this
/// also checks its structure (SOI, segments, EOI).
pub fn comments(jpeg: &[u8]) -> Result<Vec<&[u8]>, JpegError> {
    let mut out = Vec::new();
    walk(jpeg, |marker, seg| {
        if marker == 0xFE {
            out.push(seg);
        }
    })?;
    Ok(out)
}

/// A copy of `jpeg` with a COM (comment) segment right after SOI. Used by the synthetic camera
/// to make every frame's bytes unique; `text` is cut at 60 000 bytes.
pub fn with_comment(jpeg: &[u8], text: &str) -> Vec<u8> {
    let text = &text.as_bytes()[..text.len().min(60_000)];
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Encode packed YUYV 4:2:2 (limited range, BT.601, as USB cameras send it) to a JPEG, once.
/// Works in YCbCr directly: no RGB round trip.
pub fn encode_yuyv(
    yuyv: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    quality: u8,
) -> Result<Vec<u8>, JpegError> {
    let err = |message: String| JpegError::Encode {
        width,
        height,
        message,
    };
    let (w, h, stride) = (width as usize, height as usize, stride as usize);
    if w == 0 || h == 0 || w % 2 != 0 || w > 65_535 || h > 65_535 {
        return Err(err("width must be even and both sides 1..65535".into()));
    }
    if stride < w * 2 || yuyv.len() < stride * (h - 1) + w * 2 {
        return Err(err(format!("buffer of {} bytes is too short", yuyv.len())));
    }
    // Limited range (Y 16..235, C 16..240) to JPEG's full range.
    let luma: Vec<u8> = (0..=255u32)
        .map(|y| ((y.saturating_sub(16)) * 255 / 219).min(255) as u8)
        .collect();
    let chroma: Vec<u8> = (0..=255i32)
        .map(|c| (((c - 128) * 255 / 224) + 128).clamp(0, 255) as u8)
        .collect();
    let mut ycc = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        let line = &yuyv[row * stride..row * stride + w * 2];
        for px in line.chunks_exact(4) {
            let (y0, u, y1, v) = (px[0], px[1], px[2], px[3]);
            let (u, v) = (chroma[u as usize], chroma[v as usize]);
            ycc.extend_from_slice(&[luma[y0 as usize], u, v, luma[y1 as usize], u, v]);
        }
    }
    let mut out = Vec::with_capacity(w * h / 4);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(SamplingFactor::F_2_1);
    enc.encode(&ycc, width as u16, height as u16, ColorType::Ycbcr)
        .map_err(|e| err(e.to_string()))?;
    Ok(out)
}

/// Encode RGB8 pixels (the synthetic camera's test patterns, thumbnails).
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, JpegError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    Encoder::new(&mut out, quality)
        .encode(rgb, width as u16, height as u16, ColorType::Rgb)
        .map_err(|e| JpegError::Encode {
            width,
            height,
            message: e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let rgb: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
        encode_rgb(&rgb, 64, 48, 80).unwrap()
    }

    #[test]
    fn trims_driver_padding_after_eoi() {
        let jpeg = sample();
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0u8; 4096]);
        // padding that itself contains an EOI must not confuse the trim
        padded.extend_from_slice(&[0xFF, 0xD9, 0, 0]);
        assert_eq!(trim_to_eoi(&padded).unwrap(), &jpeg[..]);
        assert_eq!(trim_to_eoi(&jpeg).unwrap().len(), jpeg.len());
    }

    #[test]
    fn comment_keeps_the_image_valid() {
        let jpeg = sample();
        let c = with_comment(&jpeg, "frame 7");
        assert_eq!(dimensions(&c).unwrap(), (64, 48));
        assert_eq!(trim_to_eoi(&c).unwrap().len(), c.len());
        let mut d = jpeg_decoder::Decoder::new(&c[..]);
        assert_eq!(d.decode().unwrap().len(), 64 * 48 * 3);
    }

    #[test]
    fn rejects_non_jpeg_and_truncated() {
        assert_eq!(trim_to_eoi(b"GIF89a....").unwrap_err(), JpegError::NoSoi);
        let jpeg = sample();
        let cut = &jpeg[..jpeg.len() - 10];
        assert!(matches!(trim_to_eoi(cut), Err(JpegError::NoEoi(_))));
        assert_eq!(trim_to_eoi(&[0xFF, 0xD8, 0xFF, 0xD9]).unwrap().len(), 4);
        assert_eq!(
            dimensions(&[0xFF, 0xD8, 0xFF, 0xD9]).unwrap_err(),
            JpegError::NoFrameHeader
        );
        assert_eq!(
            trim_to_eoi(&[0xFF, 0xD8, 0x00, 0x00, 0x00]).unwrap_err(),
            JpegError::BadSegment(2)
        );
    }

    #[test]
    fn yuyv_encodes_to_the_right_colours() {
        // mid-grey limited-range YUYV: Y=126 (≈128 full range), neutral chroma
        let (w, h) = (32u32, 16u32);
        let yuyv: Vec<u8> = [126u8, 128, 126, 128].repeat((w * h / 2) as usize);
        let jpeg = encode_yuyv(&yuyv, w, h, w * 2, 90).unwrap();
        assert_eq!(dimensions(&jpeg).unwrap(), (w, h));
        let px = jpeg_decoder::Decoder::new(&jpeg[..]).decode().unwrap();
        for c in &px[..3] {
            assert!((*c as i32 - 128).abs() <= 3, "{:?}", &px[..3]);
        }
        assert!(encode_yuyv(&yuyv[..10], w, h, w * 2, 90).is_err());
        assert!(encode_yuyv(&yuyv, 31, h, w * 2, 90).is_err());
    }
}
