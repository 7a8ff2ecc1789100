//! Doctor tests on a fake root: each check's verdict and the exit code of the worst.

use super::*;
use crate::device::gpio::FakeGpio;

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A healthy Pi-like tree: a DRM card with a connected DSI panel and backlight, a
/// camera with a by-id link, timesyncd's flag, no throttling, 50 °C.
fn healthy_tree(r: &Path) {
    put(r, "dev/dri/card0", "");
    put(r, "sys/class/drm/card0-DSI-1/status", "connected\n");
    put(r, "sys/class/drm/card0-DSI-1/dpms", "On\n");
    put(r, "sys/class/drm/card0-HDMI-A-1/status", "disconnected\n");
    crate::device::backlight::create_fake(r, "10-0045", 255, 255).unwrap();
    put(r, "sys/class/video4linux/video0/name", "HD Webcam C270\n");
    put(r, "sys/class/video4linux/video0/index", "0\n");
    put(r, "sys/class/video4linux/video1/name", "HD Webcam C270\n");
    put(r, "sys/class/video4linux/video1/index", "1\n");
    std::fs::create_dir_all(r.join("dev/v4l/by-id")).unwrap();
    std::os::unix::fs::symlink(
        "../../video0",
        r.join("dev/v4l/by-id/usb-046d_C270-video-index0"),
    )
    .unwrap();
    put(r, "run/systemd/timesync/synchronized", "");
    put(r, crate::device::health::GET_THROTTLED, "0\n");
    put(r, "sys/class/thermal/thermal_zone0/temp", "50000\n");
    put(r, "sys/fs/ext4/mmcblk0p3/errors_count", "0\n");
}

struct OkServer;
impl ServerCheck for OkServer {
    fn check(&self) -> Check {
        Check::ok("server", "https://hub reachable, token accepted")
    }
}

fn inputs<'a>(
    r: &'a Path,
    config: &str,
    gpio: &'a FakeGpio,
    cams: &'a SysfsCameras<'a>,
    server: &'a dyn ServerCheck,
) -> DoctorInputs<'a> {
    let data_dir = r.join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    DoctorInputs {
        root: r,
        config_path: r.join("motcua.toml"),
        config: Config::parse(&r.join("motcua.toml"), config.as_bytes()),
        config_file_exists: true,
        data_dir,
        full: false,
        gpio,
        cameras: cams,
        server,
        kernel_clock_synced: None,
        now: "2026-11-23T01:00:00Z".parse().unwrap(),
    }
}

const PINS: &str =
    "[gpio]\npir_pin = 17\nbuttons = [{ counter = 1, pin = 5 }]\nstatus_led_pin = 22\n";

#[test]
fn healthy_appliance_is_all_ok_except_missing_catalog() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    healthy_tree(r);
    let gpio = FakeGpio::new();
    let cams = SysfsCameras { root: r };
    let inp = inputs(r, PINS, &gpio, &cams, &OkServer);
    crate::store::CatalogStore::open(&inp.data_dir.join("catalog.db")).unwrap();
    let rep = run(&inp);
    let by = |n: &str| rep.checks.iter().find(|c| c.name == n).unwrap().clone();
    for c in &rep.checks {
        if c.name != "disk" {
            assert_eq!(c.level, CheckLevel::Ok, "{c:?}");
        }
    }
    assert_eq!(
        by("catalog.db").summary,
        format!(
            "integrity ok, schema {}, no catalog applied yet",
            crate::store::LATEST_VERSION
        )
    );
    assert_eq!(by("cameras").details, vec!["/dev/video0 = /dev/v4l/by-id/usb-046d_C270-video-index0: HD Webcam C270 [formats not probed]"]);
    assert_eq!(
        by("gpio").details,
        vec![
            "BCM 17 (gpio.pir_pin): usable",
            "BCM 5 (gpio.buttons[counter 1]): usable",
            "BCM 22 (gpio.status_led_pin): usable"
        ]
    );
    assert_eq!(
        by("display").details,
        vec![
            "card0-DSI-1: connected, DPMS On",
            "card0-HDMI-A-1: disconnected",
            "backlight 10-0045: brightness 255/255"
        ]
    );
    assert_eq!(by("clock").summary, "synchronised (2026-11-23 01:00 UTC)");
    assert!(
        rep.to_text()
            .contains("ok    gpio         3 pin(s) usable through fake GPIO\n"),
        "{}",
        rep.to_text()
    );
}

