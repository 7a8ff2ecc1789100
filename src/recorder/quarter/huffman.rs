//! Huffman decoding of the entropy-coded data: the look-up tables built from a DHT segment and
//! the bit reader (byte stuffing, markers, restart intervals).
//!
//! One look-up of the next `FAST` bits usually yields a whole coefficient: the code *and* its
//! value bits (`Huff::both`), with end-of-block and sixteen-zero runs as ordinary entries
//! (a run of 64 and a run of 15 with value 0), so the block loop has no branch for them.
//! When code and value do not fit in `FAST` bits, the symbol comes from `Huff::sym` and the
//! value bits are read separately; codes longer than `FAST` bits take the canonical
//! `maxcode` walk. All paths give the same result (see the tests).

/// Bits looked up at once. With 11, the two tables of a Huffman table take 12 KiB (the AC
/// loop reads only the 8 KiB `both`). On the 1080p noise benchmark frame (692,080 AC symbols
/// and 48,600 DC differences) the split path is taken 12,293 times with 11 bits, against
/// 26,912 with 10 and 9,170 with 12 (not worth doubling the tables again).
pub(super) const FAST: u32 = 11;
const FAST_SIZE: usize = 1 << FAST;

/// A run of this many zeros means end of block: it takes `k` past the last coefficient.
pub(super) const EOB_RUN: usize = 64;

pub(super) struct Huff {
    /// Codes up to `FAST` bits: `(length << 8) | symbol`, 0 when the code is longer.
    sym: Box<[u16; FAST_SIZE]>,
    /// Code and value bits together within `FAST` bits: `(value << 16) | (run << 8) | bits`,
    /// 0 when they do not fit. AC: `run` zeros precede the coefficient (EOB: `EOB_RUN`);
    /// DC: run 0, value the difference.
    both: Box<[i32; FAST_SIZE]>,
    maxcode: [i32; 17],
    valptr: [i32; 17],
    vals: Vec<u8>,
    ac: bool,
}

/// JPEG's EXTEND: `raw` (its top bit 0 = negative) as a signed `size`-bit value.
#[inline(always)]
fn extend(raw: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if raw < 1 << (size - 1) {
        raw as i32 - (1 << size) + 1
    } else {
        raw as i32
    }
}

impl Huff {
    /// Tables for a DHT entry (`bits`: codes of each length 1..=16; `vals`: symbols); `ac`
    /// says whether symbols are run/size pairs (AC) or sizes (DC).
    pub(super) fn new(bits: &[u8], vals: &[u8], ac: bool) -> Option<Huff> {
        let total: usize = bits.iter().map(|&b| b as usize).sum();
        if bits.len() != 16 || total > 256 || total > vals.len() {
            return None;
        }
        let mut h = Huff {
            sym: vec![0; FAST_SIZE].into_boxed_slice().try_into().ok()?,
            both: vec![0; FAST_SIZE].into_boxed_slice().try_into().ok()?,
            maxcode: [-1; 17],
            valptr: [0; 17],
            vals: vals[..total].to_vec(),
            ac,
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
                        h.sym[f as usize] = entry;
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
        for i in 0..FAST_SIZE {
            let f = h.sym[i];
            if f == 0 {
                continue;
            }
            let (len, s) = ((f >> 8) as u32, (f & 0xFF) as u32);
            let (run, size) = match (ac, s >> 4, s & 15) {
                (true, 0, 0) => (EOB_RUN as u32, 0),
                (true, 15, 0) => (15, 0),
                (true, _, 0) => continue, // not valid in baseline: the careful path decides
                (true, r, size) if size <= 10 => (r, size),
                (false, _, _) if s <= 11 => (0, s),
                _ => continue,
            };
            if len + size > FAST {
                continue;
            }
            let raw = ((i as u32) >> (FAST - len - size)) & ((1 << size) - 1);
            let v = extend(raw, size);
            h.both[i] = (v << 16) | (run << 8) as i32 | (len + size) as i32;
        }
        Some(h)
    }
}

/// The entropy-coded data being read: `acc` holds the next `n` bits at its top.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    at_marker: bool,
    /// Refills since the data ran out (a marker or the end): zeros are fed instead.
    starved: u32,
}

