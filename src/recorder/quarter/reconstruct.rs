//! From coefficients to pixels: the weights that turn an 8×8 block's coefficients into the
//! means of its four 4×4 quadrants, the scan loop that decodes every block and accumulates
//! them into the 1/4-size planes of each component (no colour conversion: thumbnails are
//! resized and re-encoded in YCbCr).
//!
//! Coefficients whose weight is zero (an even, non-zero frequency in either direction) are
//! still decoded — they must be, to find the next one — but cost no dequantisation or
//! storage: every coefficient is accumulated branch-free with its weights, which are 0 for
//! those and for positions past the block (where end-of-block lands). The four sums are
//! fixed-point lanes of one integer word, so a coefficient costs one multiply and one add.

use super::headers::Frame;
use super::huffman::Bits;
use super::{Plane, Quarter, ZIGZAG};

/// Fraction bits of the fixed-point quadrant sums. A lane holds ±32767, so a quadrant mean
/// (pixel − 128) must stay within ±255 — it does for any JPEG an encoder made (corrupt data
/// only garbles its own preview). Weights are rounded to 1/128 of a level per unit of
/// coefficient; the DC weight (q/8) is exact.
const F: u32 = 7;

/// Per zig-zag position (and past the block, zero): the dequantised weights of a coefficient
/// in the means of the top-left, top-right, bottom-left and bottom-right quadrants, in fixed
/// point, packed as four 16-bit lanes of one word (top-left lowest). One wrapping multiply and
/// add then updates all four sums: the word is Σ sumᵢ·2¹⁶ⁱ modulo 2⁶⁴ whatever carries cross
/// lanes on the way, so each sum comes out exact as long as its final value fits its lane.
type Weights = [u64; 128];

/// Four signed lanes as one word (modulo 2⁶⁴).
fn pack(lanes: [i64; 4]) -> u64 {
    (0..4).fold(0u64, |w, i| {
        w.wrapping_add((lanes[i] as u64).wrapping_shl(16 * i as u32))
    })
}

/// The four signed lanes of a packed sum.
fn unpack(mut w: u64) -> [i32; 4] {
    let mut out = [0; 4];
    for o in &mut out {
        let lane = w as u16 as i16 as i64;
        *o = lane as i32;
        w = w.wrapping_sub(lane as u64) >> 16;
    }
    out
}

fn weights(q: &[u16; 64]) -> Box<Weights> {
    // a(f) = C(f) · mean over x = 0..4 of cos((2x+1)fπ/16) / 2, with C(0) = 1/√2.
    let a = |f: usize| -> f64 {
        if f == 0 {
            return std::f64::consts::FRAC_1_SQRT_2 / 2.0;
        }
        if f.is_multiple_of(2) {
            return 0.0;
        }
        let m: f64 = (0..4)
            .map(|x| ((2 * x + 1) as f64 * f as f64 * std::f64::consts::PI / 16.0).cos())
            .sum::<f64>()
            / 4.0;
        m / 2.0
    };
    let mut w = Box::new([0u64; 128]);
    for k in 0..64 {
        let (v, u) = (ZIGZAG[k] / 8, ZIGZAG[k] % 8);
        let x = (q[k] as f64 * a(u) * a(v) * (1 << F) as f64).round() as i64;
        let su = if u % 2 == 1 { -1 } else { 1 };
        let sv = if v % 2 == 1 { -1 } else { 1 };
        w[k] = pack([x, x * su, x * sv, x * su * sv]);
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
    let q = |a: i32| ((a + (128 << F) + (1 << (F - 1))) >> F).clamp(0, 255) as u8;
    // MCUs left before the next restart marker (none if the interval is 0).
    let mut to_restart = f.restart_interval;
    for (my, mx) in (0..mcuy).flat_map(|y| (0..mcux).map(move |x| (y, x))) {
        if f.restart_interval > 0 {
            if to_restart == 0 {
                bits.restart()?;
                pred = [0; 3];
                to_restart = f.restart_interval;
            }
            to_restart -= 1;
        }
        if bits.starved() {
            return None;
        }
        for (c, &(dct, act, w, bh, bv)) in parts.iter().enumerate() {
            let pw = blocks[c].0 * 2;
            for by in 0..bv {
                for bx in 0..bh {
                    pred[c] = pred[c].wrapping_add(bits.next(dct)?.1);
                    let mut sums = (pred[c] as i64 as u64).wrapping_mul(w[0]);
                    bits.ac_block(act, |k, v| {
                        sums = sums.wrapping_add((v as i64 as u64).wrapping_mul(w[k & 127]));
                    })?;
                    let [a0, a1, a2, a3] = unpack(sums);
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

#[cfg(test)]
mod tests {
    use super::{pack, unpack};

    /// Four sums kept in one word come out exact when each final sum fits its lane, however
    /// far the products and partial sums overflow their lanes on the way.
    #[test]
    fn packed_sums_are_exact_despite_overflow_on_the_way() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..2_000 {
            let mut word = 0u64;
            let mut exact = [0i64; 4];
            for _ in 0..rng.usize(1..64) {
                let v = rng.i64(-2047..=2047);
                let w = [0; 4].map(|_| rng.i64(-4000..=4000));
                word = word.wrapping_add((v as u64).wrapping_mul(pack(w)));
                for (e, wi) in exact.iter_mut().zip(w) {
                    *e += v * wi;
                }
            }
            // Bring each final sum back into a lane's range, as a real block's are.
            let fix = exact.map(|e| rng.i64(-32_768..32_768) - e);
            let word = word.wrapping_add(pack(fix));
            let want: [i64; 4] = std::array::from_fn(|i| exact[i] + fix[i]);
            assert_eq!(unpack(word).map(i64::from), want);
        }
    }
}
