//! A small baseline-JPEG decoder that reconstructs a frame at exactly 1/4 scale from its DCT
//! coefficients, for thumbnails: each output pixel is the mean of a 4×4 quadrant of an 8×8
//! block, which depends only on the coefficients whose horizontal and vertical frequencies are
//! 0 or odd (the even ones integrate to zero over half a block). So no IDCT, no full-size
//! planes, no threads: Huffman-decode every coefficient (unavoidable to find the next block),
//! accumulate the 25 that matter into 4 sums, colour-convert the 1/4-size planes.
//!
//! Handles what cameras send: baseline / extended Huffman, 8-bit, one interleaved scan, any
//! sampling factors, restart intervals, and MJPEG's missing Huffman tables (the standard
//! tables of Annex K). Anything else (progressive, arithmetic, 12-bit, Adobe transforms,
//! multi-scan) returns `None` and the caller falls back to `jpeg-decoder`.
//!
//! Never panics on malformed input (bounds are checked; corrupt entropy data yields `None` or
//! a garbled preview, never a crash).

/// An RGB8 image at 1/4 of the frame's size (rounded up).
pub struct Quarter {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

/// Natural (row-major) index of each zig-zag position.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

struct Huff {
    /// Codes up to `FAST` bits: `(length << 8) | symbol`, 0 when longer.
    fast: Vec<u16>,
    /// AC only: code and value bits together within `FAST` bits, decoded in one look-up:
    /// `(value << 8) | (run << 4) | total length`, 0 when not possible.
    fast_ac: Vec<i16>,
    maxcode: [i32; 17],
    valptr: [i32; 17],
    vals: Vec<u8>,
}

const FAST: u32 = 9;

impl Huff {
    fn new(bits: &[u8], vals: &[u8]) -> Option<Huff> {
        let total: usize = bits.iter().map(|&b| b as usize).sum();
        if bits.len() != 16 || total > 256 || total > vals.len() {
            return None;
        }
        let mut h = Huff {
            fast: vec![0; 1 << FAST],
            fast_ac: vec![0; 1 << FAST],
            maxcode: [-1; 17],
            valptr: [0; 17],
            vals: vals[..total].to_vec(),
        };
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            let n = bits[len as usize - 1] as u32;
            h.valptr[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= 1 << len {
                    return None; // over-subscribed table
                }
                if len <= FAST {
                    let shift = FAST - len;
                    let entry = ((len as u16) << 8) | vals[k] as u16;
                    for f in (code << shift)..((code + 1) << shift) {
                        h.fast[f as usize] = entry;
                    }
                }
                k += 1;
                code += 1;
            }
            if n > 0 {
                h.maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        for i in 0..1usize << FAST {
            let f = h.fast[i];
            if f == 0 {
                continue;
            }
            let (len, rs) = ((f >> 8) as u32, (f & 0xFF) as u32);
            let (run, size) = (rs >> 4, rs & 15);
            if size == 0 || len + size > FAST {
                continue;
            }
            let mut v = ((i as u32) << len & ((1 << FAST) - 1)) >> (FAST - size);
            if v < 1 << (size - 1) {
                v = v.wrapping_add((!0u32 << size).wrapping_add(1));
            }
            let v = v as i32;
            if (-128..=127).contains(&v) {
                h.fast_ac[i] = ((v << 8) | (run << 4) as i32 | (len + size) as i32) as i16;
            }
        }
        Some(h)
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    at_marker: bool,
}

impl Bits<'_> {
    /// Top up `acc` to at least 57 bits: eight bytes at once when none of them is 0xFF (no
    /// stuffing, no marker), else byte by byte.
    #[inline(always)]
    fn refill(&mut self) {
        if !self.at_marker && self.n <= 56 {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let w = u64::from_be_bytes(chunk.try_into().unwrap_or([0xFF; 8]));
                let x = !w; // a 0xFF byte of w is a zero byte of x
                if x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 == 0 {
                    let take = (64 - self.n) / 8;
                    self.acc |= (w >> (64 - take * 8)) << (64 - self.n - take * 8);
                    self.pos += take as usize;
                    self.n += take * 8;
                    return;
                }
            }
        }
        self.refill_slow();
    }

