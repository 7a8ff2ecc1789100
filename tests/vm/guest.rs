//! The recorder's real-V4L2 test, run inside the QEMU guest that `tests/vm/run.sh` boots
//! (vivid: two YUYV cameras; v4l2loopback: an MJPEG camera fed by this program). Not a unit
//! test: a plain program that prints `VMTEST ok|FAIL ...` lines and exits non-zero on failure.
//!
//! It exercises exactly the production path — `V4l2Camera` through `Recorder::capture` into
//! `footage.db` — plus unplug/replug by unbinding and reloading the kernel modules.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use motcua::record::RecordId;
use motcua::recorder::camera::synthetic::pattern;
use motcua::recorder::camera::v4l2::V4l2Camera;
use motcua::recorder::camera::worker::CameraState;
use motcua::recorder::camera::{FrameSource, PixelFormat};
use motcua::recorder::chain::sha256_hex;
use motcua::recorder::clock::RealClocks;
use motcua::recorder::config::RecorderConfig;
use motcua::recorder::{jpeg, Reason, Recorder};

const VIVID_ARGS: &[&str] = &["n_devs=2", "node_types=0x1,0x1"];
const LOOP_ARGS: &[&str] = &[
    "devices=1",
    "video_nr=10",
    "card_label=loopcam",
    "exclusive_caps=1",
];

fn main() {
    let t0 = Instant::now();
    let out = PathBuf::from(std::env::var("VMTEST_OUT").unwrap_or_else(|_| "/tmp".into()));
    let failures = run(&out);
    println!(
        "VMTEST total {:.1}s, {} failure(s)",
        t0.elapsed().as_secs_f64(),
        failures
    );
    std::process::exit(if failures == 0 { 0 } else { 1 });
}

fn check(failures: &mut u32, name: &str, ok: bool, detail: String) {
    println!("VMTEST {} {name}: {detail}", if ok { "ok" } else { "FAIL" });
    if !ok {
        *failures += 1;
    }
}

/// What udev would do: a stable by-id link to the current node.
fn link(name: &str, target: &str) -> PathBuf {
    let dir = Path::new("/dev/v4l/by-id");
    std::fs::create_dir_all(dir).unwrap();
    let l = dir.join(name);
    let _ = std::fs::remove_file(&l);
    std::os::unix::fs::symlink(target, &l).unwrap();
    l
}

fn sh(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Retry `rmmod` until the driver is free (the worker closes the device between retries).
fn rmmod(module: &str) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        if sh("rmmod", &[module]) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Feeds MJPEG frames into /dev/video10 like a USB camera would; returns the frames' hashes.
struct Producer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    hashes: Vec<String>,
}

