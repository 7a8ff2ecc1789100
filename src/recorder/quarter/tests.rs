//! Tests of the 1/4-scale decoder: against a full `jpeg-decoder` decode averaged 4×4, the
//! standard tables, declining what it does not handle, surviving garbage, and each fast path
//! of the entropy decoder against a plain bit-by-bit reference.
use super::*;
use crate::recorder::camera::synthetic::pattern;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

fn encode(rgb: &[u8], w: u32, h: u32, f: SamplingFactor, restart: u16, ct: ColorType) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 85);
    e.set_sampling_factor(f);
    e.set_restart_interval(restart);
    e.encode(rgb, w as u16, h as u16, ct).unwrap();
    out
}

/// `q` as RGB8 (chroma repeated where subsampled; BT.601 full range), to compare with a full
/// decode.
fn to_rgb(q: &Quarter) -> Vec<u8> {
    let (w, h) = (q.planes[0].width, q.planes[0].height);
    let at = |p: &Plane, x: usize, y: usize| {
        p.data[(y * p.height / h) * p.stride + x * p.width / w] as f32
    };
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            match &q.planes[..] {
                [l] => out.extend([at(l, x, y) as u8; 3]),
                [l, cb, cr] => {
                    let (l, cb, cr) = (at(l, x, y), at(cb, x, y) - 128.0, at(cr, x, y) - 128.0);
                    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
                    out.extend([
                        c(l + 1.402 * cr),
                        c(l - 0.344_136 * cb - 0.714_136 * cr),
                        c(l + 1.772 * cb),
                    ]);
                }
                _ => unreachable!(),
            }
        }
    }
    out
}

/// Mean absolute difference between ours and 4×4 means of a full `jpeg-decoder` decode.
fn error(jpeg: &[u8], w: usize, h: usize) -> f64 {
    let q = decode_quarter(jpeg).expect("handled");
    let qrgb = to_rgb(&q);
    assert_eq!(
        (q.planes[0].width, q.planes[0].height),
        (w.div_ceil(4), h.div_ceil(4))
    );
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let full = d.decode().unwrap();
    let ch = full.len() / (w * h);
    let (mut sum, mut n) = (0f64, 0f64);
    for y in 0..h / 4 {
        for x in 0..w / 4 {
            for c in 0..3 {
                let mut m = 0u32;
                for yy in 0..4 {
                    for xx in 0..4 {
                        m += full[((y * 4 + yy) * w + x * 4 + xx) * ch + c.min(ch - 1)] as u32;
                    }
                }
                let ours = qrgb[(y * q.planes[0].width + x) * 3 + c] as f64;
                sum += (ours - m as f64 / 16.0).abs();
                n += 1.0;
            }
        }
    }
    sum / n
}

#[test]
fn matches_a_full_decode_averaged_4x4() {
    let (w, h) = (328u32, 200u32); // not a multiple of the MCU size
    let noisy = pattern(w, h, 7);
    let smooth: Vec<u8> = (0..w * h)
        .flat_map(|i| [((i % w) * 255 / w) as u8, ((i / w) * 255 / h) as u8, 90])
        .collect();
    for f in [
        SamplingFactor::F_1_1,
        SamplingFactor::F_2_1,
        SamplingFactor::F_2_2,
    ] {
        for restart in [0, 3] {
            let e = error(&encode(&smooth, w, h, f, restart, ColorType::Rgb), 328, 200);
            assert!(e < 1.5, "{f:?} restart {restart}: mean error {e}");
            // Subsampled chroma in noise: `jpeg-decoder` upsamples with a triangle filter,
            // we replicate; that alone makes a few levels of difference.
            let e = error(&encode(&noisy, w, h, f, restart, ColorType::Rgb), 328, 200);
            let limit = if matches!(f, SamplingFactor::F_1_1) {
                1.0
            } else {
                8.0
            };
            assert!(e < limit, "{f:?} restart {restart}: noisy mean error {e}");
        }
    }
    let grey: Vec<u8> = noisy.chunks(3).map(|p| p[1]).collect();
    let j = encode(&grey, w, h, SamplingFactor::F_1_1, 0, ColorType::Luma);
    let e = error(&j, w as usize, h as usize);
    assert!(e < 1.0, "grey: mean error {e}");
}

