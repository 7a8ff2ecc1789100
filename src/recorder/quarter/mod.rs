//! A small baseline-JPEG decoder that reconstructs a frame at exactly 1/4 scale from its DCT
//! coefficients, for thumbnails: each output pixel is the mean of a 4×4 quadrant of an 8×8
//! block, which depends only on the coefficients whose horizontal and vertical frequencies are
//! 0 or odd (the even ones integrate to zero over half a block). So no IDCT, no full-size
//! planes, no threads: Huffman-decode every coefficient (unavoidable to find the next block),
//! accumulate the 25 that matter into 4 sums, one byte each in the 1/4-size plane of the
//! block's component. No colour conversion: the caller resizes and re-encodes in YCbCr.
//!
//! Handles what cameras send: baseline / extended Huffman, 8-bit, one interleaved scan, any
//! sampling factors, restart intervals, and MJPEG's missing Huffman tables (the standard
//! tables of Annex K). Anything else (progressive, arithmetic, 12-bit, Adobe transforms,
//! multi-scan) returns `None` and the caller falls back to `jpeg-decoder`.
//!
//! Never panics on malformed input (bounds are checked; corrupt entropy data yields `None` or
//! a garbled preview, never a crash).
//!
//! - `headers.rs`: marker segments, tables, what is declined;
//! - `huffman.rs`: Huffman look-up tables and the bit reader;
//! - `reconstruct.rs`: quadrant weights, the block loop, the planes.

mod headers;
mod huffman;
mod reconstruct;
#[cfg(test)]
mod tests;

pub use headers::Frame;

/// A frame at 1/4 of its size (rounded up), as the 1/4-size planes of its components: one
/// (grey) or three (Y, Cb, Cr; chroma as subsampled as in the frame). The first plane has the
/// frame's 1/4 size.
pub struct Quarter {
    pub planes: Vec<Plane>,
}

/// One component at 1/4 scale: `width` × `height` samples, rows `stride` bytes apart (the
/// plane is padded to whole blocks).
pub struct Plane {
    pub data: Vec<u8>,
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

/// Natural (row-major) index of each zig-zag position.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

impl Frame {
    /// Decode the frame whose headers these are (`jpeg`: the same bytes) at 1/4 scale, or
    /// `None` on corrupt entropy data.
    pub fn decode_quarter(&self, jpeg: &[u8]) -> Option<Quarter> {
        reconstruct::decode(self, jpeg)
    }
}

/// Decode `jpeg` at 1/4 scale, or `None` if it is not a JPEG this decoder handles.
#[cfg(test)]
pub fn decode_quarter(jpeg: &[u8]) -> Option<Quarter> {
    Frame::parse(jpeg)?.decode_quarter(jpeg)
}
