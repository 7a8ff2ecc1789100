//! ~320 px previews of snapshots, made without a full-size decode where the JPEG allows.
//! Frames at least 4 × the preview size (720p and up) go through `quarter/`: a 1/4-scale
//! reconstruction straight from the DCT coefficients (no IDCT, no threads), then a box filter
//! the rest of the way. Smaller frames, and JPEGs that decoder does not handle (progressive,
//! arithmetic…), use `jpeg-decoder`'s DCT scaling (1/2, 1/4, 1/8) instead.
//!
//! Never writes anything; the caller stores the result beside the row.

use jpeg_decoder::{Decoder, PixelFormat};

use super::jpeg::{encode_rgb, JpegError};

/// Target width of a preview.
pub const THUMB_WIDTH: u32 = 320;
/// JPEG quality of previews.
pub const THUMB_QUALITY: u8 = 75;

#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    #[error("cannot decode the snapshot for its preview: {0}")]
    Decode(String),
    #[error(transparent)]
    Encode(#[from] JpegError),
}

/// A preview: its size and JPEG bytes.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// Make a preview `THUMB_WIDTH` wide (or the original width if smaller).
pub fn make(jpeg: &[u8]) -> Result<Thumbnail, ThumbnailError> {
    if let Some(frame) = super::quarter::Frame::parse(jpeg) {
        let (w0, h0) = frame.size();
        let (tw, th) = target(w0, h0);
        if w0.div_ceil(4) >= tw && h0.div_ceil(4) >= th {
            if let Some(q) = frame.decode_quarter(jpeg) {
                let small = box_resize(&q.rgb, q.width, q.height, tw, th);
                return Ok(Thumbnail {
                    width: tw,
                    height: th,
                    jpeg: encode_rgb(&small, tw, th, THUMB_QUALITY)?,
                });
            }
        }
    }
    make_with_jpeg_decoder(jpeg)
}

/// Width and height of the preview of a `w0`×`h0` frame.
fn target(w0: u32, h0: u32) -> (u32, u32) {
    let tw = THUMB_WIDTH.min(w0).max(1);
    let th = ((h0 as u64 * tw as u64 + w0.max(1) as u64 / 2) / w0.max(1) as u64).max(1) as u32;
    (tw, th)
}

/// The general path: `jpeg-decoder` with DCT scaling (it entropy-decodes the whole frame and,
/// for outputs over 128×128, runs one thread per component).
fn make_with_jpeg_decoder(jpeg: &[u8]) -> Result<Thumbnail, ThumbnailError> {
    let mut d = Decoder::new(jpeg);
    d.read_info()
        .map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let info = d
        .info()
        .ok_or_else(|| ThumbnailError::Decode("no header".into()))?;
    let (tw, th) = target(info.width as u32, info.height as u32);
    // Ask for the smallest DCT scale that is still at least the target size.
    let (sw, sh) = d
        .scale(tw as u16, th as u16)
        .map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let px = d
        .decode()
        .map_err(|e| ThumbnailError::Decode(e.to_string()))?;
    let info = d
        .info()
        .ok_or_else(|| ThumbnailError::Decode("no header".into()))?;
    let rgb = match info.pixel_format {
        PixelFormat::RGB24 => px,
        PixelFormat::L8 => px.iter().flat_map(|&l| [l, l, l]).collect(),
        other => {
            return Err(ThumbnailError::Decode(format!(
                "unsupported pixel format {other:?}"
            )))
        }
    };
    let small = box_resize(&rgb, sw as u32, sh as u32, tw, th);
    Ok(Thumbnail {
        width: tw,
        height: th,
        jpeg: encode_rgb(&small, tw, th, THUMB_QUALITY)?,
    })
}

/// Area-average resize of RGB8 (downscaling only; equal sizes copy).
fn box_resize(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Vec<u8> {
    if (sw, sh) == (dw, dh) {
        return src.to_vec();
    }
    // Source span [a, b) of destination pixel i.
    let span = |i: u32, s: u32, d: u32| {
        let a = i * s / d;
        (a as usize, ((i + 1) * s / d).max(a + 1).min(s) as usize)
    };
    let xs: Vec<(usize, usize)> = (0..dw).map(|x| span(x, sw, dw)).collect();
    let line = sw as usize * 3;
    let mut out = vec![0u8; (dw * dh * 3) as usize];
    let mut sums = vec![0u32; line];
    for (y, o) in out.chunks_exact_mut(dw as usize * 3).enumerate() {
        let (y0, y1) = span(y as u32, sh, dh);
        sums.fill(0);
        for row in src[y0 * line..y1 * line].chunks_exact(line) {
            for (a, &v) in sums.iter_mut().zip(row) {
                *a += v as u32;
            }
        }
        for (px, &(x0, x1)) in o.chunks_exact_mut(3).zip(&xs) {
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            let mut acc = [0u32; 3];
            for p in sums[x0 * 3..x1 * 3].chunks_exact(3) {
                acc[0] += p[0];
                acc[1] += p[1];
                acc[2] += p[2];
            }
            px.copy_from_slice(&acc.map(|a| (a / n) as u8));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_of_1080p_is_320_wide_and_keeps_colour() {
        let (w, h) = (1920u32, 1080u32);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if (i % w) < w / 2 {
                    [200, 30, 30]
                } else {
                    [30, 30, 200]
                }
            })
            .collect();
        let jpeg = encode_rgb(&rgb, w, h, 85).unwrap();
        let t = make(&jpeg).unwrap();
        assert_eq!((t.width, t.height), (320, 180));
        let px = Decoder::new(&t.jpeg[..]).decode().unwrap();
        let left = &px[(90 * 320 + 40) * 3..][..3];
        let right = &px[(90 * 320 + 280) * 3..][..3];
        assert!(left[0] > 150 && left[2] < 80, "{left:?}");
        assert!(right[2] > 150 && right[0] < 80, "{right:?}");
    }

    #[test]
    fn small_images_keep_their_size_and_garbage_is_an_error() {
        let jpeg = encode_rgb(&vec![9; 64 * 48 * 3], 64, 48, 80).unwrap();
        let t = make(&jpeg).unwrap();
        assert_eq!((t.width, t.height), (64, 48));
        assert!(matches!(make(b"nope"), Err(ThumbnailError::Decode(_))));
    }
}
