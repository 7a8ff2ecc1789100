//! The 10-camera load measurement (issue 17), not a test: run by hand with
//! `cargo test --release --test it ipcam_bench -- --ignored --nocapture --test-threads 1`
//! (under `nice`), numbers in docs/benchmarks.md. Timing is never asserted.
//!
//! The recorder (this process) streams 10 loopback cameras — 4 RTSP MJPEG and 3 RTSP H.264
//! from GStreamer's RTSP server at 640x360 10 frames/s, 3 HTTP snapshot URLs (lighttpd,
//! Digest) fetched every 500 ms — first idle, then with each camera triggered every 2 s, and
//! reports its CPU (% of one core, from /proc/self/stat), RSS, and the capture latency per
//! trigger by kind. The peers: the same harness with 10 synthetic MJPEG cameras (what 10 USB
//! cameras cost the recorder), `ffmpeg` grabbing one frame of the H.264 stream per
//! trigger (what "decode on trigger" costs done the obvious way), and 3 RTSP H.265 cameras
//! (libde265 decoding on trigger) for the H.265 row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::recorder::camera::http_snapshot::HttpSnapshotCamera;
use motcua::recorder::camera::rtsp::RtspCamera;
use motcua::recorder::camera::synthetic::SyntheticCamera;
use motcua::recorder::camera::worker::CameraState;
use motcua::recorder::camera::PixelFormat;
use motcua::recorder::clock::RealClocks;
use motcua::recorder::config::RecorderConfig;
use motcua::recorder::{Reason, Recorder, Sources};

use crate::ipcam_support::{credentials, jpeg, Lighttpd, RtspServer, HIKVISION, PASSWORD, USER};

const IDLE: Duration = Duration::from_secs(20);
const LOADED: Duration = Duration::from_secs(40);
const EVERY: Duration = Duration::from_secs(2);

fn ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // utime, stime: fields 14 and 15 of stat, 12 and 13 after the state field.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cpu_percent(pid: &str, d: Duration, work: impl FnOnce()) -> f64 {
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let (t0, w0) = (ticks(pid), Instant::now());
    work();
    let _ = d;
    (ticks(pid) - t0) as f64 / hz / w0.elapsed().as_secs_f64() * 100.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Run the recorder over `sources` (kind by counter), idle then loaded; print a report.