    #[inline(always)]
    fn refill_slow(&mut self) {
        // By value, so the hot loop keeps the reader in registers.
        (self.pos, self.acc, self.n, self.at_marker) =
            refill_bytes(self.data, self.pos, self.acc, self.n, self.at_marker);
    }

    #[inline(always)]
    fn decode(&mut self, h: &Huff) -> Option<u8> {
        if self.n < 16 {
            self.refill();
        }
        let peek = (self.acc >> 48) as u32;
        let f = h.fast[(peek >> (16 - FAST)) as usize];
        if f != 0 {
            self.consume((f >> 8) as u32);
            return Some(f as u8);
        }
        for len in FAST + 1..=16 {
            let c = (peek >> (16 - len)) as i32;
            if c <= h.maxcode[len as usize] {
                self.consume(len);
                return h.vals.get((c + h.valptr[len as usize]) as usize).copied();
            }
        }
        None
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.acc <<= k;
        self.n -= k;
    }

    /// `s` more bits as a signed coefficient (JPEG's EXTEND).
    #[inline(always)]
    fn receive_extend(&mut self, s: u32) -> i32 {
        if s == 0 {
            return 0;
        }
        if self.n < s {
            self.refill();
        }
        let v = (self.acc >> (64 - s)) as i32;
        self.consume(s);
        if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        }
    }

    /// Skip to just past the next RSTn marker.
    #[inline(always)]
    fn restart(&mut self) -> Option<()> {
        self.acc = 0;
        self.n = 0;
        self.at_marker = false;
        while self.data.get(self.pos) == Some(&0xFF) && self.data.get(self.pos + 1) == Some(&0xFF) {
            self.pos += 1;
        }
        match self.data.get(self.pos..self.pos + 2) {
            Some([0xFF, m]) if (0xD0..=0xD7).contains(m) => {
                self.pos += 2;
                Some(())
            }
            _ => None,
        }
    }
}

/// Byte-by-byte refill: 0xFF 0x00 is a stuffed 0xFF; at a marker, zeros are fed instead.
#[cold]
#[inline(never)]
fn refill_bytes(
    data: &[u8],
    mut pos: usize,
    mut acc: u64,
    mut n: u32,
    mut at_marker: bool,
) -> (usize, u64, u32, bool) {
    while n <= 56 {
        let mut b = 0u8;
        if !at_marker && pos < data.len() {
            b = data[pos];
            if b == 0xFF {
                if data.get(pos + 1) == Some(&0) {
                    pos += 2;
                } else {
                    at_marker = true;
                    b = 0;
                }
            } else {
                pos += 1;
            }
        }
        acc |= (b as u64) << (56 - n);
        n += 8;
    }
    (pos, acc, n, at_marker)
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
}

/// Weights of each zig-zag coefficient in the quadrant means, with the signs for the right
/// (`su`), lower (`sv`) quadrants.
struct Weights {
    w: [[f32; 64]; 4],
    su: [f32; 64],
    sv: [f32; 64],
}

fn weights(qt: &[[u16; 64]; 4]) -> Weights {
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
    let mut out = Weights {
        w: [[0.0; 64]; 4],
        su: [1.0; 64],
        sv: [1.0; 64],
    };
    for k in 0..64 {
        let (v, u) = (ZIGZAG[k] / 8, ZIGZAG[k] % 8);
        for (t, q) in qt.iter().enumerate() {
            out.w[t][k] = q[k] as f32 * a(u) * a(v);
        }
        out.su[k] = if u % 2 == 1 { -1.0 } else { 1.0 };
        out.sv[k] = if v % 2 == 1 { -1.0 } else { 1.0 };
    }
    out
}

