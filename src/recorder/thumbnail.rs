//! ~320 px previews of snapshots, made without a full-size decode where the JPEG allows.
//! Frames at least 4 × the preview size (720p and up) go through `quarter/`: a 1/4-scale
//! reconstruction straight from the DCT coefficients (no IDCT, no threads), then a box filter
//! the rest of the way on each YCbCr plane, and a 4:2:0 encode of those planes as they are: no
//! colour conversion anywhere. Smaller frames, and JPEGs that decoder does not handle
//! (progressive, arithmetic…), use `jpeg-decoder`'s DCT scaling (1/2, 1/4, 1/8) instead.
//!
//! Never writes anything; the caller stores the result beside the row.

use jpeg_decoder::{Decoder, PixelFormat};
use jpeg_encoder::{ColorType, Encoder, ImageBuffer, JpegColorType, SamplingFactor};

use super::jpeg::{encode_rgb, JpegError};
use super::quarter::{Plane, Quarter};

/// Target width of a preview.
pub const THUMB_WIDTH: u32 = 320;
/// JPEG quality of previews.
pub const THUMB_QUALITY: u8 = 75;
/// Largest frame a preview is made of: the largest camera size the config allows. A header
/// declaring more (a corrupt or hostile frame) is refused before anything is allocated.
pub const MAX_PIXELS: u64 = 4096 * 4096;

fn check_size(w: u32, h: u32) -> Result<(), ThumbnailError> {
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(ThumbnailError::Decode(format!(
            "the frame declares {w}x{h} pixels, more than any camera this device accepts"
        )));
    }
    Ok(())
}

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
        check_size(w0, h0)?;
        let (tw, th) = target(w0, h0);
        if w0.div_ceil(4) >= tw && h0.div_ceil(4) >= th {
            if let Some(q) = frame.decode_quarter(jpeg) {
                return Ok(Thumbnail {
                    width: tw,
                    height: th,
                    jpeg: from_quarter(&q, tw, th)?,
                });
            }
        }
    }
    make_with_jpeg_decoder(jpeg)
}

/// Resize each plane of `q` (luma to `tw`×`th`, chroma to half that) and encode them.
fn from_quarter(q: &Quarter, tw: u32, th: u32) -> Result<Vec<u8>, JpegError> {
    let (w, h) = (tw as usize, th as usize);
    let resize = |p: &Plane, dw: usize, dh: usize| {
        box_resize::<1>(&p.data, p.stride, (p.width, p.height), (dw, dh))
    };
    let err = |e: jpeg_encoder::EncodingError| JpegError::Encode {
        width: tw,
        height: th,
        message: e.to_string(),
    };
    let mut out = Vec::with_capacity(w * h / 2);
    let mut enc = Encoder::new(&mut out, THUMB_QUALITY);
    match &q.planes[..] {
        [y, cb, cr] => {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            enc.set_sampling_factor(SamplingFactor::F_2_2);
            enc.encode_image(Ycc420 {
                y: &resize(y, w, h),
                cb: &resize(cb, cw, ch),
                cr: &resize(cr, cw, ch),
                width: w,
                height: h,
                chroma_width: cw,
            })
            .map_err(err)?;
        }
        [grey] => enc
            .encode(&resize(grey, w, h), tw as u16, th as u16, ColorType::Luma)
            .map_err(err)?,
        _ => unreachable!("the 1/4-scale decoder declines frames of other than 1 or 3 components"),
    }
    Ok(out)
}

/// Full-size luma and half-size chroma planes, handed to the encoder row by row (it takes
/// every component at full size and averages chroma 2×2 itself: equal samples, so exact).
struct Ycc420<'a> {
    y: &'a [u8],
    cb: &'a [u8],
    cr: &'a [u8],
    width: usize,
    height: usize,
    chroma_width: usize,
}

impl ImageBuffer for Ycc420<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }
    fn width(&self) -> u16 {
        self.width as u16
    }
    fn height(&self) -> u16 {
        self.height as u16
    }
    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let (w, cw, y) = (self.width, self.chroma_width, y as usize);
        buffers[0].extend_from_slice(&self.y[y * w..][..w]);
        let row = (y / 2) * cw;
        for (c, plane) in [(1, self.cb), (2, self.cr)] {
            let src = &plane[row..row + cw];
            buffers[c].extend((0..w).map(|x| src[x / 2]));
        }
    }
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
    check_size(info.width as u32, info.height as u32)?;
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
    let (sw, sh) = (sw as usize, sh as usize);
    let small = box_resize::<3>(&rgb, sw * 3, (sw, sh), (tw as usize, th as usize));
    Ok(Thumbnail {
        width: tw,
        height: th,
        jpeg: encode_rgb(&small, tw, th, THUMB_QUALITY)?,
    })
}