/// Refills of zeros past the end of the entropy data after which the data counts as corrupt:
/// a complete scan needs only the bits its last block reads ahead, a frame cut short (or a
/// header declaring a huge frame over a few bytes of data) would otherwise be "decoded" from
/// zeros block by block, work in proportion to the declared size (found by fuzzing).
pub(super) const MAX_STARVED: u32 = 64;

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Bits<'a> {
        Bits {
            data,
            pos,
            acc: 0,
            n: 0,
            at_marker: false,
            starved: 0,
        }
    }

    /// Whether the reader has fed more zeros past the data than any complete scan needs.
    #[inline(always)]
    pub(super) fn starved(&self) -> bool {
        self.starved > MAX_STARVED
    }

    /// Top up `acc` to at least 57 bits.
    #[inline(always)]
    fn refill(&mut self) {
        refill(
            self.data,
            &mut self.pos,
            &mut self.acc,
            &mut self.n,
            &mut self.at_marker,
        );
        if self.at_marker || self.pos >= self.data.len() {
            self.starved += 1;
        }
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.acc <<= k;
        self.n -= k;
    }

    /// The next coefficient: `(zeros before it, value)`. DC: `(0, difference)`. AC: end of
    /// block is `(EOB_RUN, 0)`, sixteen zeros `(15, 0)`. `None` on corrupt data.
    #[inline(always)]
    pub(super) fn next(&mut self, h: &Huff) -> Option<(usize, i32)> {
        if self.n < 16 {
            self.refill();
        }
        let e = h.both[(self.acc >> (64 - FAST)) as usize];
        if e != 0 {
            self.consume((e & 0xFF) as u32);
            return Some((((e >> 8) & 0xFF) as usize, e >> 16));
        }
        self.next_split(h)
    }

    /// The AC coefficients of one block: `each(k, value)` for each coefficient at zig-zag
    /// position `k` (1..=63), and once with `k` past 63 and value 0 at an end of block. The
    /// reader's state stays in locals on the fast path (a call to the split path would
    /// otherwise keep it in memory for the whole loop). `None` on corrupt data.
    #[inline(always)]
    pub(super) fn ac_block(&mut self, h: &Huff, mut each: impl FnMut(usize, i32)) -> Option<()> {
        let both = &*h.both;
        let (data, mut pos, mut acc, mut n, mut at_marker) =
            (self.data, self.pos, self.acc, self.n, self.at_marker);
        let mut k = 1usize;
        while k < 64 {
            if n < 16 {
                refill(data, &mut pos, &mut acc, &mut n, &mut at_marker);
                if at_marker || pos >= data.len() {
                    self.starved += 1;
                }
            }
            let e = both[(acc >> (64 - FAST)) as usize];
            let (run, v) = if e != 0 {
                let len = (e & 0xFF) as u32;
                acc <<= len;
                n -= len;
                (((e >> 8) & 0xFF) as usize, e >> 16)
            } else {
                (self.pos, self.acc, self.n, self.at_marker) = (pos, acc, n, at_marker);
                let r = self.next_split(h)?;
                (pos, acc, n, at_marker) = (self.pos, self.acc, self.n, self.at_marker);
                r
            };
            k += run;
            each(k, v);
            k += 1;
        }
        (self.pos, self.acc, self.n, self.at_marker) = (pos, acc, n, at_marker);
        Some(())
    }

    /// `next` when code and value do not fit in one look-up (n ≥ 16 here).
    #[inline(never)]
    fn next_split(&mut self, h: &Huff) -> Option<(usize, i32)> {
        let f = h.sym[(self.acc >> (64 - FAST)) as usize];
        let s = if f != 0 {
            self.consume((f >> 8) as u32);
            f as u8 as u32
        } else {
            self.long_code(h)? as u32
        };
        let (run, size) = if h.ac {
            match (s >> 4, s & 15) {
                (15, 0) => (15, 0),
                (_, 0) => return Some((EOB_RUN, 0)),
                (_, size) if size > 10 => return None,
                (r, size) => (r as usize, size),
            }
        } else if s > 11 {
            return None;
        } else {
            (0, s)
        };
        if self.n < size {
            self.refill();
        }
        let raw = if size == 0 {
            0
        } else {
            (self.acc >> (64 - size)) as u32
        };
        self.consume(size);
        Some((run, extend(raw, size)))
    }

    /// A code longer than `FAST` bits, by the canonical `maxcode` walk.
    fn long_code(&mut self, h: &Huff) -> Option<u8> {
        let peek = (self.acc >> 48) as u32;
        for len in FAST + 1..=16 {
            let c = (peek >> (16 - len)) as i32;
            if c <= h.maxcode[len as usize] {
                self.consume(len);
                return h.vals.get((c + h.valptr[len as usize]) as usize).copied();
            }
        }
        None
    }

    /// Skip to just past the next RSTn marker.
    pub(super) fn restart(&mut self) -> Option<()> {
        self.acc = 0;
        self.n = 0;
        self.at_marker = false;
        self.starved = 0;
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

    /// The next `k` (≤ 32) bits, for tests.
    #[cfg(test)]
    pub(super) fn take(&mut self, k: u32) -> u32 {
        if self.n < k {
            self.refill();
        }
        let v = if k == 0 {
            0
        } else {
            (self.acc >> (64 - k)) as u32
        };
        self.consume(k);
        v
    }
}

/// Top up `acc` to at least 57 bits: up to eight bytes at once when none of the next eight is
/// 0xFF (no stuffing, no marker), else byte by byte. Only called with `n` < 57.
#[inline(always)]
fn refill(data: &[u8], pos: &mut usize, acc: &mut u64, n: &mut u32, at_marker: &mut bool) {
    if !*at_marker {
        if let Some(chunk) = data.get(*pos..*pos + 8) {
            let w = u64::from_be_bytes(chunk.try_into().unwrap_or([0xFF; 8]));
            let x = !w; // a 0xFF byte of w is a zero byte of x
            if x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080 == 0 {
                let take = (64 - *n) / 8;
                *acc |= (w >> (64 - take * 8)) << (64 - *n - take * 8);
                *pos += take as usize;
                *n += take * 8;
                return;
            }
        }
    }
    (*pos, *acc, *n, *at_marker) = refill_bytes(data, *pos, *acc, *n, *at_marker);
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
