//! Writes the seed corpus `corpus/jpeg_parse/` (run once; the files are committed): small
//! frames in every layout cameras send — 4:2:0, 4:2:2, 4:4:4, grey, restart intervals,
//! progressive (declined by `quarter/`, decoded by the fallback), odd sizes, and one carrying a
//! motcua-snapshot comment. `cargo run --manifest-path fuzz/Cargo.toml --bin make_seeds`.
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

fn image(w: u16, h: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, ((x ^ y) * 7) as u8]);
        }
    }
    v
}

fn encode(
    w: u16,
    h: u16,
    q: u8,
    f: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
    grey: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, q);
    f(&mut e);
    if grey {
        let g: Vec<u8> = image(w, h).chunks(3).map(|p| p[0] / 2 + p[1] / 2).collect();
        e.encode(&g, w, h, ColorType::Luma).unwrap();
    } else {
        e.encode(&image(w, h), w, h, ColorType::Rgb).unwrap();
    }
    out
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/jpeg_parse");
    std::fs::create_dir_all(&dir).unwrap();
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "s420.jpg",
            encode(
                64,
                48,
                80,
                |e| e.set_sampling_factor(SamplingFactor::F_2_2),
                false,
            ),
        ),
        (
            "s422.jpg",
            encode(
                64,
                48,
                90,
                |e| e.set_sampling_factor(SamplingFactor::F_2_1),
                false,
            ),
        ),
        (
            "s444.jpg",
            encode(
                48,
                32,
                95,
                |e| e.set_sampling_factor(SamplingFactor::F_1_1),
                false,
            ),
        ),
        ("grey.jpg", encode(40, 24, 75, |_| {}, true)),
        (
            "restart.jpg",
            encode(64, 48, 80, |e| e.set_restart_interval(1), false),
        ),
        (
            "progressive.jpg",
            encode(48, 32, 80, |e| e.set_progressive(true), false),
        ),
        (
            "odd.jpg",
            encode(
                37,
                21,
                50,
                |e| e.set_sampling_factor(SamplingFactor::F_2_2),
                false,
            ),
        ),
        (
            "wide.jpg",
            encode(
                1280,
                16,
                30,
                |e| e.set_sampling_factor(SamplingFactor::F_2_1),
                false,
            ),
        ),
    ];
    let base = seeds[0].1.clone();
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let meta = "motcua-snapshot/1\n{\"seq\":3,\"counter\":1,\"record_id\":\"000.00.14.H56-251119-0042\",\"captured_at_ms\":1764000000000,\"reason\":\"started\",\"frame_age_ms\":12}";
    let mut with = base[..2].to_vec();
    with.extend_from_slice(&[0xFF, 0xFE]);
    with.extend_from_slice(&((meta.len() + 2) as u16).to_be_bytes());
    with.extend_from_slice(meta.as_bytes());
    with.extend_from_slice(&base[2..]);
    std::fs::write(dir.join("with-meta.jpg"), with).unwrap();
}
