//! Fuzz target `thumbnail`: the whole preview path a camera frame takes
//! (`thumbnail::make`: the 1/4-scale decoder, else `jpeg-decoder`, then the resize and the
//! `jpeg-encoder` re-encode). Slower per input than `jpeg_parse`. The sources are the
//! appliance's own files, included by path.
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
    let _ = thumbnail::make(data);
});