#[test]
fn problems_are_warn_or_fail_with_next_steps_and_the_exit_code_is_the_worst() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    healthy_tree(r);
    std::fs::remove_file(r.join("run/systemd/timesync/synchronized")).unwrap();
    put(r, crate::device::health::GET_THROTTLED, "50005\n");
    let gpio = FakeGpio::new();
    gpio.set_busy(5);
    let cams = SysfsCameras { root: r };
    let inp = inputs(r, PINS, &gpio, &cams, &ServerNotConfigured);
    put(&inp.data_dir, "catalog.db", "this is not a database, it is long enough to have a header of sorts......................................................");
    let rep = run(&inp);
    let by = |n: &str| rep.checks.iter().find(|c| c.name == n).unwrap().clone();
    assert_eq!(by("clock").level, CheckLevel::Warn);
    assert_eq!(
        by("server").summary,
        "server check not configured in this build"
    );
    assert_eq!(by("power").level, CheckLevel::Fail);
    assert_eq!(
        by("power").next.as_deref(),
        Some("use the official 5.1 V power supply and a short, thick cable")
    );
    assert_eq!(by("catalog.db").level, CheckLevel::Fail);
    let g = by("gpio");
    assert_eq!(
        (g.level, g.summary.as_str()),
        (CheckLevel::Fail, "1 of 3 pin(s) unusable")
    );
    assert_eq!(g.details[1], "BCM 5 (gpio.buttons[counter 1]): GPIO pin 5 is busy or unavailable (busy (fake)); check that no other program or device-tree overlay uses it");
    assert_eq!(rep.worst, CheckLevel::Fail);
    assert_eq!(rep.exit_code(), 2);
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["worst"], "fail");
    assert!(rep.to_text().ends_with("some checks failed (exit 2)\n"));
}

#[test]
fn bad_config_no_display_no_cameras() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let gpio = FakeGpio::new();
    let cams = SysfsCameras { root: r };
    let inp = inputs(
        r,
        "[gpio]\npir_pin = 99\n",
        &gpio,
        &cams,
        &ServerNotConfigured,
    );
    let rep = run(&inp);
    let by = |n: &str| rep.checks.iter().find(|c| c.name == n).unwrap().clone();
    let c = by("config");
    assert_eq!(c.level, CheckLevel::Fail);
    assert!(
        c.summary.ends_with(
            "motcua.toml: gpio.pir_pin = 99 is not a header GPIO; use a BCM number from 0 to 27"
        ),
        "{}",
        c.summary
    );
    assert_eq!(
        by("display").summary,
        "no /dev/dri/card* (no display driver)"
    );
    assert_eq!(by("cameras").level, CheckLevel::Warn);
    assert_eq!(
        by("gpio").summary,
        "no pins configured (no sensor, buttons or LED)",
        "defaults used after a bad config"
    );
    assert_eq!(by("catalog.db").level, CheckLevel::Warn);
    let clock = system::clock(r, Some(false), "2026-01-01T00:00:00Z".parse().unwrap());
    assert_eq!(clock.level, CheckLevel::Warn);
    let clock = system::clock(r, Some(true), "1970-01-01T00:00:10Z".parse().unwrap());
    assert_eq!(clock.summary, "system time is 1970-01-01 00:00 UTC");
    let _ = kernel_clock_synced(); // runs on the host without failing
}

