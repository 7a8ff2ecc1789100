//! Network cameras in the field, through the whole daemon: an HTTP snapshot camera (lighttpd,
//! Digest) and an RTSP MJPEG camera (GStreamer) at two counters. Unplugged, the camera is
//! offline with its reason in health (the list the technician screen shows) and in `doctor`;
//! plugged back, it streams again within the bounded backoff; a frozen RTSP server (a stalled
//! stream) goes offline after the frame timeout and comes back; garbage frames are rejected
//! and counted while the camera stays up; a wrong password is named and never printed, in
//! logs or in `doctor`. Nothing already stored is lost through any of it.

use std::time::{Duration, Instant};

use motcua::config::Config;
use motcua::daemon::{start, DaemonOptions, RunningDaemon};
use motcua::recorder::camera::worker::{CameraState, CameraStatus, MAX_BACKOFF};
use motcua::recorder::footage::Filter;
use motcua::recorder::Reason;

use crate::ipcam_support::{credentials, Lighttpd, RtspServer, HIKVISION, PASSWORD, USER};

const REC: &str = "000.00.14.H56-261123-0042";

fn config_text(http: &str, rtsp: &str, creds: &std::path::Path) -> String {
    format!(
        "[recorder]\nsecrets_dir = \"{d}\"\n\n\
         [[recorder.cameras]]\ncounter = 3\ndevice = \"{http}\"\ncredentials_file = \"{c}\"\n\
         fetch_interval_ms = 200\n\n[[recorder.cameras]]\ncounter = 4\ndevice = \"{rtsp}\"\n\
         credentials_file = \"{c}\"\n",
        d = creds.parent().unwrap().display(),
        c = creds.display()
    )
}

fn write_config(dir: &std::path::Path, text: &str) -> (Config, std::path::PathBuf) {
    let path = dir.join("motcua.toml");
    std::fs::write(&path, text).unwrap();
    (Config::parse(&path, text.as_bytes()).unwrap(), path)
}

fn motcua(config: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("MOTCUA_DATA_DIR")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap()
}

fn camera(d: &RunningDaemon, counter: u32) -> CameraStatus {
    let r = d.recorder.as_ref().expect("recorder");
    r.cameras()
        .into_iter()
        .find(|(c, _)| *c == counter)
        .unwrap()
        .1
}

