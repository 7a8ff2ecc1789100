//! Fuzz target `jpeg_parse`: the hand-written code that reads bytes from a USB camera or a
//! file found on the card — frame walking, trimming and dimensions (`jpeg.rs`), the 1/4-scale
//! decoder's header parser and entropy decoder (`quarter/`), and the snapshot
//! self-description (`footage/meta.rs`). Fast enough for tens of millions of runs; the
//! `thumbnail` target adds the upstream decoder/encoder around it. Any panic, overflow or hang
//! is a finding. The sources are the appliance's own files, included by path.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/recorder/jpeg.rs"]
mod jpeg;
#[allow(dead_code)]
#[path = "../../src/recorder/footage/meta.rs"]
mod meta;
#[allow(dead_code)]
#[path = "../../src/recorder/quarter/mod.rs"]
mod quarter;
#[allow(dead_code)]
#[path = "../../src/recorder/thumbnail.rs"]
mod thumbnail;
/// The paths the included files use (`crate::recorder::jpeg`).
mod recorder {
    pub(crate) use super::jpeg;
}

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = jpeg::dimensions(data);
    let _ = jpeg::trim_to_eoi(data);
    let _ = meta::extract(data);
    if let Some(frame) = quarter::Frame::parse(data) {
        let _ = frame.decode_quarter(data);
    }
});
