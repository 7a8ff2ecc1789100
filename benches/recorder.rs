//! Recorder benchmark (issue 5): trigger → durable + indexed + thumbnail for 1280×720 and
//! 1920×1080 MJPEG frames, on one core, next to a decode-and-re-encode baseline in the same
//! run and through the same storage (group commit). Prints Markdown tables for
//! docs/benchmarks.md.
//!
//! `cargo bench --bench recorder` (env `BENCH_N` = snapshots per case, default 300;
//! `BENCH_PARTS=1` prints only the CPU cost of the parts, without storage, as process CPU time
//! so it is less sensitive to other load; `BENCH_PARTS=thumb` only makes 1080p thumbnails,
//! `BENCH_N` of them per set, for a profiler such as `perf` or `callgrind`; `BENCH_SET=noise`
//! or `=scene` runs one frame set).
//! Pins itself to the first CPU it is allowed on, so `taskset -c 1 …` chooses the core.
//!
//! Two frame sets, both encoded at quality 85 by `jpeg-encoder` (4:2:0):
//! - *noise*: colour bars + per-pixel noise (`synthetic::pattern`), very dense: the worst case;
//! - *scene*: a natural-image-like scene (`synthetic::scene`: gradients, edges, text-like
//!   detail, mild sensor noise), closer to what a camera at a counter sends.
//!
//! Two load shapes per frame size and path:
//! - *1 at a time*: one trigger, wait for its acknowledgement, next trigger. Latency of a lone
//!   trigger; every snapshot is its own transaction.
//! - *4 at once*: four trigger threads (four counters) in a closed loop, each firing its next
//!   trigger as soon as the previous one is acknowledged. Throughput under a burst; triggers
//!   that arrive while a commit is in flight share the next one.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use motcua::recorder::camera::synthetic::{pattern, scene};
use motcua::recorder::footage::{FootageStore, GroupCommit, OwnedSnapshot};
use motcua::recorder::{jpeg, thumbnail};

