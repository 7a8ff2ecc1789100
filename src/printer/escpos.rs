//! The few ESC/POS commands a ticket needs, and a decoder for exactly those.
//!
//! Encoded: `ESC @` (initialise), `GS v 0` raster bands (the page as 1-bit rows, MSB = leftmost
//! dot), `ESC d n` (feed n lines) and `GS V 66 n` (feed and cut). Status requests (`DLE EOT n`)
//! are in `status`. These are five fixed byte patterns from Epson's ESC/POS reference; the
//! maintained Rust crate (`escpos`) reaches raster printing only through the `image` crate and
//! prints text through code pages, which have no Vietnamese, so we write the bytes ourselves.
//!
//! The decoder turns a stream back into the page it prints (tests, `motcua printer test --png`)
//! and refuses anything it does not know, naming the byte offset.

use super::raster::Bitmap;

/// Rows per `GS v 0` band: small enough for the receive buffers of cheap printers.
pub const BAND_ROWS: usize = 128;
/// Dots one `ESC d 1` advances (the default 1/6-inch line at 203 dpi).
pub const LINE_DOTS: usize = 34;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const DLE: u8 = 0x10;

/// The byte stream that prints `page`, feeds `feed_lines` and cuts.
pub fn encode(page: &Bitmap, feed_lines: u8) -> Vec<u8> {
    let bytes_per_row = page.width.div_ceil(8);
    let mut out = Vec::with_capacity(8 + page.height * bytes_per_row + 16);
    out.extend_from_slice(&[ESC, b'@']);
    let mut y0 = 0;
    while y0 < page.height {
        let rows = BAND_ROWS.min(page.height - y0);
        out.extend_from_slice(&[GS, b'v', b'0', 0]);
        out.extend_from_slice(&(bytes_per_row as u16).to_le_bytes());
        out.extend_from_slice(&(rows as u16).to_le_bytes());
        for y in y0..y0 + rows {
            for bx in 0..bytes_per_row {
                let mut byte = 0u8;
                for bit in 0..8 {
                    if page.get(bx * 8 + bit, y) {
                        byte |= 0x80 >> bit;
                    }
                }
                out.push(byte);
            }
        }
        y0 += rows;
    }
    out.extend_from_slice(&[ESC, b'd', feed_lines]);
    out.extend_from_slice(&[GS, b'V', 66, 0]);
    out
}

/// What a decoded stream did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Everything printed, bands and feeds stacked as on paper.
    pub page: Bitmap,
    pub initialised: bool,
    pub cuts: usize,
    /// `DLE EOT n` requests seen, in order.
    pub status_requests: Vec<u8>,
}

/// A byte stream this decoder does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ESC/POS stream, byte {offset}: {what}")]
pub struct DecodeError {
    pub offset: usize,
    pub what: String,
}

/// Decode a stream made of the commands above.
pub fn decode(stream: &[u8]) -> Result<Decoded, DecodeError> {
    let err = |offset: usize, what: &str| DecodeError {
        offset,
        what: what.to_owned(),
    };
    let mut d = Decoded {
        page: Bitmap::new(0, 0),
        initialised: false,
        cuts: 0,
        status_requests: Vec::new(),
    };
    let mut i = 0;
    while i < stream.len() {
        let rest = &stream[i..];
        match rest {
            [ESC, b'@', ..] => {
                d.initialised = true;
                i += 2;
            }
            [ESC, b'd', n, ..] => {
                d.page.grow(*n as usize * LINE_DOTS);
                i += 3;
            }
            [GS, b'V', 66, _, ..] => {
                d.cuts += 1;
                i += 4;
            }
            [DLE, 0x04, n @ 1..=4, ..] => {
                d.status_requests.push(*n);
                i += 3;
            }
            [GS, b'v', b'0', m, xl, xh, yl, yh, ..] => {
                if *m != 0 {
                    return Err(err(
                        i,
                        &format!("GS v 0 mode {m} (only 0, normal, is used)"),
                    ));
                }
                let bpr = u16::from_le_bytes([*xl, *xh]) as usize;
                let rows = u16::from_le_bytes([*yl, *yh]) as usize;
                if bpr == 0 || rows == 0 {
                    return Err(err(i, "GS v 0 with an empty band"));
                }
                let data = rest
                    .get(8..8 + bpr * rows)
                    .ok_or_else(|| err(i, "GS v 0 band is cut short"))?;
                let width = bpr * 8;
                if d.page.width == 0 {
                    d.page = Bitmap::new(width, d.page.height);
                } else if d.page.width != width {
                    return Err(err(i, "GS v 0 band of another width"));
                }
                let top = d.page.height;
                d.page.grow(rows);
                for y in 0..rows {
                    for x in 0..width {
                        if data[y * bpr + x / 8] & (0x80 >> (x % 8)) != 0 {
                            d.page.set(x as i64, (top + y) as i64);
                        }
                    }
                }
                i += 8 + bpr * rows;
            }
            _ => {
                return Err(err(
                    i,
                    &format!("unknown or incomplete command starting 0x{:02x}", rest[0]),
                ))
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Bitmap {
        let mut p = Bitmap::new(20, 300); // not a multiple of 8, and more than two bands
        for y in 0..300i64 {
            p.set(y % 20, y);
        }
        p.set(19, 0);
        p
    }

    #[test]
    fn encoding_round_trips_through_the_decoder() {
        let p = page();
        let bytes = encode(&p, 3);
        assert_eq!(&bytes[..2], &[0x1b, b'@']);
        // Three bands: 128 + 128 + 44 rows, each 3 bytes wide.
        assert_eq!(&bytes[2..10], &[0x1d, b'v', b'0', 0, 3, 0, 128, 0]);
        assert_eq!(&bytes[bytes.len() - 4..], &[0x1d, b'V', 66, 0]);
        let d = decode(&bytes).unwrap();
        assert!(d.initialised);
        assert_eq!(d.cuts, 1);
        assert_eq!(d.page.width, 24);
        assert_eq!(d.page.height, 300 + 3 * LINE_DOTS);
        for y in 0..300 {
            for x in 0..20 {
                assert_eq!(d.page.get(x, y), p.get(x, y), "{x},{y}");
            }
        }
    }

    #[test]
    fn the_decoder_names_what_it_refuses() {
        assert_eq!(
            decode(&[0x1b, b'@', 0x1b, b'!', 0])
                .unwrap_err()
                .to_string(),
            "ESC/POS stream, byte 2: unknown or incomplete command starting 0x1b"
        );
        assert_eq!(
            decode(&[0x1d, b'v', b'0', 0, 2, 0, 2, 0, 0xff])
                .unwrap_err()
                .to_string(),
            "ESC/POS stream, byte 0: GS v 0 band is cut short"
        );
        assert_eq!(
            decode(&[0x1d, b'v', b'0', 1, 1, 0, 1, 0, 0])
                .unwrap_err()
                .to_string(),
            "ESC/POS stream, byte 0: GS v 0 mode 1 (only 0, normal, is used)"
        );
    }
}