/// Wait until camera `counter`'s state passes `f`; returns it and how long it took.
async fn until(
    d: &RunningDaemon,
    counter: u32,
    what: &str,
    limit: Duration,
    f: impl Fn(&CameraStatus) -> bool,
) -> (CameraStatus, Duration) {
    let t0 = Instant::now();
    loop {
        let s = camera(d, counter);
        if f(&s) {
            return (s, t0.elapsed());
        }
        assert!(t0.elapsed() < limit, "counter {counter}: {what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn streaming(s: &CameraStatus) -> bool {
    matches!(s.state, CameraState::Streaming { .. })
}

/// The health line for `counter`'s camera, once the daemon's report has one (the technician
/// screen lists these lines as they are).
async fn health_line(d: &RunningDaemon, counter: u32, want: bool) -> Option<String> {
    let t0 = Instant::now();
    let at = format!("(counter {counter})");
    loop {
        let line = d.ctx.device_health.lock().unwrap().as_ref().and_then(|r| {
            r.items
                .iter()
                .find(|i| i.name == "camera" && i.message.contains(&at))
                .map(|i| i.message.clone())
        });
        if line.is_some() == want {
            return line;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "health line for counter {counter}: want {want}, have {line:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stored(d: &RunningDaemon) -> Vec<(i64, String)> {
    let st = d.recorder.as_ref().unwrap().store().lock().unwrap();
    st.list(&Filter::default())
        .unwrap()
        .into_iter()
        .map(|s| {
            let file = std::fs::read(st.dir().path_of(&s.sha256)).unwrap();
            use sha2::Digest;
            let hex: String = sha2::Sha256::digest(&file)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(hex, s.sha256, "snapshot {} intact", s.id);
            (s.id, s.sha256)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplug_replug_stall_and_garbage_keep_cameras_honest_and_footage_whole() {
    let mut http = Lighttpd::start();
    let rtsp = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials(dir.path(), &format!("{USER}:{PASSWORD}"));
    let http_url = http.url(HIKVISION);
    let rtsp_url = rtsp.url("/mjpeg");
    let (cfg, cfg_path) = write_config(dir.path(), &config_text(&http_url, &rtsp_url, &creds));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut opts = DaemonOptions::offline(&cfg, &data);
    opts.system.root = dir.path().join("root");
    opts.system.health_interval = Duration::from_millis(200);
    let d = start(opts).await.unwrap();
    let rec = d.recorder.clone().unwrap();

    for c in [3, 4] {
        until(&d, c, "streaming", Duration::from_secs(20), streaming).await;
    }
    let reason = Reason::parse("manual: field test").unwrap();
    for c in [3, 4, 3] {
        let r = rec.clone();
        let reason = reason.clone();
        let snap = tokio::task::spawn_blocking(move || r.capture_for(c, None, &reason).unwrap())
            .await
            .unwrap();
        if c == 3 {
            // The camera's clock (its HTTP Date, one-second resolution) is kept beside the
            // device's; here both are this machine's clock.
            let cam = snap.camera_time_ms.expect("lighttpd sends Date");
            assert!((cam - snap.captured_at_ms).abs() < 2000, "{snap:?}");
        }
    }
    let before = stored(&d);
    assert_eq!(before.len(), 3);
    assert_eq!(health_line(&d, 3, false).await, None);

    // Unplugged: offline with the reason in health and doctor.
    http.unplug();
    let (s, _) = until(&d, 3, "degraded", Duration::from_secs(10), |s| {
        matches!(s.state, CameraState::Degraded { .. })
    })
    .await;
    let CameraState::Degraded { error, .. } = &s.state else {
        unreachable!()
    };
    assert_eq!(error, &format!("camera {http_url} is not connected"));
    assert_eq!(
        health_line(&d, 3, true).await.unwrap(),
        format!(
            "camera {http_url} (counter 3): degraded: camera {http_url} is not connected; check \
             the camera's power and network cable, its address and credentials_file (`motcua \
             doctor`)"
        )
    );
    let o = motcua(&cfg_path, &data, &["doctor", "--json", "--root", "/"]);
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cams = rep["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cameras")
        .unwrap();
    assert_eq!(cams["level"], "fail");
    assert_eq!(
        cams["summary"],
        format!(
            "1 of 2 configured camera(s) missing: counter 3 (camera {http_url} is not connected)"
        )
    );
    let r = rec.clone();
    let reason2 = reason.clone();
    let err = tokio::task::spawn_blocking(move || r.capture_for(3, None, &reason2).unwrap_err())
        .await
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "the camera of counter 3 has no current frame (degraded: camera {http_url} is not \
             connected); check its cable"
        )
    );

    // Plugged back: streaming again within the longest backoff (plus a fetch).
    tokio::time::sleep(Duration::from_secs(3)).await; // a few failed retries
    http.plug();
    let (s, took) = until(
        &d,
        3,
        "streaming again",
        MAX_BACKOFF + Duration::from_secs(2),
        streaming,
    )
    .await;
    assert_eq!(s.starts, 2);
    assert!(took <= MAX_BACKOFF + Duration::from_secs(1), "{took:?}");
    assert_eq!(health_line(&d, 3, false).await, None);

    // Garbage for about a second (fewer bad frames in a row than the limit): rejected,
    // counted, the camera stays up (no restart).
    let file = http.file(HIKVISION);
    let good = std::fs::read(&file).unwrap();
    std::fs::write(file.with_extension("bad"), b"<html>login</html>").unwrap();
    std::fs::rename(file.with_extension("bad"), &file).unwrap();
    until(&d, 3, "bad frames counted", Duration::from_secs(5), |s| {
        s.rejected >= 2
    })
    .await;
    std::fs::write(file.with_extension("ok"), &good).unwrap();
    std::fs::rename(file.with_extension("ok"), &file).unwrap();
    let s = camera(&d, 3);
    assert!(streaming(&s), "{s:?}");
    assert_eq!(s.starts, 2, "no restart for a bad frame");
    assert!(
        s.last_rejected
            .as_deref()
            .unwrap()
            .starts_with(&format!("camera {http_url} sent a bad frame: not a JPEG")),
        "{s:?}"
    );
    let frames = s.frames;
    until(&d, 3, "good frames again", Duration::from_secs(5), |s| {
        s.frames > frames + 2
    })
    .await;

    // A stalled RTSP stream (the server frozen, its connection open): offline after the
    // frame timeout, back when the server thaws.
    until(&d, 4, "streaming", Duration::from_secs(5), streaming).await;
    let starts = camera(&d, 4).starts;
    rtsp.freeze(true);
    let (s, took) = until(&d, 4, "stalled", Duration::from_secs(12), |s| {
        matches!(s.state, CameraState::Degraded { .. })
    })
    .await;
    assert!(took >= Duration::from_secs(4), "{took:?}");
    let CameraState::Degraded { error, .. } = &s.state else {
        unreachable!()
    };
    assert_eq!(error, &format!("camera {rtsp_url}: sent no frame for 5 s"));
    assert!(health_line(&d, 4, true)
        .await
        .unwrap()
        .contains("sent no frame for 5 s"));
    rtsp.freeze(false);
    until(&d, 4, "streaming again", Duration::from_secs(25), |s| {
        streaming(s) && s.starts > starts
    })
    .await;

    // Nothing stored was lost or changed; new snapshots still go in.
    let after = stored(&d);
    assert_eq!(after[..3], before[..]);
    // A fresh RTSP session has no RTCP sender report yet (GStreamer sends one every few
    // seconds); once one arrived, the camera's clock for the frame (GStreamer's wall clock
    // here) is kept beside the device's.
    let mut tries = 0;
    let snap = loop {
        tries += 1;
        let r = rec.clone();
        let reason = reason.clone();
        let snap = tokio::task::spawn_blocking(move || r.capture_for(4, None, &reason).unwrap())
            .await
            .unwrap();
        if snap.camera_time_ms.is_some() || tries == 12 {
            break snap;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(stored(&d).len(), 3 + tries);
    let cam = snap.camera_time_ms.expect("a sender report within 12 s");
    assert!((cam - snap.captured_at_ms).abs() < 2000, "{snap:?}");
    let listed = motcua(&cfg_path, &data, &["snapshots", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.matches("  camera clock ").count() >= 3, "{text}");
    drop(rec);
    d.stop().await;
}

#[test]
fn a_wrong_password_is_named_and_never_printed_in_logs_or_doctor() {
    let http = Lighttpd::start();
    let rtsp = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let wrong_password = "Wr0ng-pa55word";
    let creds = credentials(dir.path(), &format!("{USER}:{wrong_password}"));
    let http_url = http.url(HIKVISION);
    let rtsp_url = rtsp.url("/mjpeg");
    let (_, cfg_path) = write_config(dir.path(), &config_text(&http_url, &rtsp_url, &creds));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    // The CLI captures directly (no daemon): its logs (debug) and its error.
    let o = motcua(
        &cfg_path,
        &data,
        &["snapshot", "capture", "--counter", "3", "--record", REC],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    // The logs are there (the worker's warning, retina's debug lines), without the password.
    assert!(err.contains("camera degraded"), "{err}");
    assert!(
        err.contains(&format!(
            "the camera of counter 3 has no current frame (degraded: camera {http_url}: refused \
             the user name or password (HTTP 401)); check its cable"
        )),
        "{err}"
    );
    let o2 = motcua(
        &cfg_path,
        &data,
        &["snapshot", "capture", "--counter", "4", "--record", REC],
    );
    let err2 = String::from_utf8_lossy(&o2.stderr);
    assert!(
        err2.contains(&format!(
            "camera {rtsp_url}: refused the user name or password (RTSP 401)"
        )),
        "{err2}"
    );
    let o3 = motcua(&cfg_path, &data, &["doctor", "--root", "/"]);
    let doctor = String::from_utf8_lossy(&o3.stdout);
    assert!(
        doctor.contains(&format!(
            "counter 3 (camera {http_url}: refused the user name or password (HTTP 401))"
        )),
        "{doctor}"
    );
    assert!(
        doctor.contains(&format!(
            "counter 4 (camera {rtsp_url}: refused the user name or password (RTSP 401))"
        )),
        "{doctor}"
    );
    for (what, text) in [
        ("capture logs", err.to_string()),
        ("rtsp capture logs", err2.to_string()),
        (
            "doctor",
            format!("{doctor}{}", String::from_utf8_lossy(&o3.stderr)),
        ),
    ] {
        assert!(!text.contains(wrong_password), "{what} show the password");
        assert!(!text.contains(PASSWORD), "{what} show a password");
    }
}
