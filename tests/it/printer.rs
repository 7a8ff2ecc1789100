//! The ticket printer through a real character device: an ESC/POS printer emulator on a
//! pseudo-terminal (raw mode) answers `DLE EOT` status requests the way a printer in each
//! fault state does, and records what it was sent. The printed page is then read back by
//! third-party tools: Tesseract OCR (Vietnamese) for the text, zbarimg for the QR code.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use motcua::printer::device::{PrintError, UsbPrinter};
use motcua::printer::status::PrinterState;
use motcua::printer::{self, escpos};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ready,
    PaperOut,
    CoverOpen,
    /// A write-only printer: never answers status requests.
    Silent,
    /// Ready until a ticket is cut, then out of paper (the roll ran out on that ticket).
    RunsOutOnCut,
}

struct Emulator {
    path: PathBuf,
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _slave: File,
}

impl Emulator {
    fn start(mode: Mode) -> Emulator {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty fills two descriptors; a zeroed termios made raw by cfmakeraw.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            libc::cfmakeraw(&mut t);
            assert_eq!(
                libc::openpty(
                    &mut master,
                    &mut slave,
                    std::ptr::null_mut(),
                    &t,
                    std::ptr::null()
                ),
                0
            );
        }
        // SAFETY: both descriptors were just opened and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) };
        let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (mode, received, stop) = (mode.clone(), received.clone(), stop.clone());
            std::thread::spawn(move || serve(master, mode, received, stop))
        };
        Emulator {
            path,
            mode,
            received,
            stop,
            thread: Some(thread),
            _slave: slave,
        }
    }

    fn received(&self) -> Vec<u8> {
        // Let the emulator drain what is in flight.
        std::thread::sleep(Duration::from_millis(100));
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// The status bytes (n=1, 2, 4) a printer in `mode` answers.
fn answers(mode: Mode) -> Option<[u8; 3]> {
    match mode {
        Mode::Ready | Mode::RunsOutOnCut => Some([0x12, 0x12, 0x12]),
        Mode::PaperOut => Some([0x1a, 0x32, 0x72]),
        Mode::CoverOpen => Some([0x1a, 0x16, 0x12]),
        Mode::Silent => None,
    }
}

fn serve(
    mut master: File,
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = Vec::new();
    let mut pos = 0;
    let mut chunk = [0u8; 8192];
    while !stop.load(Ordering::SeqCst) {
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 20) } != 1 {
            continue;
        }
        let Ok(n) = master.read(&mut chunk) else {
            continue;
        };
        buf.extend_from_slice(&chunk[..n]);
        received.lock().unwrap().extend_from_slice(&chunk[..n]);
        // Walk whole commands, so raster data is never mistaken for a status request.
        loop {
            let rest = &buf[pos..];
            let step = match rest {
                [0x10, 0x04, n, ..] => {
                    let m = *mode.lock().unwrap();
                    if let Some(a) = answers(m) {
                        let byte = match n {
                            1 => a[0],
                            2 => a[1],
                            _ => a[2],
                        };
                        master.write_all(&[byte]).unwrap();
                    }
                    3
                }
                [0x1b, b'@', ..] => 2,
                [0x1b, b'd', _, ..] => 3,
                [0x1d, b'V', 66, _, ..] => {
                    let mut m = mode.lock().unwrap();
                    if *m == Mode::RunsOutOnCut {
                        *m = Mode::PaperOut;
                    }
                    4
                }
                [0x1d, b'v', b'0', _, xl, xh, yl, yh, ..] => {
                    let len = 8 + u16::from_le_bytes([*xl, *xh]) as usize
                        * u16::from_le_bytes([*yl, *yh]) as usize;
                    if rest.len() < len {
                        break;
                    }
                    len
                }
                [] => break,
                r if r.len() < 8 => break, // an incomplete command: wait for more
                _ => 1,                    // unknown byte: skip it
            };
            pos += step;
        }
    }
}

fn job() -> Vec<u8> {
    printer::ticket_job(&printer::sample_ticket(), printer::WIDTH_80MM)
}

#[test]
fn a_ready_printer_gets_the_whole_ticket_between_two_status_checks() {
    let emu = Emulator::start(Mode::Ready);
    let p = UsbPrinter::new(&emu.path);
    assert_eq!(p.status(), PrinterState::Ready);
    assert_eq!(p.print(&job()).unwrap(), PrinterState::Ready);
    let got = emu.received();
    let d = escpos::decode(&got).unwrap();
    // status (3 requests), then the job, then status again.
    assert_eq!(d.status_requests, vec![1, 2, 4, 1, 2, 4, 1, 2, 4]);
    assert_eq!(d.cuts, 1);
    let expected = escpos::decode(&job()).unwrap().page;
    assert_eq!(d.page, expected);
}