fn measure(label: &str, sources: Sources, kinds: &[(u32, &'static str)]) {
    let data = tempfile::tempdir().unwrap();
    let (rec, _) = Recorder::start(
        data.path(),
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let rec = Arc::new(rec);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rec
        .cameras()
        .iter()
        .all(|(_, s)| matches!(s.state, CameraState::Streaming { .. }))
    {
        assert!(Instant::now() < deadline, "{:?}", rec.cameras());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    let load0 = loadavg();
    let idle = cpu_percent("self", IDLE, || std::thread::sleep(IDLE));
    let rss_idle = status_kb("VmRSS:");
    let mut lat: Vec<(&'static str, f64)> = Vec::new();
    let loaded = cpu_percent("self", LOADED, || {
        let handles: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(i, &(counter, kind))| {
                let rec = rec.clone();
                std::thread::spawn(move || {
                    let reason = Reason::parse("interval").unwrap();
                    // Spread the counters over the period, as queue events are.
                    std::thread::sleep(EVERY * i as u32 / 10);
                    let end = Instant::now() + LOADED;
                    let mut out = Vec::new();
                    while Instant::now() < end {
                        let t = Instant::now();
                        match rec.capture_for(counter, None, &reason) {
                            Ok(_) => out.push((kind, t.elapsed().as_secs_f64() * 1000.0)),
                            Err(e) => eprintln!("counter {counter}: {e}"),
                        }
                        std::thread::sleep(EVERY.saturating_sub(t.elapsed()));
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            lat.extend(h.join().unwrap());
        }
    });
    let load1 = loadavg();
    println!("== {label}");
    println!(
        "recorder CPU: idle {idle:.1} % of one core, loaded {loaded:.1} %; RSS idle {} MiB, \
         peak {} MiB; load average before {load0}, after {load1}",
        rss_idle / 1024,
        status_kb("VmHWM:") / 1024
    );
    let mut all: Vec<f64> = lat.iter().map(|(_, l)| *l).collect();
    println!(
        "all: {} triggers, latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        all.len(),
        pct(&mut all, 0.5),
        pct(&mut all, 0.99),
        pct(&mut all, 1.0)
    );
    let mut names: Vec<&str> = kinds.iter().map(|(_, k)| *k).collect();
    names.dedup();
    for k in names {
        let mut v: Vec<f64> = lat
            .iter()
            .filter(|(n, _)| *n == k)
            .map(|(_, l)| *l)
            .collect();
        println!(
            "{k}: {} triggers, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            v.len(),
            pct(&mut v, 0.5),
            pct(&mut v, 0.99),
            pct(&mut v, 1.0)
        );
    }
}

#[test]
#[ignore = "a measurement for docs/benchmarks.md, run by hand"]
fn ten_network_cameras() {
    let http = Lighttpd::start();
    std::fs::write(http.file(HIKVISION), jpeg(640, 360, 120)).unwrap();
    let rtsp = RtspServer::start_sized("640x360");
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let mut sources: Sources = Vec::new();
    let mut kinds = Vec::new();
    for counter in 1..=10u32 {
        let (src, kind): (Box<dyn motcua::recorder::camera::FrameSource>, &str) = match counter {
            1..=4 => (
                Box::new(RtspCamera::new(&rtsp.url("/mjpeg"), Some(creds.clone())).unwrap()),
                "RTSP MJPEG",
            ),
            5..=7 => (
                Box::new(RtspCamera::new(&rtsp.url("/h264"), Some(creds.clone())).unwrap()),
                "RTSP H.264",
            ),
            _ => (
                Box::new(
                    HttpSnapshotCamera::new(
                        &http.url(HIKVISION),
                        Some(creds.clone()),
                        Duration::from_millis(500),
                    )
                    .unwrap(),
                ),
                "HTTP snapshot",
            ),
        };
        sources.push((counter, src));
        kinds.push((counter, kind));
    }
    let server = rtsp.pid().to_string();
    let t0 = ticks(&server);
    let w0 = Instant::now();
    measure("10 network cameras", sources, &kinds);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    println!(
        "(GStreamer's RTSP server, encoding MJPEG and H.264 for them: {:.1} % of one core)",
        (ticks(&server) - t0) as f64 / hz / w0.elapsed().as_secs_f64() * 100.0
    );
}

#[test]
#[ignore = "a measurement for docs/benchmarks.md, run by hand"]
fn three_h265_cameras() {
    let rtsp = RtspServer::start_sized("640x360");
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let mut sources: Sources = Vec::new();
    let mut kinds = Vec::new();
    for counter in 1..=3u32 {
        let cam = RtspCamera::new(&rtsp.url("/h265"), Some(creds.clone())).unwrap();
        sources.push((counter, Box::new(cam)));
        kinds.push((counter, "RTSP H.265"));
    }
    measure("3 RTSP H.265 cameras", sources, &kinds);
}

#[test]
#[ignore = "a measurement for docs/benchmarks.md, run by hand"]
fn ten_synthetic_usb_like_cameras() {
    let mut sources: Sources = Vec::new();
    let mut kinds = Vec::new();
    for counter in 1..=10u32 {
        let name = format!("synthetic-{counter}");
        sources.push((
            counter,
            Box::new(SyntheticCamera::new(
                &name,
                640,
                360,
                15,
                PixelFormat::Mjpeg,
            )),
        ));
        kinds.push((counter, "synthetic MJPEG"));
    }
    measure("10 synthetic (USB-like) MJPEG cameras", sources, &kinds);
}

#[test]
#[ignore = "a measurement for docs/benchmarks.md, run by hand"]
fn ffmpeg_grabbing_one_frame_per_trigger() {
    let rtsp = RtspServer::start_sized("640x360");
    let url = format!(
        "rtsp://{USER}:{}@127.0.0.1:{}/h264",
        PASSWORD.replace(':', "%3A"),
        rtsp.port
    );
    let out = tempfile::tempdir().unwrap();
    let mut lat = Vec::new();
    let mut cpu = 0.0;
    for i in 0..20 {
        let t = Instant::now();
        let mut before: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut before) };
        let o = std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-rtsp_transport", "tcp", "-i", &url])
            .args(["-frames:v", "1", "-q:v", "3", "-y"])
            .arg(out.path().join(format!("{i}.jpg")))
            .output()
            .expect("ffmpeg (Debian's package)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        let mut after: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut after) };
        let secs = |r: &libc::rusage| {
            r.ru_utime.tv_sec as f64
                + r.ru_stime.tv_sec as f64
                + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) as f64 / 1e6
        };
        cpu += secs(&after) - secs(&before);
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("== ffmpeg -frames:v 1 per trigger (RTSP H.264 640x360, GOP 1 s)");
    println!(
        "20 grabs: latency p50 {:.0} ms, p99 {:.0} ms; CPU {:.0} ms per grab; load average {}",
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99),
        cpu / 20.0 * 1000.0,
        loadavg()
    );
}