#[test]
fn every_configured_camera_must_be_present() {
    // The field report: two cameras configured, one plugged in, and the doctor said
    // "ok 1 camera(s) found".
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    healthy_tree(r);
    let gpio = FakeGpio::new();
    let cams = SysfsCameras { root: r };
    let two = "[[recorder.cameras]]\ncounter = 1\ndevice = \"/dev/v4l/by-id/usb-046d_C270-video-index0\"\n\
               [[recorder.cameras]]\ncounter = 2\ndevice = \"/dev/v4l/by-path/platform-fd500000.pcie-usb-0:1.2:1.0-video-index0\"\n";
    let rep = run(&inputs(r, two, &gpio, &cams, &OkServer));
    let c = rep.checks.iter().find(|c| c.name == "cameras").unwrap();
    assert_eq!(c.level, CheckLevel::Fail, "{c:?}");
    assert_eq!(
        c.summary,
        "1 of 2 configured camera(s) missing: counter 2 (/dev/v4l/by-path/platform-fd500000.pcie-usb-0:1.2:1.0-video-index0)"
    );
    assert!(c
        .details
        .contains(&"counter 1: /dev/v4l/by-id/usb-046d_C270-video-index0 present".to_string()));
    // Both present (the by-path link made, to a device node), and a synthetic one, is ok.
    put(r, "dev/video0", "");
    std::fs::create_dir_all(r.join("dev/v4l/by-path")).unwrap();
    std::os::unix::fs::symlink(
        "../../video0",
        r.join("dev/v4l/by-path/platform-fd500000.pcie-usb-0:1.2:1.0-video-index0"),
    )
    .unwrap();
    let three = format!("{two}[[recorder.cameras]]\ncounter = 3\ndevice = \"synthetic\"\n");
    let rep = run(&inputs(r, &three, &gpio, &cams, &OkServer));
    let c = rep.checks.iter().find(|c| c.name == "cameras").unwrap();
    assert_eq!(c.level, CheckLevel::Ok, "{c:?}");
    assert_eq!(c.summary, "3 configured camera(s) present (1 found)");
    // A network camera is asked for a frame, not looked for under /dev: one that does not
    // answer is missing, with the recorder's reason.
    let four = format!(
        "{three}[[recorder.cameras]]\ncounter = 4\ndevice = \"http://127.0.0.1:1/ISAPI/Streaming/channels/101/picture\"\n"
    );
    let rep = run(&inputs(r, &four, &gpio, &cams, &OkServer));
    let c = rep.checks.iter().find(|c| c.name == "cameras").unwrap();
    assert_eq!(c.level, CheckLevel::Fail, "{c:?}");
    assert_eq!(
        c.summary,
        "1 of 4 configured camera(s) missing: counter 4 (camera http://127.0.0.1:1/ISAPI/Streaming/channels/101/picture is not connected)"
    );
}

#[test]
fn footage_is_checked_with_the_recorders_full_verify() {
    // The field report: quick_check said ok while `snapshots verify` failed (a tampered file).
    use crate::recorder::footage::{FootageStore, NewSnapshot};
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    healthy_tree(r);
    let gpio = FakeGpio::new();
    let cams = SysfsCameras { root: r };
    let inp = inputs(r, "", &gpio, &cams, &OkServer);
    let jpeg = b"\xff\xd8 doctor test frame \xff\xd9".to_vec();
    let sha = {
        let (mut store, _) = FootageStore::open_writer(&inp.data_dir, 1_000).unwrap();
        let s = store
            .ingest(
                &NewSnapshot {
                    jpeg: &jpeg,
                    width: 2,
                    height: 2,
                    counter: 1,
                    record_id: Some("000.00.14.H56-261123-0001"),
                    captured_at_ms: 1_000,
                    reason: "manual",
                    thumbnail: None,
                    frame_age_ms: None,
                    camera_time_ms: None,
                },
                1_000,
            )
            .unwrap();
        s.sha256.clone()
    };
    let c = run(&inp)
        .checks
        .into_iter()
        .find(|c| c.name == "footage.db")
        .unwrap();
    assert_eq!(c.level, CheckLevel::Ok, "{c:?}");
    assert!(c.summary.contains("verify ok: "), "{}", c.summary);
    assert!(
        c.summary
            .ends_with("1 snapshots, 1 files hashed; not anchored at a hub yet"),
        "{}",
        c.summary
    );
    // Tamper with the stored file: SQLite is still fine, the verify is not.
    let file = FootageStore::open_reader(&inp.data_dir)
        .unwrap()
        .dir()
        .path_of(&sha);
    std::fs::write(&file, b"changed").unwrap();
    let c = run(&inp)
        .checks
        .into_iter()
        .find(|c| c.name == "footage.db")
        .unwrap();
    assert_eq!(c.level, CheckLevel::Fail, "{c:?}");
    assert!(
        c.summary.starts_with("verify found 1 problem(s)"),
        "{}",
        c.summary
    );
}