#[test]
fn paper_out_and_cover_open_print_nothing_and_say_why() {
    for (mode, state, message) in [
        (
            Mode::PaperOut,
            PrinterState::PaperOut,
            "the ticket was not printed: the printer is out of paper: load a new roll",
        ),
        (
            Mode::CoverOpen,
            PrinterState::CoverOpen,
            "the ticket was not printed: the printer is cover open: close it",
        ),
    ] {
        let emu = Emulator::start(mode);
        let p = UsbPrinter::new(&emu.path);
        assert_eq!(p.status(), state);
        let err = p.print(&job()).unwrap_err();
        assert!(
            matches!(err, PrintError::NotReady(s) if s == state),
            "{err}"
        );
        assert_eq!(err.to_string(), message);
        let d = escpos::decode(&emu.received()).unwrap();
        assert_eq!(d.cuts, 0, "{mode:?}: nothing of the ticket was sent");
        assert_eq!(d.page.height, 0);
    }
}

#[test]
fn a_write_only_printer_prints_blind_and_running_out_is_reported_after() {
    let emu = Emulator::start(Mode::Silent);
    let p = UsbPrinter::new(&emu.path);
    assert_eq!(p.print(&job()).unwrap(), PrinterState::NoStatus);
    assert_eq!(escpos::decode(&emu.received()).unwrap().cuts, 1);

    let emu = Emulator::start(Mode::RunsOutOnCut);
    let p = UsbPrinter::new(&emu.path);
    assert_eq!(p.print(&job()).unwrap(), PrinterState::PaperOut);
    *emu.mode.lock().unwrap() = Mode::PaperOut;
    assert!(matches!(
        p.print(&job()),
        Err(PrintError::NotReady(PrinterState::PaperOut))
    ));

    let gone = UsbPrinter::new("/dev/usb/lp-does-not-exist");
    assert_eq!(gone.status(), PrinterState::Absent);
    assert_eq!(
        gone.print(&job()).unwrap_err().to_string(),
        "the ticket was not printed: the printer is not connected: check the USB cable and power"
    );
}

/// Run a third-party reader on the printed page (installed by `scripts/setup.sh --tests`).
fn read_back(tool: &str, args: &[&str], png: &std::path::Path) -> String {
    let out = std::process::Command::new(tool)
        .arg(png)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} ({e}): run scripts/setup.sh --tests"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_printed_page_reads_back_in_vietnamese_and_its_qr_scans() {
    let emu = Emulator::start(Mode::Ready);
    UsbPrinter::new(&emu.path).print(&job()).unwrap();
    let page = escpos::decode(&emu.received()).unwrap().page;
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("ticket.png");
    std::fs::write(&png, page.to_png()).unwrap();

    let text = read_back("tesseract", &["-", "-l", "vie"], &png);
    for expected in [
        "phường Hạc Thành",
        "SỐ THỨ TỰ CỦA BẠN",
        "2007",
        "Quầy 2",
        "Hộ tịch",
        "Đăng ký khai sinh",
        "Trước bạn: 4 người, chờ khoảng 25 phút",
        "05/12/2026",
    ] {
        assert!(text.contains(expected), "OCR lacks {expected:?}:\n{text}");
    }
    let qr = read_back("zbarimg", &["-q", "--raw"], &png);
    assert_eq!(qr.trim(), "https://hub.example.vn/t/HT-2-2007");
}