/// MJPEG cameras leave out the DHT segments and rely on the standard tables.
#[test]
fn frames_without_huffman_tables_use_the_standard_ones() {
    let (w, h) = (160u32, 120u32);
    let j = encode(
        &pattern(w, h, 1),
        w,
        h,
        SamplingFactor::F_2_1,
        0,
        ColorType::Rgb,
    );
    let with = decode_quarter(&j).unwrap();
    let mut stripped = j[..2].to_vec();
    let mut i = 2;
    loop {
        let marker = j[i + 1];
        let len = u16::from_be_bytes([j[i + 2], j[i + 3]]) as usize;
        if marker != 0xC4 {
            stripped.extend_from_slice(&j[i..if marker == 0xDA { j.len() } else { i + 2 + len }]);
        }
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    assert!(stripped.len() < j.len());
    assert!(to_rgb(&decode_quarter(&stripped).unwrap()) == to_rgb(&with));
}

#[test]
fn declines_what_it_does_not_handle_and_survives_garbage() {
    let (w, h) = (64u32, 48u32);
    let rgb = pattern(w, h, 2);
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, 80);
    e.set_progressive(true);
    e.encode(&rgb, w as u16, h as u16, ColorType::Rgb).unwrap();
    assert!(decode_quarter(&out).is_none());
    assert!(decode_quarter(b"nope").is_none());
    let j = encode(&rgb, w, h, SamplingFactor::F_2_2, 0, ColorType::Rgb);
    let mut rng = fastrand::Rng::with_seed(5);
    for cut in 0..j.len() {
        let _ = decode_quarter(&j[..cut]);
    }
    for _ in 0..500 {
        let mut bad = j.clone();
        for _ in 0..4 {
            let k = rng.usize(2..bad.len());
            bad[k] = rng.u8(..);
        }
        let _ = decode_quarter(&bad);
    }
}

/// Restart markers reset the DC predictions and realign the reader on a byte boundary; any
/// interval must give exactly the pixels of the same frame without them.
#[test]
fn restart_intervals_give_the_same_pixels() {
    use crate::recorder::camera::synthetic::scene;
    let (w, h) = (344u32, 200u32);
    for rgb in [scene(w, h, 1), pattern(w, h, 4)] {
        for f in [SamplingFactor::F_1_1, SamplingFactor::F_2_2] {
            let plain = decode_quarter(&encode(&rgb, w, h, f, 0, ColorType::Rgb)).unwrap();
            for restart in [1, 2, 7, 64] {
                let j = encode(&rgb, w, h, f, restart, ColorType::Rgb);
                assert!(j.windows(2).any(|m| m == [0xFF, 0xD0]), "has RST0");
                let q = decode_quarter(&j).unwrap();
                assert!(to_rgb(&q) == to_rgb(&plain), "{f:?} restart {restart}");
            }
        }
    }
}