/// Review of issue 15: the doctor hashed every footage file, minutes on a full SD card. Now
/// the newest `HASH_NEWEST` files are hashed and the rest only checked present, and the
/// summary says so; `--full` (`DoctorInputs::full`) hashes all. Re-adopted snapshots lead the
/// summary with their record IDs (issue 16 review).
#[test]
fn the_footage_check_is_bounded_unless_full_and_names_recovered_records() {
    use crate::recorder::footage::{FootageStore, NewSnapshot};
    let t = tempfile::tempdir().unwrap();
    let (gpio, server) = (FakeGpio::new(), ServerNotConfigured);
    let cams = SysfsCameras { root: t.path() };
    let mut inp = inputs(t.path(), "", &gpio, &cams, &server);
    let n = HASH_NEWEST + 2;
    let oldest = {
        let (mut st, _) = FootageStore::open_writer(&inp.data_dir, 0).unwrap();
        let mut first = None;
        for i in 0..n {
            let jpeg = crate::recorder::jpeg::encode_rgb(
                &[
                    (i % 250) as u8,
                    (i / 250) as u8,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                ],
                2,
                2,
                80,
            )
            .unwrap();
            let rec = format!("000.00.14.H56-261123-{i:04}");
            let s = st
                .ingest(
                    &NewSnapshot {
                        jpeg: &jpeg,
                        width: 2,
                        height: 2,
                        counter: 1,
                        record_id: Some(&rec),
                        captured_at_ms: i as i64,
                        reason: "manual",
                        thumbnail: None,
                        frame_age_ms: None,
                        camera_time_ms: None,
                    },
                    i as i64,
                )
                .unwrap();
            first.get_or_insert(s);
        }
        first.unwrap()
    };
    let footage = |inp: &DoctorInputs| {
        run(inp)
            .checks
            .into_iter()
            .find(|c| c.name == "footage.db")
            .unwrap()
    };
    let c = footage(&inp);
    assert_eq!(c.level, CheckLevel::Ok, "{c:?}");
    assert!(
        c.summary.contains(&format!(
            "{n} snapshots, {HASH_NEWEST} files hashed (the newest {HASH_NEWEST}; 2 older files only checked present: `motcua doctor --full` or `motcua snapshots verify` hashes every file)"
        )),
        "{}",
        c.summary
    );
    // the newest row lost (as a lost WAL does): the next writer re-adopts it from its file,
    // and the summary leads with it
    {
        let (st, _) = FootageStore::open_writer(&inp.data_dir, 10).unwrap();
        let c = st.connection();
        c.execute("DELETE FROM snapshot WHERE id = ?1", [n as i64])
            .unwrap();
        c.execute("DELETE FROM chain WHERE seq = ?1", [n as i64])
            .unwrap();
    }
    drop(FootageStore::open_writer(&inp.data_dir, 20).unwrap());
    let c = footage(&inp);
    assert!(
        c.summary.starts_with(&format!(
            "RECOVERED 1 snapshot(s) after their rows were lost: #{n} (record 000.00.14.H56-261123-{:04}, first stored as seq {n}); integrity ok",
            n - 1
        )),
        "{}",
        c.summary
    );
    // the oldest file altered: the bounded check cannot see it (and said so); --full does
    let st = FootageStore::open_reader(&inp.data_dir).unwrap();
    std::fs::write(st.dir().path_of(&oldest.sha256), b"changed").unwrap();
    assert_eq!(footage(&inp).level, CheckLevel::Ok);
    inp.full = true;
    let c = footage(&inp);
    assert_eq!(c.level, CheckLevel::Fail, "{c:?}");
    // a missing old file is found either way
    inp.full = false;
    std::fs::remove_file(st.dir().path_of(&oldest.sha256)).unwrap();
    assert_eq!(footage(&inp).level, CheckLevel::Fail);
}