/// Decode `jpeg` at 1/4 scale, or `None` if it is not a JPEG this decoder handles.
pub fn decode_quarter(jpeg: &[u8]) -> Option<Quarter> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut qt = [[0u16; 64]; 4];
    let mut have_qt = [false; 4];
    let (mut dc, mut ac): ([Option<Huff>; 4], [Option<Huff>; 4]) = Default::default();
    let mut comps: Vec<Component> = Vec::new();
    let (mut width, mut height) = (0usize, 0usize);
    let mut restart_interval = 0usize;
    let mut i = 2;
    let (scan, data_start) = loop {
        while jpeg.get(i) == Some(&0xFF) && jpeg.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *jpeg.get(i)? != 0xFF {
            return None;
        }
        let marker = *jpeg.get(i + 1)?;
        let len = u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]) as usize;
        let seg = jpeg.get(i + 4..i + 2 + len.checked_sub(2)? + 2)?;
        i += 2 + len;
        match marker {
            0xDB => {
                let mut s = seg;
                while !s.is_empty() {
                    let (pq, tq) = ((s[0] >> 4) as usize, (s[0] & 15) as usize);
                    if tq > 3 || pq > 1 {
                        return None;
                    }
                    let n = 64 * (pq + 1);
                    let body = s.get(1..1 + n)?;
                    for k in 0..64 {
                        qt[tq][k] = if pq == 0 {
                            body[k] as u16
                        } else {
                            u16::from_be_bytes([body[2 * k], body[2 * k + 1]])
                        };
                    }
                    have_qt[tq] = true;
                    s = &s[1 + n..];
                }
            }
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    let (tc, th) = (s[0] >> 4, (s[0] & 15) as usize);
                    let bits = s.get(1..17)?;
                    let total: usize = bits.iter().map(|&b| b as usize).sum();
                    let vals = s.get(17..17 + total)?;
                    let h = Huff::new(bits, vals)?;
                    match (tc, th) {
                        (0, 0..=3) => dc[th] = Some(h),
                        (1, 0..=3) => ac[th] = Some(h),
                        _ => return None,
                    }
                    s = &s[17 + total..];
                }
            }
            0xC0 | 0xC1 => {
                if *seg.first()? != 8 {
                    return None;
                }
                height = u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]) as usize;
                width = u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]) as usize;
                let nf = *seg.get(5)? as usize;
                for c in 0..nf {
                    let b = seg.get(6 + 3 * c..9 + 3 * c)?;
                    let (h, v) = ((b[1] >> 4) as usize, (b[1] & 15) as usize);
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || b[2] > 3 {
                        return None;
                    }
                    comps.push(Component {
                        id: b[0],
                        h,
                        v,
                        tq: b[2] as usize,
                    });
                }
            }
            // Progressive, lossless, arithmetic, hierarchical: not ours.
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDD => restart_interval = u16::from_be_bytes([*seg.first()?, *seg.get(1)?]) as usize,
            0xEE => return None, // Adobe: colour transform may not be YCbCr
            0xDA => break (seg, i),
            0xD9 => return None,
            _ => {}
        }
    };
    let nf = comps.len();
    if width == 0 || height == 0 || !(nf == 1 || nf == 3) || *scan.first()? as usize != nf {
        return None;
    }
    // Scan header: Ns, then (component id, Td/Ta), then Ss=0, Se=63, Ah/Al=0 for baseline.
    let mut tables = Vec::with_capacity(nf);
    for (c, comp) in comps.iter().enumerate() {
        let b = scan.get(1 + 2 * c..3 + 2 * c)?;
        if b[0] != comp.id {
            return None;
        }
        let (td, ta) = ((b[1] >> 4) as usize, (b[1] & 15) as usize);
        if td > 3 || ta > 3 || !have_qt[comp.tq] {
            return None;
        }
        tables.push((td, ta));
    }
    if scan.get(1 + 2 * nf..4 + 2 * nf)? != [0, 63, 0] {
        return None;
    }
    let defaults = default_tables();
    let (mut dflt_dc, mut dflt_ac) = defaults;
    for &(td, ta) in &tables {
        if dc[td].is_none() {
            dc[td] = dflt_dc[td.min(1)].take();
        }
        if ac[ta].is_none() {
            ac[ta] = dflt_ac[ta.min(1)].take();
        }
        dc[td].as_ref()?;
        ac[ta].as_ref()?;
    }
    let wts = weights(&qt);
    // Per quantisation table, the coefficients that matter: (zig-zag index, weight, su, sv).
    let terms: Vec<Vec<(usize, f32, f32, f32)>> = (0..4)
        .map(|t| {
            (0..64)
                .filter(|&k| wts.w[t][k] != 0.0)
                .map(|k| (k, wts.w[t][k], wts.su[k], wts.sv[k]))
                .collect()
        })
        .collect();

    let hmax = comps.iter().map(|c| c.h).max()?;
    let vmax = comps.iter().map(|c| c.v).max()?;
    // Blocks per line / column of each component's plane, and MCUs.
    let (mcux, mcuy, blocks): (usize, usize, Vec<(usize, usize)>) = if nf == 1 {
        let (bw, bh) = (width.div_ceil(8), height.div_ceil(8));
        (bw, bh, vec![(bw, bh)])
    } else {
        let (mx, my) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
        (mx, my, comps.iter().map(|c| (mx * c.h, my * c.v)).collect())
    };
    let mut planes: Vec<Vec<u8>> = blocks
        .iter()
        .map(|&(bw, bh)| vec![0; bw * bh * 4])
        .collect();
    let mut bits = Bits {
        data: jpeg,
        pos: data_start,
        acc: 0,
        n: 0,
        at_marker: false,
    };
    let mut pred = [0i32; 3];
    let total_mcus = mcux * mcuy;
    for m in 0..total_mcus {
        if restart_interval > 0 && m > 0 && m % restart_interval == 0 {
            bits.restart()?;
            pred = [0; 3];
        }
        let (mx, my) = (m % mcux, m / mcux);
        for (c, comp) in comps.iter().enumerate() {
            let (td, ta) = tables[c];
            let (dct, act) = (dc[td].as_ref()?, ac[ta].as_ref()?);
            let (bh_, bv_) = if nf == 1 { (1, 1) } else { (comp.h, comp.v) };
            let pw = blocks[c].0 * 2;
            for by in 0..bv_ {
                for bx in 0..bh_ {
                    let s = bits.decode(dct)? as u32;
                    if s > 11 {
                        return None;
                    }
                    pred[c] += bits.receive_extend(s);
                    let mut blk = [0i32; 64];
                    blk[0] = pred[c];
                    let mut k = 1usize;
                    while k < 64 {
                        if bits.n < 32 {
                            bits.refill();
                        }
                        let fa = act.fast_ac[(bits.acc >> (64 - FAST)) as usize];
                        if fa != 0 {
                            k += ((fa >> 4) & 15) as usize;
                            bits.consume((fa & 15) as u32);
                            *blk.get_mut(k)? = (fa >> 8) as i32;
                            k += 1;
                            continue;
                        }
                        let rs = bits.decode(act)? as usize;
                        let (r, s) = (rs >> 4, (rs & 15) as u32);
                        if s == 0 {
                            if r != 15 {
                                break;
                            }
                            k += 16;
                            continue;
                        }
                        k += r;
                        if s > 10 {
                            return None;
                        }
                        *blk.get_mut(k)? = bits.receive_extend(s);
                        k += 1;
                    }
                    let mut acc = [0f32; 4];
                    for t in &terms[comp.tq] {
                        let v = blk[t.0] as f32 * t.1;
                        acc[0] += v;
                        acc[1] += t.2 * v;
                        acc[2] += t.3 * v;
                        acc[3] += t.2 * t.3 * v;
                    }
                    let (px, py) = ((mx * bh_ + bx) * 2, (my * bv_ + by) * 2);
                    let p = &mut planes[c];
                    let q = |a: f32| (a + 128.5).clamp(0.0, 255.0) as u8;
                    p[py * pw + px] = q(acc[0]);
                    p[py * pw + px + 1] = q(acc[1]);
                    p[(py + 1) * pw + px] = q(acc[2]);
                    p[(py + 1) * pw + px + 1] = q(acc[3]);
                }
            }
        }
    }

    let (qw, qh) = (width.div_ceil(4), height.div_ceil(4));
    let mut rgb = Vec::with_capacity(qw * qh * 3);
    if nf == 1 {
        let pw = blocks[0].0 * 2;
        for y in 0..qh {
            for &l in &planes[0][y * pw..y * pw + qw] {
                rgb.extend_from_slice(&[l, l, l]);
            }
        }
    } else {
        let idx: Vec<(usize, usize, usize)> = comps
            .iter()
            .zip(&blocks)
            .map(|(c, &(bw, _))| (c.h, c.v, bw * 2))
            .collect();
        let xs: Vec<[usize; 3]> = (0..qw)
            .map(|x| [0, 1, 2].map(|c| x * idx[c].0 / hmax))
            .collect();
        for y in 0..qh {
            let rows = [0, 1, 2].map(|c| (y * idx[c].1 / vmax) * idx[c].2);
            for xc in &xs {
                let yy = planes[0][rows[0] + xc[0]] as f32;
                let cb = planes[1][rows[1] + xc[1]] as f32 - 128.0;
                let cr = planes[2][rows[2] + xc[2]] as f32 - 128.0;
                let q = |a: f32| (a + 0.5).clamp(0.0, 255.0) as u8;
                rgb.extend_from_slice(&[
                    q(yy + 1.402 * cr),
                    q(yy - 0.344_136 * cb - 0.714_136 * cr),
                    q(yy + 1.772 * cb),
                ]);
            }
        }
    }
    Some(Quarter {
        width: qw as u32,
        height: qh as u32,
        rgb,
    })
}

