//! The marker segments of a JPEG, as far as the 1/4-scale decoder needs them: quantisation
//! and Huffman tables, the frame header (size, components, sampling), the restart interval
//! and the scan header, with MJPEG's missing Huffman tables filled in from ITU T.81 Annex K.
//! Declines (returns `None` for) everything the decoder does not handle: progressive,
//! lossless, arithmetic, hierarchical, 12-bit, Adobe colour transforms, partial scans.

use super::huffman::Huff;

/// One colour component of the frame.
pub(super) struct Component {
    pub(super) id: u8,
    pub(super) h: usize,
    pub(super) v: usize,
    pub(super) tq: usize,
}

/// Everything before the entropy-coded data of a baseline, single-scan JPEG.
pub struct Frame {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) comps: Vec<Component>,
    pub(super) qt: [[u16; 64]; 4],
    pub(super) dc: [Option<Huff>; 4],
    pub(super) ac: [Option<Huff>; 4],
    /// Per component: (DC table, AC table) indices.
    pub(super) tables: Vec<(usize, usize)>,
    pub(super) restart_interval: usize,
    /// Offset of the first byte of entropy-coded data.
    pub(super) data_start: usize,
}

impl Frame {
    /// Width and height of the full frame.
    pub fn size(&self) -> (u32, u32) {
        (self.width as u32, self.height as u32)
    }

    /// Read the headers of `jpeg`, or `None` if it is not a JPEG this decoder handles.
    pub fn parse(jpeg: &[u8]) -> Option<Frame> {
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
                        match (tc, th) {
                            (0, 0..=3) => dc[th] = Some(Huff::new(bits, vals, false)?),
                            (1, 0..=3) => ac[th] = Some(Huff::new(bits, vals, true)?),
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
                0xDD => {
                    restart_interval = u16::from_be_bytes([*seg.first()?, *seg.get(1)?]) as usize
                }
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
        // MJPEG frames omit the tables: use the standard ones (built only when missing).
        for &(td, ta) in &tables {
            if dc[td].is_none() {
                dc[td] = Some(if td == 0 {
                    Huff::new(&DC0_BITS, &DC0_VALS, false)?
                } else {
                    Huff::new(&DC1_BITS, &DC1_VALS, false)?
                });
            }
            if ac[ta].is_none() {
                ac[ta] = Some(if ta == 0 {
                    Huff::new(&AC0_BITS, &AC0_VALS, true)?
                } else {
                    Huff::new(&AC1_BITS, &AC1_VALS, true)?
                });
            }
        }
        Some(Frame {
            width,
            height,
            comps,
            qt,
            dc,
            ac,
            tables,
            restart_interval,
            data_start,
        })
    }
}

// The standard Huffman tables (ITU T.81 Annex K.3), which MJPEG frames omit.
pub(super) const DC0_BITS: [u8; 16] = [
    0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
pub(super) const DC0_VALS: [u8; 12] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
];
pub(super) const DC1_BITS: [u8; 16] = [
    0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
];
pub(super) const DC1_VALS: [u8; 12] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
];
pub(super) const AC0_BITS: [u8; 16] = [
    0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7D,
];
pub(super) const AC0_VALS: [u8; 162] = [
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
pub(super) const AC1_BITS: [u8; 16] = [
    0x00, 0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77,
];
pub(super) const AC1_VALS: [u8; 162] = [
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