/// `motcua doctor` and the daemon's health report say what the printer's status bytes say.
#[test]
fn doctor_and_health_report_the_printer() {
    let dir = tempfile::tempdir().unwrap();
    let doctor = |device: &std::path::Path| -> serde_json::Value {
        let cfg = dir.path().join("doctor.toml");
        std::fs::write(
            &cfg,
            format!("[printer]\ndevice = {:?}\n", device.display().to_string()),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["doctor", "--json", "--root"])
            .arg(dir.path())
            .env_remove("MOTCUA_DATA_DIR")
            .output()
            .unwrap();
        let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        rep["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "printer")
            .cloned()
            .expect("a printer check")
    };
    let health = |device: &std::path::Path| {
        motcua::daemon::health::printer_item(&motcua::printer::PrinterConfig {
            device: device.to_owned(),
            width: 576,
        })
    };
    use motcua::device::HealthLevel;
    for (mode, level, words, health_level) in [
        (Mode::Ready, "ok", "ready", HealthLevel::Ok),
        (
            Mode::PaperOut,
            "fail",
            "out of paper: load a new roll",
            HealthLevel::Degraded,
        ),
        (
            Mode::CoverOpen,
            "fail",
            "cover open: close it",
            HealthLevel::Degraded,
        ),
    ] {
        let emu = Emulator::start(mode);
        let c = doctor(&emu.path);
        assert_eq!(c["level"], level, "{mode:?}: {c}");
        assert_eq!(
            c["summary"],
            format!("{}: {words}", emu.path.display()),
            "{mode:?}"
        );
        let h = health(&emu.path);
        assert_eq!(
            (h.name.as_str(), h.level),
            ("printer", health_level),
            "{mode:?}"
        );
        assert!(h.message.ends_with(words), "{}", h.message);
    }
    let absent = dir.path().join("lp9");
    let c = doctor(&absent);
    assert_eq!(c["level"], "fail");
    assert_eq!(
        c["summary"],
        format!(
            "{}: not connected: check the USB cable and power",
            absent.display()
        )
    );
    assert_eq!(health(&absent).level, HealthLevel::Degraded);
    // A device that exists but may not be opened (review finding: it was "not connected").
    // The tests run as root, who opens any /dev node; /proc/sys/kernel/version refuses
    // O_RDWR with EACCES even to root (sysctl files check their mode bits), the errno a
    // /dev/usb/lp0 of group lp gives a user outside lp. This proves the real open path maps
    // EACCES to the permission message; not that a given user lacks lp.
    let denied = std::path::Path::new("/proc/sys/kernel/version");
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(denied);
    assert_eq!(
        opened.unwrap_err().raw_os_error(),
        Some(13),
        "this kernel lets root open a 0444 sysctl for writing"
    );
    let c = doctor(denied);
    assert_eq!(c["level"], "fail");
    assert_eq!(
        c["summary"],
        "/proc/sys/kernel/version: permission denied: the service's user may not open the \
         device; it needs group lp"
    );
    assert!(
        c["next"]
            .as_str()
            .unwrap()
            .contains("usermod -aG lp motcua"),
        "{c}"
    );
    let h = health(denied);
    assert_eq!(h.level, HealthLevel::Degraded);
    assert!(h.message.ends_with("it needs group lp"), "{}", h.message);
    // EPERM (a unit's DevicePolicy refusing the node) reads the same; ENOENT is absent.
    use motcua::printer::device::state_of_open_error;
    use motcua::printer::status::PrinterState;
    let errno = std::io::Error::from_raw_os_error;
    assert_eq!(state_of_open_error(&errno(1)), PrinterState::NoPermission);
    assert_eq!(state_of_open_error(&errno(2)), PrinterState::Absent);
    assert!(matches!(
        motcua::printer::device::UsbPrinter::new(denied).print(b"x"),
        Err(motcua::printer::device::PrintError::NotReady(
            motcua::printer::status::PrinterState::NoPermission
        ))
    ));
    // No [printer]: no printer check.
    let cfg = dir.path().join("none.toml");
    std::fs::write(&cfg, "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["doctor", "--json", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != "printer"));
}

/// `motcua printer decode`: a captured stream (status requests around a ticket, as the boot
/// test's USB printer gadget records it) gives back the very page `printer test --png` draws;
/// a stream it does not know is refused with the byte offset, and no PNG is written.
#[test]
fn printer_decode_turns_a_captured_stream_back_into_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let motcua = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
            .args(args)
            .env_remove("MOTCUA_DATA_DIR")
            .output()
            .unwrap()
    };
    let (captured, decoded, drawn) = (
        dir.path().join("captured.bin"),
        dir.path().join("decoded.png"),
        dir.path().join("drawn.png"),
    );
    let mut stream = printer::status::REQUEST.to_vec();
    stream.extend(job());
    stream.extend(printer::status::REQUEST);
    std::fs::write(&captured, &stream).unwrap();
    let out = motcua(&[
        "printer".as_ref(),
        "decode".as_ref(),
        captured.as_os_str(),
        "--png".as_ref(),
        decoded.as_os_str(),
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "{} bytes, initialised, 6 status request(s), 1 cut(s)",
            stream.len()
        )),
        "{said}"
    );
    let out = motcua(&[
        "printer".as_ref(),
        "test".as_ref(),
        "--png".as_ref(),
        drawn.as_os_str(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(&decoded).unwrap(),
        std::fs::read(&drawn).unwrap()
    );

    let bad = dir.path().join("bad.bin");
    std::fs::write(&bad, [0x1b, b'@', 0x1b, b'Z']).unwrap();
    let png = dir.path().join("bad.png");
    let out = motcua(&[
        "printer".as_ref(),
        "decode".as_ref(),
        bad.as_os_str(),
        "--png".as_ref(),
        png.as_os_str(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("decoding {}", bad.display())),
        "{err}"
    );
    assert!(err.contains("ESC/POS stream, byte 2:"), "{err}");
    assert!(!png.exists());
}