/// The frame sets: name and generator.
type Gen = fn(u32, u32, usize) -> Vec<u8>;
fn sets() -> Vec<(&'static str, Gen)> {
    let all: [(&'static str, Gen); 2] = [("noise", pattern), ("scene", scene)];
    let only = std::env::var("BENCH_SET").ok();
    all.into_iter()
        .filter(|(n, _)| only.as_deref().is_none_or(|o| o == *n))
        .collect()
}

/// Trigger threads in the burst shape.
const BURST: usize = 4;

fn pin_to_one_core() -> usize {
    // SAFETY: plain syscalls on zeroed cpu_set_t values we own.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed);
        let cpu = (0..libc::CPU_SETSIZE as usize)
            .find(|&c| libc::CPU_ISSET(c, &allowed))
            .unwrap_or(0);
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        cpu
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Ours,
    Baseline,
}

struct Stats {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    thumb: Duration,
    store: Duration,
    batch: f64,
}

/// One snapshot through the store, as the recorder does it: ours keeps the camera's bytes and
/// makes a DCT-scaled preview while the file goes to disk; the baseline decodes fully and
/// re-encodes (the bytes to store), then resizes the full decode for the preview while the
/// file goes to disk. Returns the time spent on pixels (decode, encode, preview).
fn snapshot(commits: &GroupCommit, path: Path, frame: Vec<u8>, w: u32, h: u32) -> Duration {
    let t0 = Instant::now();
    let mut work = Duration::ZERO;
    let (jpeg, rgb) = match path {
        Path::Ours => (frame, None),
        Path::Baseline => {
            let rgb = jpeg_decoder::Decoder::new(&frame[..]).decode().unwrap();
            (jpeg::encode_rgb(&rgb, w, h, 85).unwrap(), Some(rgb))
        }
    };
    work += t0.elapsed();
    let snap = OwnedSnapshot {
        jpeg: jpeg.into(),
        width: w,
        height: h,
        counter: 1,
        record_id: Some("000.00.14.H56-251119-0042".into()),
        captured_at_ms: 0,
        reason: "bench".into(),
        thumbnail: None,
        frame_age_ms: None,
        camera_time_ms: None,
    };
    let preview = |j: &[u8]| {
        let t = Instant::now();
        let out = match &rgb {
            None => {
                let t = thumbnail::make(j).unwrap();
                (t.width, t.height, t.jpeg)
            }
            Some(rgb) => {
                let tw = 320;
                let thh = h * tw / w;
                let small: Vec<u8> = (0..thh)
                    .flat_map(|y| (0..tw).map(move |x| (x, y)))
                    .flat_map(|(x, y)| {
                        let i = (((y * h / thh) * w + x * w / tw) * 3) as usize;
                        [rgb[i], rgb[i + 1], rgb[i + 2]]
                    })
                    .collect();
                (tw, thh, jpeg::encode_rgb(&small, tw, thh, 75).unwrap())
            }
        };
        work += t.elapsed();
        Some(out)
    };
    commits.submit_with_preview(snap, preview, &|| 0).unwrap();
    work
}

/// `n` snapshots from `threads` trigger threads; per snapshot: (latency, time on pixels).
#[allow(clippy::too_many_arguments)]
fn run(
    commits: &GroupCommit,
    path: Path,
    base: &[u8],
    w: u32,
    h: u32,
    n: usize,
    threads: usize,
    tag: &str,
) -> Stats {
    let (b0, s0) = commits.stats();
    let start = Instant::now();
    let per: Vec<Vec<(Duration, Duration)>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for i in (t..n).step_by(threads) {
                        // unique bytes, as from a camera
                        let frame = jpeg::with_comment(base, &format!("{tag} {i}"));
                        let t0 = Instant::now();
                        let work = snapshot(commits, path, frame, w, h);
                        out.push((t0.elapsed(), work));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = start.elapsed();
    let (b1, s1) = commits.stats();
    let all: Vec<_> = per.into_iter().flatten().collect();
    let mut lat: Vec<Duration> = all.iter().map(|x| x.0).collect();
    let thumb: Duration = all.iter().map(|x| x.1).sum();
    let store: Duration = all.iter().map(|x| x.0.saturating_sub(x.1)).sum();
    lat.sort();
    let k = lat.len();
    Stats {
        per_sec: k as f64 / total.as_secs_f64(),
        p50: lat[k / 2],
        p99: lat[(k * 99 / 100).min(k - 1)],
        thumb: thumb / k as u32,
        store: store / k as u32,
        batch: (s1 - s0) as f64 / (b1 - b0).max(1) as f64,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Process CPU time (all threads) in ms.
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// CPU cost of the parts, without storage: mean process CPU ms of `f` over `n` runs.
fn mean_ms(n: usize, mut f: impl FnMut()) -> String {
    let t = cpu_ms();
    for _ in 0..n {
        f();
    }
    format!("{:.1}", (cpu_ms() - t) / n as f64)
}

/// The load average (1, 5, 15 min), to print beside the numbers.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn parts() {
    println!("load average at start: {}", load());
    println!("CPU ms per frame (process CPU time, all threads)\n");
    println!("| frames | frame | JPEG size | thumbnail (ours) | thumbnail (jpeg-decoder 1/4) | 1/4 decode: quarter/ | 1/4 decode: libjpeg-turbo (YUV) | SHA-256 | full decode + re-encode |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (set, gen) in sets() {
        for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
            let f = jpeg::encode_rgb(&gen(w, h, 3), w, h, 85).unwrap();
            let ours = mean_ms(50, || drop(thumbnail::make(&f).unwrap()));
            let jd = mean_ms(50, || {
                let mut d = jpeg_decoder::Decoder::new(&f[..]);
                d.scale(320, 180).unwrap();
                drop(d.decode().unwrap())
            });
            // The decode alone, both at 1/4 scale into planes (what the preview is made of):
            // ours from the DCT coefficients, libjpeg-turbo's DCT-scaled IDCT to YUV planes.
            let quarter = mean_ms(50, || {
                let fr = motcua::recorder::quarter::Frame::parse(&f).unwrap();
                drop(fr.decode_quarter(&f).unwrap())
            });
            let mut tj = turbojpeg::Decompressor::new().unwrap();
            tj.set_scaling_factor(turbojpeg::ScalingFactor::ONE_QUARTER)
                .unwrap();
            let hdr = tj.read_header(&f).unwrap();
            let sc = hdr.scaled(turbojpeg::ScalingFactor::ONE_QUARTER);
            let len = turbojpeg::yuv_pixels_len(sc.width, 4, sc.height, hdr.subsamp).unwrap();
            let mut buf = vec![0u8; len];
            let turbo = mean_ms(50, || {
                let img = turbojpeg::YuvImage {
                    pixels: &mut buf[..],
                    width: sc.width,
                    align: 4,
                    height: sc.height,
                    subsamp: hdr.subsamp,
                };
                tj.decompress_to_yuv(&f, img).unwrap()
            });
            let sha = mean_ms(50, || drop(motcua::recorder::chain::sha256_hex(&f)));
            let full = mean_ms(10, || {
                let rgb = jpeg_decoder::Decoder::new(&f[..]).decode().unwrap();
                drop(jpeg::encode_rgb(&rgb, w, h, 85).unwrap())
            });
            let kb = f.len() / 1024;
            println!("| {set} | {w}×{h} | {kb} KiB | {ours} | {jd} | {quarter} | {turbo} | {sha} | {full} |");
        }
    }
    println!("load average at end: {}", load());
}

/// Only our 1080p thumbnails, `BENCH_N` (default 100) per set: something to profile.
fn thumbs_only() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for (set, gen) in sets() {
        let (w, h) = (1920u32, 1080u32);
        let f = jpeg::encode_rgb(&gen(w, h, 3), w, h, 85).unwrap();
        println!(
            "{set} {w}×{h}: {n} thumbnails, {} ms each",
            mean_ms(n, || drop(thumbnail::make(&f).unwrap()))
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cpu = pin_to_one_core();
    if std::env::var("BENCH_PARTS").is_ok_and(|p| p == "thumb") {
        thumbs_only();
        return;
    }
    if std::env::var_os("BENCH_PARTS").is_some() {
        parts();
        return;
    }
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (store, _) = FootageStore::open_writer(dir.path(), 0).unwrap();
    let commits = GroupCommit::new(Arc::new(Mutex::new(store)), 32);
    println!(
        "pinned to CPU {cpu}; {n} snapshots per case (baseline: n/3, at least 20); load average at start: {}\n",
        load()
    );
    println!(
        "| frames | frame | JPEG size | path | triggers | snapshots/s | p50 ms | p99 ms | thumbnail ms | store ms | per commit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (set, gen) in sets() {
        for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
            let base = jpeg::encode_rgb(&gen(w, h, 3), w, h, 85).unwrap();
            let kb = base.len() / 1024;
            for threads in [1, BURST] {
                let tag = format!("{set} {w} {threads}");
                let a = run(
                    &commits,
                    Path::Ours,
                    &base,
                    w,
                    h,
                    n,
                    threads,
                    &format!("ours {tag}"),
                );
                let bn = (n / 3).max(20);
                let b = run(
                    &commits,
                    Path::Baseline,
                    &base,
                    w,
                    h,
                    bn,
                    threads,
                    &format!("base {tag}"),
                );
                let shape = if threads == 1 {
                    "1 at a time".to_owned()
                } else {
                    format!("{threads} at once")
                };
                for (name, s) in [
                    ("as-is + 1/4-scale thumbnail", &a),
                    ("baseline: decode + re-encode", &b),
                ] {
                    println!(
                        "| {set} | {w}×{h} | {kb} KiB | {name} | {shape} | {:.0} | {} | {} | {} | {} | {:.1} |",
                        s.per_sec,
                        ms(s.p50),
                        ms(s.p99),
                        ms(s.thumb),
                        ms(s.store),
                        s.batch
                    );
                }
                ratios.push(format!(
                    "{set} {w}×{h} {shape}: {:.1}×",
                    a.per_sec / b.per_sec
                ));
            }
        }
    }
    println!(
        "\nspeed-up over the baseline (snapshots/s): {}",
        ratios.join(", ")
    );
    println!("load average at end: {}", load());
}