/// Entropy-coded bytes for `bits` (MSB first, padded with 1s as encoders do), 0xFF stuffed
/// as 0xFF 0x00, followed by an EOI marker.
fn stuff(bits: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bits.chunks(8) {
        let mut b = 0u8;
        for i in 0..8 {
            b = b << 1 | u8::from(*chunk.get(i).unwrap_or(&true));
        }
        out.push(b);
        if b == 0xFF {
            out.push(0);
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// The bit reader against the plain bytes: 0xFF 0x00 at every offset from the eight-byte
/// fast refill's chunk boundaries, reads of every width, zeros after the marker.
#[test]
fn bit_reader_unstuffs_at_every_offset_and_stops_at_the_marker() {
    use super::huffman::Bits;
    let mut rng = fastrand::Rng::with_seed(9);
    for case in 0..400 {
        // Mostly 0xFF in some cases, none in others, a few in most.
        let ff = [0, 2, 30, 90][case % 4];
        let n = rng.usize(1..80);
        let lead = case % 17; // shifts the 0xFF bytes across the chunk boundaries
        let plain: Vec<u8> = (0..lead + n)
            .map(|i| {
                if i >= lead && rng.u8(..100) < ff {
                    0xFF
                } else {
                    rng.u8(..0xFF)
                }
            })
            .collect();
        let bits: Vec<bool> = plain
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1))
            .collect();
        let data = stuff(&bits);
        let mut r = Bits::new(&data, 0);
        let mut at = 0;
        while at < bits.len() + 64 {
            let k = rng.u32(0..=16);
            let expect = (0..k as usize).fold(0u32, |v, i| {
                v << 1 | u32::from(*bits.get(at + i).unwrap_or(&false))
            });
            assert_eq!(r.take(k), expect, "case {case} at bit {at} width {k}");
            at += k as usize;
        }
    }
}

/// Canonical codes of a DHT table: symbol → (code, length).
fn codes(bits: &[u8; 16], vals: &[u8]) -> Vec<(u8, u32, u32)> {
    let (mut code, mut k, mut out) = (0u32, 0usize, Vec::new());
    for len in 1..=16u32 {
        for _ in 0..bits[len as usize - 1] {
            out.push((vals[k], code, len));
            k += 1;
            code += 1;
        }
        code <<= 1;
    }
    out
}

/// Every path of the Huffman decoder — code and value in one look-up, code in the look-up and
/// value read after, codes longer than the look-up (up to 16 bits), end of block, sixteen
/// zeros, negative values — against symbols encoded here with the standard tables.
#[test]
fn huffman_paths_agree_with_the_canonical_codes() {
    use super::headers::{AC0_BITS, AC0_VALS, DC1_BITS, DC1_VALS};
    use super::huffman::{Bits, Huff, EOB_RUN, FAST};
    let ac = Huff::new(&AC0_BITS, &AC0_VALS, true).unwrap();
    let dc = Huff::new(&DC1_BITS, &DC1_VALS, false).unwrap();
    let (ac_codes, dc_codes) = (codes(&AC0_BITS, &AC0_VALS), codes(&DC1_BITS, &DC1_VALS));
    let mut rng = fastrand::Rng::with_seed(3);
    let mut bits = Vec::new();
    let mut expect = Vec::new();
    let mut paths = [0usize; 3]; // one look-up, split, long code
    for i in 0..20_000 {
        let is_dc = i % 7 == 0;
        let (sym, code, len) = if is_dc {
            dc_codes[rng.usize(..dc_codes.len())]
        } else {
            ac_codes[rng.usize(..ac_codes.len())]
        };
        let size = if is_dc { sym as u32 } else { sym as u32 & 15 };
        let raw = if size == 0 { 0 } else { rng.u32(..1 << size) };
        let value = if size == 0 {
            0
        } else if raw < 1 << (size - 1) {
            raw as i32 - (1 << size) + 1
        } else {
            raw as i32
        };
        let run = match (is_dc, sym) {
            (true, _) => 0,
            (false, 0) => EOB_RUN,
            (false, s) => (s >> 4) as usize,
        };
        paths[if len + size <= FAST {
            0
        } else if len <= FAST {
            1
        } else {
            2
        }] += 1;
        bits.extend((0..len).rev().map(|b| code >> b & 1 == 1));
        bits.extend((0..size).rev().map(|b| raw >> b & 1 == 1));
        expect.push((is_dc, run, value));
    }
    assert!(
        paths.iter().all(|&p| p > 100),
        "every path exercised: {paths:?}"
    );
    let data = stuff(&bits);
    assert!(data.windows(2).filter(|w| w == &[0xFF, 0]).count() > 10);
    let mut r = Bits::new(&data, 0);
    for (i, &(is_dc, run, value)) in expect.iter().enumerate() {
        let got = r.next(if is_dc { &dc } else { &ac });
        assert_eq!(got, Some((run, value)), "symbol {i}");
    }
}

/// The fuzz seed and regression corpus (`fuzz/corpus/`), replayed through the same steps as
/// the fuzz targets: nothing panics. The input the fuzzer found hanging — a header declaring a
/// 1280×32528 frame over 691 bytes, "decoded" from zero fill block by block for over a second;
/// then 65295×65535 over 716 bytes, 17 s — is now refused at once by the decoder (the data ran
/// out) and by the preview (too large).
#[test]
fn fuzz_corpus_replays_without_panics_and_the_hang_is_gone() {
    use crate::recorder::{footage::meta, jpeg, thumbnail};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut n = 0;
    for target in ["jpeg_parse", "thumbnail"] {
        for e in std::fs::read_dir(root.join(target)).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            let _ = jpeg::dimensions(&data);
            let _ = jpeg::trim_to_eoi(&data);
            let _ = meta::extract(&data);
            if let Some(f) = Frame::parse(&data) {
                let _ = f.decode_quarter(&data);
            }
            let _ = thumbnail::make(&data);
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} corpus files");
    let bad = std::fs::read(root.join("jpeg_parse/regress-huge-frame-few-bytes.jpg")).unwrap();
    let f = Frame::parse(&bad).unwrap();
    assert_eq!(f.size(), (1280, 32528));
    assert!(f.decode_quarter(&bad).is_none());
    let e = thumbnail::make(&bad).unwrap_err().to_string();
    assert!(
        e.contains("more than any camera this device accepts"),
        "{e}"
    );
}