type Tables = ([Option<Huff>; 2], [Option<Huff>; 2]);

/// The standard Huffman tables (ITU T.81 Annex K.3), which MJPEG frames omit.
fn default_tables() -> Tables {
    (
        [
            Huff::new(&DC0_BITS, &DC0_VALS),
            Huff::new(&DC1_BITS, &DC1_VALS),
        ],
        [
            Huff::new(&AC0_BITS, &AC0_VALS),
            Huff::new(&AC1_BITS, &AC1_VALS),
        ],
    )
}

const DC0_BITS: [u8; 16] = [
    0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const DC0_VALS: [u8; 12] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
];
const DC1_BITS: [u8; 16] = [
    0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
];
const DC1_VALS: [u8; 12] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
];
const AC0_BITS: [u8; 16] = [
    0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7D,
];
const AC0_VALS: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
];
const AC1_BITS: [u8; 16] = [
    0x00, 0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77,
];
const AC1_VALS: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
    0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
    0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
    0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
    0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
    0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::camera::synthetic::pattern;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    fn encode(
        rgb: &[u8],
        w: u32,
        h: u32,
        f: SamplingFactor,
        restart: u16,
        ct: ColorType,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out, 85);
        e.set_sampling_factor(f);
        e.set_restart_interval(restart);
        e.encode(rgb, w as u16, h as u16, ct).unwrap();
        out
    }

    /// Mean absolute difference between ours and 4×4 means of a full `jpeg-decoder` decode.
    fn error(jpeg: &[u8], w: usize, h: usize) -> f64 {
        let q = decode_quarter(jpeg).expect("handled");
        assert_eq!(
            (q.width as usize, q.height as usize),
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
                    let ours = q.rgb[(y * q.width as usize + x) * 3 + c] as f64;
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
                stripped
                    .extend_from_slice(&j[i..if marker == 0xDA { j.len() } else { i + 2 + len }]);
            }
            if marker == 0xDA {
                break;
            }
            i += 2 + len;
        }
        assert!(stripped.len() < j.len());
        assert_eq!(decode_quarter(&stripped).unwrap().rgb, with.rgb);
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
}