fn start_producer() -> std::io::Result<Producer> {
    use v4l::video::Output;
    let (w, h) = (640u32, 480u32);
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|p| jpeg::encode_rgb(&pattern(w, h, p), w, h, 85).unwrap())
        .collect();
    let hashes = frames.iter().map(|f| sha256_hex(f)).collect();
    let out = v4l::Device::with_path("/dev/video10")?;
    let mut f = Output::format(&out)?;
    f.width = w;
    f.height = h;
    f.fourcc = v4l::FourCC::new(b"MJPG");
    f.size = 512 * 1024;
    Output::set_format(&out, &f)?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let thread = std::thread::spawn(move || {
        let fd = out.handle().fd();
        let mut i = 0;
        while !s.load(Ordering::Relaxed) {
            let fr = &frames[i % frames.len()];
            // SAFETY: writing an owned buffer to an open fd.
            unsafe { libc::write(fd, fr.as_ptr().cast(), fr.len()) };
            i += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    Ok(Producer {
        stop,
        thread: Some(thread),
        hashes,
    })
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_streaming(rec: &Recorder, counter: u32, starts: u64, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        let (_, st) = rec.cameras().into_iter().find(|(c, _)| *c == counter)?;
        if st.starts >= starts && matches!(st.state, CameraState::Streaming { .. }) {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn run(out: &Path) -> u32 {
    let mut failures = 0;
    let f = &mut failures;
    let cam0 = link("usb-vivid-cam0-video-index0", "/dev/video0");
    let cam1 = link("usb-vivid-cam1-video-index0", "/dev/video1");
    let mjpg = link("usb-loop-mjpeg-video-index0", "/dev/video10");
    let mut producer = match start_producer() {
        Ok(p) => Some(p),
        Err(e) => {
            check(f, "loopback producer", false, e.to_string());
            None
        }
    };
    let data = PathBuf::from("/tmp/vm-data"); // tmpfs: SQLite WAL needs shared mmap, which 9p lacks
    let _ = std::fs::remove_dir_all(&data);
    let sources: Vec<(u32, Box<dyn FrameSource>)> = vec![
        (
            1,
            Box::new(V4l2Camera::new(
                cam0,
                640,
                480,
                vec![PixelFormat::Mjpeg, PixelFormat::Yuyv],
            )),
        ),
        (
            2,
            Box::new(V4l2Camera::new(
                cam1,
                640,
                480,
                vec![PixelFormat::Mjpeg, PixelFormat::Yuyv],
            )),
        ),
        (
            3,
            Box::new(V4l2Camera::new(
                mjpg,
                640,
                480,
                vec![PixelFormat::Mjpeg, PixelFormat::Yuyv],
            )),
        ),
    ];
    let (rec, _) = Recorder::start(
        &data,
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let record = RecordId::parse("000.00.14.H56-251119-0042").unwrap();
    let reason = Reason::parse("vm-test").unwrap();
    for c in 1..=3 {
        let up = wait_streaming(&rec, c, 1, Duration::from_secs(20));
        let st = rec.cameras().into_iter().find(|(x, _)| *x == c).unwrap().1;
        check(
            f,
            &format!("counter {c} streaming"),
            up.is_some(),
            format!("{:?} after {up:?}", st.state),
        );
    }
    for c in 1..=3 {
        let t = Instant::now();
        match rec.capture(c, &record, &reason) {
            Ok(s) => {
                let file =
                    std::fs::read(rec.store().lock().unwrap().dir().path_of(&s.sha256)).unwrap();
                let _ = std::fs::write(out.join(format!("vm-counter{c}.jpg")), &file);
                let ok = (s.width, s.height) == (640, 480)
                    && jpeg::trim_to_eoi(&file).map(|j| j.len()) == Ok(file.len());
                let mut detail = format!(
                    "{}x{} {} bytes in {:?}",
                    s.width,
                    s.height,
                    s.bytes,
                    t.elapsed()
                );
                let mut exact = true;
                if c == 3 {
                    // the MJPEG camera's frame must be stored exactly as the producer sent it
                    exact = producer
                        .as_ref()
                        .is_some_and(|p| p.hashes.contains(&s.sha256));
                    detail += &format!(", stored as sent (trimmed at EOI): {exact}");
                }
                check(f, &format!("counter {c} capture"), ok && exact, detail);
            }
            Err(e) => check(f, &format!("counter {c} capture"), false, e.to_string()),
        }
    }
    let formats: Vec<String> = rec
        .cameras()
        .into_iter()
        .map(|(c, s)| match s.state {
            CameraState::Streaming { info } => format!("{c}:{:?}", info.format),
            other => format!("{c}:{other:?}"),
        })
        .collect();
    check(
        f,
        "formats (vivid YUYV, loopback MJPEG)",
        formats == ["1:Yuyv", "2:Yuyv", "3:Mjpeg"],
        format!("{formats:?}"),
    );

    // Unplug the vivid cameras: unbind (what a USB disconnect looks like), then unload.
    let t = Instant::now();
    let unbound = std::fs::write("/sys/bus/platform/drivers/vivid/unbind", "vivid.0").is_ok();
    std::thread::sleep(Duration::from_millis(500));
    let st = rec.cameras()[0].1.state.clone();
    check(
        f,
        "vivid unplugged -> degraded",
        matches!(st, CameraState::Degraded { .. }),
        format!("unbind {unbound}, {st:?}"),
    );
    let fail = rec.capture(1, &record, &reason);
    check(
        f,
        "capture while unplugged is refused",
        fail.is_err(),
        fail.err().map(|e| e.to_string()).unwrap_or_default(),
    );
    let unloaded = rmmod("vivid");
    check(f, "rmmod vivid", unloaded, format!("{:?}", t.elapsed()));
    let mut args = vec!["/lib/modules/vivid.ko"];
    args.extend_from_slice(VIVID_ARGS);
    let loaded = sh("insmod", &args);
    let back = wait_streaming(&rec, 1, 2, Duration::from_secs(30));
    check(
        f,
        "vivid replugged -> streaming, no restart",
        loaded && back.is_some(),
        format!("after {back:?}"),
    );
    let again = rec.capture(1, &record, &reason);
    check(
        f,
        "capture after replug",
        again.is_ok(),
        format!("{:?}", again.map(|s| s.id)),
    );

    // The MJPEG camera: stop the producer, unload and reload v4l2loopback, feed again.
    producer.take();
    let unloaded = rmmod("v4l2loopback");
    check(f, "rmmod v4l2loopback", unloaded, String::new());
    let mut args = vec!["/lib/modules/v4l2loopback.ko"];
    args.extend_from_slice(LOOP_ARGS);
    let loaded = sh("insmod", &args);
    producer = start_producer().ok();
    let back = wait_streaming(&rec, 3, 2, Duration::from_secs(40));
    check(
        f,
        "loopback replugged -> streaming",
        loaded && producer.is_some() && back.is_some(),
        format!("after {back:?}"),
    );
    let again = rec.capture(3, &record, &reason);
    let exact = again.as_ref().is_ok_and(|s| {
        producer
            .as_ref()
            .is_some_and(|p| p.hashes.contains(&s.sha256))
    });
    check(
        f,
        "MJPEG capture after replug",
        exact,
        format!("{:?}", again.map(|s| s.id)),
    );

    let v = rec.store().lock().unwrap().verify(true).unwrap();
    check(
        f,
        "verify",
        v.ok(),
        format!("{} snapshots, problems {:?}", v.snapshots, v.problems),
    );
    drop(producer);
    failures
}
