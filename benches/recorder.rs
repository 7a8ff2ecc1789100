//! Recorder benchmark (issue 5): trigger → durable + indexed + thumbnail for 1280×720 and
//! 1920×1080 MJPEG frames, on one core, next to a decode-and-re-encode baseline in the same
//! run. Prints a Markdown table for docs/benchmarks.md.
//!
//! `cargo bench --bench recorder` (env `BENCH_N` = snapshots per case, default 300).

use std::time::{Duration, Instant};

use motcua::recorder::camera::synthetic::pattern;
use motcua::recorder::footage::{FootageStore, NewSnapshot};
use motcua::recorder::{jpeg, thumbnail};

fn pin_to_one_core() {
    // SAFETY: plain syscall on a zeroed cpu_set_t we own.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

struct Stats {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    thumb: Duration,
    store: Duration,
}

fn stats(mut lat: Vec<Duration>, total: Duration, thumb: Duration, store: Duration) -> Stats {
    let n = lat.len();
    lat.sort();
    Stats {
        per_sec: n as f64 / total.as_secs_f64(),
        p50: lat[n / 2],
        p99: lat[(n * 99 / 100).min(n - 1)],
        thumb: thumb / n as u32,
        store: store / n as u32,
    }
}

/// Our path: the camera's JPEG as-is, a DCT-scaled thumbnail, the durable store.
fn ours(store: &mut FootageStore, base: &[u8], w: u32, h: u32, n: usize, tag: &str) -> Stats {
    let (mut lat, mut th, mut st) = (Vec::new(), Duration::ZERO, Duration::ZERO);
    let start = Instant::now();
    for i in 0..n {
        let frame = jpeg::with_comment(base, &format!("{tag} {i}")); // unique bytes, as from a camera
        let t0 = Instant::now();
        let t = thumbnail::make(&frame).unwrap();
        let t1 = Instant::now();
        store
            .ingest(
                &snapshot(&frame, w, h, Some((t.width, t.height, &t.jpeg))),
                0,
            )
            .unwrap();
        let t2 = Instant::now();
        th += t1 - t0;
        st += t2 - t1;
        lat.push(t2 - t0);
    }
    stats(lat, start.elapsed(), th, st)
}

/// Baseline: decode the frame fully, re-encode it, resize the full decode for the thumbnail.
fn baseline(store: &mut FootageStore, base: &[u8], w: u32, h: u32, n: usize, tag: &str) -> Stats {
    let (mut lat, mut th, mut st) = (Vec::new(), Duration::ZERO, Duration::ZERO);
    let start = Instant::now();
    for i in 0..n {
        let frame = jpeg::with_comment(base, &format!("{tag} {i}"));
        let t0 = Instant::now();
        let rgb = jpeg_decoder::Decoder::new(&frame[..]).decode().unwrap();
        let reencoded = jpeg::encode_rgb(&rgb, w, h, 85).unwrap();
        let tw = 320;
        let thh = h * tw / w;
        let small: Vec<u8> = (0..thh)
            .flat_map(|y| (0..tw).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let i = (((y * h / thh) * w + x * w / tw) * 3) as usize;
                [rgb[i], rgb[i + 1], rgb[i + 2]]
            })
            .collect();
        let thumb = jpeg::encode_rgb(&small, tw, thh, 75).unwrap();
        let t1 = Instant::now();
        store
            .ingest(&snapshot(&reencoded, w, h, Some((tw, thh, &thumb))), 0)
            .unwrap();
        let t2 = Instant::now();
        th += t1 - t0;
        st += t2 - t1;
        lat.push(t2 - t0);
    }
    stats(lat, start.elapsed(), th, st)
}

fn snapshot<'a>(
    jpeg: &'a [u8],
    w: u32,
    h: u32,
    thumb: Option<(u32, u32, &'a [u8])>,
) -> NewSnapshot<'a> {
    NewSnapshot {
        jpeg,
        width: w,
        height: h,
        counter: 1,
        record_id: Some("000.00.14.H56-251119-0042"),
        captured_at_ms: 0,
        reason: "bench",
        thumbnail: thumb,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    pin_to_one_core();
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (mut store, _) = FootageStore::open_writer(dir.path(), 0).unwrap();
    println!(
        "| frame | JPEG size | path | snapshots/s | p50 ms | p99 ms | thumbnail ms | store ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let base = jpeg::encode_rgb(&pattern(w, h, 3), w, h, 85).unwrap();
        let kb = base.len() / 1024;
        let a = ours(&mut store, &base, w, h, n, &format!("ours {w}"));
        let b = baseline(
            &mut store,
            &base,
            w,
            h,
            (n / 3).max(20),
            &format!("base {w}"),
        );
        for (name, s) in [
            ("as-is + DCT-scaled thumbnail", &a),
            ("baseline: decode + re-encode", &b),
        ] {
            println!(
                "| {w}×{h} | {kb} KiB | {name} | {:.0} | {} | {} | {} | {} |",
                s.per_sec,
                ms(s.p50),
                ms(s.p99),
                ms(s.thumb),
                ms(s.store)
            );
        }
        println!(
            "| {w}×{h} | | speed-up | {:.1}× | | | | |",
            a.per_sec / b.per_sec
        );
    }
}