/// Area-average resize of 8-bit samples, `CH` interleaved per pixel, source rows `stride`
/// bytes apart (downscaling; were a side to grow, its samples repeat).
fn box_resize<const CH: usize>(
    src: &[u8],
    stride: usize,
    (sw, sh): (usize, usize),
    (dw, dh): (usize, usize),
) -> Vec<u8> {
    if (sw, sh) == (dw, dh) && stride == sw * CH {
        return src[..sw * sh * CH].to_vec();
    }
    // Source span [a, b) of destination pixel i.
    let span = |i: usize, s: usize, d: usize| {
        let a = i * s / d;
        (a, ((i + 1) * s / d).max(a + 1).min(s))
    };
    let xs: Vec<(usize, usize)> = (0..dw).map(|x| span(x, sw, dw)).collect();
    let line = sw * CH;
    let mut out = vec![0u8; dw * dh * CH];
    let mut sums = vec![0u32; line];
    for (y, o) in out.chunks_exact_mut(dw * CH).enumerate() {
        let (y0, y1) = span(y, sh, dh);
        sums.fill(0);
        for r in y0..y1 {
            for (a, &v) in sums.iter_mut().zip(&src[r * stride..r * stride + line]) {
                *a += v as u32;
            }
        }
        for (px, &(x0, x1)) in o.chunks_exact_mut(CH).zip(&xs) {
            let n = ((y1 - y0) * (x1 - x0)) as u32;
            let mut acc = [0u32; CH];
            for p in sums[x0 * CH..x1 * CH].chunks_exact(CH) {
                for (a, &v) in acc.iter_mut().zip(p) {
                    *a += v;
                }
            }
            for (o, a) in px.iter_mut().zip(acc) {
                *o = ((a + n / 2) / n) as u8;
            }
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

    /// Mean absolute difference per sample between the preview of `jpeg` and its full decode
    /// area-averaged to the preview's size.
    fn error_against_full_decode(
        jpeg: &[u8],
        make: fn(&[u8]) -> Result<Thumbnail, ThumbnailError>,
    ) -> f64 {
        let t = make(jpeg).unwrap();
        let mut d = Decoder::new(jpeg);
        let full = d.decode().unwrap();
        let info = d.info().unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        let ch = full.len() / (w * h);
        let want = match ch {
            1 => box_resize::<1>(&full, w, (w, h), (t.width as usize, t.height as usize)),
            _ => box_resize::<3>(&full, w * 3, (w, h), (t.width as usize, t.height as usize)),
        };
        let got = Decoder::new(&t.jpeg[..]).decode().unwrap();
        assert_eq!(got.len(), want.len(), "same size and channels");
        let diff: u64 = got
            .iter()
            .zip(&want)
            .map(|(&a, &b)| a.abs_diff(b) as u64)
            .sum();
        diff as f64 / got.len() as f64
    }

    #[test]
    fn previews_match_a_full_decode_for_each_chroma_sampling_and_grey() {
        use crate::recorder::camera::synthetic::scene;
        let (w, h) = (1280u32, 720u32);
        let rgb = scene(w, h, 2);
        for f in [
            SamplingFactor::F_2_2,
            SamplingFactor::F_2_1,
            SamplingFactor::F_1_1,
        ] {
            let mut jpeg = Vec::new();
            let mut e = Encoder::new(&mut jpeg, 90);
            e.set_sampling_factor(f);
            e.encode(&rgb, w as u16, h as u16, ColorType::Rgb).unwrap();
            let ours = error_against_full_decode(&jpeg, make);
            let general = error_against_full_decode(&jpeg, make_with_jpeg_decoder);
            eprintln!("{f:?}: mean error {ours:.2} (jpeg-decoder path: {general:.2})");
            assert!(
                ours < 3.0 && ours < general + 0.5,
                "{f:?}: {ours} vs {general}"
            );
        }
        let grey: Vec<u8> = rgb.chunks_exact(3).map(|p| p[1]).collect();
        let mut jpeg = Vec::new();
        Encoder::new(&mut jpeg, 90)
            .encode(&grey, w as u16, h as u16, ColorType::Luma)
            .unwrap();
        let t = make(&jpeg).unwrap();
        let mut d = Decoder::new(&t.jpeg[..]);
        d.decode().unwrap();
        assert_eq!(
            d.info().unwrap().pixel_format,
            PixelFormat::L8,
            "grey stays grey"
        );
        // (The general path turns grey into RGB, so it is not compared here.)
        let ours = error_against_full_decode(&jpeg, make);
        eprintln!("grey: mean error {ours:.2}");
        assert!(ours < 3.0, "grey: mean error {ours}");
    }
}
