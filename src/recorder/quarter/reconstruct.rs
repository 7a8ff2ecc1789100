//! From coefficients to pixels: the weights that turn an 8×8 block's coefficients into the
//! means of its four 4×4 quadrants, the scan loop that decodes every block and accumulates
//! them into the 1/4-size planes of each component (no colour conversion: thumbnails are
//! resized and re-encoded in YCbCr).
//!
//! Coefficients whose weight is zero (an even, non-zero frequency in either direction) are
//! still decoded — they must be, to find the next one — but cost no dequantisation or
//! storage: every coefficient is accumulated branch-free with its weights, which are 0 for
//! those and for positions past the block (where end-of-block lands).

use super::headers::Frame;
use super::huffman::Bits;
use super::{Plane, Quarter, ZIGZAG};

/// Per zig-zag position (and past the block, zero): the dequantised weights of a coefficient
/// in the means of the top-left, top-right, bottom-left and bottom-right quadrants.
type Weights = [Row; 128];

/// One coefficient's four weights, aligned for one vector load.
#[derive(Clone, Copy)]
#[repr(align(16))]
struct Row([f32; 4]);

fn weights(q: &[u16; 64]) -> Box<Weights> {
    // a(f) = C(f) · mean over x = 0..4 of cos((2x+1)fπ/16) / 2, with C(0) = 1/√2.
    let a = |f: usize| -> f32 {
        if f == 0 {
            return std::f32::consts::FRAC_1_SQRT_2 / 2.0;
        }
        if f.is_multiple_of(2) {
            return 0.0;
        }
        let m: f32 = (0..4)
            .map(|x| ((2 * x + 1) as f32 * f as f32 * std::f32::consts::PI / 16.0).cos())
            .sum::<f32>()
            / 4.0;
        m / 2.0
    };
    let mut w = Box::new([Row([0.0; 4]); 128]);
    for k in 0..64 {
        let (v, u) = (ZIGZAG[k] / 8, ZIGZAG[k] % 8);
        let x = q[k] as f32 * a(u) * a(v);
        let su = if u % 2 == 1 { -1.0 } else { 1.0 };
        let sv = if v % 2 == 1 { -1.0 } else { 1.0 };
        w[k] = Row([x, x * su, x * sv, x * su * sv]);
    }
    w
}

/// Decode every block of the scan into 1/4-size planes (one byte per quadrant). `None` on
/// corrupt entropy data.
pub(super) fn decode(f: &Frame, jpeg: &[u8]) -> Option<Quarter> {
    let nf = f.comps.len();
    let hmax = f.comps.iter().map(|c| c.h).max()?;
    let vmax = f.comps.iter().map(|c| c.v).max()?;
    // Blocks per line / column of each component's plane, and MCUs.
    let (mcux, mcuy, blocks): (usize, usize, Vec<(usize, usize)>) = if nf == 1 {
        let (bw, bh) = (f.width.div_ceil(8), f.height.div_ceil(8));
        (bw, bh, vec![(bw, bh)])
    } else {
        let (mx, my) = (f.width.div_ceil(8 * hmax), f.height.div_ceil(8 * vmax));
        (
            mx,
            my,
            f.comps.iter().map(|c| (mx * c.h, my * c.v)).collect(),
        )
    };
    let mut planes: Vec<Vec<u8>> = blocks
        .iter()
        .map(|&(bw, bh)| vec![0; bw * bh * 4])
        .collect();
    let mut wts: [Option<Box<Weights>>; 4] = Default::default();
    for c in &f.comps {
        if wts[c.tq].is_none() {
            wts[c.tq] = Some(weights(&f.qt[c.tq]));
        }
    }
    let mut parts = Vec::with_capacity(nf);
    for (c, comp) in f.comps.iter().enumerate() {
        let (td, ta) = f.tables[c];
        let (bh, bv) = if nf == 1 { (1, 1) } else { (comp.h, comp.v) };
        parts.push((
            f.dc[td].as_ref()?,
            f.ac[ta].as_ref()?,
            wts[comp.tq].as_deref()?,
            bh,
            bv,
        ));
    }
    let mut bits = Bits::new(jpeg, f.data_start);
    let mut pred = [0i32; 3];
    let q = |a: f32| (a + 128.5).clamp(0.0, 255.0) as u8;
    for m in 0..mcux * mcuy {
        if f.restart_interval > 0 && m > 0 && m % f.restart_interval == 0 {
            bits.restart()?;
            pred = [0; 3];
        }
        let (mx, my) = (m % mcux, m / mcux);
        for (c, &(dct, act, w, bh, bv)) in parts.iter().enumerate() {
            let pw = blocks[c].0 * 2;
            for by in 0..bv {
                for bx in 0..bh {
                    pred[c] = pred[c].wrapping_add(bits.next(dct)?.1);
                    let dc = pred[c] as f32 * w[0].0[0];
                    // Four scalars, not an array: they stay in registers.
                    let (mut a0, mut a1, mut a2, mut a3) = (dc, dc, dc, dc);
                    bits.ac_block(act, |k, v| {
                        let wk = &w[k & 127].0;
                        a0 += v * wk[0];
                        a1 += v * wk[1];
                        a2 += v * wk[2];
                        a3 += v * wk[3];
                    })?;
                    let (px, py) = ((mx * bh + bx) * 2, (my * bv + by) * 2);
                    let p = planes[c].get_mut(py * pw + px..(py + 1) * pw + px + 2)?;
                    p[0] = q(a0);
                    p[1] = q(a1);
                    p[pw] = q(a2);
                    p[pw + 1] = q(a3);
                }
            }
        }
    }
    let planes = planes
        .into_iter()
        .zip(&blocks)
        .zip(&f.comps)
        .map(|((data, &(bw, _)), c)| {
            // A component's samples span ⌈width·h / hmax⌉ × ⌈height·v / vmax⌉ (T.81 A.1.1).
            let (ch, cv) = if nf == 1 { (1, 1) } else { (c.h, c.v) };
            let (hm, vm) = if nf == 1 { (1, 1) } else { (hmax, vmax) };
            Plane {
                data,
                stride: bw * 2,
                width: (f.width * ch).div_ceil(hm).div_ceil(4),
                height: (f.height * cv).div_ceil(vm).div_ceil(4),
            }
        })
        .collect();
    Some(Quarter { planes })
}
